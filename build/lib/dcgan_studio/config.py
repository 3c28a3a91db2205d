"""Configuration dataclasses.

A ``ModelConfig`` describes a Generator/Discriminator pair completely; it is stored as JSON in every checkpoint so a
file alone is enough to rebuild the network that wrote it. A ``TrainConfig`` describes one training run: flat fields
for data, optimiser and logging, and two typed parts, ``StabilityConfig`` and ``SpeedConfig``. Every value is checked
once, in ``__post_init__``, and an error names the field and its range. Checkpoints written before the typed parts
kept those options in an untyped ``extra`` dict; ``TrainConfig.from_dict`` still reads it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import InitVar, asdict, dataclass, field, fields, replace
from typing import Any

from .errors import UserError
from .limits import (
    MAX_BATCH,
    MAX_EPOCHS,
    MAX_EVERY,
    MAX_KEEP_CHECKPOINTS,
    MAX_N_FIXED,
    MAX_NAN_ROLLBACKS,
    MAX_NUM_WORKERS,
    MAX_PARAMS_PER_NETWORK,
    MAX_SEED,
    MAX_STEPS,
    check_float,
    check_int,
    parameter_count,
)

SUPPORTED_IMAGE_SIZES = (32, 64, 128)
SUPPORTED_CHANNELS = (1, 3)


class ConfigError(UserError):
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
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        return cls(**_known_fields(cls, data))

    @classmethod
    def from_json(cls, text: str) -> ModelConfig:
        return cls.from_dict(_loads_object(text, "model config"))


NAN_POLICIES = ("stop", "rollback")  # on NaN/inf losses: end the run, or return to the last good state
AMP_MODES = ("off", "bf16", "auto")  # auto: bf16 on CUDA and on CPUs that compute it natively, off elsewhere


@dataclass
class StabilityConfig:
    """Remedies the health monitor names when a run goes wrong (see health.py)."""

    label_smoothing: float = 0.0  # one-sided: D's target for real images is 1 - s (Salimans et al. 2016); [0, 0.5)
    instance_noise: float = 0.0  # std of Gaussian noise added to D's inputs, real and fake; [0, 10]
    nan_policy: str = "stop"  # "stop", or "rollback" to the last good state with the learning rates scaled down
    nan_max_rollbacks: int = 3  # rollbacks before a run with "rollback" gives up; 1..MAX_NAN_ROLLBACKS
    nan_lr_factor: float = 0.5  # each rollback multiplies both learning rates by this; [0.001, 0.99]

    def __post_init__(self) -> None:
        self.label_smoothing = _check_float("stability.label_smoothing", self.label_smoothing, 0.0, 0.5, hi_open=True)
        self.instance_noise = _check_float("stability.instance_noise", self.instance_noise, 0.0, 10.0)
        if self.nan_policy not in NAN_POLICIES:
            raise ConfigError(f"stability.nan_policy must be one of {NAN_POLICIES}, got {self.nan_policy!r}")
        self.nan_max_rollbacks = _check_int("stability.nan_max_rollbacks", self.nan_max_rollbacks, 1, MAX_NAN_ROLLBACKS)
        self.nan_lr_factor = _check_float("stability.nan_lr_factor", self.nan_lr_factor, 1e-3, 0.99)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StabilityConfig:
        return cls(**_known_fields(cls, data))


@dataclass
class SpeedConfig:
    """How fast a step runs; None leaves the choice to the device (``step.SPEED_DEFAULTS``, bench/README.md)."""

    amp: str | None = None  # "off", "bf16" (autocast forward passes) or "auto"
    channels_last: bool | None = None  # NHWC memory format for the networks and batches
    fused_adam: bool | None = None  # one fused Adam kernel per step instead of the foreach path
    compile: bool | None = None  # torch.compile G and D (dynamic=False)

    def __post_init__(self) -> None:
        if self.amp is not None:
            self.amp = str(self.amp).lower()
            if self.amp not in AMP_MODES:
                raise ConfigError(
                    f"speed.amp must be one of {AMP_MODES} or None (the device's default), got {self.amp!r}"
                )
        for name in ("channels_last", "fused_adam", "compile"):
            if getattr(self, name) not in (None, True, False):
                raise ConfigError(
                    f"speed.{name} must be true, false or None (the device's default), got {getattr(self, name)!r}"
                )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SpeedConfig:
        return cls(**_known_fields(cls, data))


AUGMENT_POLICIES = ("color", "translation", "cutout")  # DiffAugment's transforms, in the order they are applied
LR_DECAYS = ("none", "linear", "cosine")


@dataclass
class AugmentConfig:
    """Differentiable augmentation of D's inputs, real and fake, in both steps (DiffAugment; see augment.py)."""

    diffaugment: str = ""  # comma-separated transforms from AUGMENT_POLICIES ("color" acts on RGB only); "" = off
    augment_p: float = 1.0  # probability that each transform is applied to an image; (0, 1]

    def __post_init__(self) -> None:
        names = [n.strip().lower() for n in str(self.diffaugment or "").split(",") if n.strip()]
        unknown = [n for n in names if n not in AUGMENT_POLICIES]
        if unknown:
            raise ConfigError(
                f"augment.diffaugment: unknown transform {unknown[0]!r}; use a comma-separated list from "
                f"{', '.join(AUGMENT_POLICIES)}"
            )
        self.diffaugment = ",".join(n for n in AUGMENT_POLICIES if n in names)
        self.augment_p = _check_float("augment.augment_p", self.augment_p, 0.0, 1.0)
        if self.augment_p == 0:
            raise ConfigError("augment.augment_p must be in (0, 1], got 0; leave diffaugment empty to turn it off")

    @property
    def policy(self) -> tuple[str, ...]:
        return tuple(n for n in self.diffaugment.split(",") if n)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AugmentConfig:
        return cls(**_known_fields(cls, data))


