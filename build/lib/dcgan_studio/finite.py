"""The one NaN/inf guard: which of some named numbers or tensors are not finite.

Losses, weights and checkpoint tensors are all checked here, so "finite" means the same thing everywhere: a float
that is neither NaN nor +-inf, a tensor whose floating-point elements all are (integer tensors, such as step
counters, always are), and never a missing value (``None`` is reported, as a metric that was not produced).
Tensors are reduced on their device and read back in one transfer, so checking a whole model costs one sync.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch

from .errors import UserError


class NonFiniteError(UserError):
    """Some values are NaN/inf; ``names`` lists which."""

    def __init__(self, message: str, names: list[str]):
        super().__init__(message)
        self.names = names


def nonfinite(named: Mapping[str, torch.Tensor | float | None]) -> list[str]:
    """The names of the entries that are not finite, in the mapping's order (empty when all are)."""
    tensors = {k: v for k, v in named.items() if torch.is_tensor(v) and v.is_floating_point()}
    by_device: dict[torch.device, list[str]] = {}
    for name, t in tensors.items():
        by_device.setdefault(t.device, []).append(name)
    flags: dict[str, bool] = {}
    for names in by_device.values():  # one reduction per tensor, one transfer per device
        finite = torch.stack([torch.isfinite(tensors[n]).all() for n in names]).tolist()
        flags.update(zip(names, finite, strict=True))
    return [name for name, value in named.items() if not _finite(value, flags.get(name, True))]


def _finite(value: torch.Tensor | float | None, tensor_flag: bool) -> bool:
    if torch.is_tensor(value):
        return tensor_flag
    return value is not None and math.isfinite(float(value))


def check_finite(named: Mapping[str, torch.Tensor | float | None], what: str) -> None:
    """Raise ``NonFiniteError`` naming the first few entries of ``what`` that are NaN/inf."""
    bad = nonfinite(named)
    if bad:
        more = f" and {len(bad) - 4} more" if len(bad) > 4 else ""
        raise NonFiniteError(f"{what} holds NaN/inf values in {', '.join(bad[:4])}{more}", bad)
