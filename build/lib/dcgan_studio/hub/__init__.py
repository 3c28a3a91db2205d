"""Models on the Hugging Face Hub: ``save_pretrained`` / ``from_pretrained`` / ``push_to_hub``, the model card, the
export of a checkpoint as a Hub folder, and ``resolve_checkpoint`` that turns ``user/name[@revision]`` into a file.

``Generator`` and ``Discriminator`` get the three methods from ``models.HubMixin`` (huggingface_hub's
``PyTorchModelHubMixin``); the code behind them lives here, one module per idea: ``names`` (files, formats, tags),
``errors`` (repo ids, ``HubError``, ``hub_errors``), ``fetch`` (config.json and size-checked downloads),
``resolve`` (validated loading, ``resolve_checkpoint``), ``card`` (the model card) and ``export`` (writing and
pushing Hub folders). A Hub folder (what ``save_pretrained`` and ``export_for_hub`` write, what
``from_pretrained`` and ``resolve_checkpoint`` read; one repo holds G, or G and D)::

    README.md                  the model card: front matter (library_name, tags, pipeline_tag, datasets, license),
                               the eval report's headline figures beside the real-vs-real reference, the sample
                               grid and the exact train command
    config.json                the ModelConfig (image_size, channels, nz, ngf, ndf) and "library_name": "dcgan-studio"
    model.safetensors          the generator, a DCGAN Studio generator file (format dcgan_studio.generator): it also
                               loads with ``load_generator`` and wherever a checkpoint file is taken
    discriminator.safetensors  the discriminator, when there is one (format dcgan_studio.discriminator)
    samples.png                ``export_for_hub``: 64 samples, the grid ``sample --n 64 --seed 0`` draws
    report.json                ``export_for_hub`` with a report: the eval report the card quotes

Downloads go through huggingface_hub's own code (``hf_hub_download``: its cache, ``HF_ENDPOINT``, ``HF_HUB_OFFLINE``,
tokens). Only safetensors are read, never a pickle: a weight file's size is checked against the architecture in
config.json before it is downloaded, then its header and every tensor's name, dtype and shape are checked before
the weights are used (``load_generator``, the checkpoint's own checks). Every failure is one ``HubError`` line that
says what to do.
"""

from .card import FIGURE_ROWS, headline_figures, hub_dataset_ids, model_card, model_card_for
from .errors import (
    HubError,
    check_repo_id,
    check_revision,
    hub_errors,
    is_repo_id,
    parse_repo_id,
    repo_label,
    revision_problem,
    split_revision,
)
from .export import config_json, export_for_hub, push_folder, read_report, save_weights
from .fetch import HubFiles, fetch, read_config, weight_bytes
from .names import (
    CARD_FILE,
    CONFIG_FILE,
    DEFAULT_LICENSE,
    DISCRIMINATOR_FILE,
    FORMAT_DISCRIMINATOR,
    FORMAT_GENERATOR,
    FORMAT_MODELS,
    FORMAT_VERSION,
    GENERATOR_FILE,
    LIBRARY_NAME,
    PIPELINE_TAG,
    REPORT_FILE,
    SAMPLES_FILE,
    TAGS,
)
from .resolve import from_pretrained, load_pretrained, resolve_checkpoint

__all__ = [
    "CARD_FILE",
    "CONFIG_FILE",
    "DEFAULT_LICENSE",
    "DISCRIMINATOR_FILE",
    "FIGURE_ROWS",
    "FORMAT_DISCRIMINATOR",
    "FORMAT_GENERATOR",
    "FORMAT_MODELS",
    "FORMAT_VERSION",
    "GENERATOR_FILE",
    "LIBRARY_NAME",
    "PIPELINE_TAG",
    "REPORT_FILE",
    "SAMPLES_FILE",
    "TAGS",
    "HubError",
    "HubFiles",
    "check_repo_id",
    "check_revision",
    "config_json",
    "export_for_hub",
    "fetch",
    "from_pretrained",
    "headline_figures",
    "hub_dataset_ids",
    "hub_errors",
    "is_repo_id",
    "load_pretrained",
    "model_card",
    "model_card_for",
    "parse_repo_id",
    "push_folder",
    "read_config",
    "read_report",
    "repo_label",
    "resolve_checkpoint",
    "revision_problem",
    "save_weights",
    "split_revision",
    "weight_bytes",
]
