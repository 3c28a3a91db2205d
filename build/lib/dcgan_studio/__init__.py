"""DCGAN Studio: train, watch and take apart the DCGAN of Radford, Metz & Chintala (2015).

The core (config, models, data, step, train, checkpoint, latent, features, metrics, plots) never imports Gradio;
the app (``dcgan_studio.app``) and the CLI (``python -m dcgan_studio``) are thin layers over it.
"""

from .config import ModelConfig, TrainConfig

__version__ = "0.1.0"
__all__ = ["ModelConfig", "TrainConfig", "__version__"]
