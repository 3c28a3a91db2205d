"""The ``Trainer``: runs DCGAN training in a background thread that the CLI and the UI both drive.

It owns the models, the optimisers, the data and the run folder. Other threads call ``pause()``, ``resume()`` and
``stop()`` and read progress from ``snapshot()`` (the UI polls it) or receive ``TrainEvent``s through
``subscribe()`` (the CLI's progress bar). Only the trainer writes checkpoints.

Exactness: the order of every epoch is a pure function of (seed, epoch), the noise comes from a generator whose
state is checkpointed, and the optimiser states, batch-norm buffers and step counters are all saved, so resuming a
checkpoint in a fresh process continues bit for bit on the CPU.
"""
from __future__ import annotations

import copy
import csv
import json
import logging
import math
import re
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import torch

from . import checkpoint as ckpt
from . import distributed
from .config import NAN_POLICIES, ModelConfig, TrainConfig
from .health import HealthMonitor
from .data import (
    ImageTensorDataset,
    batches_per_epoch,
    iterate_batches,
    iterate_loader_batches,
    load_dataset,
    to_uint8,
)
from .models import Discriminator, Generator
from .plots import TIMELAPSE_MAX_FRAMES, grid_step, plot_training, save_grid, save_timelapse
from .step import METRIC_NAMES, GANStep, StepOptions, make_adam, match_state_layout, prepare_models, speed_options

logger = logging.getLogger(__name__)

CHECKPOINT_DIR = "checkpoints"
SAMPLES_DIR = "samples"
TIMELAPSE_NAME = "timelapse.gif"  # the fixed-noise grids as an animation, written when a run ends


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA, then Apple's MPS, then the CPU; an explicit device that is absent is an error."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} was asked for but CUDA is not available; use --device cpu or auto")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device {name!r} was asked for but MPS is not available; use --device cpu or auto")
    return device


def format_log_line(epoch: int, epochs: int, batch: int, batches: int, m: dict[str, float]) -> str:
    """The pytorch/examples line users know: ``[epoch/epochs][batch/batches] Loss_D: ... D(G(z)): a / b``."""
    return (
        f"[{epoch}/{epochs}][{batch}/{batches}]\tLoss_D: {m['loss_d']:.4f}\tLoss_G: {m['loss_g']:.4f}\t"
        f"D(x): {m['d_x']:.4f}\tD(G(z)): {m['d_g_z1']:.4f} / {m['d_g_z2']:.4f}"
    )


@dataclass
class TrainEvent:
    kind: str  # started | metrics | samples | checkpoint | warning | paused | resumed | finished | stopped | failed
    step: int
    epoch: int
    data: dict[str, Any] = field(default_factory=dict)
    time: float = field(default_factory=time.time)


class TrainingFailed(RuntimeError):
    pass


class NonFiniteLosses(TrainingFailed):
    """The losses or weights became NaN/inf; with ``extra['nan_policy'] == 'rollback'`` the run rolls back."""




