"""Configuration dataclasses: every option of a run declared once.

A ``ModelConfig`` describes a Generator/Discriminator pair completely; it is stored as JSON in every checkpoint so a
file alone is enough to rebuild the network that wrote it. A ``TrainConfig`` describes one training run: flat fields
for data, optimiser and logging, and typed parts (``StabilityConfig``, ``SpeedConfig``, ``AugmentConfig``,
``EmaConfig``). Each field carries its ``options.Option``: help, bounds, CLI flag, Studio widget and public cap, so
the CLI's flags, the Studio's form and its limits are built from here (see options.py and docs/ARCHITECTURE.md,
"Adding an option"). Every value is checked once, in ``__post_init__`` (``options.validate``), and an error names the
field and its range. Checkpoints written before the typed parts kept those options in an untyped ``extra`` dict;
``TrainConfig.from_dict`` still reads it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import InitVar, asdict, dataclass, field, fields, replace
from typing import Any

from .dataset_names import DATASET_NAMES
from .errors import ConfigError
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
    parameter_count,
)
from .options import Widget, option, validate

SUPPORTED_IMAGE_SIZES = (32, 64, 128)
SUPPORTED_CHANNELS = (1, 3)
ADVANCED = "Advanced: stability and speed"  # the Train form's accordion of the options added after its first 16
LOGGING = "Logging"


@dataclass(frozen=True)
class ModelConfig:
    image_size: int = option(
        32,
        "image side in pixels (default: %(default)s)",
        choices=SUPPORTED_IMAGE_SIZES,
        group="model",
        widget=Widget("Image size", 3, kind="dropdown", row=1),
        limit="image_sizes",
        public_cap=(32, 64),
    )  # 32, 64 or 128; the number of (de)convolution stages follows from it
    channels: int = option(
        1,
        "1 grayscale, 3 RGB (default: %(default)s)",
        choices=SUPPORTED_CHANNELS,
        group="model",
        widget=Widget("Channels", 4, kind="radio", row=1, preset=False),
        limit="channels",
    )
    nz: int = option(
        100,
        "latent vector length (default: %(default)s)",
        lo=1,
        hi=1024,
        group="model",
        widget=Widget("nz", 5, row=2),
        limit_lo="min_nz",
        limit="max_nz",
    )  # length of the latent vector z (the paper uses 100)
    ngf: int = option(
        64,
        "generator width (default: %(default)s)",
        lo=1,
        hi=1024,
        group="model",
        widget=Widget("ngf (G width)", 6, row=2),
        limit_lo="min_width",
        limit="max_width",
        public_cap=64,
    )  # channels of G's last hidden layer, doubled per stage towards z
    ndf: int = option(
        64,
        "discriminator width (default: %(default)s)",
        lo=1,
        hi=1024,
        group="model",
        widget=Widget("ndf (D width)", 7, row=2),
        limit_lo="min_width",
        limit="max_width",
        public_cap=64,
    )  # channels of D's first layer, doubled per stage

    def __post_init__(self) -> None:
        validate(self)
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

    label_smoothing: float = option(
        0.0,
        "one-sided label smoothing: real targets 1 - s (e.g. 0.1; a remedy when D wins)",
        lo=0.0,
        hi=0.5,
        hi_open=True,
        group="optimisation",
        widget=Widget("Label smoothing (D's real target 1 - s)", 18, section=ADVANCED, row=1, hi=0.45),
    )  # one-sided: D's target for real images is 1 - s (Salimans et al. 2016)
    instance_noise: float = option(
        0.0,
        "std of Gaussian noise added to D's inputs (e.g. 0.1; a remedy when D wins)",
        lo=0.0,
        hi=10.0,
        group="optimisation",
        widget=Widget("Instance noise (std on D's inputs)", 19, section=ADVANCED, row=1, hi=1.0),
    )  # std of Gaussian noise added to D's inputs, real and fake (images lie in [-1, 1])
    nan_policy: str = option(
        "stop",
        "on NaN/inf losses: stop (default), or roll back to the last good state with lower learning rates",
        choices=NAN_POLICIES,
        group="optimisation",
        widget=Widget(
            "On NaN/inf losses",
            16,
            kind="radio",
            section=ADVANCED,
            info="stop the run, or roll back to the last good state with lower learning rates",
        ),
    )
    nan_max_rollbacks: int = option(
        3, "rollbacks before giving up (default: %(default)s)", lo=1, hi=MAX_NAN_ROLLBACKS, group="optimisation"
    )  # rollbacks before a run with "rollback" gives up
    nan_lr_factor: float = option(
        0.5, "learning-rate factor per rollback (default: %(default)s)", lo=1e-3, hi=0.99, group="optimisation"
    )  # each rollback multiplies both learning rates by this

    def __post_init__(self) -> None:
        validate(self, "stability.")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StabilityConfig:
        return cls(**_known_fields(cls, data))


SPEED = "speed"
AMP_CHOICES = (("device default", "default"), ("off", "off"), ("bf16", "bf16"), ("auto", "auto"))


@dataclass
class SpeedConfig:
    """How fast a step runs; None leaves the choice to the device (``step.SPEED_DEFAULTS``, bench/README.md)."""

    amp: str | None = option(
        None,
        "bf16 autocast (default: auto = bf16 on CUDA and on CPUs with native bf16, off elsewhere)",
        kind="choice",
        choices=AMP_MODES,
        lower=True,
        group=SPEED,
        widget=Widget(
            "Mixed precision",
            17,
            kind="radio",
            section=ADVANCED,
            choices=AMP_CHOICES,
            blank="default",
            info="bf16 autocast; the device default is bf16 where it is fast",
        ),
    )  # "off", "bf16" (autocast forward passes) or "auto"
    channels_last: bool | None = option(None, "NHWC memory format", kind="bool", group=SPEED)
    fused_adam: bool | None = option(None, "one fused Adam kernel", kind="bool", group=SPEED)
    compile: bool | None = option(None, "torch.compile G and D (dynamic=False)", kind="bool", group=SPEED)

    def __post_init__(self) -> None:
        validate(self, "speed.")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SpeedConfig:
        return cls(**_known_fields(cls, data))


AUGMENT_POLICIES = ("color", "translation", "cutout")  # DiffAugment's transforms, in the order they are applied
LR_DECAYS = ("none", "linear", "cosine")
TRACKERS = ("none", "tensorboard", "trackio")  # trackers.py: what each writes
QUALITY = "quality"
AUGMENT_CHOICES = (
    ("off", "off"),
    ("translation", "translation"),
    ("cutout", "cutout"),
    ("translation + cutout", "translation,cutout"),
    ("colour + translation + cutout", "color,translation,cutout"),
)


@dataclass
class AugmentConfig:
    """Differentiable augmentation of D's inputs, real and fake, in both steps (DiffAugment; see augment.py)."""

    diffaugment: str = option(
        "",
        f"DiffAugment of D's inputs, real and fake: comma-separated from {', '.join(AUGMENT_POLICIES)} "
        "(color: RGB only), e.g. translation,cutout; '' = off (default)",
        group=QUALITY,
        widget=Widget(
            "DiffAugment of D's inputs (real and fake)",
            22,
            kind="radio",
            section=ADVANCED,
            row=3,
            choices=AUGMENT_CHOICES,
            blank="off",
            info="the same random transforms on real and fake images before D; colour acts on RGB only",
        ),
    )  # comma-separated transforms from AUGMENT_POLICIES ("color" acts on RGB only); "" = off
    augment_p: float = option(
        1.0,
        "probability each transform is applied to an image (default: %(default)s)",
        lo=0.0,
        hi=1.0,
        lo_open=True,
        group=QUALITY,
        widget=Widget("Augment probability", 23, section=ADVANCED, row=4, lo=0.01),
    )  # probability that each transform is applied to an image

    def __post_init__(self) -> None:
        names = [n.strip().lower() for n in str(self.diffaugment or "").split(",") if n.strip()]
        unknown = [n for n in names if n not in AUGMENT_POLICIES]
        if unknown:
            raise ConfigError(
                f"augment.diffaugment: unknown transform {unknown[0]!r}; use a comma-separated list from "
                f"{', '.join(AUGMENT_POLICIES)}"
            )
        self.diffaugment = ",".join(n for n in AUGMENT_POLICIES if n in names)
        validate(self, "augment.")

    @property
    def policy(self) -> tuple[str, ...]:
        return tuple(n for n in self.diffaugment.split(",") if n)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AugmentConfig:
        return cls(**_known_fields(cls, data))


