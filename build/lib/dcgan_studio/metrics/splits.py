"""A fixed, seeded split of a dataset into training and held-out images.

Every metric that needs images a model has not seen (the classifier's test accuracy, the real-vs-real reference,
the linear probe's test set, the memorisation reference) uses this one split, so the numbers of a report can be
compared with each other and across runs. The split is stratified when the dataset has labels (each class keeps the
same held-out fraction) and is a pure function of (dataset size, labels, fraction, seed).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..data import ImageTensorDataset, load_digits

HELD_OUT_FRACTION = 0.2
SPLIT_SEED = 0


@dataclass
class Split:
    train: ImageTensorDataset
    held_out: ImageTensorDataset
    train_index: torch.Tensor
    held_out_index: torch.Tensor


def split_indices(
    n: int, labels: torch.Tensor | None, fraction: float = HELD_OUT_FRACTION, seed: int = SPLIT_SEED
) -> tuple[torch.Tensor, torch.Tensor]:
    """(train indices, held-out indices), both sorted; stratified by ``labels`` when given."""
    if not 0 < fraction < 1:
        raise ValueError(f"the held-out fraction must be in (0, 1), got {fraction}")
    g = torch.Generator().manual_seed(int(seed))
    if labels is None:
        perm = torch.randperm(n, generator=g)
        k = max(1, int(round(n * fraction)))
        if k >= n:
            raise ValueError(f"a dataset of {n} image(s) is too small to hold some out")
        return perm[k:].sort().values, perm[:k].sort().values
    held, train = [], []
    labels = labels.cpu()
    for c in torch.unique(labels).tolist():
        idx = torch.nonzero(labels == c).flatten()
        idx = idx[torch.randperm(len(idx), generator=g)]
        k = int(round(len(idx) * fraction))
        held.append(idx[:k])
        train.append(idx[k:])
    return torch.cat(train).sort().values, torch.cat(held).sort().values


def split_dataset(ds: ImageTensorDataset, fraction: float = HELD_OUT_FRACTION, seed: int = SPLIT_SEED) -> Split:
    """The dataset's own split when it has one (``held_out``, e.g. the photos' unseen strip), else a seeded one."""
    if ds.held_out is not None:
        tr, ho = torch.nonzero(~ds.held_out).flatten(), torch.nonzero(ds.held_out).flatten()
    else:
        tr, ho = split_indices(len(ds), ds.labels, fraction, seed)

    def subset(idx: torch.Tensor, part: str) -> ImageTensorDataset:
        labels = None if ds.labels is None else ds.labels[idx]
        return ImageTensorDataset(ds.images[idx], labels, f"{ds.name}:{part}")

    return Split(subset(tr, "train"), subset(ho, "held_out"), tr, ho)


def digits_split(image_size: int = 32, channels: int = 1) -> Split:
    """The offline digits (1,797 images) split 80/20, stratified, seed 0: 1,438 training and 359 held-out."""
    return split_dataset(load_digits(image_size, channels))
