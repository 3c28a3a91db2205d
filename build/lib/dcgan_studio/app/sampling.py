"""Drawing server samples, shared by the tabs that make them (Sample, Latent arithmetic) and the page-load memos.

``sample`` draws ``count`` images for a seed, keeps every z in the Studio's registry and writes the grid and the z
file; ``model_key`` names a checkpoint file's contents, the key of what page loads show (``Studio.first_screens``)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from .common import grid_pil
from .samples import Sample
from .settings import check_float, check_int
from .studio import Studio

if TYPE_CHECKING:
    import torch

GRID_MIN_SIDE = 512  # the grid is enlarged (nearest neighbour, integer factor) to at least this many pixels


def grid_columns(n: int) -> int:
    """Images per row of an ``n``-image grid: a divisor of ``n`` near its square root (24 -> 6x4, 16 -> 4x4), so
    the grid has no empty cells; else the square layout."""
    root = math.sqrt(n)
    for d in range(math.ceil(root), int(2 * root) + 1):
        if n % d == 0:
            return d
    return max(1, math.ceil(root))


def sample(
    studio: Studio, checkpoint: str | None, seed, count, truncation, shared: bool = False
) -> tuple[list[Sample], torch.Tensor, str, str]:
    """(samples, uint8 images, grid png path, z file path): ``count`` images of the chosen checkpoint, registered
    for the current visitor (``shared``: for every visitor, as a page load's grid is)."""
    from safetensors.torch import save_file

    from ..latent import generate, sample_z  # torch loads with the first sample, not with the page

    limits = studio.limits
    seed = check_int("seed", seed, 0, limits.max_seed)
    count = check_int("count", count, 1, limits.max_samples)
    truncation = check_float("truncation", truncation or 0.0, 0.0, limits.max_truncation)
    models = studio.models.get(checkpoint)
    z = sample_z(count, models.config.nz, seed, truncation or None)
    with models.lock:
        images = generate(models.generator, z)
    labels = [f"seed {seed} #{i}" for i in range(count)]
    samples = studio.samples.add_batch(z, images, labels, shared)
    grid_path = studio.out_path(f"samples_seed{seed}_n{count}.png")
    grid_pil(images, nrow=grid_columns(count), min_side=GRID_MIN_SIDE).save(grid_path)
    z_path = studio.out_path(f"z_seed{seed}_n{count}.safetensors")
    save_file(
        {"z": z.contiguous()},
        str(z_path),
        metadata={
            "seed": str(seed),
            "truncation": str(truncation),
            "checkpoint": str(models.path.name),
            "ids": ",".join(s.id for s in samples),
        },
    )
    return samples, images, str(grid_path), str(z_path)


def model_key(studio: Studio, checkpoint) -> tuple[str, float]:
    """Identifies a checkpoint file's contents for the page-load memo: its resolved path and mtime."""
    models = studio.models.get(checkpoint)
    return str(models.path.resolve()), models.mtime


def fitting_sample(studio: Studio, sample_id: str, nz: int) -> Sample:
    """A server sample whose z fits a generator taking ``nz`` inputs (one check for every tab)."""
    from ..latent import check_nz

    s = studio.samples.require(sample_id)
    check_nz(s.nz, nz, f"sample {s.label!r}")
    return s
