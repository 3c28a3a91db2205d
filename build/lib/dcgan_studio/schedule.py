"""Learning-rate decay over a run: a pure function of the step, so a resumed run continues the same curve.

Each optimiser group keeps its starting rate as ``initial_lr`` (saved in checkpoints with the group); before step
``s`` of ``T`` the group's rate becomes ``initial_lr * lr_factor(kind, s, T, floor)``. A NaN rollback scales
``initial_lr`` with the rate, so the lowered rates keep decaying from where they were.
"""

from __future__ import annotations

import math

import torch


def lr_factor(kind: str, step: int, total: int, floor: float = 0.0) -> float:
    """The fraction of the starting rate for step ``step`` (0-based) of ``total``: 1 at the start, falling
    ``linear``-ly or along a half ``cosine`` towards ``floor`` at step ``total`` (never reached, so always above 0);
    ``none``: 1."""
    if kind == "none" or total <= 0:
        return 1.0
    t = min(max(step / total, 0.0), 1.0)
    shape = 1.0 - t if kind == "linear" else 0.5 * (1.0 + math.cos(math.pi * t))
    return floor + (1.0 - floor) * shape


def remember_initial(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Give each group a starting rate (kept when it has one: a resumed run's saved groups)."""
    for group in optimizer.param_groups:
        group.setdefault("initial_lr", lr)


def apply(optimizer: torch.optim.Optimizer, factor: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = group["initial_lr"] * factor


def scale_initial(optimizer: torch.optim.Optimizer, initial: list[float | None], factor: float) -> None:
    """After a rollback: each group's starting rate is the one before the rollback (``initial``) times ``factor``."""
    for group, lr in zip(optimizer.param_groups, initial, strict=True):
        if lr is not None:
            group["initial_lr"] = lr * factor
