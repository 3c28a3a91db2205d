"""Scores on feature vectors and class probabilities: the Fréchet distance, an Inception-Score-like classifier
score, class coverage, and the k-NN precision / recall / density / coverage of Kynkäänniemi et al. (2019) and
Naeem et al. (2020).

All functions take CPU tensors (N, D) and return plain floats / dicts, so they are easy to test on point clouds.
"""

from __future__ import annotations

import math

import numpy as np
import torch


def frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)) between Gaussians fitted to two feature sets.

    Tr((S_a S_b)^(1/2)) is computed as the sum of the square roots of the eigenvalues of S_a^(1/2) S_b S_a^(1/2),
    which is symmetric positive semi-definite, so no complex parts or ``sqrtm`` instabilities arise."""
    a = a.double().numpy()
    b = b.double().numpy()
    if len(a) < 2 or len(b) < 2:
        raise ValueError("the Fréchet distance needs at least 2 samples on each side")
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    w, v = np.linalg.eigh(s_a)
    sqrt_a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    m = sqrt_a @ s_b @ sqrt_a
    tr_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0, None)).sum()
    value = float(((mu_a - mu_b) ** 2).sum() + np.trace(s_a) + np.trace(s_b) - 2 * tr_sqrt)
    return max(value, 0.0)


def classifier_score(probs: torch.Tensor, eps: float = 1e-12) -> float:
    """exp(E_x KL(p(y|x) || p(y))): the Inception Score computed with the digits classifier. 1 (all samples look
    alike or every prediction is unsure) .. n_classes (confident predictions spread evenly over the classes)."""
    p = probs.double().clamp_min(eps)
    marginal = p.mean(0, keepdim=True)
    kl = (p * (p.log() - marginal.log())).sum(1)
    return float(math.exp(kl.mean()))


def class_coverage(probs: torch.Tensor, n_classes: int | None = None, min_share: float = 0.01) -> dict:
    """How many classes the predicted labels cover, and how evenly.

    ``present``: classes predicted for at least ``min_share`` of the samples (and at least one);
    ``evenness``: entropy of the predicted-class histogram / log(n_classes): 1 for a uniform spread, 0 for one class;
    ``histogram``: counts per class; ``confidence``: mean top probability."""
    n_classes = n_classes or probs.shape[1]
    pred = probs.argmax(1)
    hist = torch.bincount(pred, minlength=n_classes).double()
    share = hist / hist.sum()
    nz = share[share > 0]
    entropy = float(-(nz * nz.log()).sum())
    threshold = max(1.0, min_share * len(pred))
    return {
        "present": int((hist >= threshold).sum()),
        "n_classes": n_classes,
        "evenness": entropy / math.log(n_classes),
        "histogram": [int(h) for h in hist.tolist()],
        "confidence": float(probs.max(1).values.double().mean()),
    }


def _pairwise(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.cdist(a.double(), b.double())


def kth_neighbour_radii(x: torch.Tensor, k: int) -> torch.Tensor:
    """Distance from each point of ``x`` to its k-th nearest other point of ``x``."""
    if len(x) <= k:
        raise ValueError(f"k-NN radii with k={k} need more than {k} points, got {len(x)}")
    d = _pairwise(x, x)
    return d.kthvalue(k + 1, dim=1).values  # +1: the point itself is its own nearest neighbour at 0


def prdc(real: torch.Tensor, fake: torch.Tensor, k: int = 5) -> dict:
    """Precision, recall (Kynkäänniemi et al. 2019), density and coverage (Naeem et al. 2020) with k-NN balls.

    precision: share of fakes inside some real point's k-NN ball (quality: fakes look real);
    recall: share of reals inside some fake point's k-NN ball (diversity: the fakes cover the reals);
    density: mean number of real balls containing a fake, / k (about 1 when fakes are distributed like reals;
    robust to real outliers); coverage: share of reals whose ball contains at least one fake."""
    real, fake = real.double(), fake.double()
    r_real = kth_neighbour_radii(real, k)
    r_fake = kth_neighbour_radii(fake, k)
    d = _pairwise(real, fake)  # (N_real, N_fake)
    inside_real = d <= r_real[:, None]  # fake j inside real i's ball
    return {
        "precision": float(inside_real.any(0).double().mean()),
        "recall": float((d <= r_fake[None, :]).any(1).double().mean()),
        "density": float(inside_real.double().sum(0).mean() / k),
        "coverage": float((d.min(1).values <= r_real).double().mean()),
        "k": k,
    }


def nearest_neighbours(
    query: torch.Tensor, reference: torch.Tensor, batch: int = 1024
) -> tuple[torch.Tensor, torch.Tensor]:
    """(distance, index) of the nearest ``reference`` row for each ``query`` row (Euclidean)."""
    dist, idx = [], []
    ref = reference.double()
    for i in range(0, len(query), batch):
        d = _pairwise(query[i : i + batch], ref)
        m = d.min(1)
        dist.append(m.values)
        idx.append(m.indices)
    return torch.cat(dist), torch.cat(idx)


def mean_pairwise_distance(x: torch.Tensor) -> float:
    """Mean Euclidean distance over all pairs of distinct rows (0 for identical rows)."""
    if len(x) < 2:
        return 0.0
    d = _pairwise(x, x)
    n = len(x)
    return float(d.sum() / (n * (n - 1)))
