"""Memorisation: does G copy its training images?

For each generated sample, its nearest training image (Euclidean distance of pixels in [0, 1], divided by
sqrt(number of pixels): an RMS pixel difference). Alone such a distance means little; beside it stand the distances
from held-out real images (never trained on) to the same training images. A generator that copies shows many
samples closer to a training image than real new images ever are.
"""

from __future__ import annotations

import math

import torch

from ..plots import grid_uint8
from .scores import nearest_neighbours


def _flat(images_uint8: torch.Tensor) -> torch.Tensor:
    return images_uint8.flatten(1).double() / 255.0


def memorisation(generated: torch.Tensor, train: torch.Tensor, held_out: torch.Tensor, n_pairs: int = 16) -> dict:
    """Nearest-training-neighbour distances of generated vs held-out images, and the closest pairs."""
    scale = math.sqrt(generated[0].numel())
    train_flat = _flat(train)
    d_gen, i_gen = nearest_neighbours(_flat(generated), train_flat)
    d_ref, _ = nearest_neighbours(_flat(held_out), train_flat)
    d_gen, d_ref = d_gen / scale, d_ref / scale
    threshold = float(torch.quantile(d_ref, 0.01)) if len(d_ref) > 1 else float(d_ref.min())

    def summary(d: torch.Tensor) -> dict:
        q = torch.quantile(d, torch.tensor([0.05, 0.5], dtype=d.dtype)).tolist()
        return {"min": float(d.min()), "p05": q[0], "median": q[1], "mean": float(d.mean())}

    order = torch.argsort(d_gen)[:n_pairs]
    closer = float((d_gen < threshold).double().mean())
    return {
        "metric": "RMS pixel distance (pixels in [0, 1]) to the nearest training image",
        "generated": summary(d_gen),
        "held_out": summary(d_ref),
        "copy_threshold": threshold,
        "share_closer_than_held_out_p01": closer,
        "verdict": (
            "no sign of copying: generated samples are no closer to the training set than new real images"
            if closer <= 0.05
            else f"{100 * closer:.0f}% of the samples are closer to a training image than 99% of held-out real "
            "images are: look at the pairs, G may be copying"
        ),
        "note": (
            "Neighbours are searched in the training part of the split. A generator trained on the whole dataset (as "
            "the shipped digits32 is) has also seen the held-out images; copies of those would not show here."
        ),
        "_distances": {"generated": d_gen, "held_out": d_ref},
        "_pairs": {"generated": generated[order], "train": train[i_gen[order]], "distance": d_gen[order]},
    }


def pairs_grid(generated: torch.Tensor, train: torch.Tensor) -> torch.Tensor:
    """uint8 grid: each column a pair, generated sample on top and its nearest training image below."""
    n = len(generated)
    both = torch.cat([generated, train]) if n else generated
    return grid_uint8(both, nrow=max(n, 1), padding=2)