@dataclass
class EmaConfig:
    """An exponential moving average of G's weights (ema.py): what grids and exports show when it is on."""

    ema_decay: float = option(
        0.0,
        "keep a moving average of G's weights with this decay (e.g. 0.999; 0 = off, the default); grids and "
        "exports use it. Warmed up as min(decay, (1 + t) / (10 + t)) after t steps, so the decay itself counts only "
        "after 9 / (1 - decay) steps (9,000 at 0.999)",
        lo=0.5,
        hi=1.0,
        hi_open=True,
        off=0.0,
        aliases=("--ema",),
        group=QUALITY,
        widget=Widget("EMA decay of G (0 = off)", 24, name="ema", section=ADVANCED, row=4, hi=0.9999, what="EMA decay"),
    )  # 0 = off; else in [0.5, 1), e.g. 0.999 (warmed up: min(decay, (1 + t) / (10 + t)))

    def __post_init__(self) -> None:
        validate(self, "ema.")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EmaConfig:
        return cls(**_known_fields(cls, data))


# Where each option of the old untyped ``TrainConfig.extra`` dict lives now (checkpoints written before the typed
# configuration carry them there).
_LEGACY_EXTRA = {
    "stability": tuple(f.name for f in fields(StabilityConfig)),
    "speed": tuple(f.name for f in fields(SpeedConfig)),
    "": ("num_workers",),
}
DATA, OPTIMISATION, RUN_FOLDER = "data", "optimisation", "run folder"
_LR = dict(lo=0.0, hi=1.0, lo_open=True, hi_open=True, limit_lo="min_lr", limit="max_lr")


