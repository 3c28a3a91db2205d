"""What a run shows the outside while it trains, and how the outside reaches into it.

``Progress`` is written by the training loop and read by other threads (the Studio's timer polls ``snapshot()``);
``TrainEvent``s go to subscribers as they happen (the CLI's progress bar); ``Controls`` is the loop's view of
pause and stop. The loop depends on these three only, so it runs the same in a thread or in the calling one.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .. import distributed
from ..distributed import DistContext

RUN_STATES = ("idle", "loading", "running", "paused", "stopping", "finished", "stopped", "failed")
EVENT_KINDS = (
    "started",
    "metrics",
    "samples",
    "checkpoint",
    "warning",
    "paused",
    "resumed",
    "finished",
    "stopped",
    "failed",
)


@dataclass
class TrainEvent:
    kind: str  # one of EVENT_KINDS
    step: int
    epoch: int
    data: dict[str, Any] = field(default_factory=dict)
    time: float = field(default_factory=time.time)


class Controls:
    """The loop's view of the outside. This default never pauses nor stops and tells no one (a plain synchronous
    run); the ``Trainer`` overrides it with its thread's pause/stop flags and its subscribers."""

    def emit(self, kind: str, **data: Any) -> None:
        """Tell subscribers that ``kind`` happened (keep it quick: it runs in the training thread)."""

    def stop_requested(self) -> bool:
        return False

    def wait_if_paused(self) -> bool:
        """Block while paused; False when a stop was requested."""
        return not self.stop_requested()

    def keep_going(self, step: int, every: int, dist: DistContext, device: torch.device) -> bool:
        """Whether the loop takes its next step (blocking while paused). Under torchrun the ranks agree on a stop
        every ``every`` steps (one tiny all-reduce), so they all stop after the same step and none waits forever in
        a collective; a pause holds single-process runs only."""
        if not dist.enabled:
            return self.wait_if_paused()
        if step % every:
            return True
        return not distributed.any_flag(self.stop_requested(), dist, device)


@dataclass
class Progress:
    """The progress of one run. The loop changes it under ``lock``; ``snapshot`` copies it under the same lock."""

    epochs: int  # of the run's config, for the snapshot
    batch_size: int
    run_dir: Path | None = None
    state: str = "idle"  # one of RUN_STATES
    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    total_steps: int = 0
    batches: int = 0  # per epoch
    img_per_s: float = 0.0
    history: list[dict[str, float]] = field(default_factory=list)  # metric rows, one per step
    log_lines: deque[str] = field(default_factory=lambda: deque(maxlen=200))
    warnings: list[str] = field(default_factory=list)
    latest_grid: torch.Tensor | None = None
    latest_checkpoint: Path | None = None
    generator_path: Path | None = None
    timelapse_path: Path | None = None
    error: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def update(self, **values: Any) -> None:
        """Set several fields at once, so no reader sees half of a change."""
        with self.lock:
            for name, value in values.items():
                setattr(self, name, value)

    def log(self, rows: list[dict[str, float]], line: str, img_per_s: float) -> None:
        """Metric rows just read from the device, the log line for the last and the throughput."""
        with self.lock:
            self.history.extend(rows)
            self.img_per_s = img_per_s
            self.log_lines.append(line)

    def warn(self, message: str) -> None:
        with self.lock:
            self.warnings.append(message)

    def snapshot(self) -> dict[str, Any]:
        """A consistent copy, cheap enough to poll every second."""
        with self.lock:
            remaining = max(0, self.total_steps - self.step)
            per_step = self.batch_size / self.img_per_s if self.img_per_s > 0 else None
            return {
                "state": self.state,
                "step": self.step,
                "epoch": self.epoch,
                "epochs": self.epochs,
                "batch": self.batch_in_epoch,
                "batches": self.batches,
                "total_steps": self.total_steps,
                "img_per_s": self.img_per_s,
                "eta_s": remaining * per_step if per_step else None,
                "history": list(self.history),
                "log": list(self.log_lines),
                "warnings": list(self.warnings),
                "latest_grid": self.latest_grid,
                "latest_checkpoint": _str(self.latest_checkpoint),
                "generator_path": _str(self.generator_path),
                "timelapse_path": _str(self.timelapse_path),
                "error": self.error,
                "run_dir": _str(self.run_dir),
            }


def _str(path: Path | None) -> str | None:
    return str(path) if path else None
