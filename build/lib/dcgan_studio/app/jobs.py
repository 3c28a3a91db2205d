"""The background training jobs: one per visitor (locally there is one visitor, so one job for the whole process).

A job lives in the core Trainer's own thread, outside any request, so a page reload or a second tab re-attaches to
it (``demo.load`` reads it) instead of starting or losing a run.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import ModelConfig, TrainConfig
from . import disk_budget
from .errors import StudioError
from .settings import Limits
from .visitors import current_client, current_visitor

if TYPE_CHECKING:
    from ..train import Trainer

BUSY = "a training run is already in progress: stop it first (the page shows it after a reload too)"
ADDRESS_BUSY = (
    "your address already has {n} training run(s) in progress (at most {max} per address on this public server): "
    "stop one first or wait until it ends"
)


@dataclass
class Job:
    trainer: Trainer
    visitor: str
    started_at: float
    client: str | None = None  # the address that started it (public mode: a per-address cap)
    time_limit_s: float | None = None
    stop_requested: bool = False  # set under the registry lock: once Stop is pressed, Pause/Resume are refused
    timed_out: bool = False  # stopped by the public-mode time limit
    timer: threading.Timer | None = None


class JobRegistry:
    """Every state change (start, pause, resume, stop, the time limit) happens under one lock, so presses from several
    tabs or clients at once are applied one after another: at most one live job per visitor, at most
    ``limits.max_jobs`` live jobs in all, and a Pause that arrives after a Stop is refused instead of pausing a
    stopping run forever."""

    def __init__(
        self,
        limits: Limits | None = None,
        public_root: Path | None = None,
        other_bytes: Callable[[], int] = lambda: 0,
    ) -> None:
        """``public_root`` (runs/public, public mode) is kept within ``limits.public_disk_mb`` together with
        ``other_bytes()`` (the uploads and Hub downloads registered), see ``make_room``."""
        self.limits = limits or Limits()
        self.public_root = public_root
        self.other_bytes = other_bytes
        self._lock = threading.RLock()
        self._jobs: OrderedDict[str, Job] = OrderedDict()

    # ------------------------------------------------------------------ reading
    def job(self, visitor: str | None = None) -> Job | None:
        with self._lock:
            return self._jobs.get(visitor or current_visitor())

    def current(self, visitor: str | None = None) -> Trainer | None:
        job = self.job(visitor)
        return job.trainer if job is not None else None

    def active(self, visitor: str | None = None) -> bool:
        trainer = self.current(visitor)
        return trainer is not None and trainer.is_alive

    def live_count(self) -> int:
        with self._lock:
            return sum(1 for j in self._jobs.values() if j.trainer.is_alive)

    def check_can_start(self, visitor: str | None = None, client: str | None = None) -> None:
        """Refuse a start early, before anything costly (reading an upload) is done: the visitor's own live job,
        the address's live jobs (public mode), the server's free slots. ``start`` checks again under its lock."""
        with self._lock:
            self._check_can_start(visitor or current_visitor(), client or current_client())

    def _check_can_start(self, visitor: str, client: str | None) -> None:
        mine = self._jobs.get(visitor)
        if mine is not None and mine.trainer.is_alive:
            raise StudioError(BUSY)
        if self.limits.public and client is not None:
            n = sum(1 for j in self._jobs.values() if j.client == client and j.trainer.is_alive)
            if n >= self.limits.max_jobs_per_client:
                raise StudioError(ADDRESS_BUSY.format(n=n, max=self.limits.max_jobs_per_client))
        self._check_capacity()

    def live_run_dirs(self) -> list[Path]:
        with self._lock:
            return [j.trainer.run_dir for j in self._jobs.values() if j.trainer.is_alive and j.trainer.run_dir]

    def make_room(self, incoming_bytes: int, keep: tuple[Path, ...] = ()) -> list[Path]:
        """Public mode: remove the oldest finished visitor runs so ``incoming_bytes`` more fit the disk budget (never
        a live run, nor ``keep``); a ``StudioError`` when even that is not enough. Returns the removed folders."""
        budget = self.limits.public_disk_mb * disk_budget.MB
        if self.public_root is None or budget <= 0:
            return []
        with self._lock:  # no run starts or ends its registration meanwhile
            incoming = incoming_bytes + self.other_bytes()
            room = disk_budget.make_room(self.public_root, budget, incoming, [*self.live_run_dirs(), *keep])
        if not room.fits:
            raise StudioError(disk_budget.full_message(room, budget))
        return room.removed

    # ------------------------------------------------------------------ changing
    def start(
        self,
        model_config: ModelConfig,
        train_config: TrainConfig,
        runs_dir: Path,
        resume_from: str | Path | None = None,
        run_dir: Path | None = None,
        visitor: str | None = None,
        dataset=None,
        client: str | None = None,
    ) -> Trainer:
        """Start a run for ``visitor``; in public mode it is stopped (and saved) after ``limits.max_job_seconds``."""
        visitor, client = visitor or current_visitor(), client or current_client()
        with self._lock:
            mine = self._jobs.get(visitor)
            self._check_can_start(visitor, client)
            self.make_room(disk_budget.NEW_RUN_BYTES, keep=(run_dir,) if run_dir else ())
            from ..train import Trainer  # torch loads with the first run, not with the page

            trainer = Trainer(
                model_config,
                train_config,
                run_dir=run_dir or unique_run_dir(Path(runs_dir)),
                resume_from=resume_from,
                dataset=dataset,
            )
            job = Job(trainer, visitor, time.time(), client, self.limits.max_job_seconds)
            if job.time_limit_s:
                job.timer = threading.Timer(job.time_limit_s, self._time_up, args=(job,))
                job.timer.daemon = True
            trainer.start()
            if job.timer is not None:
                job.timer.start()
            if mine is not None and mine.timer is not None:
                mine.timer.cancel()
            self._jobs.pop(visitor, None)
            self._jobs[visitor] = job
            self._forget_old()
            return trainer

    def _check_capacity(self) -> None:
        live, max_jobs, limit_s = self.live_count(), self.limits.max_jobs, self.limits.max_job_seconds
        if live >= max_jobs:
            limit = f"; each stops after {limit_s / 60:.0f} min" if limit_s else ""
            raise StudioError(
                f"the server is busy: {live} training run(s) in progress (at most {max_jobs}{limit}). "
                "Try again in a few minutes."
            )

    def control(self, action: str, visitor: str | None = None) -> str:
        """Pause, resume or stop the visitor's job; a message for the user. Serialised with every other change."""
        if action not in ("pause", "resume", "stop"):
            raise StudioError(f"unknown action {str(action)[:40]!r}")
        with self._lock:
            job = self._jobs.get(visitor or current_visitor())
            if job is None or not job.trainer.is_alive:
                raise StudioError("no training run is in progress")
            if job.stop_requested:
                if action == "stop":
                    return "stop already requested"
                raise StudioError("the run is stopping (Stop was pressed): it cannot be paused or resumed now")
            if action == "stop":
                job.stop_requested = True
                job.trainer.stop()
            elif action == "pause":
                job.trainer.pause()
            else:
                job.trainer.resume()
            return f"{action} requested"

    def _time_up(self, job: Job) -> None:
        with self._lock:
            if job.trainer.is_alive and not job.stop_requested:
                job.timed_out = True
                job.stop_requested = True
                job.trainer.stop()  # saves a checkpoint, then ends as "stopped"

    def _forget_old(self) -> None:
        """Keep at most ``limits.max_kept_jobs`` jobs (live ones always): an ended run's model and data are let go."""
        ended = [v for v, j in self._jobs.items() if not j.trainer.is_alive]
        for visitor in ended[: max(0, len(self._jobs) - self.limits.max_kept_jobs)]:
            self._jobs.pop(visitor, None)

    def stop_and_wait(self, timeout: float = 30.0) -> None:
        """Stop every job and wait for them (tests, shutdown)."""
        with self._lock:
            jobs = list(self._jobs.values())
            for job in jobs:
                if job.timer is not None:
                    job.timer.cancel()
                if job.trainer.is_alive:
                    job.stop_requested = True
                    job.trainer.stop()
        for job in jobs:
            job.trainer.join(timeout)


def unique_run_dir(runs_dir: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    run_dir = runs_dir / f"app-{stamp}"
    n = 1
    while run_dir.exists():
        n += 1
        run_dir = runs_dir / f"app-{stamp}-{n}"
    return run_dir