class Trainer:
    """One training run. ``start()`` runs it in a thread; ``run()`` runs it in the calling thread."""

    def __init__(
        self,
        model_config: ModelConfig,
        train_config: TrainConfig,
        run_dir: str | Path | None = None,
        resume_from: str | Path | None = None,
        dataset: ImageTensorDataset | None = None,
    ):
        self.resume_state: ckpt.TrainingState | None = None
        self.resume_from = Path(resume_from) if resume_from is not None else None
        if resume_from is not None:
            self.resume_state = ckpt.load_training_state(resume_from)
            if self.resume_state.model_config != model_config:
                logger.info("resuming: the model config comes from the checkpoint %s", resume_from)
            model_config = self.resume_state.model_config
        self.model_config = model_config
        self.config = train_config
        self.dist = distributed.env_context()  # torchrun's RANK/WORLD_SIZE; one process when absent
        self.run_dir = Path(run_dir) if run_dir is not None and self.dist.is_main else None  # only rank 0 writes
        self.device = distributed.device_for(self.dist, resolve_device(train_config.device))
        self._dataset = dataset

        # state shared with other threads
        self._lock = threading.Lock()
        self._unpaused = threading.Event()
        self._unpaused.set()
        self._stop_requested = threading.Event()
        self._thread: threading.Thread | None = None
        self._listeners: list[Callable[[TrainEvent], None]] = []
        self.state = "idle"  # idle | loading | running | paused | stopping | finished | stopped | failed
        self.error: str | None = None
        self.history: list[dict[str, float]] = []
        self.log_lines: deque[str] = deque(maxlen=200)
        self.warnings: list[str] = []
        self.health = HealthMonitor.for_options(train_config.stability)  # D winning, mode collapse, NaN: health.py
        self.latest_grid: torch.Tensor | None = None
        self.latest_checkpoint: Path | None = None
        self.generator_path: Path | None = None
        self.timelapse_path: Path | None = None
        self._grids: dict[int, Path] = {}  # the grids this trainer wrote, by step (the timelapse's frames)
        self.step = 0
        self.epoch = 0
        self.batch_in_epoch = 0
        self.total_steps = 0
        self.batches = 0
        self.img_per_s = 0.0
        self._started_at = 0.0

    # ----------------------------------------------------------------------------------------- control (any thread)

    def start(self) -> "Trainer":
        if self._thread is not None:
            raise RuntimeError("this trainer has already been started; make a new Trainer for a new run")
        self._thread = threading.Thread(target=self._run_guarded, name="dcgan-trainer", daemon=True)
        self._thread.start()
        return self

    def run(self) -> "Trainer":
        """Train in the calling thread; raises ``TrainingFailed`` if training failed."""
        self._run_guarded()
        if self.state == "failed":
            raise TrainingFailed(self.error or "training failed")
        return self

    def pause(self) -> None:
        """Hold training after the current step. Does nothing once a stop was asked for, so a Pause pressed after
        Stop (two tabs, two clients) cannot leave the run waiting forever."""
        if self.state in ("running", "loading") and not self._stop_requested.is_set():
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
        with self._lock:
            remaining = max(0, self.total_steps - self.step)
            per_step = self.config.batch_size / self.img_per_s if self.img_per_s > 0 else None
            return {
                "state": self.state,
                "step": self.step,
                "epoch": self.epoch,
                "epochs": self.config.epochs,
                "batch": self.batch_in_epoch,
                "batches": self.batches,
                "total_steps": self.total_steps,
                "img_per_s": self.img_per_s,
                "eta_s": remaining * per_step if per_step else None,
                "history": list(self.history),
                "log": list(self.log_lines),
                "warnings": list(self.warnings),
                "latest_grid": self.latest_grid,
                "latest_checkpoint": str(self.latest_checkpoint) if self.latest_checkpoint else None,
                "generator_path": str(self.generator_path) if self.generator_path else None,
                "timelapse_path": str(self.timelapse_path) if self.timelapse_path else None,
                "error": self.error,
                "run_dir": str(self.run_dir) if self.run_dir else None,
            }

    # ----------------------------------------------------------------------------------------- the training thread

    def _emit(self, kind: str, **data: Any) -> None:
        event = TrainEvent(kind, self.step, self.epoch, data)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # noqa: BLE001 - a broken listener must not kill training
                logger.exception("event listener failed")

    def _set_state(self, state: str) -> None:
        with self._lock:
            self.state = state

    def _run_guarded(self) -> None:
        try:
            self._set_state("loading")
            rollback = _nan_rollback_settings(self.config.stability)
            self._setup()
            self._good_state = self._snapshot() if rollback else None  # where a NaN rolls back to
            self._rollbacks = 0
            while True:
                try:
                    self._train()
                    break
                except NonFiniteLosses as exc:
                    if not rollback or not self._roll_back(exc, *rollback):
                        raise
        except Exception as exc:  # noqa: BLE001 - reported as a failed event, never a dead thread
            if self._grids:  # a run that failed after drawing grids still gets its timelapse (best effort)
                self._write_timelapse(report=False)
            with self._lock:
                self.state = "failed"
                user_error = isinstance(exc, (ValueError, TrainingFailed))  # dataset/config/checkpoint errors
                self.error = str(exc) if user_error else f"{type(exc).__name__}: {exc}"
                if isinstance(exc, OSError):  # disk full, read-only or vanished run folder: say where and what now
                    where = f"the run folder {self.run_dir}" if self.run_dir is not None else "a file"
                    self.error = (
                        f"writing to {where} failed: {exc.strerror or exc}"
                        f"{f' ({exc.filename})' if exc.filename else ''}; training stopped at step {self.step}. "
                        f"The last good checkpoint is {self.latest_checkpoint or 'none yet'}: free some space or make "
                        "the folder writable, then resume from it."
                    )
            logger.debug("training failed:\n%s", traceback.format_exc())
            self._emit("failed", error=self.error)

    def _setup(self) -> None:
        cfg, mcfg = self.config, self.model_config
        torch.manual_seed(cfg.seed)
        if self._dataset is None:
            self._dataset = load_dataset(cfg.dataset, mcfg.image_size, mcfg.channels, cfg.data_path, cfg.download)
        data = self._dataset
        # in memory (one uint8 tensor on the device, batched by index) or, when too large, streamed by a DataLoader
        self.stream = None if isinstance(data, ImageTensorDataset) else data
        item_shape = tuple(data.images.shape[1:]) if self.stream is None else tuple(data[0].shape)
        if item_shape != (mcfg.channels, mcfg.image_size, mcfg.image_size):
            raise ValueError(
                f"dataset images are {item_shape} but the model expects "
                f"({mcfg.channels}, {mcfg.image_size}, {mcfg.image_size})"
            )
        distributed.init(self.dist, self.device)
        self.images = data.images.to(self.device) if self.stream is None else None
        n_images = len(data)
        self.shard = distributed.shard_indices(n_images, self.dist)  # this rank's share of each epoch
        self.batches = batches_per_epoch(n_images if self.shard is None else len(self.shard), cfg.batch_size)
        self.total_steps = cfg.epochs * self.batches
        if cfg.max_steps is not None:
            self.total_steps = min(self.total_steps, cfg.max_steps)

        self.speed = speed_options(cfg.speed, self.device)  # channels_last, amp, fused_adam, compile
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed shapes (full batches only): pick the fastest kernels once
        self.G = Generator(mcfg).to(self.device)
        self.D = Discriminator(mcfg).to(self.device)
        prepare_models(self.G, self.D, channels_last=self.speed["channels_last"])
        self.opt_g = make_adam(self.G.parameters(), cfg.g_lr, (cfg.beta1, cfg.beta2), self.speed["fused_adam"])
        self.opt_d = make_adam(self.D.parameters(), cfg.d_lr, (cfg.beta1, cfg.beta2), self.speed["fused_adam"])
        self.noise_gen = torch.Generator(device=self.device)
        self.noise_gen.manual_seed(distributed.noise_seed(cfg.seed, self.dist))
        fixed_gen = torch.Generator().manual_seed(cfg.seed + 1)
        self.fixed_noise = torch.randn(cfg.n_fixed, mcfg.nz, 1, 1, generator=fixed_gen).to(self.device)

        if self.resume_state is not None:
            self._restore(self.resume_state)
        options = StepOptions.for_run(cfg.stability, self.speed)
        # the step drives wrapped networks (DDP, torch.compile); self.G / self.D stay plain for checkpoints and sampling
        step_g, step_d = self.G, self.D
        if self.dist.enabled:
            step_g, step_d = distributed.wrap(self.G, self.device), distributed.wrap(self.D, self.device)
        if self.speed["compile"]:
            step_g, step_d = torch.compile(step_g, dynamic=False), torch.compile(step_d, dynamic=False)
        self.train_step = GANStep(step_g, step_d, self.opt_g, self.opt_d, mcfg.nz, self.noise_gen, options)
        if self.run_dir is not None:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            (self.run_dir / "config.json").write_text(
                json.dumps({"model": mcfg.to_dict(), "train": cfg.to_dict()}, indent=2, sort_keys=True)
            )

    def _restore(self, state: ckpt.TrainingState) -> None:
        self.G.load_state_dict(state.generator)
        self.D.load_state_dict(state.discriminator)
        self.opt_g.load_state_dict(state.optim_g)
        self.opt_d.load_state_dict(state.optim_d)
        match_state_layout(self.opt_g)  # loaded moments are NCHW; channels_last weights need them channels_last
        match_state_layout(self.opt_d)
        self.fixed_noise = state.fixed_noise.to(self.device)
        if "noise" in state.rng:
            self.noise_gen.set_state(state.rng["noise"])
        if "cpu" in state.rng:
            torch.set_rng_state(state.rng["cpu"])
        self.step, self.epoch, self.batch_in_epoch = state.step, state.epoch, state.batch_in_epoch
        saved_world = int(state.extra_meta.get("extra.world_size", "1"))
        if saved_world != self.dist.world_size:  # same fraction of the epoch on the new number of batches per epoch
            self.batch_in_epoch = min(self.batches, round(self.batch_in_epoch * saved_world / self.dist.world_size))
        if self.dist.rank > 0:  # the checkpoint holds rank 0's noise stream; the others start fresh ones
            self.noise_gen.manual_seed(distributed.noise_seed(self.config.seed, self.dist, self.step))
        if self.run_dir is not None:
            self.history = _read_metrics_csv(self.run_dir / "metrics.csv", up_to_step=self.step)
            set_aside_newer_checkpoints(self.run_dir, self.step)

    def _train(self) -> None:
        cfg = self.config
        self._set_state("running")
        self._emit("started", total_steps=self.total_steps, device=str(self.device))
        pending: list[torch.Tensor] = []  # per-step metric tensors still on the device
        t_flush, steps_since = time.perf_counter(), 0
        start_epoch, start_batch = self.epoch, self.batch_in_epoch
        if start_batch >= self.batches:
            start_epoch, start_batch = start_epoch + 1, 0
        finished = True
        for epoch in range(start_epoch, cfg.epochs):
            self.epoch = epoch
            batches = self._epoch_batches(epoch, start_batch)
            for b, real in enumerate(batches, start_batch):
                if self.step >= self.total_steps:
                    break
                if not self._keep_going():
                    finished = False
                    break
                pending.append(self.train_step(real))
                with self._lock:
                    self.step += 1
                    self.batch_in_epoch = b + 1
                steps_since += 1
                end_of_epoch = b + 1 == self.batches
                if self.step % cfg.log_every == 0 or end_of_epoch or self.step == self.total_steps:
                    now = time.perf_counter()
                    self._flush(pending, steps_since * cfg.batch_size / max(now - t_flush, 1e-9))
                    pending, t_flush, steps_since = [], now, 0
                if cfg.sample_every and self.step % cfg.sample_every == 0:
                    self._sample_grid(None)
                if cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0:
                    self.save_checkpoint()
            if not finished or (self._stop_requested.is_set() and not self.dist.enabled):  # ranks agree in _keep_going
                finished = False
                break
            if self.batch_in_epoch == self.batches:  # a whole epoch is done
                self._sample_grid(epoch + 1)
                if not cfg.checkpoint_every:
                    self.save_checkpoint()
            start_batch = 0
            if self.step >= self.total_steps:
                break
        if pending:
            self._flush(pending, self.img_per_s)
        self._finish("finished" if finished else "stopped")

    def _epoch_batches(self, epoch: int, start: int) -> Iterator[torch.Tensor]:
        """uint8 batches of ``epoch`` from batch ``start`` on, in the order fixed by (seed, epoch), on the device."""
        cfg = self.config
        if self.stream is None:
            return iterate_batches(self.images, cfg.batch_size, cfg.seed, epoch, start, indices=self.shard)
        workers = cfg.num_workers
        loader = iterate_loader_batches(self.stream, cfg.batch_size, cfg.seed, epoch, start, self.shard, workers)
        return (batch.to(self.device, non_blocking=True) for batch in loader)

    def _keep_going(self) -> bool:
        """False when a stop was requested. Under torchrun the ranks agree on it every log_every steps (one tiny
        all-reduce), so they all stop after the same step and none waits forever in a collective."""
        if not self.dist.enabled:
            return self._wait_if_paused()
        if self.step % self.config.log_every:
            return True
        return not distributed.any_flag(self._stop_requested.is_set(), self.dist, self.device)

    def _wait_if_paused(self) -> bool:
        """Block while paused; False when a stop was requested."""
        if not self._unpaused.is_set():
            self._set_state("paused")
            self._emit("paused")
            self._unpaused.wait()
            if not self._stop_requested.is_set():
                self._set_state("running")
                self._emit("resumed")
        return not self._stop_requested.is_set()

    def _flush(self, pending: list[torch.Tensor], img_per_s: float) -> None:
        """Read the pending metrics from the device in one transfer and publish them."""
        values = torch.stack(pending).cpu().tolist()
        first_step = self.step - len(values) + 1
        rows = [{"step": first_step + i, "epoch": self.epoch, **dict(zip(METRIC_NAMES, v))} for i, v in enumerate(values)]
        self._report_health(self.health.observe_rows(rows))
        bad = [r["step"] for r in rows if not all(math.isfinite(r[k]) for k in METRIC_NAMES)]
        if bad:
            raise NonFiniteLosses(
                f"the losses became NaN/inf at step {bad[0]}; no checkpoint was written after it. Resume from the "
                f"last good checkpoint ({self.latest_checkpoint or 'none yet'}) with a lower learning rate."
            )
        # 0-based epoch and batch index, exactly as pytorch/examples prints them
        line = format_log_line(self.epoch, self.config.epochs, self.batch_in_epoch - 1, self.batches, rows[-1])
        with self._lock:
            self.history.extend(rows)
            self.img_per_s = img_per_s
            self.log_lines.append(line)
        if self.run_dir is not None:
            _append_metrics_csv(self.run_dir / "metrics.csv", rows)
        logger.info(line)
        self._emit("metrics", rows=rows, line=line, img_per_s=img_per_s)

    @torch.no_grad()
    def generate(self, noise: torch.Tensor) -> torch.Tensor:
        """uint8 images for ``noise``, made in eval mode (batch-norm running statistics, no BN update)."""
        was_training = self.G.training
        self.G.eval()
        try:
            return to_uint8(self.G(noise.to(self.device))).cpu()
        finally:
            self.G.train(was_training)

    def _sample_grid(self, epoch: int | None) -> None:
        images = self.generate(self.fixed_noise)
        with self._lock:
            self.latest_grid = images
        self._report_health(self.health.observe_grid(images, self.step))
        path = None
        if self.run_dir is not None:
            name = f"epoch_{epoch:03d}.png" if epoch is not None else f"step_{self.step:07d}.png"
            path = save_grid(images, self.run_dir / SAMPLES_DIR / name, step=self.step)
            self._grids[self.step] = path
        self._emit("samples", images=images, path=str(path) if path else None)

    def _report_health(self, messages: list[str]) -> None:
        """Publish the health monitor's warnings (each carries its remedy): logged, kept, sent as events."""
        for message in messages:
            logger.info(message)  # the CLI prints warning events itself
            with self._lock:
                self.warnings.append(message)
            self._emit("warning", message=message)

    def training_state(self) -> ckpt.TrainingState:
        rng = {"noise": self.noise_gen.get_state(), "cpu": torch.get_rng_state()}
        return ckpt.TrainingState(
            model_config=self.model_config,
            train_config=self.config,
            generator=dict(self.G.state_dict()),
            discriminator=dict(self.D.state_dict()),
            optim_g=self.opt_g.state_dict(),
            optim_d=self.opt_d.state_dict(),
            step=self.step,
            epoch=self.epoch,
            batch_in_epoch=self.batch_in_epoch,
            fixed_noise=self.fixed_noise,
            rng=rng,
            extra_meta={"extra.world_size": str(self.dist.world_size)},
        )

    def save_checkpoint(self, path: str | Path | None = None) -> Path | None:
        """Write a full checkpoint (to the run folder unless ``path`` is given) and prune old ones."""
        if path is None:
            if self.run_dir is None:
                return None
            path = self.run_dir / CHECKPOINT_DIR / f"step_{self.step:07d}.safetensors"
        self._check_finite_weights()
        path = ckpt.save_training_state(path, self.training_state())
        with self._lock:
            self.latest_checkpoint = path
        if getattr(self, "_good_state", None) is not None:
            self._good_state = self._snapshot()
        if self.run_dir is not None and Path(path).parent == self.run_dir / CHECKPOINT_DIR:
            prune_checkpoints(Path(path).parent, self.config.keep_checkpoints)
        self._emit("checkpoint", path=str(path))
        return path

    def _check_finite_weights(self) -> None:
        """Never write a poisoned checkpoint: losses are only read every log_every steps, weights are checked here."""
        tensors = [*self.G.parameters(), *self.D.parameters(), *self.G.buffers(), *self.D.buffers()]
        finite = torch.stack([torch.isfinite(t).all() for t in tensors if t.is_floating_point()]).all()
        if not bool(finite):
            raise NonFiniteLosses(
                f"the weights became NaN/inf by step {self.step}; no checkpoint was written. Resume from the last good "
                f"checkpoint ({self.latest_checkpoint or 'none yet'}) with a lower learning rate."
            )

    def _snapshot(self, st: ckpt.TrainingState | None = None) -> ckpt.TrainingState:
        """A CPU copy of the full training state (what a NaN rollback returns to; costs about 3x the models' size).
        Restoring uses a copy of the copy: the optimiser adopts loaded CPU tensors and updates them in place."""
        st = copy.copy(st) if st is not None else self.training_state()

        def cpu(t: torch.Tensor) -> torch.Tensor:
            return t.detach().to("cpu", copy=True)

        def opt(sd):
            return {"state": {i: {k: cpu(v) for k, v in s.items()} for i, s in sd["state"].items()},
                    "param_groups": copy.deepcopy(sd["param_groups"])}

        st.generator = {k: cpu(v) for k, v in st.generator.items()}
        st.discriminator = {k: cpu(v) for k, v in st.discriminator.items()}
        st.optim_g, st.optim_d = opt(st.optim_g), opt(st.optim_d)
        st.fixed_noise, st.rng = cpu(st.fixed_noise), {k: cpu(v) for k, v in st.rng.items()}
        return st

    def _roll_back(self, exc: NonFiniteLosses, max_rollbacks: int, lr_factor: float) -> bool:
        """Return to the last good state with the learning rates times ``lr_factor``; False when out of tries."""
        if self._good_state is None or self._rollbacks >= max_rollbacks:
            if self._rollbacks:
                exc.args = (f"{exc.args[0]} (gave up after {self._rollbacks} rollbacks with lower learning rates)",)
            return False
        self._rollbacks += 1
        lrs = [[g["lr"] for g in o.param_groups] for o in (self.opt_g, self.opt_d)]
        bad_step = self.step
        self._restore(self._snapshot(self._good_state))
        for o, old in zip((self.opt_g, self.opt_d), lrs):
            for g, lr in zip(o.param_groups, old):
                g["lr"] = lr * lr_factor
        with self._lock:
            self.history = [r for r in self.history if r["step"] <= self.step]
        self._grids = {s: p for s, p in self._grids.items() if s <= self.step}  # the abandoned steps' grids
        message = (
            f"the losses became NaN/inf by step {bad_step}; rolled back to step {self.step} with learning rates x"
            f"{lr_factor:g} (G {self.opt_g.param_groups[0]['lr']:.3g}, D {self.opt_d.param_groups[0]['lr']:.3g}); "
            f"rollback {self._rollbacks} of {max_rollbacks}"
        )
        logger.warning(message)
        with self._lock:
            self.warnings.append(message)
        self._emit("warning", message=message)
        return True

    def _finish(self, how: str) -> None:
        if self.run_dir is not None:
            if self.latest_checkpoint is None or not self.latest_checkpoint.name.endswith(f"{self.step:07d}.safetensors"):
                self.save_checkpoint()
            self.generator_path = ckpt.save_generator(
                self.run_dir / "generator.safetensors", self.G, {"extra.step": str(self.step)}
            )
            if self.history:
                plot_training(self.history, self.run_dir / "training.png")
            if self.latest_grid is None:
                self._sample_grid(None)
            self._write_timelapse()
        with self._lock:
            self.state = how
        self._emit(how, checkpoint=str(self.latest_checkpoint) if self.latest_checkpoint else None)

    def timelapse_grids(self) -> list[Path]:
        """The run's grid PNGs in step order: for a resumed run, first those of the run it continues (its run folder's
        ``samples/``, up to the resume step), then the ones this trainer drew. A grid this trainer drew wins at the
        same step, and older grids left in a reused run folder are not picked up."""
        by_step: dict[int, Path] = {}
        if self.resume_state is not None and self.resume_from is not None and self.resume_from.parent.name == CHECKPOINT_DIR:
            by_step.update(run_grids(self.resume_from.parent.parent, self.resume_state.step, self.batches))
        by_step.update(self._grids)
        return [by_step[s] for s in sorted(by_step)]

    def _write_timelapse(self, report: bool = True) -> None:
        """``run_dir/timelapse.gif`` from the run's grids (every k-th when there are more than
        ``TIMELAPSE_MAX_FRAMES``). Best effort: a timelapse that cannot be written is a warning, never a failed run."""
        if self.run_dir is None:
            return
        try:
            path = save_timelapse(self.timelapse_grids(), self.run_dir / TIMELAPSE_NAME, max_frames=TIMELAPSE_MAX_FRAMES)
        except Exception as exc:  # noqa: BLE001 - the checkpoint and generator are already written
            message = f"the timelapse could not be written to {self.run_dir / TIMELAPSE_NAME}: {exc}"
            logger.warning(message)
            if report:
                with self._lock:
                    self.warnings.append(message)
                self._emit("warning", message=message)
            return
        if path is not None:
            with self._lock:
                self.timelapse_path = path


