"""NaN policy "rollback": keep the last good training state on the CPU and return to it with lower learning rates.

A good state is remembered when a run starts and at every checkpoint (the weights were just checked finite). When
the losses or weights become NaN/inf, the loop restores a copy of it, multiplies both learning rates by
``nan_lr_factor`` and trains on; after ``nan_max_rollbacks`` tries the run fails as with the policy "stop".
"""

from __future__ import annotations

import torch

from .. import checkpoint as ckpt
from ..config import StabilityConfig
from .state import cpu_copy


class NanRollback:
    def __init__(self, stability: StabilityConfig):
        self.max_rollbacks = stability.nan_max_rollbacks
        self.lr_factor = stability.nan_lr_factor
        self.good: ckpt.TrainingState | None = None  # a CPU copy of the last good state
        self.rollbacks = 0

    def remember(self, state: ckpt.TrainingState) -> None:
        self.good = cpu_copy(state)

    def take(self, exc: Exception) -> ckpt.TrainingState | None:
        """A fresh copy of the last good state to restore, or None when out of tries (``exc``'s message then says
        how many were made)."""
        if self.good is None or self.rollbacks >= self.max_rollbacks:
            if self.rollbacks:
                exc.args = (f"{exc.args[0]} (gave up after {self.rollbacks} rollbacks with lower learning rates)",)
            return None
        self.rollbacks += 1
        return cpu_copy(self.good)

    def lower_learning_rates(self, *optimizers: torch.optim.Optimizer, restored_from: list[list[float]]) -> None:
        """Set each param group's rate to the rate it had before the rollback (``restored_from``) times the factor."""
        for opt, old in zip(optimizers, restored_from, strict=True):
            for group, lr in zip(opt.param_groups, old, strict=True):
                group["lr"] = lr * self.lr_factor

    def message(self, bad_step: int, step: int, opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer) -> str:
        return (
            f"the losses became NaN/inf by step {bad_step}; rolled back to step {step} with learning rates x"
            f"{self.lr_factor:g} (G {opt_g.param_groups[0]['lr']:.3g}, D {opt_d.param_groups[0]['lr']:.3g}); "
            f"rollback {self.rollbacks} of {self.max_rollbacks}"
        )
