"""NaN policy "rollback": keep the last good training state on the CPU and return to it with lower learning rates.

A good state is remembered when a run starts and at every checkpoint (the weights were just checked finite). When
the losses or weights become NaN/inf, the loop restores a copy of it, multiplies both learning rates by
``nan_lr_factor`` and trains on; after ``nan_max_rollbacks`` tries the run fails as with the policy "stop".
"""

from __future__ import annotations

from .. import checkpoint as ckpt
from ..config import StabilityConfig
from ..schedule import LrSchedule
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

    def lower_learning_rates(self, schedule: LrSchedule, before: dict, step: int) -> None:
        """The starting rates they were before the rollback (``before``: the schedule's state then) times the
        factor, at the restored ``step``: lr decay goes on from the lowered rates."""
        schedule.load(before, step, {})
        schedule.scale(self.lr_factor)

    def message(self, bad_step: int, step: int, schedule: LrSchedule) -> str:
        return (
            f"the losses became NaN/inf by step {bad_step}; rolled back to step {step} with learning rates x"
            f"{self.lr_factor:g} (G {schedule.rates('G')[0]:.3g}, D {schedule.rates('D')[0]:.3g}); "
            f"rollback {self.rollbacks} of {self.max_rollbacks}"
        )
