"""The training loop, synchronous and read top to bottom: set up once, then per step update D, update G, and every
so often log, draw the fixed-noise grid and save a checkpoint.

It runs in whatever thread calls ``run()``; the ``Trainer`` (runner.py) gives it a thread, pause and stop. What it
shows the outside goes through ``Progress`` and ``Controls`` (progress.py), what it writes through ``RunDir``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .. import checkpoint as ckpt
from ..config import ModelConfig, TrainConfig
from ..distributed import DistContext
from ..finite import nonfinite
from ..health import HealthMonitor
from ..latent import generate
from ..step import METRIC_NAMES, GANStep
from .progress import Controls, Progress
from .recipe import after_rollback, set_learning_rates, shown_generator, update_average
from .rollback import NanRollback
from .rundir import RunDir
from .setup import Models, TrainData, build_models, load_train_data, make_train_step
from .state import capture, nonfinite_weights, restore

logger = logging.getLogger(__name__)


class TrainingFailed(RuntimeError):
    pass


class NonFiniteLosses(TrainingFailed):
    """The losses or weights became NaN/inf; with the NaN policy "rollback" the run rolls back."""


def format_log_line(epoch: int, epochs: int, batch: int, batches: int, m: dict[str, float]) -> str:
    """The pytorch/examples line users know: ``[epoch/epochs][batch/batches] Loss_D: ... D(G(z)): a / b``."""
    return (
        f"[{epoch}/{epochs}][{batch}/{batches}]\tLoss_D: {m['loss_d']:.4f}\tLoss_G: {m['loss_g']:.4f}\t"
        f"D(x): {m['d_x']:.4f}\tD(G(z)): {m['d_g_z1']:.4f} / {m['d_g_z2']:.4f}"
    )


def metric_rows(values: list[list[float]], last_step: int, epoch: int) -> list[dict[str, float]]:
    """One row per step (step, epoch, the METRIC_NAMES) for the metric values of the steps up to ``last_step``."""
    first = last_step - len(values) + 1
    return [
        {"step": first + i, "epoch": epoch, **dict(zip(METRIC_NAMES, v, strict=True))} for i, v in enumerate(values)
    ]


@dataclass
class _Pending:
    """Metrics of the steps not read from the device yet (one small tensor each), and the throughput's clock."""

    metrics: list[torch.Tensor] = field(default_factory=list)
    since: float = field(default_factory=time.perf_counter)

    def take(self, batch_size: int) -> tuple[list[torch.Tensor], float]:
        """The pending metrics and the images per second since the last take; starts over."""
        now = time.perf_counter()
        taken, rate = self.metrics, len(self.metrics) * batch_size / max(now - self.since, 1e-9)
        self.metrics, self.since = [], now
        return taken, rate


