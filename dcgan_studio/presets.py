"""Named training recipes: what the Train tab starts from, and what ``bench/first_run.py`` times.

``quick`` is the shipped digits recipe (``checkpoints/README.md``) cut to 60 epochs without the EMA: narrow networks
(ngf = ndf = 32) and the paper's batch of 128 on the 8x8 digits upscaled to 32x32, long enough for recognisable digits
in about a minute on two CPU cores, with a grid every epoch (14 steps) so the picture changes every second or so, and
DiffAugment (translation + cutout) on D's inputs: of the options measured on this recipe (``bench/recipes.py``,
``checkpoints/README.md``) the one that lowered the Fréchet distance after the same 840 steps (145 against 164; EMA
and lr decay did not help), though the fixed-noise grid shows all ten classes later (step 658 against 336).
``paper64`` is the paper's own setting (64x64, ngf = ndf = 64, nz 100, batch 128, Adam 2e-4 / beta1 0.5), as
pytorch/examples runs it for 25 epochs. ``colour64`` is what learned the offline colour photos in 10 minutes on two CPU
cores where ``paper64`` did not (D won from the start): half the paper's width, DiffAugment with colour, an EMA of G
(``checkpoints/README.md``, "64x64 colour on photos"). A preset leaves the dataset and channels as the user set them;
picking ``photos`` sets 3 channels.

Each preset carries the seconds one of its steps takes on a 2-core CPU (grids and logging included, measured with
``bench/first_run.py``-style runs of the Trainer): a public Studio, whose jobs stop after a time limit, shortens a
preset so that it finishes inside it (``app/train_form.fit_preset``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .config import ModelConfig, TrainConfig
from .dataset_names import PHOTOS_TRAIN_COUNT

DIGITS_COUNT = 1797  # scikit-learn's handwritten digits


@dataclass(frozen=True)
class Preset:
    label: str  # what the Train tab's preset picker shows
    model: dict[str, Any] = field(default_factory=dict)  # ModelConfig fields that differ from its defaults
    train: dict[str, Any] = field(default_factory=dict)  # TrainConfig fields that differ from its defaults
    cpu_seconds_per_step: float = 0.0  # one step on 2 CPU cores, grids included (0: not measured)
    images: int = DIGITS_COUNT  # the training images of the dataset the preset is made for

    def steps_per_epoch(self, batch_size: int) -> int:
        """Steps of one epoch of the dataset the preset is made for (the loader drops the last batch)."""
        return max(1, self.images // batch_size)

    def configs(self, **train_overrides: Any) -> tuple[ModelConfig, TrainConfig]:
        return ModelConfig(**self.model), TrainConfig(**{**self.train, **train_overrides})

    def form(self) -> dict[str, Any]:
        """Every model and train field of the recipe by name (the Train form's fields share these names)."""
        model, train = self.configs()
        return {**model.to_dict(), **train.to_dict()}


PRESETS: dict[str, Preset] = {
    "quick": Preset(
        "Quick digits: ngf = ndf = 32, batch 128, 60 epochs, DiffAugment (about a minute on 2 CPU cores)",
        model=dict(image_size=32, channels=1, nz=100, ngf=32, ndf=32),
        train=dict(
            batch_size=128,
            epochs=60,
            lr=2e-4,
            beta1=0.5,
            log_every=7,
            sample_every=0,
            augment=dict(diffaugment="translation,cutout"),
        ),
        cpu_seconds_per_step=0.2,  # 0.18 s measured (2-core AMD EPYC): 840 steps in under 3 min
    ),
    "paper64": Preset(
        "The paper's 64x64: ngf = ndf = 64, batch 128, 25 epochs (slow on a CPU; a GPU's job)",
        model=dict(image_size=64, channels=1, nz=100, ngf=64, ndf=64),
        train=dict(batch_size=128, epochs=25, lr=2e-4, beta1=0.5, log_every=5, sample_every=5),
        cpu_seconds_per_step=1.3,  # 1.24 s measured (2-core AMD EPYC): 350 steps take ~7.5 min alone
    ),
    "colour64": Preset(
        "Colour 64x64 for the photos: ngf = ndf = 32, DiffAugment with colour, EMA, 80 epochs (10 min on 2 CPU cores)",
        model=dict(image_size=64, nz=100, ngf=32, ndf=32),
        train=dict(
            batch_size=128,
            epochs=80,
            lr=2e-4,
            beta1=0.5,
            log_every=10,
            sample_every=50,
            augment=dict(diffaugment="color,translation,cutout"),
            ema=dict(ema_decay=0.999),
        ),
        cpu_seconds_per_step=0.46,  # 1,280 steps in 9 min 39 s (2-core AMD EPYC, grids every 50 steps)
        images=PHOTOS_TRAIN_COUNT,
    ),
}
DEFAULT_PRESET = "quick"
