"""Walking and editing the latent space: sampling, truncation, interpolation, vector arithmetic, channel
ablation ("forgetting" objects) and projecting an image back to a z.

Everything here takes a generator and plain tensors and returns tensors; the UI and the CLI only draw them.
z vectors are (N, nz) float32 on the CPU; images are uint8 (N, C, H, W).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from . import limits as L
from .data import to_uint8, to_unit_range
from .models import Generator, activation_layers


def check_nz(found: int, nz: int, what: str = "z") -> None:
    """The one check that a latent vector (a sample's z, an uploaded one) fits a generator taking ``nz`` inputs;
    a ``ValueError`` whose message names ``what`` and both sizes."""
    if int(found) != int(nz):
        raise ValueError(f"{what} has nz={found} but this generator takes nz={nz}")


def sample_z(n: int, nz: int, seed: int, truncation: float | None = None) -> torch.Tensor:
    """``n`` latent vectors from N(0, I), reproducible from ``seed``.

    With ``truncation`` t > 0, every coordinate with |z| > t is redrawn until it lies within t (the truncation
    trick: fewer, more typical samples)."""
    n = L.check_int("n", n, 0, L.MAX_LATENT_SAMPLES)
    nz = L.check_int("nz", nz, 1, 1024)
    g = torch.Generator().manual_seed(L.check_int("seed", seed, 0, L.MAX_SEED))
    if truncation is not None and truncation != 0:
        truncation = L.check_float("truncation", truncation, L.MIN_TRUNCATION, L.MAX_TRUNCATION)
    z = torch.randn(n, nz, generator=g)
    if truncation is not None and truncation > 0:
        for _ in range(1000):
            outside = z.abs() > truncation
            if not outside.any():
                break
            z[outside] = torch.randn(int(outside.sum()), generator=g)
        z.clamp_(-truncation, truncation)
    return z


@torch.no_grad()
def generate(generator: Generator, z: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """uint8 images for ``z`` (N, nz), in eval mode, in batches."""
    generator.eval()
    device = next(generator.parameters()).device
    out = [to_uint8(generator(z[i : i + batch_size].to(device))).cpu() for i in range(0, len(z), batch_size)]
    return (
        torch.cat(out)
        if out
        else torch.empty(
            0, generator.config.channels, generator.config.image_size, generator.config.image_size, dtype=torch.uint8
        )
    )


def lerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    return z0[None] + (z1 - z0)[None] * t[:, None]


def slerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation: keeps the norm typical of Gaussian samples (White, 2016). Falls back to lerp for
    (nearly) parallel vectors."""
    n0, n1 = z0 / z0.norm(), z1 / z1.norm()
    omega = torch.acos((n0 * n1).sum().clamp(-1.0, 1.0))
    if omega.abs() < 1e-6:
        return lerp(z0, z1, t)
    so = torch.sin(omega)
    return (torch.sin((1.0 - t) * omega) / so)[:, None] * z0[None] + (torch.sin(t * omega) / so)[:, None] * z1[None]


def interpolate(z0: torch.Tensor, z1: torch.Tensor, steps: int, mode: str = "slerp") -> torch.Tensor:
    """``steps`` vectors from z0 to z1 inclusive, ``mode`` "linear" or "slerp"."""
    steps = L.check_int("steps", steps, 2, L.MAX_INTERP_STEPS)
    t = torch.linspace(0.0, 1.0, steps)
    z0, z1 = z0.flatten().float(), z1.flatten().float()
    if mode in ("linear", "lerp"):
        return lerp(z0, z1, t)
    if mode in ("slerp", "spherical"):
        return slerp(z0, z1, t)
    raise ValueError(f"unknown interpolation mode {mode!r}; use 'linear' or 'slerp'")


def average(group: Sequence[torch.Tensor] | torch.Tensor) -> torch.Tensor:
    """Mean of a group of z's: the paper averages three exemplars per concept to get a stable vector."""
    zs = (
        torch.stack([z.flatten() for z in group])
        if not isinstance(group, torch.Tensor)
        else group.reshape(len(group), -1)
    )
    if len(zs) == 0:
        raise ValueError("a slot needs at least one sample")
    return zs.mean(0)


def arithmetic(a: Sequence[torch.Tensor], b: Sequence[torch.Tensor], c: Sequence[torch.Tensor]) -> torch.Tensor:
    """mean(A) - mean(B) + mean(C): e.g. smiling woman - neutral woman + neutral man = smiling man."""
    return average(a) - average(b) + average(c)


def neighbours(z: torch.Tensor, n: int, scale: float = 0.25, seed: int = 0) -> torch.Tensor:
    """``z`` followed by ``n - 1`` copies with N(0, scale^2) noise, as the paper shows around a result vector."""
    n = L.check_int("n", n, 1, L.MAX_NEIGHBOURS)
    scale = L.check_float("scale", scale, 0.0, 10.0)
    g = torch.Generator().manual_seed(L.check_int("seed", seed, 0, L.MAX_SEED))
    z = z.flatten()[None]
    noise = torch.randn(max(n - 1, 0), z.shape[1], generator=g) * scale
    return torch.cat([z, z + noise])


def generator_stages(generator: Generator) -> list[tuple[str, nn.Module]]:
    """G's hidden activation layers (ReLU after each batch norm), the places channels can be switched off."""
    return [(name, m) for name, m in activation_layers(generator) if isinstance(m, nn.ReLU)]


@contextlib.contextmanager
def ablate_channels(generator: Generator, stage: int, channels: Sequence[int]) -> Iterator[None]:
    """Inside the block, G draws with ``channels`` of hidden stage ``stage`` set to zero (the paper's "forgetting"
    of objects by dropping the filters that draw them)."""
    stages = generator_stages(generator)
    if not 0 <= stage < len(stages):
        raise ValueError(f"stage must be in 0..{len(stages) - 1}, got {stage}")
    name, module = stages[stage]
    width = generator.main[int(name.split(".")[1]) - 1].num_features  # the BatchNorm just before this ReLU
    bad = [c for c in channels if not 0 <= int(c) < width]
    if bad:
        raise ValueError(f"stage {stage} has channels 0..{width - 1}; got {bad}")
    index = torch.tensor(sorted({int(c) for c in channels}), dtype=torch.long)

    def hook(_module, _inputs, output):
        if len(index):
            output = output.clone()
            output[:, index.to(output.device)] = 0
        return output

    handle = module.register_forward_hook(hook)
    try:
        yield
    finally:
        handle.remove()


@dataclass
class Projection:
    z: torch.Tensor  # (1, nz)
    reconstruction: torch.Tensor  # uint8 (1, C, H, W)
    losses: list[float]


def project_image(
    generator: Generator,
    target: torch.Tensor,
    steps: int = 200,
    lr: float = 0.05,
    seed: int = 0,
    restarts: int = 8,
    progress: Callable[[int, int, float], None] | None = None,
) -> Projection:
    """Find the z whose image is closest (pixel MSE) to ``target`` (uint8 (C, H, W) of G's size) by gradient
    descent on z, from the best of ``restarts`` random starts, G frozen in eval mode."""
    steps = L.check_int("steps", steps, 1, L.MAX_PROJECT_STEPS)
    restarts = L.check_int("restarts", restarts, 1, L.MAX_PROJECT_RESTARTS)
    lr = L.check_float("lr", lr, 1e-6, 10.0)
    generator.eval()
    device = next(generator.parameters()).device
    cfg = generator.config
    if tuple(target.shape) != (cfg.channels, cfg.image_size, cfg.image_size):
        raise ValueError(
            f"target must be ({cfg.channels}, {cfg.image_size}, {cfg.image_size}), got {tuple(target.shape)}"
        )
    goal = to_unit_range(target[None].to(device))
    z = sample_z(restarts, cfg.nz, seed).to(device).requires_grad_(True)
    for p in generator.parameters():
        p.requires_grad_(False)
    try:
        opt = torch.optim.Adam([z], lr=lr)
        losses: list[float] = []
        for i in range(steps):
            opt.zero_grad(set_to_none=True)
            per_start = F.mse_loss(generator(z), goal.expand(restarts, -1, -1, -1), reduction="none").flatten(1).mean(1)
            # a weak prior keeps z where G was trained (|z|^2 ~ nz)
            loss = per_start + 1e-4 * (z.pow(2).sum(1) - cfg.nz).abs() / cfg.nz
            loss.sum().backward()
            opt.step()
            best = float(per_start.detach().min())
            losses.append(best)
            if progress is not None:
                progress(i + 1, steps, best)
        with torch.no_grad():
            final = F.mse_loss(generator(z), goal.expand(restarts, -1, -1, -1), reduction="none").flatten(1).mean(1)
            k = int(final.argmin())
            z_best = z[k : k + 1].detach().cpu()
            recon = to_uint8(generator(z[k : k + 1])).cpu()
    finally:
        for p in generator.parameters():
            p.requires_grad_(True)
    return Projection(z_best, recon, losses)
