"""An exponential moving average of G's weights (Karras et al. 2018; Yazici et al. 2019), with its batch-norm
statistics recomputed rather than averaged.

The average follows the live G after every step: ``ema = d * ema + (1 - d) * G`` for every parameter, with the
decay warmed up as ``min(decay, (1 + t) / (10 + t))`` after t updates so a short run is not dominated by its random
start. Batch-norm running statistics are not averaged: statistics averaged over many weight vectors, or copied
from the live G, do not describe the averaged network (the issue measured both: no gain, and much worse).
Before the average draws anything (a grid, an export, a checkpoint) ``recompute_batch_norm`` runs a few batches of
fresh noise through it in train mode and keeps the exact mean of their statistics. That noise comes from a
generator seeded by (seed, step), so the training noise stream is untouched and a resumed run stays bitwise exact.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

BN_BATCHES = 4  # batches of noise for the recomputed statistics (of the run's batch size)


def decay_at(decay: float, updates: int) -> float:
    """The decay of update number ``updates`` (0-based), warmed up: ``min(decay, (1 + t) / (10 + t))``."""
    return min(decay, (1 + updates) / (10 + updates))


class EmaGenerator:
    """The averaged copy of a generator (``module``, eval mode, no gradients)."""

    def __init__(self, generator: nn.Module, decay: float):
        self.module = copy.deepcopy(generator).eval().requires_grad_(False)
        self.decay = decay
        self.stats_step: int | None = None  # the step whose weights the batch-norm statistics were computed for

    @torch.no_grad()
    def update(self, generator: nn.Module, updates: int) -> None:
        """One step of the average towards ``generator``'s parameters (``updates``: how many came before)."""
        d = decay_at(self.decay, updates)
        mine = list(self.module.parameters())
        theirs = [p.detach() for p in generator.parameters()]
        torch._foreach_lerp_(mine, theirs, 1.0 - d)
        self.stats_step = None

    def load(self, state: dict[str, torch.Tensor], step: int) -> None:
        self.module.load_state_dict(state)
        self.stats_step = step

    def ready(self, step: int, seed: int, batch_size: int, nz: int) -> nn.Module:
        """The averaged generator with batch-norm statistics for its current weights (recomputed once per step)."""
        if self.stats_step != step:
            device = next(self.module.parameters()).device
            noise_gen = torch.Generator(device=device).manual_seed(seed * 1_000_003 + step + 12_345)
            noise = [torch.randn(batch_size, nz, 1, 1, generator=noise_gen, device=device) for _ in range(BN_BATCHES)]
            recompute_batch_norm(self.module, noise)
            self.stats_step = step
        return self.module


@torch.no_grad()
def recompute_batch_norm(module: nn.Module, batches: list[torch.Tensor]) -> None:
    """Replace every batch norm's running mean and variance by the exact average of their values over ``batches``
    (train-mode forward passes); the weights are untouched and the module is left in eval mode."""
    norms = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over the batches
    module.train()
    try:
        for z in batches:
            module(z)
    finally:
        for m, momentum in zip(norms, momenta, strict=True):
            m.momentum = momentum
        module.eval()
