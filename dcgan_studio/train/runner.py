"""The ``Trainer``: a training run in a background thread that the CLI and the Studio both drive.

Other threads call ``pause()``, ``resume()`` and ``stop()`` (one ``RunSwitch`` holds what was asked) and read the
latest immutable ``ProgressSnapshot`` (``latest``, or ``snapshot()`` as a dict: the Studio polls it) or receive
``TrainEvent``s through ``subscribe()`` (the CLI's progress bar). The training itself is the ``TrainingLoop``
(loop.py); the Trainer only gives it a thread, the switch, the subscribers and a clear message when it fails.
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
from ..errors import USER_ERRORS
from .loop import TrainingFailed, TrainingLoop
from .priority import Busy, lower_thread_priority
from .progress import Controls, Progress, ProgressSnapshot, RunSwitch, TrainEvent
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
        resume_state: ckpt.TrainingState | None = None,
        busy: Busy | None = None,
        nice: int = 0,
    ):
        """``resume_from``: the checkpoint to continue; ``resume_state``: its state when the caller has read it
        already (the CLI reads it for its config), so the file is read once.

        For a run beside a server (the Studio; priority.py): ``busy``, the requests in flight, during which the loop
        trains on one core fewer; ``nice``, how much to raise the nice value of the thread ``start()`` makes (Linux).
        The defaults change nothing (the CLI)."""
        if resume_from is not None and resume_state is None:
            resume_state = ckpt.load_training_state(resume_from)
        if resume_state is not None:
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
            busy=busy,
        )
        self.nice = nice
        self.native_id: int | None = None  # the training thread's id for the OS, once it runs
        self.switch = RunSwitch()  # run, pause or stop: the one place a stop is kept
        self._thread: threading.Thread | None = None
        self._ended = threading.Event()  # set by the training thread as it ends: what join() waits for
        self._listeners: list[Callable[[TrainEvent], None]] = []

    # ----------------------------------------------------------------------------------------- control (any thread)
    def start(self) -> Trainer:
        if self._thread is not None:
            raise RuntimeError("this trainer has already been started; make a new Trainer for a new run")
        self._thread = threading.Thread(target=self._run_in_background, name="dcgan-trainer", daemon=True)
        self._thread.start()
        return self

    def run(self) -> Trainer:
        """Train in the calling thread; raises ``TrainingFailed`` if training failed."""
        self._run_guarded()
        if self.latest.state == "failed":
            raise TrainingFailed(self.latest.error or "training failed")
        return self

    def pause(self) -> None:
        """Hold training after the current step. Does nothing once a stop was asked for, so a Pause pressed after
        Stop (two tabs, two clients) cannot leave the run waiting forever."""
        if self.latest.state in ("running", "loading"):
            self.switch.pause()  # does nothing once stopped

    def resume(self) -> None:
        self.switch.resume()

    def stop(self) -> None:
        """Ask the run to stop; it saves a checkpoint and ends (``join()`` waits for that)."""
        self.switch.stop()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the run to end (at most ``timeout`` seconds); True once it has. Waits on an event and not on
        ``Thread.join``: a Ctrl-C that interrupts ``Thread.join`` on CPython 3.11 can leave the thread looking ended
        while it still trains (cpython#90882), and the CLI's stop would then exit without its last checkpoint."""
        if self._thread is None:
            return True
        return self._ended.wait(timeout)

    @property
    def is_alive(self) -> bool:
        return self._thread is not None and not self._ended.is_set()

    def subscribe(self, listener: Callable[[TrainEvent], None]) -> None:
        """Call ``listener(event)`` from the training thread for every event (keep it quick)."""
        self._listeners.append(listener)

    @property
    def latest(self) -> ProgressSnapshot:
        """The run's latest published snapshot (immutable)."""
        return self.progress.current

    def snapshot(self) -> dict[str, Any]:
        """The latest snapshot as a dict, cheap enough to poll every second."""
        return self.latest.as_dict()

    def save_checkpoint(self, path: str | Path | None = None) -> Path | None:
        """Write a full checkpoint now (to the run folder unless ``path`` is given)."""
        return self.loop.save_checkpoint(path)

    def training_state(self) -> ckpt.TrainingState:
        return self.loop.training_state()

    # ------------------------------------------------------------------------------- Controls (training thread)
    def emit(self, kind: str, **data: Any) -> None:
        event = TrainEvent(kind, self.loop.step, self.loop.epoch, data)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # noqa: BLE001 - a broken listener must not kill training
                logger.exception("event listener failed")

    def stop_requested(self) -> bool:
        return self.switch.mode == "stop"

    def wait_if_paused(self) -> bool:
        if self.switch.mode == "pause":
            self.progress.publish(state="paused")
            self.emit("paused")
            if self.switch.wait_while_paused():
                self.progress.publish(state="running")
                self.emit("resumed")
        return not self.stop_requested()

    def _run_in_background(self) -> None:
        """The thread ``start()`` makes: its priority lowered first, before torch makes any OpenMP worker for it."""
        self.native_id = threading.get_native_id()
        try:
            lower_thread_priority(self.nice)
            self._run_guarded()
        finally:
            self._ended.set()

    def _run_guarded(self) -> None:
        try:
            self.progress.publish(state="loading")
            how = self.loop.run()
            self.progress.publish(state=how)
            self.emit(how, checkpoint=self.snapshot()["latest_checkpoint"])
        except Exception as exc:  # noqa: BLE001 - reported as a failed event, never a dead thread
            if self.loop.grids:  # a run that failed after drawing grids still gets its timelapse (best effort)
                self.loop.write_timelapse(report=False)
            error = self._failure_message(exc)
            self.progress.publish(state="failed", error=error)
            logger.debug("training failed:\n%s", traceback.format_exc())
            self.emit("failed", error=error)

    def _failure_message(self, exc: Exception) -> str:
        """What went wrong in a sentence: user errors as they are, a full disk or read-only folder with what now."""
        if isinstance(exc, OSError):  # disk full, read-only or vanished run folder: say where and what now
            where = f"the run folder {self.run_dir}" if self.run_dir is not None else "a file"
            return (
                f"writing to {where} failed: {exc.strerror or exc}"
                f"{f' ({exc.filename})' if exc.filename else ''}; training stopped at step {self.loop.step}. "
                f"The last good checkpoint is {self.loop.latest_checkpoint or 'none yet'}: free some space or "
                "make the folder writable, then resume from it."
            )
        user_error = isinstance(exc, (*USER_ERRORS, TrainingFailed))  # dataset/config/checkpoint errors
        return str(exc) if user_error else f"{type(exc).__name__}: {exc}"
