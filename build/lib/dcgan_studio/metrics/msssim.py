"""Diversity as the mean MS-SSIM of random pairs of images of one set (Odena et al. 2017; used by ProGAN).

Two images of a set that look alike in structure at several scales score near 1; a set whose pairs are unrelated
scores low. So *lower is more diverse*, and a generator's figure is read beside the same figure of real images: a
generator well above real-vs-real repeats itself (mode collapse), one far below draws noise.

The computation is torchmetrics' MS-SSIM. Its default (5 scales, 11x11 Gaussian) needs images of at least 161
pixels; DCGAN images are 32 or 64, so the number of scales and the window are fitted to the size
(``msssim_settings``) and the standard scale weights are renormalised over the scales kept.
"""

from __future__ import annotations

import torch
from torchmetrics.functional.image import multiscale_structural_similarity_index_measure

from .swd import MetricInputError, check_pair

STANDARD_BETAS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)  # Wang et al. 2003, finest scale first
N_PAIRS = 1000
MIN_SIZE = 16


def msssim_settings(size: int) -> tuple[int, tuple[float, ...]]:
    """The largest window (odd, <= 11) and most scales (<= 5) torchmetrics accepts for ``size`` pixels."""
    if size < MIN_SIZE:
        raise MetricInputError(f"MS-SSIM needs images of at least {MIN_SIZE} pixels a side, got {size}")
    for scales in range(5, 1, -1):
        divisor = max(1, scales - 1) ** 2  # torchmetrics' own size rule
        for kernel in (11, 9, 7, 5):
            if size // divisor > kernel - 1 and size >= 2**scales:
                betas = STANDARD_BETAS[:scales]
                total = sum(betas)
                return kernel, tuple(b / total for b in betas)
    raise MetricInputError(f"MS-SSIM cannot use images of {size} pixels")  # unreachable for size >= MIN_SIZE


def pairwise_msssim(a_uint8: torch.Tensor, b_uint8: torch.Tensor) -> torch.Tensor:
    """MS-SSIM of each a[i] with b[i], in [0, 1]: 1 for identical images."""
    check_pair(a_uint8, b_uint8, minimum=1, metric="MS-SSIM")
    kernel, betas = msssim_settings(min(a_uint8.shape[2:]))
    values = multiscale_structural_similarity_index_measure(
        a_uint8.float() / 255.0,
        b_uint8.float() / 255.0,
        kernel_size=kernel,
        betas=betas,
        data_range=1.0,
        reduction="none",
        normalize="relu",
    )
    return values.reshape(-1).clamp(0.0, 1.0)


def msssim_diversity(images_uint8: torch.Tensor, n_pairs: int = N_PAIRS, seed: int = 0) -> dict:
    """Mean MS-SSIM over ``n_pairs`` random pairs of distinct images of one set (lower: more diverse)."""
    if len(images_uint8) < 2:
        raise MetricInputError(f"MS-SSIM diversity needs at least 2 images, got {len(images_uint8)}")
    generator = torch.Generator().manual_seed(seed)
    first = torch.randint(0, len(images_uint8), (n_pairs,), generator=generator)
    shift = torch.randint(1, len(images_uint8), (n_pairs,), generator=generator)
    second = (first + shift) % len(images_uint8)  # never the same image twice in a pair
    values = pairwise_msssim(images_uint8[first], images_uint8[second])
    return {"mean": float(values.mean()), "std": float(values.std()), "n_pairs": n_pairs}
