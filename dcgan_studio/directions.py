"""Steerable directions in z: found without labels (GANSpace), from a classifier's labels, or from two groups of
samples (the paper's averaging), and moved along with sliders.

* **Unsupervised** (Härkönen et al. 2020, "GANSpace"): PCA of G's first-block activations (after its ReLU) over a
  few thousand samples, carried back to z the way GANSpace does for GANs steered in z: least-squares regression of
  the z's on the PCA coordinates, ``z ~ x @ B``; row i of ``B``, normalised, is direction i. Component 0 explains
  the most activation variance.
* **From labels** (digits): "towards a 7" = mean z of the samples the classifier calls a 7 with confidence minus
  the mean z of all samples (Radford et al. average exemplars the same way); "thicker" = the least-squares weights
  of the ink (mean pixel value of G(z)) regressed on z.
* **From groups**: ``group_direction(z_from, z_to)`` = mean(z_to) - mean(z_from), a reusable vector.

Units. Every direction is a unit vector ``d`` in z with a ``scale``: the standard deviation of ``z . d`` over as
many fresh z's as were sampled to find it (another seed: measured on the fitting samples, a fitted direction leans
towards their own spread and the scale comes out 5-15 % too large), so an amount ``a`` (a slider in [-3, 3])
moves ``a`` standard deviations of the latent distribution along ``d``: ``steer(z) = z + sum_i a_i * scale_i * d_i``.
For z ~ N(0, I) the scale is 1 up to sampling noise (+-0.01 at 4,096 samples) for every direction and every source,
so sliders of different sources mean the same thing and +-3 stays inside the region G was trained on. This is
GANSpace's own convention (its z-space scale is the spread of the samples' projections); the alternative, the PCA
coordinate's standard deviation mapped back through the regression, equals the multiple correlation of that
coordinate with z (<= 1): it shrinks a component by how non-linear it is, which ``explained`` already tells apart.
Group directions made from a handful of samples have no population to measure, so they take the prior's value, 1.

Files: safetensors with tensors ``vectors`` (k, nz) F32, ``scales`` (k,) F32 and optionally ``explained`` (k,)
F32, and string metadata ``format`` = ``dcgan_studio.directions``, ``format_version``, ``names`` (JSON list),
``source``, ``nz`` and ``model`` (JSON: the generator's config, its weights' fingerprint and the checkpoint name).
``load_directions`` checks the size, then the header (format, version, nz, names, tensor names/dtypes/shapes) before
reading any tensor, then the values (finite, unit length, positive scales).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as st_save
from torch import nn

from . import limits as L
from .checkpoint import CheckpointError, atomic_write_bytes
from .latent import generate, sample_z
from .models import Generator

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
    from .metrics.classifier import classify  # the core's metrics; imported here so steering needs no classifier

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


# ------------------------------------------------------------------------------------------------------- steer


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


# ------------------------------------------------------------------------------------------------- save / load


def save_directions(path: str | Path, d: Directions) -> Path:
    """Write ``d`` as a safetensors file (atomically: readers see the old file or the new one)."""
    tensors = {"vectors": d.vectors, "scales": d.scales}
    if d.explained is not None:
        tensors["explained"] = d.explained
    metadata = {
        "format": FORMAT_DIRECTIONS,
        "format_version": FORMAT_VERSION,
        "names": json.dumps(d.names),
        "source": d.source,
        "nz": str(d.nz),
        "model": json.dumps(d.model, sort_keys=True),
    }
    return atomic_write_bytes(path, st_save({k: v.contiguous() for k, v in tensors.items()}, metadata=metadata))


_ST_F32 = ("F32", "float32", "torch.float32")


def load_directions(path: str | Path, expected_nz: int | None = None) -> Directions:
    """The directions in ``path``, or a ``DirectionsError`` naming the file and the problem. With
    ``expected_nz``, a file made for a generator of another latent size is refused before anything is read."""
    path = Path(path)
    if not path.is_file():
        raise DirectionsError(f"directions file {path} does not exist")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise DirectionsError(f"{path.name} is {size:,} bytes, far more than a directions file holds; not loading it")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            meta = f.metadata() or {}
            slices = {name: f.get_slice(name) for name in f.keys()}  # header entries: no tensor is read yet
            specs = {name: (str(sl.get_dtype()), tuple(sl.get_shape())) for name, sl in slices.items()}
            names, source, nz, model = _check_header(path, meta, specs, expected_nz)
            tensors = {name: f.get_tensor(name) for name in specs}
    except (SafetensorError, OSError, ValueError, RuntimeError, TypeError) as exc:
        if isinstance(exc, DirectionsError):
            raise
        raise DirectionsError(f"{path.name} is not a readable safetensors file ({exc})") from None
    for name, t in tensors.items():
        if not torch.isfinite(t).all():
            raise DirectionsError(
                f"{path.name}: tensor {name!r} holds non-finite values (NaN or infinity); the file is damaged"
            )
    try:
        return Directions(tensors["vectors"], tensors["scales"], names, source, model, tensors.get("explained"))
    except DirectionsError as exc:
        raise DirectionsError(f"{path.name}: {exc}") from None


def _check_header(path: Path, meta: dict, specs: dict, expected_nz: int | None) -> tuple[list[str], str, int, dict]:
    fmt = meta.get("format")
    if fmt != FORMAT_DIRECTIONS:
        hint = (
            " (it looks like a generator checkpoint: compute directions from it with principal_directions)"
            if isinstance(fmt, str) and fmt.startswith("dcgan_studio.")
            else ""
        )
        raise DirectionsError(
            f"{path.name} is not a directions file (metadata 'format' is {fmt!r}, expected {FORMAT_DIRECTIONS!r}){hint}"
        )
    if meta.get("format_version") != FORMAT_VERSION:
        raise DirectionsError(
            f"{path.name} has directions format version {meta.get('format_version')!r}; "
            f"this build reads {FORMAT_VERSION}"
        )
    try:
        nz = int(meta.get("nz", ""))
        names = json.loads(meta.get("names", ""))
        model = json.loads(meta.get("model", "{}"))
    except (ValueError, RecursionError) as exc:
        raise DirectionsError(f"{path.name} has malformed metadata ({exc})") from None
    if not 1 <= nz <= 1024:
        raise DirectionsError(f"{path.name}: nz must be in 1..1024, got {nz}")
    if expected_nz is not None and nz != int(expected_nz):
        raise DirectionsError(
            f"{path.name} holds directions for a generator with nz = {nz}, but this generator has nz = {expected_nz}; "
            "compute directions for this checkpoint instead"
        )
    if (
        not isinstance(names, list)
        or not 1 <= len(names) <= MAX_DIRECTIONS
        or not all(isinstance(n, str) and len(n) <= MAX_NAME_CHARS for n in names)
    ):
        raise DirectionsError(f"{path.name}: 'names' must be a list of 1..{MAX_DIRECTIONS} short strings")
    if not isinstance(model, dict):
        raise DirectionsError(f"{path.name}: 'model' must be a JSON object")
    source = meta.get("source", "")
    if not isinstance(source, str) or len(source) > MAX_NAME_CHARS:
        raise DirectionsError(f"{path.name}: 'source' must be a short string")
    k = len(names)
    expected = {"vectors": (k, nz), "scales": (k,)}
    if "explained" in specs:
        expected["explained"] = (k,)
    if set(specs) != set(expected):
        raise DirectionsError(
            f"{path.name} holds tensors {sorted(specs)[:10]}; a directions file holds {sorted(expected)}"
        )
    for name, shape in expected.items():
        dtype, found = specs[name]
        if dtype not in _ST_F32 or found != shape:
            raise DirectionsError(
                f"{path.name}: tensor {name!r} is {dtype} {list(found)}, "
                f"expected float32 {list(shape)} ({k} names, nz = {nz})"
            )
    return names, source, nz, model