class TrainingLoop:
    """One run: ``run()`` trains from the start (or a resumed state) to the end or to a stop."""

    def __init__(
        self,
        model_config: ModelConfig,
        config: TrainConfig,
        run_dir: RunDir | None,
        dist: DistContext,
        device: torch.device,
        progress: Progress,
        controls: Controls | None = None,
        dataset: Any = None,
        resume_from: str | Path | None = None,
        resume_state: ckpt.TrainingState | None = None,
    ):
        self.model_config, self.config = model_config, config
        self.run_dir = run_dir  # None: nothing is written (other ranks under torchrun, tests)
        self.dist, self.device = dist, device
        self.progress = progress
        self.controls = controls or Controls()
        self.dataset = dataset  # given (an uploaded zip, tests) or loaded from the config by setup()
        self.resume_from = Path(resume_from) if resume_from is not None else None
        self.resume_state = resume_state
        self.health = HealthMonitor.for_options(config.stability)  # D winning, mode collapse, NaN: health.py
        self.rollback = NanRollback(config.stability) if config.stability.nan_policy == "rollback" else None
        self.data: TrainData | None = None  # set up by setup()
        self.models: Models | None = None
        self.train_step: GANStep | None = None
        self.grids: dict[int, Path] = {}  # the grids this loop wrote, by step (the timelapse's frames)

    @property
    def step(self) -> int:
        return self.progress.step

    @property
    def epoch(self) -> int:
        return self.progress.epoch

    @property
    def batch_in_epoch(self) -> int:
        return self.progress.batch_in_epoch

    # ---------------------------------------------------------------------------------------------------- run
    def run(self) -> str:
        """Set up, train, write the run's last files; "finished" or "stopped". NaN/inf losses raise
        ``NonFiniteLosses``, or, with the policy "rollback", return to the last good state and train on."""
        self.setup()
        if self.rollback is not None:
            self.rollback.remember(self.training_state())
        while True:
            try:
                how = self.train()
                self.finish()
                return how
            except NonFiniteLosses as exc:
                if not self.roll_back(exc):
                    raise

    def setup(self) -> None:
        cfg, mcfg = self.config, self.model_config
        torch.manual_seed(cfg.seed)
        self.data = load_train_data(mcfg, cfg, self.dataset, self.dist, self.device)
        self.progress.update(batches=self.data.batches, total_steps=self.data.total_steps(cfg))
        self.models = build_models(mcfg, cfg, self.dist, self.device)
        if self.resume_state is not None:
            self.restore(self.resume_state)
        self.train_step = make_train_step(self.models, cfg, mcfg.nz, self.dist, self.device)
        if self.run_dir is not None:
            self.run_dir.create(mcfg, cfg)

    def train(self) -> str:
        """Epochs from where the run stands; "finished", or "stopped" when a stop was asked for."""
        self.progress.update(state="running")
        self.controls.emit("started", total_steps=self.progress.total_steps, device=str(self.device))
        pending = _Pending()
        first_epoch, start = self.epoch, self.batch_in_epoch
        if start >= self.data.batches:
            first_epoch, start = first_epoch + 1, 0
        how = "finished"
        for epoch in range(first_epoch, self.config.epochs):
            # under torchrun the ranks agree on a stop in keep_going(); alone, a stop also ends the epoch here
            stopped = not self.train_epoch(epoch, start, pending)
            if stopped or (self.controls.stop_requested() and not self.dist.enabled):
                how = "stopped"
                break
            if self.batch_in_epoch == self.data.batches:  # a whole epoch is done
                self.sample_grid(epoch + 1)
                if not self.config.checkpoint_every:
                    self.save_checkpoint()
            start = 0
            if self.step >= self.progress.total_steps:
                break
        if pending.metrics:
            self.flush(pending.take(self.config.batch_size)[0], self.progress.img_per_s)
        return how

    def train_epoch(self, epoch: int, start: int, pending: _Pending) -> bool:
        """Batches ``start``.. of ``epoch`` (or up to the step limit); False when stopped."""
        cfg = self.config
        self.progress.update(epoch=epoch)
        for b, real in enumerate(self.data.epoch(cfg, epoch, start, self.device), start):
            if self.step >= self.progress.total_steps:
                break
            if not self.controls.keep_going(self.step, cfg.log_every, self.dist, self.device):
                return False
            set_learning_rates(self.models, cfg, self.step, cfg.epochs * self.data.batches)  # lr_decay
            pending.metrics.append(self.train_step(real))  # (1) update D, (2) update G: step.py
            update_average(self.models, self.step)  # with --ema
            self.progress.update(step=self.step + 1, batch_in_epoch=b + 1)
            end_of_epoch = b + 1 == self.data.batches
            if self.step % cfg.log_every == 0 or end_of_epoch or self.step == self.progress.total_steps:
                self.flush(*pending.take(cfg.batch_size))
            if cfg.sample_every and self.step % cfg.sample_every == 0:
                self.sample_grid(None)
            if cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0:
                self.save_checkpoint()
        return True

    # ------------------------------------------------------------------------------------------- log, sample, save
    def flush(self, pending: list[torch.Tensor], img_per_s: float) -> None:
        """Read the pending metrics from the device in one transfer and publish them."""
        rows = metric_rows(torch.stack(pending).cpu().tolist(), self.step, self.epoch)
        self.report(self.health.observe_rows(rows), level=logging.INFO)
        bad = [r["step"] for r in rows if nonfinite({k: r[k] for k in METRIC_NAMES})]
        if bad:
            raise NonFiniteLosses(
                f"the losses became NaN/inf at step {bad[0]}; no checkpoint was written after it. Resume from the "
                f"last good checkpoint ({self.progress.latest_checkpoint or 'none yet'}) with a lower learning rate."
            )
        # 0-based epoch and batch index, exactly as pytorch/examples prints them
        line = format_log_line(self.epoch, self.config.epochs, self.batch_in_epoch - 1, self.data.batches, rows[-1])
        self.progress.log(rows, line, img_per_s)
        if self.run_dir is not None:
            self.run_dir.append_metrics(rows)
        logger.info(line)
        self.controls.emit("metrics", rows=rows, line=line, img_per_s=img_per_s)

    def sample_grid(self, epoch: int | None) -> None:
        """G's images of the fixed noise (eval mode: batch-norm running statistics), kept, checked, saved, sent."""
        G = shown_generator(self.models, self.config, self.model_config.nz, self.step)
        try:
            images = generate(G, self.models.fixed_noise)
        finally:
            G.train()
        self.progress.update(latest_grid=images)
        self.report(self.health.observe_grid(images, self.step), level=logging.INFO)
        path = None
        if self.run_dir is not None:
            path = self.grids[self.step] = self.run_dir.save_grid(images, self.step, epoch)
        self.controls.emit("samples", images=images, path=str(path) if path else None)

    def report(self, messages: list[str], level: int = logging.WARNING) -> None:
        """Publish warnings (each carries its remedy): logged, kept in the progress, sent as events."""
        for message in messages:
            logger.log(level, message)  # the CLI prints warning events itself
            self.progress.warn(message)
            self.controls.emit("warning", message=message)

    def training_state(self) -> ckpt.TrainingState:
        counters = (self.step, self.epoch, self.batch_in_epoch)
        return capture(self.models, self.model_config, self.config, counters, self.dist.world_size)

    def save_checkpoint(self, path: str | Path | None = None) -> Path | None:
        """Write a full checkpoint (to the run folder unless ``path`` is given) and prune old ones."""
        if path is None:
            if self.run_dir is None:
                return None
            path = self.run_dir.checkpoint_path(self.step)
        self.check_finite_weights()
        shown_generator(
            self.models, self.config, self.model_config.nz, self.step
        )  # the average's batch-norm statistics, recomputed for this step
        path = ckpt.save_training_state(path, self.training_state())
        self.progress.update(latest_checkpoint=path)
        if self.rollback is not None:
            self.rollback.remember(self.training_state())
        if self.run_dir is not None and self.run_dir.holds_checkpoint(path):
            self.run_dir.prune_checkpoints(self.config.keep_checkpoints)
        self.controls.emit("checkpoint", path=str(path))
        return path

    def check_finite_weights(self) -> None:
        """Never write a poisoned checkpoint: losses are only read every log_every steps, weights are checked here."""
        if nonfinite_weights(self.models):
            raise NonFiniteLosses(
                f"the weights became NaN/inf by step {self.step}; no checkpoint was written. Resume from the last good "
                f"checkpoint ({self.progress.latest_checkpoint or 'none yet'}) with a lower learning rate."
            )

    # --------------------------------------------------------------------------------------- resume and rollback
    def restore(self, state: ckpt.TrainingState) -> None:
        """Continue from ``state``: a checkpoint being resumed, or the last good state of a rollback."""
        step, epoch, batch = restore(self.models, state, self.device, self.dist, self.config, self.data.batches)
        if self.run_dir is not None:  # rows past the state are dropped (they are trained again)
            history = self.run_dir.read_metrics(up_to_step=step)
            self.run_dir.set_aside_newer_checkpoints(step)
        else:
            history = [r for r in self.progress.history if r["step"] <= step]
        self.progress.update(step=step, epoch=epoch, batch_in_epoch=batch, history=history)

    def roll_back(self, exc: NonFiniteLosses) -> bool:
        """Return to the last good state with lower learning rates; False without the policy or out of tries."""
        state = self.rollback.take(exc) if self.rollback is not None else None
        if state is None:
            return False
        optimizers = (self.models.opt_g, self.models.opt_d)
        rates, initial = ([[g.get(k) for g in o.param_groups] for o in optimizers] for k in ("lr", "initial_lr"))
        bad_step = self.step
        self.restore(state)
        self.rollback.lower_learning_rates(*optimizers, restored_from=rates)
        after_rollback(optimizers, initial, self.rollback.lr_factor)
        self.grids = {s: p for s, p in self.grids.items() if s <= self.step}  # the abandoned steps' grids
        self.report([self.rollback.message(bad_step, self.step, *optimizers)])
        return True

    # ------------------------------------------------------------------------------------------------- the end
    def finish(self) -> None:
        """What a finished or stopped run leaves: a checkpoint of its last step, the generator, the plot, the
        last grid and the timelapse."""
        if self.run_dir is None:
            return
        if self.progress.latest_checkpoint != self.run_dir.checkpoint_path(self.step):
            self.save_checkpoint()
        generator = shown_generator(self.models, self.config, self.model_config.nz, self.step)
        path = ckpt.save_generator(self.run_dir.generator_path, generator, {"extra.step": str(self.step)})
        self.progress.update(generator_path=path)
        if self.progress.history:
            self.run_dir.save_plot(self.progress.history)
        if self.progress.latest_grid is None:
            self.sample_grid(None)
        self.write_timelapse()

    def write_timelapse(self, report: bool = True) -> None:
        """``timelapse.gif`` from the run's grids. Best effort: a timelapse that cannot be written is a warning,
        never a failed run (the checkpoint and generator are already written)."""
        if self.run_dir is None:
            return
        try:
            resume_step = self.resume_state.step if self.resume_state is not None else 0
            path = self.run_dir.save_timelapse(self.grids, self.resume_from, resume_step, self.progress.batches)
        except Exception as exc:  # noqa: BLE001
            message = f"the timelapse could not be written to {self.run_dir.timelapse_path}: {exc}"
            if report:
                self.report([message])
            else:
                logger.warning(message)
            return
        if path is not None:
            self.progress.update(timelapse_path=path)
