"""The quality options of a run that act around the step (issue 12): the moving average of G after it, and which
generator the grids and exports draw with (lr decay is ``schedule.LrSchedule``, ``RunModels.lr``)."""

from __future__ import annotations

import torch

from ..config import TrainConfig
from .setup import RunModels


def update_average(models: RunModels, step: int) -> None:
    """With ``--ema``: the moving average of G one step towards G (``step``: the updates made before)."""
    if models.ema is not None:
        models.ema.update(models.G, step)


def shown_generator(models: RunModels, config: TrainConfig, nz: int, step: int) -> torch.nn.Module:
    """What grids and exports draw with: the moving average of G (batch norm recomputed for ``step``) when the run
    keeps one, else G."""
    if models.ema is None:
        return models.G
    return models.ema.ready(step, config.seed, config.batch_size, nz)
