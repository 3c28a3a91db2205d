"""The ``Trainer``: a training run in a background thread that the CLI and the Studio both drive.

Other threads call ``pause()``, ``resume()`` and ``stop()`` and read progress from ``snapshot()`` (the Studio polls
it) or receive ``TrainEvent``s through ``subscribe()`` (the CLI's progress bar). The training itself is the
``TrainingLoop`` (loop.py); the Trainer only gives it a thread, the pause/stop flags, the subscribers and a clear
message when it fails.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import checkpoint as ckpt
from .. import distributed
from ..config import ModelConfig, TrainConfig
from ..data import ImageTensorDataset
from .loop import TrainingFailed, TrainingLoop
from .progress import Controls, Progress, TrainEvent
from .rundir import RunDir
from .setup import resolve_device

logger = logging.getLogger(__name__)


class Trainer(Controls):
    """One training run. ``start()`` runs it in a thread; ``run()`` runs it in the calling thread."""

    def __init__(
        self,
        model_config: ModelConfig,
        train_config: TrainConfig,
        run_dir: str | Path | None = None,
        resume_from: str | Path | None = None,
        dataset: ImageTensorDataset | None = None,
    ):
        resume_state = None
        if resume_from is not None:
            resume_state = ckpt.load_training_state(resume_from)
            if resume_state.model_config != model_config:
                logger.info("resuming: the model config comes from the checkpoint %s", resume_from)
            model_config = resume_state.model_config
        self.model_config = model_config
        self.config = train_config
        self.dist = distributed.env_context()  # torchrun's RANK/WORLD_SIZE; one process when absent
        self.run_dir = Path(run_dir) if run_dir is not None and self.dist.is_main else None  # only rank 0 writes
        self.device = distributed.device_for(self.dist, resolve_device(train_config.device))
        self.progress = Progress(epochs=train_config.epochs, batch_size=train_config.batch_size, run_dir=self.run_dir)
        self.loop = TrainingLoop(
            model_config,
            train_config,
            RunDir(self.run_dir) if self.run_dir is not None else None,
            self.dist,
            self.device,
            self.progress,
            controls=self,
            dataset=dataset,
            resume_from=resume_from,
            resume_state=resume_state,
        )
        self._unpaused = threading.Event()
        self._unpaused.set()
        self._stop_requested = threading.Event()
        self._thread: threading.Thread | None = None
        self._listeners: list[Callable[[TrainEvent], None]] = []

    # ----------------------------------------------------------------------------------------- control (any thread)
    def start(self) -> Trainer:
        if self._thread is not None:
            raise RuntimeError("this trainer has already been started; make a new Trainer for a new run")
        self._thread = threading.Thread(target=self._run_guarded, name="dcgan-trainer", daemon=True)
        self._thread.start()
        return self

    def run(self) -> Trainer:
        """Train in the calling thread; raises ``TrainingFailed`` if training failed."""
        self._run_guarded()
        if self.progress.state == "failed":
            raise TrainingFailed(self.progress.error or "training failed")
        return self

    def pause(self) -> None:
        """Hold training after the current step. Does nothing once a stop was asked for, so a Pause pressed after
        Stop (two tabs, two clients) cannot leave the run waiting forever."""
        if self.progress.state in ("running", "loading") and not self._stop_requested.is_set():
            self._unpaused.clear()
            if self._stop_requested.is_set():  # a stop raced in between: let it through
                self._unpaused.set()

    def resume(self) -> None:
        self._unpaused.set()

    def stop(self) -> None:
        """Ask the run to stop; it saves a checkpoint and ends (``join()`` waits for that)."""
        self._stop_requested.set()
        self._unpaused.set()

    def join(self, timeout: float | None = None) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    @property
    def is_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def subscribe(self, listener: Callable[[TrainEvent], None]) -> None:
        """Call ``listener(event)`` from the training thread for every event (keep it quick)."""
        self._listeners.append(listener)

    def snapshot(self) -> dict[str, Any]:
        """A consistent copy of the progress, cheap enough to poll every second."""
        return self.progress.snapshot()

    def save_checkpoint(self, path: str | Path | None = None) -> Path | None:
        """Write a full checkpoint now (to the run folder unless ``path`` is given)."""
        return self.loop.save_checkpoint(path)

    def training_state(self) -> ckpt.TrainingState:
        return self.loop.training_state()

    # ------------------------------------------------------------------------------- Controls (training thread)
    def emit(self, kind: str, **data: Any) -> None:
        event = TrainEvent(kind, self.progress.step, self.progress.epoch, data)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # noqa: BLE001 - a broken listener must not kill training
                logger.exception("event listener failed")

    def stop_requested(self) -> bool:
        return self._stop_requested.is_set()

    def wait_if_paused(self) -> bool:
        if not self._unpaused.is_set():
            self.progress.update(state="paused")
            self.emit("paused")
            self._unpaused.wait()
            if not self._stop_requested.is_set():
                self.progress.update(state="running")
                self.emit("resumed")
        return not self._stop_requested.is_set()

    def _run_guarded(self) -> None:
        try:
            self.progress.update(state="loading")
            how = self.loop.run()
            self.progress.update(state=how)
            self.emit(how, checkpoint=self.snapshot()["latest_checkpoint"])
        except Exception as exc:  # noqa: BLE001 - reported as a failed event, never a dead thread
            if self.loop.grids:  # a run that failed after drawing grids still gets its timelapse (best effort)
                self.loop.write_timelapse(report=False)
            self.progress.update(state="failed", error=self._failure_message(exc))
            logger.debug("training failed:\n%s", traceback.format_exc())
            self.emit("failed", error=self.progress.error)

    def _failure_message(self, exc: Exception) -> str:
        """What went wrong in a sentence: user errors as they are, a full disk or read-only folder with what now."""
        if isinstance(exc, OSError):  # disk full, read-only or vanished run folder: say where and what now
            where = f"the run folder {self.run_dir}" if self.run_dir is not None else "a file"
            return (
                f"writing to {where} failed: {exc.strerror or exc}"
                f"{f' ({exc.filename})' if exc.filename else ''}; training stopped at step {self.progress.step}. "
                f"The last good checkpoint is {self.progress.latest_checkpoint or 'none yet'}: free some space or "
                "make the folder writable, then resume from it."
            )
        user_error = isinstance(exc, (ValueError, TrainingFailed))  # dataset/config/checkpoint errors
        return str(exc) if user_error else f"{type(exc).__name__}: {exc}"
