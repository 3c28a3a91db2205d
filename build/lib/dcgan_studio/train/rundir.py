"""The run folder: the one place that knows its layout.

    runs/<name>/
        config.json              model and train config of the run
        metrics.csv              one row per step: step, epoch, Loss_D, Loss_G, D(x), D(G(z)) twice
        samples/                 fixed-noise grids: epoch_NNN.png (end of an epoch) or step_NNNNNNN.png
        training.png             the losses and D's outputs, drawn when the run ends
        timelapse.gif            the grids as an animation, drawn when the run ends
        checkpoints/             step_NNNNNNN.safetensors (full training state), the newest few kept
            abandoned/           later checkpoints of a branch left by resuming an earlier one
        generator.safetensors    the generator alone, the small file to share

Only the training loop writes here (rank 0 under torchrun); the Studio and the CLI read through ``RunDir`` too.
"""

from __future__ import annotations

import csv
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .. import checkpoint as ckpt
from ..config import ModelConfig, TrainConfig

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)

CHECKPOINT_DIR = "checkpoints"
SAMPLES_DIR = "samples"
TIMELAPSE_NAME = "timelapse.gif"
ABANDONED_DIR = "abandoned"
_CHECKPOINT_GLOB = "step_*.safetensors"
_GRID_NAME = re.compile(r"(step|epoch)_(\d+)\.png")


def _metric_names() -> tuple[str, ...]:
    """metrics.csv's columns after step and epoch (imported on use: listing run folders needs no torch)."""
    from ..step import METRIC_NAMES

    return METRIC_NAMES


