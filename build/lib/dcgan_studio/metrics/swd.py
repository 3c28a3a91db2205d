"""Multi-scale sliced Wasserstein distance on Laplacian-pyramid patches (Karras et al. 2018, ProGAN, appendix D).

A quality figure that needs no pretrained network, so it exists for every dataset offline: the two image sets are
each decomposed into a Laplacian pyramid (16x16 at the coarsest level); at every level, random 7x7 neighbourhoods
become descriptors, normalised per channel, and the distance between the two descriptor clouds is the sliced
Wasserstein distance (the mean over random unit directions of the 1-D Wasserstein distance of the projections).
Published figures are the per-level distances and their average, multiplied by 10^3 (as here).

The fine levels judge edges and texture, the coarse level judges colours and large shapes. Identical sets give
0 (both sets are cut at the same random positions); a blurred copy loses the fine levels' energy and scores higher.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..errors import UserError

NHOOD_SIZE = 7  # a descriptor is a 7x7 neighbourhood of one pyramid level, as in ProGAN
MIN_RESOLUTION = 16  # the coarsest level
NHOODS_PER_IMAGE = 64  # ProGAN draws 128 from 16,384 images; fewer images here, so fewer per image suffices
DIR_REPEATS = 4
DIRS_PER_REPEAT = 128
SCALE = 1e3  # ProGAN reports SWD x 10^3


class MetricInputError(UserError):
    """The images cannot be scored by this metric (too few, too small, grey against colour)."""


def _binomial_kernel(channels: int) -> torch.Tensor:
    """The 5x5 binomial filter of Burt & Adelson's pyramid, one copy per channel (grouped convolution)."""
    k = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0])
    k2 = torch.outer(k, k) / 256.0
    return k2.expand(channels, 1, 5, 5).contiguous()


def _down(x: torch.Tensor) -> torch.Tensor:
    kernel = _binomial_kernel(x.shape[1]).to(x)
    return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), kernel, stride=2, groups=x.shape[1])


def _up(x: torch.Tensor) -> torch.Tensor:
    n, c, h, w = x.shape
    zeros = x.new_zeros(n, c, h * 2, w * 2)
    zeros[:, :, ::2, ::2] = x * 4.0  # zero insertion keeps a quarter of the samples: x4 keeps the mean
    kernel = _binomial_kernel(c).to(x)
    return F.conv2d(F.pad(zeros, (2, 2, 2, 2), mode="reflect"), kernel, groups=c)


