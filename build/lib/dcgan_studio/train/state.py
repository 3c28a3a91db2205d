"""The full training state of a run: captured for a checkpoint, restored on resume or rollback, copied to the CPU.

Exactness: the order of every epoch is a pure function of (seed, epoch), the noise comes from a generator whose
state is captured here, and the optimiser states, batch-norm buffers and step counters are all saved, so resuming a
checkpoint in a fresh process continues bit for bit on the CPU.
"""

from __future__ import annotations

import copy
from typing import Any

import torch

from .. import checkpoint as ckpt
from .. import distributed
from ..config import ModelConfig, TrainConfig
from ..distributed import DistContext
from ..finite import nonfinite
from ..schedule import remember_initial
from ..step import match_state_layout
from .setup import Models

WORLD_SIZE_KEY = "extra.world_size"  # metadata: the number of processes that wrote the checkpoint


def capture(
    models: Models, model_config: ModelConfig, config: TrainConfig, counters: tuple[int, int, int], world_size: int
) -> ckpt.TrainingState:
    """The state to checkpoint (tensors shared with the live run, not copied); ``counters``: step, epoch, batch."""
    step, epoch, batch_in_epoch = counters
    return ckpt.TrainingState(
        model_config=model_config,
        train_config=config,
        generator=dict(models.G.state_dict()),
        discriminator=dict(models.D.state_dict()),
        optim_g=models.opt_g.state_dict(),
        optim_d=models.opt_d.state_dict(),
        step=step,
        epoch=epoch,
        batch_in_epoch=batch_in_epoch,
        fixed_noise=models.fixed_noise,
        ema=dict(models.ema.module.state_dict()) if models.ema is not None else None,
        rng={"noise": models.noise_gen.get_state(), "cpu": torch.get_rng_state()},
        extra_meta={WORLD_SIZE_KEY: str(world_size)},
    )


def restore(
    models: Models,
    state: ckpt.TrainingState,
    device: torch.device,
    dist: DistContext,
    config: TrainConfig,
    batches: int,
) -> tuple[int, int, int]:
    """Load weights, optimiser moments, the fixed noise and the random streams; returns the (step, epoch, batch)
    to continue from, on this run's number of processes and batches per epoch."""
    models.G.load_state_dict(state.generator)
    models.D.load_state_dict(state.discriminator)
    models.opt_g.load_state_dict(state.optim_g)
    models.opt_d.load_state_dict(state.optim_d)
    match_state_layout(models.opt_g)  # loaded moments are NCHW; channels_last weights need them channels_last
    match_state_layout(models.opt_d)
    if config.lr_decay != "none":  # groups saved without decay get the config's rates as their starting rates
        remember_initial(models.opt_g, config.g_lr)
        remember_initial(models.opt_d, config.d_lr)
    if models.ema is not None:  # a checkpoint without an average (an older run, --ema added) starts it from G
        models.ema.load(state.ema if state.ema is not None else models.G.state_dict(), state.step)
    models.fixed_noise = state.fixed_noise.to(device)
    if "noise" in state.rng:
        models.noise_gen.set_state(state.rng["noise"])
    if "cpu" in state.rng:
        torch.set_rng_state(state.rng["cpu"])
    batch = state.batch_in_epoch
    saved_world = int(state.extra_meta.get(WORLD_SIZE_KEY, "1"))
    if saved_world != dist.world_size:  # same fraction of the epoch on the new number of batches per epoch
        batch = min(batches, round(batch * saved_world / dist.world_size))
    if dist.rank > 0:  # the checkpoint holds rank 0's noise stream; the others start fresh ones
        models.noise_gen.manual_seed(distributed.noise_seed(config.seed, dist, state.step))
    return state.step, state.epoch, batch


def nonfinite_weights(models: Models) -> list[str]:
    """The names of G's and D's weights and buffers that hold NaN/inf (one device sync for all)."""
    named = {f"G.{k}": v for k, v in models.G.state_dict().items()}
    named.update({f"D.{k}": v for k, v in models.D.state_dict().items()})
    if models.ema is not None:
        named.update({f"EMA.{k}": v for k, v in models.ema.module.state_dict().items()})
    return nonfinite(named)


def cpu_copy(state: ckpt.TrainingState) -> ckpt.TrainingState:
    """A CPU copy of a training state (what a NaN rollback returns to; costs about 3x the models' size). Restoring
    uses a copy of the copy: the optimiser adopts loaded CPU tensors and updates them in place."""
    st = copy.copy(state)

    def cpu(t: torch.Tensor) -> torch.Tensor:
        return t.detach().to("cpu", copy=True)

    def optimiser(sd: dict[str, Any]) -> dict[str, Any]:
        return {
            "state": {i: {k: cpu(v) for k, v in s.items()} for i, s in sd["state"].items()},
            "param_groups": copy.deepcopy(sd["param_groups"]),
        }

    st.generator = {k: cpu(v) for k, v in state.generator.items()}
    st.ema = {k: cpu(v) for k, v in state.ema.items()} if state.ema is not None else None
    st.discriminator = {k: cpu(v) for k, v in state.discriminator.items()}
    st.optim_g, st.optim_d = optimiser(state.optim_g), optimiser(state.optim_d)
    st.fixed_noise, st.rng = cpu(state.fixed_noise), {k: cpu(v) for k, v in state.rng.items()}
    return st
