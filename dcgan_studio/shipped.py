"""Where the shipped files are: the digits generator, the digits classifier, their model card and the run folder
that trained the generator (its config, curves, grids and timelapse: the Train tab's first screen, a Runs choice).

In a checkout they are the repository's ``checkpoints/`` folder; an installed wheel carries the same folder as
``dcgan_studio/checkpoints`` (pyproject.toml maps one to the other), so ``sample``, ``eval`` and the Studio find
them from any working folder. No torch here: the Studio's first page names the shipped generator.
"""

from __future__ import annotations

from pathlib import Path

GENERATOR = "digits32.safetensors"
CLASSIFIER = "digits_classifier.safetensors"
CHECKOUT_DIR = Path(__file__).resolve().parents[1] / "checkpoints"  # the repository's folder
INSTALLED_DIR = Path(__file__).resolve().parent / "checkpoints"  # the wheel's copy


def shipped_dir() -> Path:
    """The checkout's checkpoints/ when this package runs from a checkout, else the installed copy."""
    return CHECKOUT_DIR if (CHECKOUT_DIR / GENERATOR).is_file() else INSTALLED_DIR


def shipped_generator() -> Path:
    return shipped_dir() / GENERATOR


def shipped_classifier() -> Path:
    return shipped_dir() / CLASSIFIER


def run_of(checkpoint: str | Path) -> Path:
    """The run folder shipped beside a checkpoint file: ``<stem>-run/`` (``digits32-run`` of ``digits32.safetensors``).
    How the Studio finds the training of whichever checkpoint it opens on."""
    checkpoint = Path(checkpoint)
    return checkpoint.with_name(f"{checkpoint.stem}-run")


def shipped_run() -> Path:
    """The shipped generator's run folder, ``digits32-run`` (config.json, metrics.csv, samples/, timelapse.gif: a run
    folder like any other, read only; absent in older checkouts)."""
    return run_of(shipped_generator())
