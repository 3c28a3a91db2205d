"""``HubMixin``: huggingface_hub's ``PyTorchModelHubMixin`` for our networks, and the code behind its methods.

``Generator`` and ``Discriminator`` inherit it, so this module sits below ``models.py`` and never imports it: the
network at hand is ``self`` or ``cls``, and its ``role`` ("generator" or "discriminator") says which file it is. The
checkpoint loaders are reached through the ``checkpoint`` package, whose names load when first used.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import torch
from huggingface_hub import ModelCard, PyTorchModelHubMixin
from safetensors.torch import save as st_save

from .. import checkpoint
from ..checkpoint.io import atomic_write_bytes, read_file
from ..config import ConfigError, ModelConfig
from .card import model_card
from .download import HubFiles, fetch_files
from .errors import HubError, hub_errors, split_revision
from .names import (
    CONFIG_FILE,
    DEFAULT_LICENSE,
    DISCRIMINATOR_FILE,
    FORMAT_DISCRIMINATOR,
    FORMAT_GENERATOR,
    FORMAT_VERSION,
    GENERATOR_FILE,
    LIBRARY_NAME,
    PAPER_URL,
    PIPELINE_TAG,
    TAGS,
)

ROLE_FILES = {
    "generator": (GENERATOR_FILE, FORMAT_GENERATOR),
    "discriminator": (DISCRIMINATOR_FILE, FORMAT_DISCRIMINATOR),
}


class HubMixin(
    PyTorchModelHubMixin,
    library_name=LIBRARY_NAME,
    license=DEFAULT_LICENSE,
    paper_url=PAPER_URL,
    pipeline_tag=PIPELINE_TAG,
    tags=list(TAGS),
):
    """``save_pretrained(dir)``, ``from_pretrained("user/name[@revision]" or dir)`` and ``push_to_hub("user/name")`` of
    huggingface_hub: config.json holds the ``ModelConfig``, the weights are safetensors checked like a checkpoint."""

    role: ClassVar[str]  # "generator" or "discriminator": which file of a Hub folder the network is

    @classmethod
    def from_pretrained(cls, repo_id_or_dir, *, revision=None, **kwargs):
        """huggingface_hub's, with ``user/name@revision`` and one-line ``HubError``s."""
        target, revision = split_revision(str(repo_id_or_dir), revision)
        with hub_errors(target, revision):
            return super().from_pretrained(target, revision=revision, **kwargs)

    @classmethod
    def _from_pretrained(cls, *, model_id, **kwargs):
        return load_pretrained(cls, model_id, **kwargs)

    def _save_pretrained(self, save_directory):
        save_weights(self, save_directory)

    def generate_model_card(self, *args, **kwargs) -> ModelCard:
        """The card of a model saved alone (``model_card_kwargs`` pass through)."""
        is_d = self.role == "discriminator"
        kwargs.setdefault("has_generator", not is_d)
        kwargs.setdefault("has_discriminator", is_d)
        return ModelCard(model_card(kwargs.pop("figures", None), model_config=self.config, **kwargs))


# ------------------------------------------------------------------------------------------------- saving


def config_json(config: ModelConfig) -> str:
    """config.json of a Hub folder: the ModelConfig's fields and the library that reads them."""
    return json.dumps({"library_name": LIBRARY_NAME, **config.to_dict()}, indent=2, sort_keys=True) + "\n"


def _write_weights(path: Path, model, fmt: str) -> Path:
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    metadata = {"format": fmt, "format_version": FORMAT_VERSION, "model_config": model.config.to_json()}
    return atomic_write_bytes(path, st_save(tensors, metadata=metadata))


def save_weights(model, save_directory: str | Path) -> None:
    """``HubMixin._save_pretrained``: config.json and the network's safetensors file (G: model.safetensors, a
    generator checkpoint; D: discriminator.safetensors). A G and a D saved to one folder make one repo."""
    folder = Path(save_directory)
    atomic_write_bytes(folder / CONFIG_FILE, config_json(model.config).encode())
    filename, fmt = ROLE_FILES[model.role]
    _write_weights(folder / filename, model, fmt)


# ------------------------------------------------------------------------------------------------- loading


def load_generator_file(path: Path, config: ModelConfig, where: str, device):
    """A Hub folder's model.safetensors: a generator checkpoint, checked as one, that must match config.json."""
    model = checkpoint.load_generator(path, device=device)  # header first: format, config, names, shapes, finiteness
    if model.config != config:
        raise HubError(f"{where}: config.json ({config}) and {path.name} ({model.config}) describe different models")
    return model


def load_discriminator_file(model_cls: type, path: Path, config: ModelConfig, where: str, device):
    """A discriminator file (format dcgan_studio.discriminator) checked like a checkpoint: its size is capped by the
    caller, ``read_file`` validates the header against the file before reading, then names, dtypes, shapes,
    finiteness and the config in its metadata must match."""
    metadata, tensors = read_file(path)
    if metadata.get("format") != FORMAT_DISCRIMINATOR or metadata.get("format_version") != FORMAT_VERSION:
        raise HubError(
            f"{where}: {path.name} is not a DCGAN Studio discriminator file (format {metadata.get('format')!r})"
        )
    try:
        meta_config = ModelConfig.from_json(metadata.get("model_config", ""))
    except (ConfigError, TypeError, ValueError) as exc:
        raise HubError(f"{where}: {path.name} has an invalid model_config ({exc})") from None
    if meta_config != config:
        raise HubError(f"{where}: config.json ({config}) and {path.name} ({meta_config}) describe different models")
    with torch.device("meta"):
        expected = {k: (v.dtype, tuple(v.shape)) for k, v in model_cls(config).state_dict().items()}
    found = {k: (v.dtype, tuple(v.shape)) for k, v in tensors.items()}
    if found != expected:
        wrong = sorted(set(found) ^ set(expected)) or sorted(k for k in expected if found[k] != expected[k])
        raise HubError(f"{where}: {path.name} does not match the architecture in config.json ({wrong[:4]})")
    bad = [k for k, v in tensors.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        raise HubError(f"{where}: {path.name} holds NaN/inf values in {bad[:4]}")
    model = model_cls(config)
    model.load_state_dict(tensors)
    return model.to(device).eval()


def load_pretrained(
    cls: type,
    model_id: str,
    *,
    revision: str | None = None,
    cache_dir=None,
    force_download: bool = False,
    local_files_only: bool = False,
    token=None,
    map_location: str | torch.device = "cpu",
    config: Any = None,
    strict: bool = True,
    max_bytes: int | None = None,
):
    """``HubMixin._from_pretrained``: a validated ``cls`` (Generator or Discriminator, eval mode) from a Hub repo or
    a ``save_pretrained`` folder. ``config`` (what the mixin read from config.json) is checked again here, and
    loading is always strict."""
    is_d = cls.role == "discriminator"
    filename = ROLE_FILES[cls.role][0]
    with hub_errors(model_id, revision):
        files: HubFiles = fetch_files(
            model_id,
            revision,
            {filename: (cls, True)},
            max_bytes=max_bytes,
            token=token,
            cache_dir=cache_dir,
            force_download=force_download,
            local_files_only=local_files_only,
        )
        if is_d:
            model = load_discriminator_file(cls, files.discriminator, files.config, files.source, map_location)
        else:
            model = load_generator_file(files.generator, files.config, files.source, map_location)
    if type(model) is not cls:  # a subclass of ours: same state dict
        model, state = cls(files.config), model.state_dict()
        model.load_state_dict(state)
        model = model.to(map_location).eval()
    return model
