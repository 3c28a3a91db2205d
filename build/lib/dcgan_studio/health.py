"""Training health: spot a run that is failing while it runs, and say what to do about it in the same sentence.

The ``HealthMonitor`` is fed what the trainer already has: the metric rows read from the device every
``log_every`` steps (Loss_D, Loss_G, D(x), D(G(z))) and the fixed-noise grids. It returns warning messages, each
once per episode (a warning is re-armed only after its condition has cleared):

* **D winning**: D(G(z)) near 0 and Loss_D near its floor for ``patience`` steps in a row. G then gets almost no
  gradient (a seed report lost a run this way: Loss_D 0.0001, Loss_G 12). Remedies: one-sided label smoothing,
  instance noise, a lower learning rate for D.
* **mode collapse**: the mean pairwise distance between the images of the fixed-noise grid falls well below its
  peak so far (different z's, near-identical images).
* **NaN/inf** losses: the run cannot continue; resume from the last good checkpoint with gentler settings.

Pure Python and torch, no trainer state: easy to test with synthetic rows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import torch

from .config import StabilityConfig
from .finite import nonfinite
from .step import METRIC_NAMES

D_WIN_REMEDY = "try --label-smoothing 0.1, --instance-noise 0.1 or a lower --lr-d (e.g. --lr-d 5e-5)"
COLLAPSE_REMEDY = (
    "try --instance-noise 0.1, --label-smoothing 0.1 or lower learning rates (e.g. --lr 1e-4), "
    "or resume from a checkpoint saved before the drop"
)
NAN_REMEDY = "resume from the last good checkpoint with a lower --lr (e.g. 1e-4) or --label-smoothing 0.1"
NAN_ROLLBACK_REMEDY = (
    "the trainer rolls back to its last good state with lower learning rates; if it recurs, try a lower --lr "
    "(e.g. 1e-4) or --label-smoothing 0.1"
)


def _binary_entropy(p: float) -> float:
    if p <= 0 or p >= 1:
        return 0.0
    return -(p * math.log(p) + (1 - p) * math.log(1 - p))


def grid_diversity(images: torch.Tensor) -> float:
    """Mean pairwise RMS pixel distance (pixels in [0, 1]) between the images of a batch: 0 when all are equal."""
    x = images.detach().float().flatten(1)
    if images.dtype == torch.uint8:
        x = x / 255.0
    n = len(x)
    if n < 2:
        return 0.0
    d = torch.cdist(x.double(), x.double()) / math.sqrt(x.shape[1])
    return float(d.sum() / (n * (n - 1)))


def _means(rows: list[dict]) -> dict[str, float]:
    return {k: sum(r[k] for r in rows) / len(rows) for k in METRIC_NAMES}


@dataclass
class HealthMonitor:
    label_smoothing: float = 0.0  # raises Loss_D's floor from 0 to H(1 - s), so "near 0" is measured from there
    nan_policy: str = "stop"  # what the trainer does on NaN/inf ("stop" or "rollback"): only changes the advice
    d_win_dgz: float = 0.02  # D(G(z)) below this ...
    d_win_loss_margin: float = 0.05  # ... and Loss_D within this of its floor ...
    patience: int = 200  # ... for this many steps in a row: D is winning (early dips are normal)
    collapse_ratio: float = 0.5  # grid diversity below this share of its peak: collapsing
    collapse_floor: float = 1e-3  # diversity below this (images practically identical) counts whatever the peak
    warmup_grids: int = 1  # grids seen before the collapse check starts (the first grid is G at initialisation)
    _d_win_run: int = field(default=0, init=False)
    _d_win_active: bool = field(default=False, init=False)
    _collapse_active: bool = field(default=False, init=False)
    _nan_reported: bool = field(default=False, init=False)
    _peak: float = field(default=0.0, init=False)
    _peak_step: int | None = field(default=None, init=False)
    _grids: int = field(default=0, init=False)
    diversity: list[tuple[int | None, float]] = field(default_factory=list, init=False)

    @classmethod
    def for_options(cls, stability: StabilityConfig) -> HealthMonitor:
        """A monitor for a run with these remedies (label smoothing moves Loss_D's floor; the NaN policy the advice)."""
        return cls(label_smoothing=stability.label_smoothing, nan_policy=stability.nan_policy)

    @property
    def loss_d_floor(self) -> float:
        # Loss_D = BCE(D(x), 1 - s) + BCE(D(G(z)), 0): at best H(1 - s) + 0
        return _binary_entropy(1.0 - self.label_smoothing)

    def observe_rows(self, rows: Iterable[dict]) -> list[str]:
        """Feed metric rows (step, loss_d, loss_g, d_x, d_g_z1, d_g_z2); returns new warnings."""
        messages: list[str] = []
        recent: list[dict] = []
        for row in rows:
            if nonfinite({k: row.get(k) for k in METRIC_NAMES}):
                if not self._nan_reported:
                    self._nan_reported = True
                    messages.append(
                        f"the losses became NaN/inf at step {row.get('step')} (Loss_D {row.get('loss_d')}, "
                        f"Loss_G {row.get('loss_g')}): "
                        + (NAN_ROLLBACK_REMEDY if self.nan_policy == "rollback" else f"training stops; {NAN_REMEDY}")
                    )
                continue
            winning = row["d_g_z2"] < self.d_win_dgz and row["loss_d"] < self.loss_d_floor + self.d_win_loss_margin
            self._d_win_run = self._d_win_run + 1 if winning else 0
            recent = (recent + [row])[-self.patience :] if winning else []
            if not winning:
                self._d_win_active = False
            elif self._d_win_run >= self.patience and not self._d_win_active:
                self._d_win_active = True
                mean = _means(recent or [row])
                messages.append(
                    f"D is winning: D(G(z)) {mean['d_g_z2']:.4f} and Loss_D {mean['loss_d']:.4f} "
                    f"(Loss_G {mean['loss_g']:.2f}) for {self._d_win_run} steps up to step {row.get('step')}, so G "
                    f"gets almost no gradient; {D_WIN_REMEDY}"
                )
        return messages

    def observe_grid(self, images: torch.Tensor, step: int | None = None) -> list[str]:
        """Feed a fixed-noise grid (uint8 or float images of the same z's every time); returns new warnings."""
        div = grid_diversity(images)
        self.diversity.append((step, div))
        self._grids += 1
        messages: list[str] = []
        if self._grids > self.warmup_grids:
            collapsed = div < self.collapse_floor or (self._peak > 0 and div < self.collapse_ratio * self._peak)
            if collapsed and not self._collapse_active:
                self._collapse_active = True
                where = f" at step {step}" if step is not None else ""
                peak = (
                    f"{self._peak:.4f} at step {self._peak_step}"
                    if self._peak_step is not None
                    else f"{self._peak:.4f}"
                )
                messages.append(
                    f"possible mode collapse{where}: the fixed-noise samples have become alike (mean pairwise "
                    f"distance {div:.4f}, {100 * div / max(self._peak, 1e-12):.0f}% of its peak {peak}); "
                    f"{COLLAPSE_REMEDY}"
                )
            elif not collapsed:
                self._collapse_active = False
        if div > self._peak:
            self._peak, self._peak_step = div, step
        return messages
