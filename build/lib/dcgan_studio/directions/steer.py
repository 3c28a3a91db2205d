"""Moving along directions: ``steer`` (the z arithmetic), ``render`` (what a slider move draws) and ``strip``
(one direction from -3 to +3 standard deviations)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch

from .. import limits as L
from ..latent import generate
from ..models import Generator
from .base import Directions, _eval_mode


def steer(z: torch.Tensor, directions: Directions, amounts) -> torch.Tensor:
    """z + sum_i amounts_i * scale_i * d_i. ``z`` is (nz,), (N, nz) or (N, nz, 1, 1); ``amounts`` (k,) applies to
    every row, (N, k) one set per row; amounts are in standard deviations. Returns float32 of ``z``'s shape."""
    a = torch.as_tensor(amounts, dtype=torch.float32)
    k, nz = directions.vectors.shape
    if a.shape[-1:] != (k,) or a.dim() > 2:
        raise ValueError(f"amounts must hold one value per direction ({k}), got shape {tuple(a.shape)}")
    if not torch.isfinite(a).all():
        raise ValueError("amounts must be finite numbers")
    width = z.shape[0] if z.dim() == 1 else z[0].numel() if len(z) else z.shape[1]
    if width != nz:
        raise ValueError(f"z has {width} coordinates; these directions are for nz = {nz}")
    flat = z.reshape(-1, nz)
    delta = (a * directions.scales) @ directions.vectors  # (nz,) or (N, nz)
    return (flat.float() + delta.to(flat.device)).reshape(z.shape)


@contextmanager
def _intra_op_threads(n: int | None) -> Iterator[None]:
    """torch's intra-op thread count set to ``n`` inside the block, restored after (the pattern of
    ``metrics.classifier``'s training). With the OpenMP backend the count is mostly per calling thread, but not
    entirely: a thread that makes its first parallel call while the block runs starts with ``n`` threads and keeps
    them. Hence opt-in only."""
    if not n:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@torch.no_grad()
def render(G: Generator, z: torch.Tensor, directions: Directions, amounts, threads: int | None = None) -> torch.Tensor:
    """uint8 (N, C, H, W) of G(steer(z, directions, amounts)): what a slider move draws, G's mode left as it was.

    ``threads``: intra-op threads for this call (None: torch's setting). One 32x32 sample gains nothing from more
    than one, and on a busy 2-core CPU the OpenMP threads' spin-waits raised a move's p95 from ~20 ms to 150-330 ms
    (bench/directions.py); ``threads=1`` or ``OMP_WAIT_POLICY=PASSIVE`` in the environment both remove that tail.
    ``threads=1`` has the caveat of ``_intra_op_threads``: a thread that makes its first parallel call during the
    ~2 ms of a move (a training run just starting) would keep one thread."""
    moved = steer(z, directions, amounts)
    moved = moved[None] if moved.dim() == 1 else moved.reshape(len(moved), -1)
    with _intra_op_threads(threads), _eval_mode(G):
        return generate(G, moved)


def strip(
    G: Generator,
    z: torch.Tensor,
    directions: Directions,
    index: int,
    amounts: Sequence[float] = (-3, -2, -1, 0, 1, 2, 3),
) -> torch.Tensor:
    """uint8 (N * len(amounts), C, H, W): each z of ``z`` ((nz,) or (N, nz)) moved along direction ``index`` by each
    amount (in standard deviations), row after row (a grid with ``nrow=len(amounts)``)."""
    index = L.check_int("index", index, 0, len(directions) - 1)
    steps = torch.as_tensor([float(a) for a in amounts], dtype=torch.float32)
    flat = (z[None] if z.dim() == 1 else z.reshape(len(z), -1)).float()
    per = torch.zeros(len(flat), len(steps), len(directions))
    per[:, :, index] = steps
    moved = steer(
        flat[:, None, :].expand(-1, len(steps), -1).reshape(-1, flat.shape[1]),
        directions,
        per.reshape(-1, len(directions)),
    )
    with _eval_mode(G):
        return generate(G, moved)