def _own_lr(label: str, pos: int) -> Widget:
    return Widget(label, pos, section=ADVANCED, row=2, zero_is_none=True)


@dataclass
class TrainConfig:
    """One training run. ``stability``, ``speed``, ``augment`` and ``ema`` are nested; everything else is flat, as in
    nanoGPT's train.py."""

    # data
    dataset: str = option(
        "digits", f"one of {', '.join(DATASET_NAMES)} (default: %(default)s, offline)", group=DATA
    )  # "digits" (offline), a torchvision name ("mnist", "cifar10", ...), "folder" or "zip"
    data_path: str | None = option(
        None,
        "folder or .zip of images for folder/zip; root folder of a torchvision dataset (default: ./data)",
        kind="text",
        group=DATA,
    )
    download: bool = option(False, "let torchvision download a missing dataset (needs network)", group=DATA)
    # optimisation
    batch_size: int = option(
        128,
        "minibatch size (default: %(default)s, as in the paper)",
        lo=1,
        hi=MAX_BATCH,
        group=OPTIMISATION,
        widget=Widget("Batch size", 8, kind="slider", row=3),
        limit="max_batch",
        public_cap=128,
    )
    epochs: int = option(
        25,
        "passes over the data (default: %(default)s)",
        lo=1,
        hi=MAX_EPOCHS,
        group=OPTIMISATION,
        widget=Widget("Epochs", 11, row=5),
        limit="max_epochs",
        public_cap=100,
    )
    lr: float = option(
        2e-4,
        "Adam learning rate for G and D (default: %(default)s)",
        group=OPTIMISATION,
        widget=Widget("Learning rate", 9, row=4, what="learning rate"),
        **_LR,
    )  # the paper's rate (used for G and D unless lr_g / lr_d are set)
    lr_g: float | None = option(
        None,
        "separate learning rate for G (overrides --lr)",
        kind="float",
        group=OPTIMISATION,
        widget=_own_lr("G learning rate (0 = as above)", 20),
        **_LR,
    )
    lr_d: float | None = option(
        None,
        "separate learning rate for D (overrides --lr)",
        kind="float",
        group=OPTIMISATION,
        widget=_own_lr("D learning rate (0 = as above)", 21),
        **_LR,
    )
    beta1: float = option(
        0.5,
        "Adam beta1 (default: %(default)s, the paper's value)",
        lo=0.0,
        hi=1.0,
        hi_open=True,
        group=OPTIMISATION,
        widget=Widget("Adam beta1", 10, row=4, hi=0.999),
    )  # the paper lowers Adam's beta1 from 0.9 to 0.5 to stabilise training
    beta2: float = option(0.999, "Adam beta2 (default: %(default)s)", lo=0.0, hi=1.0, hi_open=True, group=OPTIMISATION)
    lr_decay: str = option(
        "none",
        "decay both learning rates over the run towards --lr-floor (default: %(default)s)",
        choices=LR_DECAYS,
        lower=True,
        group=QUALITY,
        widget=Widget(
            "Learning-rate decay",
            25,
            kind="radio",
            section=ADVANCED,
            row=5,
            info="both rates fall towards the floor over the run",
        ),
    )  # "none", or "linear" / "cosine" from the rates to lr_floor x them over the epochs
    lr_floor: float = option(
        0.0,
        "where --lr-decay ends, as a fraction of the starting rates (default: %(default)s)",
        lo=0.0,
        hi=1.0,
        hi_open=True,
        group=QUALITY,
        widget=Widget("Decay floor (fraction of the rates)", 26, section=ADVANCED, row=5, hi=0.99),
    )
    lr_decay_start: float = option(
        0.0,
        "where --lr-decay starts, as a fraction of the run; the rates stay the starting ones before it (default: "
        "%(default)s, from the first step)",
        lo=0.0,
        hi=1.0,
        hi_open=True,
        group=QUALITY,
        widget=Widget("Decay starts at (fraction of the run)", 28, section=ADVANCED, row=5, hi=0.99),
    )
    seed: int = option(
        0,
        "random seed; same seed and config give the same weights on the CPU",
        lo=0,
        hi=MAX_SEED,
        group=OPTIMISATION,
        widget=Widget("Seed", 13, row=5, preset=False),
        limit="max_seed",
    )
    device: str = option(
        "auto", "auto (GPU if present), cpu, cuda, cuda:N or mps (default: %(default)s)", group=OPTIMISATION
    )  # "auto" tries cuda, then mps, then cpu
    # logging and the run folder
    log_every: int = option(
        50,
        "steps between log lines (default: %(default)s)",
        lo=1,
        hi=MAX_EVERY,
        group=RUN_FOLDER,
        widget=Widget("Log every (steps)", 14, section=LOGGING, hint_max=False),
        limit="max_log_every",
    )  # metrics are read from the device this often
    sample_every: int = option(
        0,
        "steps between fixed-noise grids; 0 = each epoch",
        lo=0,
        hi=MAX_EVERY,
        group=RUN_FOLDER,
        widget=Widget(
            "Grid every (steps, 0 = each epoch)", 15, section=LOGGING, row=1, hint_max=False, what="grid every"
        ),
        limit="max_sample_every",
    )
    track: str = option(
        "none",
        "also log to an experiment tracker: tensorboard (event files under the run folder) or trackio (its local "
        "store); needs pip install 'dcgan-studio[track]' (default: %(default)s)",
        choices=TRACKERS,
        lower=True,
        group=RUN_FOLDER,
        widget=Widget("Experiment tracker", 27, kind="radio", section=LOGGING, row=2),
        limit="trackers",
        public_cap=("none",),  # a Space's visitors share one server: their runs stay in the Studio
    )
    checkpoint_every: int = option(0, "steps between checkpoints; 0 = each epoch", lo=0, hi=MAX_EVERY, group=RUN_FOLDER)
    keep_checkpoints: int = option(
        3, "step checkpoints to keep (default: %(default)s)", lo=1, hi=MAX_KEEP_CHECKPOINTS, group=RUN_FOLDER
    )  # the latest is never deleted
    n_fixed: int = option(
        64, "images in the fixed-noise progress grid (default: %(default)s)", lo=1, hi=MAX_N_FIXED, group=RUN_FOLDER
    )
    max_steps: int | None = option(
        None,
        "stop after this many steps in total",
        kind="int",
        lo=1,
        hi=MAX_STEPS,
        group=OPTIMISATION,
        widget=Widget("Max steps (0 = all)", 12, row=5, preset=False, zero_is_none=True),
        limit="max_steps",
        public_cap=3_000,
    )  # handy for tests and dry runs
    num_workers: int = option(
        2,
        "DataLoader workers for a dataset too large for memory (default: %(default)s)",
        lo=0,
        hi=MAX_NUM_WORKERS,
        group=DATA,
    )
    # typed parts
    stability: StabilityConfig = field(default_factory=StabilityConfig)
    speed: SpeedConfig = field(default_factory=SpeedConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    ema: EmaConfig = field(default_factory=EmaConfig)
    # the old untyped options dict, accepted for code and files written before the typed parts; never stored
    extra: InitVar[Mapping[str, Any] | None] = None

    def __post_init__(self, extra: Mapping[str, Any] | None) -> None:
        for part, cls in TYPED_PARTS.items():
            if isinstance(getattr(self, part), Mapping):
                setattr(self, part, cls.from_dict(getattr(self, part)))
        if extra is not None:
            self._adopt_extra(extra)
        validate(self)

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


TYPED_PARTS = {"stability": StabilityConfig, "speed": SpeedConfig, "augment": AugmentConfig, "ema": EmaConfig}
