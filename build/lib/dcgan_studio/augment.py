"""Differentiable augmentation (DiffAugment, Zhao et al. 2020): the same kind of random transform applied to real
AND fake images before D, in D's step and in G's, so D sees augmented images only and G's gradient flows back
through the transform. With 1,797 digits D otherwise memorises the training set within a hundred steps.

Pure tensor functions of an image batch in [-1, 1] (N, C, H, W) and a ``torch.Generator`` (the run's noise
generator, whose state every checkpoint holds, so a resumed run draws the same transforms). Each image is transformed
with probability ``p`` (otherwise left as it is), independently per image and per transform, as in the paper's
official code: translation by up to 1/8 of the side (zero-padded), cutout of a square of half the side (zeroed), and
for RGB images random brightness, saturation and contrast.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

TRANSLATION_RATIO = 0.125  # shift by up to 1/8 of the image side
CUTOUT_RATIO = 0.5  # a square of half the image side


def _uniform(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """(N, 1, 1, 1) uniform [0, 1) numbers, one per image."""
    gen_device = generator.device if generator is not None else x.device
    return torch.rand(x.shape[0], 1, 1, 1, generator=generator, device=gen_device).to(x.device, x.dtype)


def _chosen(x: torch.Tensor, p: float, generator: torch.Generator | None) -> torch.Tensor:
    """(N, 1, 1, 1) mask: 1 for the images to transform (each with probability ``p``), 0 for the others."""
    if p >= 1:
        return torch.ones(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype)
    return (_uniform(x, generator) < p).to(x.dtype)


def _randint(lo: int, hi: int, n: int, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """``n`` integers in [lo, hi] (inclusive), on ``x``'s device."""
    gen_device = generator.device if generator is not None else x.device
    return torch.randint(lo, hi + 1, (n,), generator=generator, device=gen_device).to(x.device)


def brightness(x: torch.Tensor, p: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
    """Add a random offset in [-0.5, 0.5) to each chosen image."""
    return x + (_uniform(x, generator) - 0.5) * _chosen(x, p, generator)


def saturation(x: torch.Tensor, p: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
    """Scale each chosen image's distance from its grey (channel mean) by a random factor in [0, 2)."""
    mean = x.mean(dim=1, keepdim=True)
    factor = 1 + (_uniform(x, generator) * 2 - 1) * _chosen(x, p, generator)
    return (x - mean) * factor + mean


def contrast(x: torch.Tensor, p: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
    """Scale each chosen image's distance from its mean by a random factor in [0.5, 1.5)."""
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    factor = 1 + (_uniform(x, generator) - 0.5) * _chosen(x, p, generator)
    return (x - mean) * factor + mean


def translate_by(x: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor, pad: tuple[int, int]) -> torch.Tensor:
    """Each image moved by its own whole pixels (``dy`` down, ``dx`` right; (N,) integers of at most ``pad`` =
    (rows, columns) in size), zeros shifted in. Differentiable in ``x`` (a gather); no host-device sync."""
    n, _, h, w = x.shape
    pad_y, pad_x = pad
    padded = F.pad(x, (pad_x, pad_x, pad_y, pad_y))
    rows = torch.arange(h, device=x.device).view(1, h, 1) - dy.view(n, 1, 1) + pad_y  # (N, H, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w) - dx.view(n, 1, 1) + pad_x  # (N, 1, W)
    batch = torch.arange(n, device=x.device).view(n, 1, 1)
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)  # (N, H, W, C) -> (N, C, H, W)


def translation(
    x: torch.Tensor, p: float = 1.0, generator: torch.Generator | None = None, ratio: float = TRANSLATION_RATIO
) -> torch.Tensor:
    """Move each chosen image by up to ``ratio`` of its side in each direction (uniform whole pixels)."""
    n, _, h, w = x.shape
    sy, sx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    keep = _chosen(x, p, generator).view(n).long()
    dy = _randint(-sy, sy, n, x, generator) * keep
    dx = _randint(-sx, sx, n, x, generator) * keep
    return translate_by(x, dy, dx, (sy, sx))


def cutout_mask(n: int, h: int, w: int, top: torch.Tensor, left: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(N, 1, H, W) mask: 0 inside each image's square [top, top + size) x [left, left + size) (clipped), else 1."""
    rows = torch.arange(h, device=top.device).view(1, h, 1)
    cols = torch.arange(w, device=top.device).view(1, 1, w)
    inside_r = (rows >= top.view(n, 1, 1)) & (rows < top.view(n, 1, 1) + size[0])
    inside_c = (cols >= left.view(n, 1, 1)) & (cols < left.view(n, 1, 1) + size[1])
    return (~(inside_r & inside_c)).unsqueeze(1)


def cutout(
    x: torch.Tensor, p: float = 1.0, generator: torch.Generator | None = None, ratio: float = CUTOUT_RATIO
) -> torch.Tensor:
    """Zero a square of ``ratio`` of the side at a random place (its centre anywhere in the image) in each chosen
    image."""
    n, _, h, w = x.shape
    size = (int(h * ratio + 0.5), int(w * ratio + 0.5))
    keep = _chosen(x, p, generator)
    top = _randint(0, h - 1, n, x, generator) - size[0] // 2
    left = _randint(0, w - 1, n, x, generator) - size[1] // 2
    mask = cutout_mask(n, h, w, top, left, size).to(x.dtype)
    return x * (1 - keep * (1 - mask))


AUGMENTS: dict[str, tuple[Callable[..., torch.Tensor], ...]] = {
    "color": (brightness, saturation, contrast),
    "translation": (translation,),
    "cutout": (cutout,),
}


def diff_augment(
    x: torch.Tensor, policy: tuple[str, ...], p: float = 1.0, generator: torch.Generator | None = None
) -> torch.Tensor:
    """``x`` through every transform of ``policy`` (``AugmentConfig.policy``: names from ``AUGMENT_POLICIES``, in
    that order), each image chosen with probability ``p`` per transform; colour only for RGB images."""
    for name in policy:
        if name == "color" and x.shape[1] != 3:
            continue
        for fn in AUGMENTS[name]:
            x = fn(x, p, generator)
    return x