@dataclass
class EmaConfig:
    """An exponential moving average of G's weights (ema.py): what grids and exports show when it is on."""

    ema_decay: float = 0.0  # 0 = off; else in [0.5, 1), e.g. 0.999 (warmed up: min(decay, (1 + t) / (10 + t)))

    def __post_init__(self) -> None:
        self.ema_decay = _check_float("ema.ema_decay", self.ema_decay, 0.0, 1.0, hi_open=True)
        if 0 < self.ema_decay < 0.5:
            raise ConfigError(f"ema.ema_decay must be 0 (off) or in [0.5, 1), got {self.ema_decay!r}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EmaConfig:
        return cls(**_known_fields(cls, data))


# Where each option of the old untyped ``TrainConfig.extra`` dict lives now (checkpoints written before the typed
# configuration carry them there).
_LEGACY_EXTRA = {
    "stability": ("label_smoothing", "instance_noise", "nan_policy", "nan_max_rollbacks", "nan_lr_factor"),
    "speed": ("amp", "channels_last", "fused_adam", "compile"),
    "": ("num_workers",),
}
_INT_RANGES = (  # whole-number fields and their ranges (64.0 from a UI slider becomes 64; 64.5, "abc", NaN refused)
    ("batch_size", 1, MAX_BATCH),
    ("epochs", 1, MAX_EPOCHS),
    ("seed", 0, MAX_SEED),
    ("log_every", 1, MAX_EVERY),
    ("n_fixed", 1, MAX_N_FIXED),
    ("sample_every", 0, MAX_EVERY),
    ("checkpoint_every", 0, MAX_EVERY),
    ("keep_checkpoints", 1, MAX_KEEP_CHECKPOINTS),
    ("max_steps", 1, MAX_STEPS),
    ("num_workers", 0, MAX_NUM_WORKERS),
)


@dataclass
class TrainConfig:
    """One training run. ``stability``, ``speed``, ``augment`` and ``ema`` are nested; everything else is flat, as in
    nanoGPT's train.py."""

    # data
    dataset: str = "digits"  # "digits" (offline), a torchvision name ("mnist", "cifar10", ...), "folder" or "zip"
    data_path: str | None = None  # folder or .zip for "folder"/"zip"; root folder for torchvision datasets
    download: bool = False  # let torchvision download a missing dataset (needs network)
    # optimisation
    batch_size: int = 128  # the paper's minibatch size
    epochs: int = 25
    lr: float = 2e-4  # Adam learning rate from the paper (used for G and D unless lr_g / lr_d are set)
    lr_g: float | None = None
    lr_d: float | None = None
    beta1: float = 0.5  # the paper lowers Adam's beta1 from 0.9 to 0.5 to stabilise training
    beta2: float = 0.999
    lr_decay: str = "none"  # "none", or "linear" / "cosine" from the rates to lr_floor x them over the epochs
    lr_floor: float = 0.0  # where lr_decay ends, as a fraction of the starting rates; [0, 1)
    seed: int = 0
    device: str = "auto"  # "auto" (cuda, then mps, then cpu), "cpu", "cuda", "cuda:1", "mps"
    # logging and the run folder
    log_every: int = 50  # steps between log lines; metrics are read from the device this often
    sample_every: int = 0  # steps between fixed-noise grids; 0 means once per epoch
    checkpoint_every: int = 0  # steps between checkpoints; 0 means once per epoch
    keep_checkpoints: int = 3  # how many step checkpoints to keep (the latest is never deleted)
    n_fixed: int = 64  # size of the fixed-noise batch shown as progress grids
    max_steps: int | None = None  # stop after this many steps in total (handy for tests and dry runs)
    num_workers: int = 2  # DataLoader workers, used only when a dataset is too large to hold in memory
    # typed parts
    stability: StabilityConfig = field(default_factory=StabilityConfig)
    speed: SpeedConfig = field(default_factory=SpeedConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    ema: EmaConfig = field(default_factory=EmaConfig)
    # the old untyped options dict, accepted for code and files written before the typed parts; never stored
    extra: InitVar[Mapping[str, Any] | None] = None

    def __post_init__(self, extra: Mapping[str, Any] | None) -> None:
        if isinstance(self.stability, Mapping):
            self.stability = StabilityConfig.from_dict(self.stability)
        if isinstance(self.speed, Mapping):
            self.speed = SpeedConfig.from_dict(self.speed)
        if isinstance(self.augment, Mapping):
            self.augment = AugmentConfig.from_dict(self.augment)
        if isinstance(self.ema, Mapping):
            self.ema = EmaConfig.from_dict(self.ema)
        if extra is not None:
            self._adopt_extra(extra)
        for name, lo, hi in _INT_RANGES:
            if name != "max_steps" or self.max_steps is not None:
                setattr(self, name, _check_int(name, getattr(self, name), lo, hi))
        for name in ("lr", "lr_g", "lr_d"):
            value = getattr(self, name)
            if value is not None and not (0 < float(value) < 1):
                raise ConfigError(f"{name} must be in (0, 1), got {value}")
        for name in ("beta1", "beta2"):
            if not 0 <= float(getattr(self, name)) < 1:
                raise ConfigError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        self.lr_decay = str(self.lr_decay).lower()
        if self.lr_decay not in LR_DECAYS:
            raise ConfigError(f"lr_decay must be one of {', '.join(LR_DECAYS)}, got {self.lr_decay!r}")
        self.lr_floor = _check_float("lr_floor", self.lr_floor, 0.0, 1.0, hi_open=True)

    def _adopt_extra(self, extra: Mapping[str, Any]) -> None:
        """Move the known keys of an old ``extra`` dict into their typed fields (unknown keys are ignored)."""
        if not isinstance(extra, Mapping):
            raise ConfigError(f"extra must be a JSON object (dict), got {type(extra).__name__}")
        for part, names in _LEGACY_EXTRA.items():
            values = {k: extra[k] for k in names if k in extra}
            if not part:
                for name, value in values.items():
                    setattr(self, name, value)
            elif values:
                setattr(self, part, replace(getattr(self, part), **values))

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
    def from_dict(cls, data: Mapping[str, Any]) -> TrainConfig:
        """Nested dicts for the typed parts, or a file from before them with an ``extra`` dict."""
        known = _known_fields(cls, data)
        if "extra" in data:
            known["extra"] = data["extra"]
        return cls(**known)

    @classmethod
    def from_json(cls, text: str) -> TrainConfig:
        return cls.from_dict(_loads_object(text, "train config"))


def _check_int(name: str, value: Any, lo: int, hi: int) -> int:
    try:
        return check_int(name, value, lo, hi)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _check_float(name: str, value: Any, lo: float, hi: float, hi_open: bool = False) -> float:
    """``value`` as a float in [lo, hi] (or [lo, hi) with ``hi_open``); the error names the field and the range."""
    try:
        number = check_float(name, value, lo, hi)
        if hi_open and number == hi:
            raise ValueError(f"{name} must be below {hi}")
    except ValueError as exc:
        range_ = f"must be in [{lo:g}, {hi:g}), got {value!r}" if hi_open else None
        raise ConfigError(f"{name} {range_}" if range_ else str(exc)) from None
    return number


def _known_fields(cls: type, data: Mapping[str, Any]) -> dict[str, Any]:
    """Keep the keys the dataclass knows; a newer file's extra keys must not break loading it."""
    if not isinstance(data, Mapping):
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