def pyramid_levels(size: int, min_resolution: int = MIN_RESOLUTION) -> list[int]:
    """The resolutions of the pyramid of a ``size`` x ``size`` image: size, size/2, ..., min_resolution."""
    if size < min_resolution or size & (size - 1):
        raise MetricInputError(
            f"SWD needs square images whose side is a power of two of at least {min_resolution} pixels, got {size}"
        )
    return [size >> i for i in range(int(math.log2(size // min_resolution)) + 1)]


def laplacian_pyramid(images: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """Band-pass levels, finest first; the last level is the low-pass image itself."""
    pyramid = [images]
    for _ in range(1, levels):
        pyramid.append(_down(pyramid[-1]))
        pyramid[-2] = pyramid[-2] - _up(pyramid[-1])
    return pyramid


def _descriptors(level: torch.Tensor, per_image: int, generator: torch.Generator) -> torch.Tensor:
    """``per_image`` random 7x7 neighbourhoods of each image, flattened: (N * per_image, C * 49)."""
    n, c, h, w = level.shape
    ys = torch.randint(0, h - NHOOD_SIZE + 1, (n, per_image), generator=generator)
    xs = torch.randint(0, w - NHOOD_SIZE + 1, (n, per_image), generator=generator)
    offsets = torch.arange(NHOOD_SIZE)
    rows = (ys[..., None] + offsets)[..., :, None]  # (n, p, 7, 1)
    cols = (xs[..., None] + offsets)[..., None, :]  # (n, p, 1, 7)
    batch = torch.arange(n)[:, None, None, None]
    patches = level.permute(0, 2, 3, 1)[batch, rows, cols]  # (n, p, 7, 7, c)
    return patches.permute(0, 1, 4, 2, 3).reshape(n * per_image, c, NHOOD_SIZE, NHOOD_SIZE)


def _normalise(desc: torch.Tensor) -> torch.Tensor:
    """Zero mean, unit deviation per channel over all descriptors of one set (ProGAN's ``finalize_descriptors``)."""
    desc = desc - desc.mean(dim=(0, 2, 3), keepdim=True)
    desc = desc / desc.std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-8)
    return desc.reshape(len(desc), -1)


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, generator: torch.Generator) -> float:
    """Mean over random unit directions of the 1-D Wasserstein-1 distance between the projections of a and b."""
    if len(a) != len(b):
        raise MetricInputError("the two descriptor sets must hold the same number of descriptors")
    results = []
    for _ in range(DIR_REPEATS):
        dirs = torch.randn(a.shape[1], DIRS_PER_REPEAT, generator=generator, dtype=a.dtype)
        dirs = dirs / dirs.norm(dim=0, keepdim=True)
        proj_a = (dirs.T @ a.T).sort(dim=1).values  # sorting along rows: contiguous, faster than dim 0
        proj_b = (dirs.T @ b.T).sort(dim=1).values
        results.append((proj_a - proj_b).abs().mean())
    return float(torch.stack(results).mean())


def check_pair(a: torch.Tensor, b: torch.Tensor, minimum: int, metric: str) -> None:
    """One clear message for every input a metric on two image sets cannot score."""
    if a.dim() != 4 or b.dim() != 4:
        raise MetricInputError(
            f"{metric} takes image batches (N, C, H, W), got shapes {tuple(a.shape)} and {tuple(b.shape)}"
        )
    if a.shape[1] != b.shape[1]:
        raise MetricInputError(
            f"{metric} compares images with the same number of channels, got {a.shape[1]} against {b.shape[1]} "
            "(grey against colour?): convert one set first"
        )
    if a.shape[2:] != b.shape[2:]:
        raise MetricInputError(
            f"{metric} compares images of one size, got {tuple(a.shape[2:])} and {tuple(b.shape[2:])}"
        )
    if min(len(a), len(b)) < minimum:
        raise MetricInputError(f"{metric} needs at least {minimum} images on each side, got {len(a)} and {len(b)}")


def swd(a_uint8: torch.Tensor, b_uint8: torch.Tensor, seed: int = 0, per_image: int = NHOODS_PER_IMAGE) -> dict:
    """SWD x 10^3 between two uint8 image sets, per pyramid level (keyed by resolution) and averaged.

    Both sets use the same number of images (the smaller count) so the descriptor clouds have equal sizes."""
    check_pair(a_uint8, b_uint8, minimum=2, metric="SWD")
    if a_uint8.shape[2] != a_uint8.shape[3]:
        raise MetricInputError(f"SWD takes square images, got {tuple(a_uint8.shape[2:])}")
    resolutions = pyramid_levels(a_uint8.shape[2])
    n = min(len(a_uint8), len(b_uint8))
    directions = torch.Generator().manual_seed(seed)
    pyr_a = laplacian_pyramid(a_uint8[:n].float(), len(resolutions))
    pyr_b = laplacian_pyramid(b_uint8[:n].float(), len(resolutions))
    per_level = {}
    for resolution, level_a, level_b in zip(resolutions, pyr_a, pyr_b, strict=True):
        # the same neighbourhood positions in both sets: identical sets score exactly 0
        desc_a = _normalise(_descriptors(level_a, per_image, torch.Generator().manual_seed(seed + resolution)))
        desc_b = _normalise(_descriptors(level_b, per_image, torch.Generator().manual_seed(seed + resolution)))
        per_level[resolution] = SCALE * sliced_wasserstein(desc_a, desc_b, directions)
    return {
        "per_level": {str(r): v for r, v in per_level.items()},
        "average": sum(per_level.values()) / len(per_level),
        "n_images": n,
    }
