"""Import a generator trained by pytorch/examples' ``dcgan/main.py`` (``netG_epoch_*.pth``) into our format."""

from __future__ import annotations

from pathlib import Path

import torch

from ..config import ConfigError, ModelConfig
from ..models import Generator
from .io import CheckpointError
from .schema import save_generator
from .validate import check_finite, check_state, expected_network


def _read_state_dict(src: Path) -> dict[str, torch.Tensor]:
    """The named tensors of a ``.pth`` generator, read with ``weights_only=True`` (no pickled code runs)."""
    try:
        state = torch.load(src, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for bad pickles
        raise CheckpointError(
            f"{src.name} is not a PyTorch state dict that loads with weights_only=True ({exc})"
        ) from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or "main.0.weight" not in state:
        raise CheckpointError(f"{src.name} is not a pytorch/examples DCGAN generator (no 'main.0.weight' key)")
    if not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise CheckpointError(f"{src.name} is not a state dict of named tensors")
    return {k.removeprefix("module."): v for k, v in state.items()}  # saved from DataParallel


def _infer_config(src: Path, state: dict[str, torch.Tensor]) -> ModelConfig:
    """nz, ngf, channels and image size from the transposed convolutions' shapes (one conv per doubling)."""
    try:
        convs = sorted((int(k.split(".")[1]), v) for k, v in state.items() if k.endswith(".weight") and v.dim() == 4)
        first, last = convs[0][1], convs[-1][1]
        nz, ngf, channels = first.shape[0], last.shape[0], last.shape[1]
        image_size = 2 ** (len(convs) + 1)
        return ModelConfig(image_size=image_size, channels=channels, nz=nz, ngf=ngf, ndf=ngf)
    except (ConfigError, IndexError, ValueError) as exc:
        raise CheckpointError(f"{src.name}: the architecture cannot be inferred or is not supported ({exc})") from None


def import_pth(src: str | Path, dst: str | Path) -> Path:
    """Convert a generator saved by pytorch/examples' ``dcgan/main.py`` (``netG_epoch_*.pth``) to our format.

    The file is read with ``torch.load(weights_only=True)``, so no pickled code runs. The architecture (nz, ngf,
    channels, image size) is inferred from the tensor shapes; the result produces the same image for the same z.
    """
    src = Path(src)
    if not src.is_file():
        raise CheckpointError(f"{src} does not exist")
    state = _read_state_dict(src)
    config = _infer_config(src, state)
    check_state("generator", src, expected_network(Generator, config), state)
    check_finite(src, state)
    generator = Generator(config)
    generator.load_state_dict(state)
    return save_generator(dst, generator, {"extra.imported_from": src.name})