_GRID_NAME = re.compile(r"(step|epoch)_(\d+)\.png")


def run_grids(run_dir: str | Path, up_to_step: int, batches: int = 0) -> dict[int, Path]:
    """A run folder's sample grids up to ``up_to_step``, by the step they show: ``step_N.png`` is step N,
    ``epoch_N.png`` says its step in its PNG text (``plots.grid_step``) or, from before that, is taken as
    ``N * batches``. Anything else in ``samples/`` is ignored."""
    found: dict[int, Path] = {}
    for f in sorted((Path(run_dir) / SAMPLES_DIR).glob("*.png")):
        m = _GRID_NAME.fullmatch(f.name)
        if m is None:
            continue
        step = int(m.group(2)) if m.group(1) == "step" else grid_step(f)
        if step is None and batches:
            step = int(m.group(2)) * batches
        if step is not None and step <= up_to_step:
            found.setdefault(step, f)
    return found


def prune_checkpoints(folder: Path, keep: int) -> None:
    """Keep the newest ``keep`` readable step checkpoints and delete older readable ones. A damaged file (truncated,
    say) is never counted as one of the ``keep`` and never deleted (it is logged), so the last good checkpoint always
    survives. Temporaries left by a write that was killed are removed."""
    ckpt.remove_stale_temporaries(folder)
    files = sorted(Path(folder).glob("step_*.safetensors"))
    good = []
    for f in files:
        problem = ckpt.verify_file(f)
        if problem is None:
            good.append(f)
        else:
            logger.warning("%s is damaged and does not count as a checkpoint: %s", f, problem)
    for old in good[: max(0, len(good) - max(1, keep))]:
        old.unlink(missing_ok=True)


