"""Configuration dataclasses.

A ``ModelConfig`` describes a Generator/Discriminator pair completely; it is stored as JSON in every checkpoint so a
file alone is enough to rebuild the network that wrote it. A ``TrainConfig`` describes one training run.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from .limits import (MAX_BATCH, MAX_EPOCHS, MAX_EVERY, MAX_KEEP_CHECKPOINTS, MAX_N_FIXED, MAX_PARAMS_PER_NETWORK,
                     MAX_SEED, MAX_STEPS, check_int, parameter_count)

SUPPORTED_IMAGE_SIZES = (32, 64, 128)
SUPPORTED_CHANNELS = (1, 3)


class ConfigError(ValueError):
    """A configuration value is out of range; the message says which and what is allowed."""


@dataclass(frozen=True)
class ModelConfig:
    image_size: int = 32  # 32, 64 or 128; the number of (de)convolution stages follows from it
    channels: int = 1  # 1 (grayscale) or 3 (RGB)
    nz: int = 100  # length of the latent vector z (the paper uses 100)
    ngf: int = 64  # generator width: channels of the last hidden layer, doubled per stage towards z
    ndf: int = 64  # discriminator width: channels of the first layer, doubled per stage

    def __post_init__(self) -> None:
        if self.image_size not in SUPPORTED_IMAGE_SIZES:
            raise ConfigError(f"image_size must be one of {SUPPORTED_IMAGE_SIZES}, got {self.image_size}")
        if self.channels not in SUPPORTED_CHANNELS:
            raise ConfigError(f"channels must be 1 (grayscale) or 3 (RGB), got {self.channels}")
        for name in ("nz", "ngf", "ndf"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 1024:
                raise ConfigError(f"{name} must be an integer in 1..1024, got {value!r}")
        params = max(parameter_count(self.image_size, self.channels, self.nz, self.ngf, self.ndf))
        if params > MAX_PARAMS_PER_NETWORK:
            raise ConfigError(
                f"this architecture has {params / 1e6:,.0f}M parameters per network, above the limit of "
                f"{MAX_PARAMS_PER_NETWORK / 1e6:,.0f}M (it would not fit in memory); lower ngf/ndf or the image size"
            )

    @property
    def n_stages(self) -> int:
        """Number of stride-2 stages between 4x4 and the image: 3 for 32, 4 for 64, 5 for 128."""
        return int(math.log2(self.image_size)) - 2

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModelConfig":
        return cls(**_known_fields(cls, data))

    @classmethod
    def from_json(cls, text: str) -> "ModelConfig":
        return cls.from_dict(_loads_object(text, "model config"))


@dataclass
class TrainConfig:
    dataset: str = "digits"  # "digits" (offline), a torchvision name ("mnist", "cifar10", ...), "folder" or "zip"
    data_path: str | None = None  # folder or .zip for "folder"/"zip"; root folder for torchvision datasets
    download: bool = False  # let torchvision download a missing dataset (needs network)
    batch_size: int = 128  # the paper's minibatch size
    epochs: int = 25
    lr: float = 2e-4  # Adam learning rate from the paper (used for G and D unless lr_g / lr_d are set)
    lr_g: float | None = None
    lr_d: float | None = None
    beta1: float = 0.5  # the paper lowers Adam's beta1 from 0.9 to 0.5 to stabilise training
    beta2: float = 0.999
    seed: int = 0
    device: str = "auto"  # "auto" (cuda, then mps, then cpu), "cpu", "cuda", "cuda:1", "mps"
    log_every: int = 50  # steps between log lines; metrics are read from the device this often
    sample_every: int = 0  # steps between fixed-noise grids; 0 means once per epoch
    checkpoint_every: int = 0  # steps between checkpoints; 0 means once per epoch
    keep_checkpoints: int = 3  # how many step checkpoints to keep (the latest is never deleted)
    n_fixed: int = 64  # size of the fixed-noise batch shown as progress grids
    max_steps: int | None = None  # stop after this many steps in total (handy for tests and dry runs)
    extra: dict[str, Any] = field(default_factory=dict)  # options of later features; kept in checkpoints

    def __post_init__(self) -> None:
        if not isinstance(self.extra, dict):
            raise ConfigError(f"extra must be a JSON object (dict), got {type(self.extra).__name__}")
        for name, lo, hi in (("batch_size", 1, MAX_BATCH), ("epochs", 1, MAX_EPOCHS), ("seed", 0, MAX_SEED),
                             ("log_every", 1, MAX_EVERY), ("n_fixed", 1, MAX_N_FIXED), ("sample_every", 0, MAX_EVERY),
                             ("checkpoint_every", 0, MAX_EVERY), ("keep_checkpoints", 1, MAX_KEEP_CHECKPOINTS),
                             ("max_steps", 1, MAX_STEPS)):
            value = getattr(self, name)
            if value is None and name == "max_steps":
                continue
            try:  # whole numbers in range (64.0 from a UI slider becomes 64; 64.5, "abc", NaN are refused)
                setattr(self, name, check_int(name, value, lo, hi))
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
        if not 1 <= int(self.batch_size) <= 4096:
            raise ConfigError(f"batch_size must be in 1..4096, got {self.batch_size}")
        if not 1 <= int(self.epochs) <= 100_000:
            raise ConfigError(f"epochs must be in 1..100000, got {self.epochs}")
        for name in ("lr", "lr_g", "lr_d"):
            value = getattr(self, name)
            if value is not None and not (0 < float(value) < 1):
                raise ConfigError(f"{name} must be in (0, 1), got {value}")
        for name in ("beta1", "beta2"):
            if not 0 <= float(getattr(self, name)) < 1:
                raise ConfigError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        for name in ("log_every", "n_fixed"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("sample_every", "checkpoint_every"):
            if int(getattr(self, name)) < 0:
                raise ConfigError(f"{name} must be 0 (once per epoch) or positive, got {getattr(self, name)}")
        if int(self.keep_checkpoints) < 1:
            raise ConfigError(f"keep_checkpoints must be at least 1, got {self.keep_checkpoints}")
        if self.max_steps is not None and int(self.max_steps) < 1:
            raise ConfigError(f"max_steps must be at least 1, got {self.max_steps}")

    @property
    def g_lr(self) -> float:
        return float(self.lr_g if self.lr_g is not None else self.lr)

    @property
    def d_lr(self) -> float:
        return float(self.lr_d if self.lr_d is not None else self.lr)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        return cls(**_known_fields(cls, data))

    @classmethod
    def from_json(cls, text: str) -> "TrainConfig":
        return cls.from_dict(_loads_object(text, "train config"))


def _known_fields(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """Keep the keys the dataclass knows; a newer file's extra keys must not break loading it."""
    if not isinstance(data, dict):
        raise ConfigError(f"{cls.__name__} must be a JSON object, got {type(data).__name__}")
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


def _loads_object(text: str, what: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except (TypeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"the {what} is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"the {what} must be a JSON object")
    return data
