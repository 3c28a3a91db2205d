"""Finding directions: GANSpace PCA of G's first block (unsupervised), a classifier's labels, two groups of
samples (the paper's averaging), and ``combine`` to put sets together."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from .. import limits as L
from ..latent import generate, sample_z
from ..models import Generator
from .base import MAX_DIRECTIONS, Directions, DirectionsError, _eval_mode, _nz, _scales, _unit, model_info


def first_block_index(G: nn.Module) -> int:
    """Index in ``G.main`` of the first ReLU: its output is the first block's activation (GANSpace's layer)."""
    for i, m in enumerate(G.main):
        if isinstance(m, nn.ReLU):
            return i
    raise ValueError("G.main has no ReLU; pass layer= to choose the activation to analyse")


@torch.no_grad()
def activations(G: nn.Module, z: torch.Tensor, layer: int | None = None, batch_size: int = 512) -> torch.Tensor:
    """(N, features) float32 on the CPU: the output of ``G.main[layer]`` (default: the first block) for each z."""
    layer = first_block_index(G) if layer is None else L.check_int("layer", layer, 0, len(G.main) - 1)
    head = G.main[: layer + 1]
    with _eval_mode(G) as device:
        out = [
            head(z[i : i + batch_size].to(device)[:, :, None, None]).flatten(1).float().cpu()
            for i in range(0, len(z), batch_size)
        ]
    return torch.cat(out)


def _top_components(
    x: torch.Tensor, k: int, seed: int, oversample: int = 16, power_iters: int = 6
) -> tuple[torch.Tensor, torch.Tensor]:
    """(singular values (k,), right singular vectors (k, features)) of the centered ``x`` (N, features), largest
    first: an exact SVD when ``x`` is small, else a randomized range finder with power iterations (Halko et al.
    2011) from a seeded generator, so the result depends on ``seed`` only. The full SVD of 4096 x 2048 takes
    ~25 s on 2 cores; this takes well under a second and agrees on the top components to ~1e-4."""
    n, m = x.shape
    if min(n, m) <= 4 * (k + oversample):
        _, s, vh = torch.linalg.svd(x, full_matrices=False)
        return s[:k], vh[:k]
    g = torch.Generator().manual_seed(seed)
    omega = torch.randn(m, k + oversample, generator=g, dtype=x.dtype).to(x.device)
    q, _ = torch.linalg.qr(x @ omega)
    for _ in range(power_iters):
        q, _ = torch.linalg.qr(x.T @ q)
        q, _ = torch.linalg.qr(x @ q)
    _, s, vh = torch.linalg.svd(q.T @ x, full_matrices=False)
    return s[:k], vh[:k]


def _orient(vectors: torch.Tensor) -> torch.Tensor:
    """Each row's sign fixed so its largest-magnitude coordinate is positive (PCA signs are arbitrary)."""
    idx = vectors.abs().argmax(dim=1)
    signs = torch.sign(vectors.gather(1, idx[:, None])).clamp_min(0) * 2 - 1  # +1 or -1, never 0
    return vectors * signs


# ------------------------------------------------------------------------------------------------ unsupervised


