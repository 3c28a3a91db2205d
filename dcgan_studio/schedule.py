"""Learning-rate decay over a run: one ``torch.optim.lr_scheduler.LambdaLR`` per optimiser over ``lr_factor``, a
pure function of the step, so a resumed run continues the same curve.

``LrSchedule`` is the one owner of the rates: the starting rates (the schedulers' ``base_lrs``), where on the curve
the run is, what a checkpoint keeps of them (``state_dict``), a resume (``load``) and a NaN rollback (``scale``).
The rate of step ``s`` (0-based) of ``T`` is ``base_lr * lr_factor(kind, s, T, floor, start)``; without decay the
factor is 1 and the rates stay the starting ones. ``start`` holds the rates until that fraction of the run: a GAN
still far from done is hurt by rates that fall early (``checkpoints/README.md``'s ablation), one that is nearly done
settles when they fall late.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import Any

import torch
from torch.optim.lr_scheduler import LambdaLR


def lr_factor(kind: str, step: int, total: int, floor: float = 0.0, start: float = 0.0) -> float:
    """The fraction of the starting rate for step ``step`` (0-based) of ``total``: 1 until ``start`` x ``total``,
    then falling ``linear``-ly or along a half ``cosine`` towards ``floor`` at step ``total`` (never reached, so
    always above 0); ``none``: 1."""
    if kind == "none" or total <= 0:
        return 1.0
    t = min(max((step / total - start) / (1.0 - start), 0.0), 1.0)
    shape = 1.0 - t if kind == "linear" else 0.5 * (1.0 + math.cos(math.pi * t))
    return floor + (1.0 - floor) * shape


class LrSchedule:
    """The rates of a run's optimisers (by name: "G", "D"), one ``LambdaLR`` each, positioned at the step about to
    be taken. ``total``: the steps of the curve (the run's epochs; ``max_steps`` or a stop end a run early without
    changing it)."""

    def __init__(
        self,
        optimizers: Mapping[str, torch.optim.Optimizer],
        kind: str,
        total: int,
        floor: float = 0.0,
        start: float = 0.0,
    ):
        self.kind, self.total, self.floor, self.start = kind, total, floor, start
        factor = functools.partial(lr_factor, kind, total=total, floor=floor, start=start)
        self.schedulers = {name: LambdaLR(opt, factor) for name, opt in optimizers.items()}  # at step 0

    @property
    def step(self) -> int:
        """The step the rates are set for."""
        return next(iter(self.schedulers.values())).last_epoch

    def advance_to(self, step: int) -> None:
        """Set the rates for ``step`` before it is taken: one ``scheduler.step()`` each from the step before (the
        loop's case, once per step), else straight to it. Without decay the rates never change: only the position
        moves (no per-step work)."""
        if self.kind == "none":
            for sched in self.schedulers.values():
                sched.last_epoch = step
        elif step == self.step + 1:
            for sched in self.schedulers.values():
                sched.step()
        elif step != self.step:
            self._place(step)

    def scale(self, factor: float) -> None:
        """A NaN rollback: the starting rates times ``factor``, so the lowered rates decay from where they were."""
        for sched in self.schedulers.values():
            sched.base_lrs = [lr * factor for lr in sched.base_lrs]
        self._place(self.step)

    def rates(self, name: str) -> list[float]:
        """The current rate of each group of optimiser ``name``."""
        return [g["lr"] for g in self.schedulers[name].optimizer.param_groups]

    def base_rates(self) -> dict[str, list[float]]:
        return {name: list(sched.base_lrs) for name, sched in self.schedulers.items()}

    def state_dict(self) -> dict[str, Any]:
        """What a checkpoint keeps: each optimiser's starting rates and the step the rates are set for (the curve
        itself is the config's)."""
        return {"step": self.step, "base_lrs": self.base_rates()}

    def load(self, state: Mapping[str, Any] | None, step: int, legacy_rates: Mapping[str, list[float]]) -> None:
        """Continue at ``step`` from a checkpoint's ``state`` (``state_dict``), or, for a checkpoint written before
        the scheduler (``state`` None), from ``legacy_rates``: the starting rates its optimiser groups imply."""
        base = state["base_lrs"] if state is not None else legacy_rates
        for name, sched in self.schedulers.items():
            sched.base_lrs = [float(lr) for lr in base[name]]
        self._place(step)

    def _place(self, step: int) -> None:
        """Put every scheduler at ``step`` with its rates (and the groups' ``initial_lr``) from the starting rates."""
        for sched in self.schedulers.values():
            sched.last_epoch = step
            for group, base in zip(sched.optimizer.param_groups, sched.base_lrs, strict=True):
                group["initial_lr"] = base
                group["lr"] = base * lr_factor(self.kind, step, self.total, self.floor, self.start)
            sched._last_lr = [g["lr"] for g in sched.optimizer.param_groups]


def legacy_base_rates(param_groups: list[dict[str, Any]], decay: bool, config_rate: float) -> list[float]:
    """The starting rates a checkpoint written before the scheduler implies: with decay, the groups' ``initial_lr``
    (the config's rate for groups saved without decay); without, the groups' rates as they are."""
    if decay:
        return [float(g.get("initial_lr", config_rate)) for g in param_groups]
    return [float(g["lr"]) for g in param_groups]
