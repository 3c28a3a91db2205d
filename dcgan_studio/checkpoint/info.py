"""What a DCGAN Studio file says about itself, from its safetensors header alone: its format, its configs and
every tensor's (dtype, shape). Reading it needs no torch, so listing checkpoints and building pages stay quick;
``schema.py`` loads and writes the tensors.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import ConfigError, ModelConfig, TrainConfig
from .io import CheckpointError, Spec, read_header

FORMAT_TRAIN = "dcgan_studio.train"
FORMAT_GENERATOR = "dcgan_studio.generator"
FORMAT_MODELS = "dcgan_studio.models"  # G and D weights without optimiser state: what the app needs to inspect D
FORMAT_VERSION = "1"
FORMATS = (FORMAT_TRAIN, FORMAT_GENERATOR, FORMAT_MODELS)


@dataclass(frozen=True)
class CheckpointInfo:
    """One parse of a DCGAN Studio file's header: enough to list it, to choose what to load, or to refuse it,
    without reading a tensor. Loaders take it instead of a path so the header is not parsed again."""

    path: Path
    format: str
    model_config: ModelConfig
    metadata: dict[str, str]  # the raw string metadata
    specs: dict[str, Spec]  # every tensor's (dtype, shape)

    @property
    def has_discriminator(self) -> bool:
        return self.format != FORMAT_GENERATOR

    @property
    def has_ema(self) -> bool:
        """A training checkpoint holding a moving average of G's weights (``EMA.<key>``)."""
        return self.format == FORMAT_TRAIN and any(k.startswith("EMA.") for k in self.specs)

    @property
    def is_training_state(self) -> bool:
        return self.format == FORMAT_TRAIN

    def summary(self) -> dict[str, Any]:
        """The metadata with the configs parsed, for listings and the UI (what ``read_metadata`` returns)."""
        info: dict[str, Any] = {
            "format": self.format,
            "model_config": self.model_config.to_dict(),
            "has_discriminator": self.has_discriminator,
        }
        try:
            for key in ("step", "epoch"):
                if key in self.metadata:
                    info[key] = int(self.metadata[key])
            if "train_config" in self.metadata:
                info["train_config"] = TrainConfig.from_json(self.metadata["train_config"]).to_dict()
        except (ValueError, TypeError, ConfigError, RecursionError) as exc:
            raise CheckpointError(f"{self.path.name} has invalid training metadata ({exc})") from None
        info.update(extra_metadata(self.metadata))
        return info


def extra_metadata(metadata: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in metadata.items() if k.startswith("extra.")}


PROVENANCE_KEYS = ("step", "epoch", "train_config")  # what an export keeps of the training checkpoint it came from


def export_provenance(info: CheckpointInfo, source_name: str | None = None) -> dict[str, str]:
    """The metadata an exported file keeps about where it came from: the source's file name and, from a training
    checkpoint, its step, epoch and train config (as ``extra.step``, ...). They tie a shared file to its run folder
    (the shipped generator to ``checkpoints/digits32-run``: same config, its metrics end at that step)."""
    meta = {"extra.exported_from": source_name or info.path.name}
    if info.is_training_state:
        meta |= {f"extra.{key}": info.metadata[key] for key in PROVENANCE_KEYS if key in info.metadata}
    return meta


def _model_config(metadata: dict[str, str], path: Path) -> ModelConfig:
    fmt = metadata.get("format")
    if fmt not in FORMATS:
        raise CheckpointError(
            f"{path.name} was not written by DCGAN Studio (metadata 'format' is {fmt!r}); "
            "for a pytorch/examples netG_*.pth use `python -m dcgan_studio import-pth`"
        )
    if metadata.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{path.name} has format version {metadata.get('format_version')!r}; this build reads {FORMAT_VERSION}"
        )
    try:
        raw = json.loads(metadata.get("model_config", ""))
        if not isinstance(raw, dict) or any(type(v) is not int for v in raw.values()):
            raise ConfigError(f"every field must be a whole number, got {str(raw)[:200]}")
        return ModelConfig.from_dict(raw)
    except (ConfigError, TypeError, ValueError, RecursionError) as exc:
        raise CheckpointError(f"{path.name} has an invalid model_config in its metadata: {exc}") from None


def read_info(path: str | Path | CheckpointInfo) -> CheckpointInfo:
    """Parse and check a DCGAN Studio file's header once (no tensor is read); a ``CheckpointInfo`` passes through."""
    if isinstance(path, CheckpointInfo):
        return path
    path = Path(path)
    metadata, specs = read_header(path)
    config = _model_config(metadata, path)
    return CheckpointInfo(path, metadata["format"], config, metadata, specs)


def read_metadata(path: str | Path) -> dict[str, Any]:
    """A checkpoint's metadata with the configs parsed (for listings and the UI), from the header alone."""
    return read_info(path).summary()


def verify_file(path: str | Path) -> str | None:
    """None if ``path`` looks like a complete safetensors checkpoint of ours (header only, cheap), else why not."""
    try:
        read_info(path)
    except CheckpointError as exc:
        return str(exc)
    except OSError as exc:
        return f"{Path(path).name} cannot be read ({exc})"
    return None