def principal_directions(
    G: Generator,
    n_samples: int = 4096,
    k: int = 8,
    seed: int = 0,
    batch_size: int = 512,
    layer: int | None = None,
    checkpoint: str | Path | None = None,
) -> Directions:
    """GANSpace (Härkönen et al. 2020) for a z-space GAN: the top ``k`` principal components of G's first-block
    activations (``layer``: an index into ``G.main``, default the first ReLU), each carried to a unit direction in z
    by regressing the z's on the PCA coordinates. Deterministic for a ``seed``; about a second for 4,096 samples
    of the shipped 32x32 G on 2 CPU cores."""
    nz = _nz(G)
    n_samples = L.check_int("n_samples", n_samples, 16, L.MAX_LATENT_SAMPLES)
    k = L.check_int("k", k, 1, min(nz, MAX_DIRECTIONS, n_samples // 2))
    batch_size = L.check_int("batch_size", batch_size, 1, L.MAX_BATCH)
    z = sample_z(n_samples, nz, seed)
    y = activations(G, z, layer, batch_size).double()
    k = min(k, y.shape[1])
    y -= y.mean(0)
    s, v = _top_components(y, k, seed)
    coords = y @ v.T  # (N, k) PCA coordinates, uncorrelated, variance s^2 / (N - 1)
    # GANSpace's transfer to z: least squares z ~ coords @ B, row i of B = the z-space direction of component i
    zc = z.double() - z.double().mean(0)
    b = torch.linalg.lstsq(coords, zc).solution  # (k, nz)
    vectors = _orient(_unit(b, "principal directions")).float()
    explained = (s**2 / y.pow(2).sum()).float()
    names = [f"PC {i}" for i in range(k)]
    return Directions(vectors, _scales(n_samples, seed, vectors), names, "pca", model_info(G, checkpoint), explained)


# ------------------------------------------------------------------------------------------------- from labels


def _article(c: int) -> str:
    return "an" if c == 8 else "a"


def class_directions(
    G: Generator,
    classifier,
    n_samples: int = 4096,
    seed: int = 0,
    min_confidence: float = 0.9,
    min_count: int = 16,
    batch_size: int = 512,
    checkpoint: str | Path | None = None,
) -> Directions:
    """Directions from a classifier's labels of G's samples (the digits classifier of ``metrics.classifier``):
    "towards a c" = mean z of the samples labelled c with probability >= ``min_confidence`` minus the mean z of all
    samples, for every class with at least ``min_count`` such samples; then "thicker": the least-squares weights of
    the ink (mean pixel value in [0, 1]) regressed on z."""
    from ..metrics.classifier import classify  # the core's metrics; imported here so steering needs no classifier

    nz = _nz(G)
    n_samples = L.check_int("n_samples", n_samples, 16, L.MAX_LATENT_SAMPLES)
    min_confidence = L.check_float("min_confidence", min_confidence, 0.0, 1.0)
    min_count = L.check_int("min_count", min_count, 1, n_samples)
    z = sample_z(n_samples, nz, seed)
    with _eval_mode(G):
        images = generate(G, z, batch_size)
    probs = classify(classifier, images).probs
    confidence, label = probs.max(dim=1)
    mean_all = z.double().mean(0)
    rows, names = [], []
    for c in range(probs.shape[1]):
        chosen = (label == c) & (confidence >= min_confidence)
        if int(chosen.sum()) >= min_count:
            rows.append(z[chosen].double().mean(0) - mean_all)
            names.append(f"towards {_article(c)} {c}")
    ink = images.double().mean(dim=(1, 2, 3)) / 255.0
    design = torch.cat([z.double(), torch.ones(n_samples, 1, dtype=torch.double)], dim=1)  # with an intercept
    weights = torch.linalg.lstsq(design, ink[:, None]).solution[:nz, 0]
    rows.append(weights)
    names.append("thicker")
    vectors = _unit(torch.stack(rows), "class directions").float()
    return Directions(vectors, _scales(n_samples, seed, vectors), names, "labels", model_info(G, checkpoint))


def group_direction(
    z_from: torch.Tensor | Sequence[torch.Tensor],
    z_to: torch.Tensor | Sequence[torch.Tensor],
    name: str = "group",
    model: dict | None = None,
) -> Directions:
    """The paper's averaging as a reusable vector: mean(z_to) - mean(z_from), normalised, with the prior's scale 1
    (a slider at +1 moves one standard deviation of N(0, I) along it). Each group is (n, nz) or a list of z's."""
    a, b = _stack(z_from, "z_from"), _stack(z_to, "z_to")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"the groups' z's differ in length ({a.shape[1]} and {b.shape[1]})")
    vector = _unit((b.double().mean(0) - a.double().mean(0))[None], name).float()
    info = {"nz": a.shape[1], **(model or {})}
    return Directions(vector, torch.ones(1), [name], "groups", info)


def _stack(group, what: str) -> torch.Tensor:
    if len(group) == 0:
        raise ValueError(f"{what} needs at least one sample")
    if isinstance(group, torch.Tensor):
        return group.reshape(len(group), -1).float()
    return torch.stack([torch.as_tensor(z).flatten() for z in group]).float()


def combine(*sets: Directions) -> Directions:
    """One set with the rows of ``sets`` in order (e.g. PCA + labels + a group), all of the same generator."""
    if not sets:
        raise ValueError("nothing to combine")
    nz = {d.nz for d in sets}
    if len(nz) != 1:
        raise DirectionsError(f"the sets belong to generators with different nz: {sorted(nz)}")
    sources = {d.source for d in sets}
    explained = torch.cat([d.explained for d in sets]) if all(d.explained is not None for d in sets) else None
    model = {}
    for d in sets:  # the most informative record (a group direction's may hold nz only)
        if len(d.model) > len(model):
            model = d.model
    source = sources.pop() if len(sources) == 1 else "mixed"
    return Directions(
        torch.cat([d.vectors for d in sets]),
        torch.cat([d.scales for d in sets]),
        [n for d in sets for n in d.names],
        source,
        model,
        explained,
    )


def suits_digits_classifier(G: nn.Module) -> bool:
    """Whether the shipped digits classifier can label G's samples: one channel, 32x32 (what it was trained on)."""
    config = getattr(G, "config", None)
    return getattr(config, "channels", None) == 1 and getattr(config, "image_size", None) == 32


def standard_directions(
    G: Generator,
    k: int = 8,
    n_samples: int = 4096,
    seed: int = 0,
    classifier=None,
    checkpoint: str | Path | None = None,
) -> Directions:
    """What the Studio and the CLI offer for a checkpoint: the top ``k`` principal directions, then (given a
    ``classifier`` and a generator it suits) the class directions and "thicker"."""
    pca = principal_directions(G, n_samples=n_samples, k=k, seed=seed, checkpoint=checkpoint)
    if classifier is None or not suits_digits_classifier(G):
        return pca
    return combine(pca, class_directions(G, classifier, n_samples=n_samples, seed=seed, checkpoint=checkpoint))