def set_aside_newer_checkpoints(run_dir: str | Path, step: int) -> list[Path]:
    """Resuming an earlier checkpoint into its own run folder branches the run: the abandoned branch's later
    checkpoints move to ``checkpoints/abandoned/`` (kept, never deleted), so pruning and ``latest_checkpoint``
    see only the branch being trained."""
    folder = Path(run_dir) / CHECKPOINT_DIR
    moved = []
    for f in sorted(folder.glob("step_*.safetensors")):
        try:
            newer = int(f.stem.removeprefix("step_")) > step
        except ValueError:
            continue
        if newer:
            target = folder / "abandoned" / f.name
            target.parent.mkdir(exist_ok=True)
            f.replace(target)
            moved.append(target)
            logger.info("resuming at step %d: set aside %s from the abandoned branch", step, f.name)
    return moved


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    """The newest step checkpoint of a run that is complete and readable (damaged files and temporaries skipped)."""
    files = sorted((Path(run_dir) / CHECKPOINT_DIR).glob("step_*.safetensors"))
    return next((f for f in reversed(files) if ckpt.verify_file(f) is None), None)


def _nan_rollback_settings(stability) -> tuple[int, float] | None:
    """(max rollbacks, lr factor) when the NaN policy is 'rollback'; None for 'stop' (the default)."""
    if stability.nan_policy == "stop":
        return None
    return stability.nan_max_rollbacks, stability.nan_lr_factor


def _append_metrics_csv(path: Path, rows: list[dict[str, float]]) -> None:
    new = not path.exists()
    with open(path, "a", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["step", "epoch", *METRIC_NAMES])
        if new:
            writer.writeheader()
        writer.writerows(rows)


def _read_metrics_csv(path: Path, up_to_step: int) -> list[dict[str, float]]:
    """Metrics already logged by the run being resumed (rows past the checkpoint are dropped and rewritten)."""
    if not path.exists():
        return []
    rows = []
    with open(path, newline="", errors="replace") as fh:
        for r in csv.DictReader(fh):
            try:
                rows.append({"step": int(r["step"]), "epoch": int(r["epoch"]), **{k: float(r[k]) for k in METRIC_NAMES}})
            except (KeyError, TypeError, ValueError):  # a row cut short by a crash or a full disk: drop it
                logger.warning("%s: skipping a damaged row %r", path, r)
    rows = [r for r in rows if r["step"] <= up_to_step]
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["step", "epoch", *METRIC_NAMES])
        writer.writeheader()
        writer.writerows(rows)
    return rows
