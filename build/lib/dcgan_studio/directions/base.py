"""The ``Directions`` record (k unit vectors in z with their slider unit), its error, and the helpers the
finders, the steering and the files share."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from .. import limits as L
from ..checkpoint import CheckpointError
from ..latent import sample_z

FORMAT_DIRECTIONS = "dcgan_studio.directions"
FORMAT_VERSION = "1"
MAX_DIRECTIONS = 256  # rows of one file (the Studio shows a handful of sliders)
MAX_NAME_CHARS = 200
MAX_FILE_BYTES = 16 * 1024**2  # 256 x 1024 float32 vectors are 1 MiB; anything far larger is not ours
UNIT_TOLERANCE = 1e-3  # |1 - |d|| allowed in a loaded file (float32 round trips are ~1e-7)


class DirectionsError(CheckpointError):
    """A directions file or set cannot be used; the message says what was wrong (a ``CheckpointError``, so callers
    that already catch those catch these)."""


@dataclass
class Directions:
    """k steerable directions of one generator's z space."""

    vectors: torch.Tensor  # (k, nz) float32, each row unit length
    scales: torch.Tensor  # (k,) float32: one standard deviation of z along each row, the unit of a slider
    names: list[str]  # one label per row, e.g. "PC 0", "towards a 7", "thicker"
    source: str  # "pca", "labels", "groups", "mixed"
    model: dict = field(default_factory=dict)  # the generator they belong to: at least {"nz": ...}
    explained: torch.Tensor | None = None  # (k,) fraction of first-block activation variance (PCA only)

    def __post_init__(self) -> None:
        self.vectors = torch.as_tensor(self.vectors).detach().to("cpu", torch.float32).contiguous()
        self.scales = torch.as_tensor(self.scales).detach().to("cpu", torch.float32).reshape(-1).contiguous()
        if self.vectors.dim() != 2 or not 1 <= len(self.vectors) <= MAX_DIRECTIONS:
            raise DirectionsError(
                f"vectors must be (k, nz) with 1 <= k <= {MAX_DIRECTIONS}, got {tuple(self.vectors.shape)}"
            )
        k, nz = self.vectors.shape
        if self.scales.shape != (k,):
            raise DirectionsError(f"scales must hold one value per direction ({k}), got {tuple(self.scales.shape)}")
        self.names = [str(n) for n in self.names]
        if len(self.names) != k:
            raise DirectionsError(f"names must hold one label per direction ({k}), got {len(self.names)}")
        self.model = dict(self.model)
        self.model.setdefault("nz", nz)
        if self.model["nz"] != nz:
            raise DirectionsError(f"the vectors have {nz} coordinates but the model's nz is {self.model['nz']}")
        if self.explained is not None:
            self.explained = torch.as_tensor(self.explained).detach().to("cpu", torch.float32).reshape(-1).contiguous()
            if self.explained.shape != (k,):
                raise DirectionsError(
                    f"explained must hold one value per direction ({k}), got {tuple(self.explained.shape)}"
                )
        if not torch.isfinite(self.vectors).all() or not torch.isfinite(self.scales).all():
            raise DirectionsError("directions hold non-finite values (NaN or infinity)")
        if (self.scales <= 0).any():
            raise DirectionsError(f"scales must be positive, got {self.scales.tolist()}")
        norms = self.vectors.norm(dim=1)
        if ((norms - 1).abs() > UNIT_TOLERANCE).any():
            lengths = [round(float(n), 4) for n in norms]
            raise DirectionsError(f"every direction must have unit length; lengths are {lengths}")

    @property
    def nz(self) -> int:
        return self.vectors.shape[1]

    def __len__(self) -> int:
        return len(self.vectors)


# ----------------------------------------------------------------------------------------------------- helpers


def generator_fingerprint(G: nn.Module) -> str:
    """A short hash of G's weights and buffers: directions are cached and checked per checkpoint with it."""
    h = hashlib.sha256()
    for name, t in sorted(G.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().to("cpu").contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()[:16]


def model_info(G: nn.Module, checkpoint: str | Path | None = None) -> dict:
    """What ``Directions.model`` records: G's config (nz at least), its fingerprint, the checkpoint's file name."""
    config = getattr(G, "config", None)
    info = dict(config.to_dict()) if hasattr(config, "to_dict") else {}
    info["nz"] = _nz(G)
    info["fingerprint"] = generator_fingerprint(G)
    if checkpoint is not None:
        info["checkpoint"] = Path(checkpoint).name
    return info


def _nz(G: nn.Module) -> int:
    config = getattr(G, "config", None)
    if config is not None and hasattr(config, "nz"):
        return int(config.nz)
    return int(G.main[0].in_channels)


@contextmanager
def _eval_mode(G: nn.Module) -> Iterator[torch.device]:
    """G in eval mode (batch norm from running statistics) inside the block, its previous mode restored after."""
    was_training = G.training
    G.eval()
    try:
        yield next(G.parameters()).device
    finally:
        G.train(was_training)


def _unit(v: torch.Tensor, what: str) -> torch.Tensor:
    norm = v.norm(dim=-1, keepdim=True)
    if not torch.isfinite(norm).all() or (norm < 1e-12).any():
        raise DirectionsError(f"{what}: the direction has zero length (the groups or samples do not differ)")
    return v / norm


def _scales(n: int, seed: int, vectors: torch.Tensor) -> torch.Tensor:
    """The slider unit: the standard deviation of the projections on each unit vector of ``n`` fresh z's, drawn
    with another seed than the z's the vectors were fitted to (on those, a fitted direction leans towards their own
    spread: 1.07-1.16 at 1,024 samples of the shipped G where the prior's value is 1)."""
    z = sample_z(n, vectors.shape[1], (seed + 0x5CA1E) % (L.MAX_SEED + 1))
    return (z.double() @ vectors.double().T).std(dim=0).float()