@dataclass(frozen=True)
class RunDir:
    """A run folder (it need not exist yet): where each file goes, and how the run's files are read back."""

    path: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))

    @classmethod
    def of_checkpoint(cls, checkpoint: str | Path) -> RunDir | None:
        """The run folder a training checkpoint lies in, or None for a file outside ``<run>/checkpoints/``."""
        checkpoint = Path(checkpoint)
        return cls(checkpoint.parent.parent) if checkpoint.parent.name == CHECKPOINT_DIR else None

    # ------------------------------------------------------------------------------------------------ the layout
    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.csv"

    @property
    def samples_dir(self) -> Path:
        return self.path / SAMPLES_DIR

    @property
    def plot_path(self) -> Path:
        return self.path / "training.png"

    @property
    def timelapse_path(self) -> Path:
        return self.path / TIMELAPSE_NAME

    @property
    def checkpoints_dir(self) -> Path:
        return self.path / CHECKPOINT_DIR

    @property
    def generator_path(self) -> Path:
        return self.path / "generator.safetensors"

    def checkpoint_path(self, step: int) -> Path:
        return self.checkpoints_dir / f"step_{step:07d}.safetensors"

    def grid_path(self, step: int, epoch: int | None = None) -> Path:
        """An end-of-epoch grid is named by its epoch, any other by its step."""
        name = f"epoch_{epoch:03d}.png" if epoch is not None else f"step_{step:07d}.png"
        return self.samples_dir / name

    # ----------------------------------------------------------------------------------------------- writing
    def create(self, model_config: ModelConfig, train_config: TrainConfig) -> None:
        """Make the folder and write ``config.json``."""
        self.path.mkdir(parents=True, exist_ok=True)
        config = {"model": model_config.to_dict(), "train": train_config.to_dict()}
        self.config_path.write_text(json.dumps(config, indent=2, sort_keys=True))

    def append_metrics(self, rows: Iterable[dict[str, float]]) -> None:
        new = not self.metrics_path.exists()
        with open(self.metrics_path, "a", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=["step", "epoch", *_metric_names()])
            if new:
                writer.writeheader()
            writer.writerows(rows)

    def save_grid(self, images: torch.Tensor, step: int, epoch: int | None = None) -> Path:
        from ..plots import save_grid

        return save_grid(images, self.grid_path(step, epoch), step=step)

    def save_plot(self, history: list[dict[str, float]]) -> None:
        from ..plots import plot_training

        plot_training(history, self.plot_path)

    def save_timelapse(
        self, drawn: dict[int, Path], resumed_from: Path | None = None, resume_step: int = 0, batches: int = 0
    ) -> Path | None:
        """``timelapse.gif`` from the grids a run drew (``drawn``, by step) and, for a resumed run, first those of
        the run it continues (the ``samples/`` of the checkpoint's run folder, up to the resume step). A grid drawn
        now wins at the same step, and older grids left in a reused run folder are not picked up."""
        from ..plots import TIMELAPSE_MAX_FRAMES, save_timelapse

        by_step: dict[int, Path] = {}
        earlier = RunDir.of_checkpoint(resumed_from) if resumed_from is not None else None
        if earlier is not None:
            by_step.update(earlier.grids(resume_step, batches))
        by_step.update(drawn)
        frames = [by_step[s] for s in sorted(by_step)]
        return save_timelapse(frames, self.timelapse_path, max_frames=TIMELAPSE_MAX_FRAMES)

    # ----------------------------------------------------------------------------------------------- reading
    def read_metrics(self, up_to_step: int) -> list[dict[str, float]]:
        """The rows logged up to ``up_to_step`` by the run being resumed; the file is rewritten without the rows
        past it (they are trained again) and without rows a crash or a full disk cut short."""
        if not self.metrics_path.exists():
            return []
        rows = []
        names = _metric_names()
        with open(self.metrics_path, newline="", errors="replace") as fh:
            for r in csv.DictReader(fh):
                try:
                    rows.append({"step": int(r["step"]), "epoch": int(r["epoch"]), **{k: float(r[k]) for k in names}})
                except (KeyError, TypeError, ValueError):
                    logger.warning("%s: skipping a damaged row %r", self.metrics_path, r)
        rows = [r for r in rows if r["step"] <= up_to_step]
        with open(self.metrics_path, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=["step", "epoch", *names])
            writer.writeheader()
            writer.writerows(rows)
        return rows

    def grids(self, up_to_step: int, batches: int = 0) -> dict[int, Path]:
        """The sample grids up to ``up_to_step``, by the step they show: ``step_N.png`` is step N, ``epoch_N.png``
        says its step in its PNG text (``plots.grid_step``) or, from before that, is taken as ``N * batches``.
        Anything else in ``samples/`` is ignored."""
        from ..plots import grid_step

        found: dict[int, Path] = {}
        for f in sorted(self.samples_dir.glob("*.png")):
            m = _GRID_NAME.fullmatch(f.name)
            if m is None:
                continue
            step = int(m.group(2)) if m.group(1) == "step" else grid_step(f)
            if step is None and batches:
                step = int(m.group(2)) * batches
            if step is not None and step <= up_to_step:
                found.setdefault(step, f)
        return found

    def training_checkpoints(self) -> list[Path]:
        """The step checkpoints, oldest first (not verified: see ``latest_checkpoint`` for a readable one)."""
        return sorted(self.checkpoints_dir.glob(_CHECKPOINT_GLOB))

    def latest_checkpoint(self) -> Path | None:
        """The newest step checkpoint that is complete and readable (damaged files and temporaries skipped)."""
        return next((f for f in reversed(self.training_checkpoints()) if ckpt.verify_file(f) is None), None)

    # ----------------------------------------------------------------------------------------------- retention
    def holds_checkpoint(self, path: str | Path) -> bool:
        """True for a file in this run's ``checkpoints/`` (the ones retention applies to)."""
        return Path(path).parent == self.checkpoints_dir

    def prune_checkpoints(self, keep: int) -> None:
        prune_checkpoints(self.checkpoints_dir, keep)

    def set_aside_newer_checkpoints(self, step: int) -> list[Path]:
        """Resuming an earlier checkpoint into its own run folder branches the run: the abandoned branch's later
        checkpoints move to ``checkpoints/abandoned/`` (kept, never deleted), so pruning and ``latest_checkpoint``
        see only the branch being trained."""
        moved = []
        for f in self.training_checkpoints():
            try:
                newer = int(f.stem.removeprefix("step_")) > step
            except ValueError:
                continue
            if newer:
                target = self.checkpoints_dir / ABANDONED_DIR / f.name
                target.parent.mkdir(exist_ok=True)
                f.replace(target)
                moved.append(target)
                logger.info("resuming at step %d: set aside %s from the abandoned branch", step, f.name)
        return moved


def prune_checkpoints(folder: str | Path, keep: int) -> None:
    """Keep the newest ``keep`` readable step checkpoints in ``folder`` and delete older readable ones. A damaged
    file (truncated, say) is never counted as one of the ``keep`` and never deleted (it is logged), so the last good
    checkpoint always survives. Temporaries left by a write that was killed are removed."""
    ckpt.remove_stale_temporaries(folder)
    good = []
    for f in sorted(Path(folder).glob(_CHECKPOINT_GLOB)):
        problem = ckpt.verify_file(f)
        if problem is None:
            good.append(f)
        else:
            logger.warning("%s is damaged and does not count as a checkpoint: %s", f, problem)
    for old in good[: max(0, len(good) - max(1, keep))]:
        old.unlink(missing_ok=True)


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    """The newest readable step checkpoint of the run folder ``run_dir`` (``RunDir.latest_checkpoint``)."""
    return RunDir(run_dir).latest_checkpoint()
