"""What a run shows the outside while it trains, and how the outside reaches into it.

The loop keeps its own counters and publishes immutable ``ProgressSnapshot``s through ``Progress``, which other
threads read (the Studio's timer polls ``snapshot()``); ``TrainEvent``s go to subscribers as they happen (the CLI's
progress bar); ``Controls`` is the loop's view of pause and stop, and ``RunSwitch`` the one place that says whether
the run goes on, holds or stops. The loop runs the same in a thread or in the calling one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
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


class RunSwitch:
    """The one place that says whether a run goes on, holds or stops: "run", "pause" or "stop", changed from any
    thread. A stop is final (a pause after it does nothing) and releases a held run."""

    def __init__(self) -> None:
        self._mode = "run"
        self._changed = threading.Condition()

    @property
    def mode(self) -> str:
        return self._mode

    def pause(self) -> None:
        with self._changed:
            if self._mode == "run":
                self._mode = "pause"

    def resume(self) -> None:
        with self._changed:
            if self._mode == "pause":
                self._mode = "run"
                self._changed.notify_all()

    def stop(self) -> None:
        with self._changed:
            self._mode = "stop"
            self._changed.notify_all()

    def wait_while_paused(self) -> bool:
        """Block while paused; False once a stop was asked for."""
        with self._changed:
            self._changed.wait_for(lambda: self._mode != "pause")
            return self._mode != "stop"


@dataclass(frozen=True)
class Rows(Sequence):
    """The first ``n`` rows of a list that only grows (the loop's metric history): an immutable view, made in O(1)
    each time the loop publishes. A resume or rollback starts a new list, so a view never sees rows change."""

    rows: list[dict[str, float]] = field(default_factory=list)
    n: int = 0

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i):
        if isinstance(i, slice):
            return self.rows[: self.n][i]
        if i < 0:
            i += self.n
        if not 0 <= i < self.n:
            raise IndexError("row index out of range")
        return self.rows[i]

    def __iter__(self):
        return iter(self.rows[: self.n])


@dataclass(frozen=True)
class ProgressSnapshot:
    """What a run shows the outside at one moment, immutable: the loop keeps its own counters and publishes a new
    snapshot (``Progress.publish``); the runner, the Studio's timer and the CLI read the latest."""

    epochs: int  # of the run's config
    batch_size: int
    run_dir: Path | None = None
    state: str = "idle"  # one of RUN_STATES
    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    total_steps: int = 0
    batches: int = 0  # per epoch
    img_per_s: float = 0.0
    history: Rows = field(default_factory=Rows)  # metric rows, one per step
    log_lines: tuple[str, ...] = ()  # the last LOG_LINES
    warnings: tuple[str, ...] = ()
    latest_grid: torch.Tensor | None = None
    latest_checkpoint: Path | None = None
    generator_path: Path | None = None
    timelapse_path: Path | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The snapshot as the Studio and the CLI read it (``Trainer.snapshot()``)."""
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


LOG_LINES = 200  # log lines a snapshot keeps


class Progress:
    """Where a run's snapshots are published. One writer, the training thread (the loop, and the runner around
    it); readers in any thread take ``current``, replaced whole on each change, so no reader sees half of one."""

    def __init__(self, epochs: int, batch_size: int, run_dir: Path | None = None):
        self.current = ProgressSnapshot(epochs=epochs, batch_size=batch_size, run_dir=run_dir)

    def publish(self, **changes: Any) -> ProgressSnapshot:
        """The current snapshot with ``changes``, as a new frozen object (made without ``dataclasses.replace``'s
        checks: the loop publishes once per step)."""
        snapshot = object.__new__(ProgressSnapshot)
        snapshot.__dict__.update(self.current.__dict__, **changes)
        self.current = snapshot
        return snapshot


def _str(path: Path | None) -> str | None:
    return str(path) if path else None
