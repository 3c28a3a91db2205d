"""The quality options of a run that act around the step (issue 12): lr decay before it, the moving average of G
after it, and which generator the grids and exports draw with."""

from __future__ import annotations

import torch

from ..config import TrainConfig
from ..schedule import apply, lr_factor, scale_initial
from .setup import Models


def set_learning_rates(models: Models, config: TrainConfig, step: int, total_steps: int) -> None:
    """With ``lr_decay``: both optimisers' rates for step ``step`` (0-based) of ``total_steps`` (the run's epochs:
    ``max_steps`` or a stop ends a run early without changing its curve, so a resumed run continues it)."""
    if config.lr_decay != "none":
        factor = lr_factor(config.lr_decay, step, total_steps, config.lr_floor)
        apply(models.opt_g, factor)
        apply(models.opt_d, factor)


def update_average(models: Models, step: int) -> None:
    """With ``--ema``: the moving average of G one step towards G (``step``: the updates made before)."""
    if models.ema is not None:
        models.ema.update(models.G, step)


def after_rollback(optimizers, initial: list[list[float | None]], factor: float) -> None:
    """A NaN rollback lowered the rates by ``factor``: lr decay goes on from the lowered starting rates."""
    for opt, rates in zip(optimizers, initial, strict=True):
        scale_initial(opt, rates, factor)


def shown_generator(models: Models, config: TrainConfig, nz: int, step: int) -> torch.nn.Module:
    """What grids and exports draw with: the moving average of G (batch norm recomputed for ``step``) when the run
    keeps one, else G."""
    if models.ema is None:
        return models.G
    return models.ema.ready(step, config.seed, config.batch_size, nz)
