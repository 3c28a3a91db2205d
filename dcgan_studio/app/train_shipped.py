"""The Train tab before the visitor's first run: how the shipped generator learned.

The run folder that trained the checkpoint the Studio opens on lies beside it (``checkpoints/digits32-run`` of
``checkpoints/digits32.safetensors``: ``shipped.run_of``) with its config.json, metrics.csv, a few grids and a
compact timelapse. The tab draws those curves with the live view's own functions, shows the timelapse and says
whose training it is; the visitor's own run replaces all of it on Start (the live poll draws the job instead). The
folder is read once and kept in ``Studio.first_screens``, so a page load costs a dictionary lookup. No folder: the
tab opens as it always did.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..compare import CompareError, read_config, read_metrics
from ..config import ConfigError, ModelConfig, TrainConfig
from ..shipped import run_of
from ..train import RunDir  # the run folder's layout: no torch
from .studio import Studio

logger = logging.getLogger(__name__)

GRID_LABEL = "Fixed-noise grid (latest)"  # the grid's label while a run of the visitor's is shown
SHIPPED_GRID_LABEL = "The shipped generator's training: its fixed-noise grids as a timelapse"


@dataclass(frozen=True)
class ShippedRun:
    """What the first screen draws of the shipped run, read once: its caption, curves and picture."""

    folder: Path
    caption: str
    history: list[dict[str, float]]
    picture: Path | None  # the timelapse (or the last grid), copied where the Studio serves files from
    drawn: dict[tuple, Any] = field(default_factory=dict, compare=False)  # curves made once (``train_view``)

    @property
    def key(self) -> tuple:
        """Names what is shown, so the tab's timer does not redraw it every second."""
        return ("shipped", str(self.folder), len(self.history))


def caption(checkpoint_name: str, model: ModelConfig, train: TrainConfig, history: list[dict]) -> str:
    """``The shipped generator's training (digits32.safetensors): 4,200 steps, ...``: whose curves these are."""
    last = history[-1] if history else {"step": 0, "epoch": -1}
    epochs = last["epoch"] + 1
    parts = [f"{last['step']:,} steps", f"{epochs} epoch{'s' if epochs != 1 else ''} of {train.dataset}"]
    parts.append(f"{model.image_size}x{model.image_size}, ngf {model.ngf} / ndf {model.ndf}, batch {train.batch_size}")
    if train.augment.diffaugment:
        parts.append(f"DiffAugment {train.augment.diffaugment}")
    if train.ema.ema_decay:
        parts.append(f"EMA {train.ema.ema_decay}")
    return (
        f"**The shipped generator's training** (`{checkpoint_name}`): {', '.join(parts)}.  \n"
        "Its curves and timelapse below. Press **Start** to train your own: your run replaces them."
    )


def picture_of(folder: Path, last_step: int, work_dir: Path) -> Path | None:
    """The run's timelapse, else its last grid, copied into ``work_dir`` (Gradio serves files a handler returns
    from its temporary folders, not from an installed package)."""
    run = RunDir(folder)
    source = run.timelapse_path if run.timelapse_path.is_file() else None
    if source is None:
        grids = run.grids(last_step)
        source = grids[max(grids)] if grids else None
    if source is None:
        return None
    target = work_dir / f"shipped_run_{folder.name}{source.suffix}"
    shutil.copyfile(source, target)
    return target


def read_shipped_run(folder: Path, checkpoint_name: str, work_dir: Path) -> ShippedRun | None:
    """The shipped run folder as the first screen shows it; None (logged) when it cannot be read."""
    try:
        config = read_config(RunDir(folder))
        model = ModelConfig.from_dict(config["model"])
        train = TrainConfig.from_dict(config["train"])
    except (CompareError, ConfigError, KeyError, TypeError, ValueError) as exc:
        logger.warning("the shipped run %s is not shown: %s", folder, exc)
        return None
    history, _ = read_metrics(RunDir(folder).metrics_path)
    if not history:
        logger.warning("the shipped run %s has no metrics to show", folder)
        return None
    picture = picture_of(folder, int(history[-1]["step"]), work_dir)
    return ShippedRun(folder, caption(checkpoint_name, model, train, history), history, picture)


def shipped_run(studio: Studio) -> ShippedRun | None:
    """The run folder beside the Studio's shipped checkpoint, read on the first call and kept (until its
    metrics.csv changes); None when there is none."""
    checkpoint = studio.models.shipped
    folder = run_of(checkpoint) if checkpoint is not None else None
    metrics = RunDir(folder).metrics_path if folder is not None else None
    if metrics is None or not metrics.is_file():
        return None
    stamp = metrics.stat()
    key = ("train-shipped", str(folder), stamp.st_mtime_ns, stamp.st_size)

    def make():
        return read_shipped_run(folder, checkpoint.name, studio.work_dir) or False  # False: kept, not re-read

    return studio.first_screens.get(key, make) or None
