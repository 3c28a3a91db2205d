"""Directions files: safetensors written atomically, read header-first (see the package docstring for the format)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as st_save

from ..checkpoint import atomic_write_bytes
from .base import (
    FORMAT_DIRECTIONS,
    FORMAT_VERSION,
    MAX_DIRECTIONS,
    MAX_FILE_BYTES,
    MAX_NAME_CHARS,
    Directions,
    DirectionsError,
)


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
_WHOLE = re.compile(r"[0-9]{1,4}")  # a header's nz as save_directions writes it: plain digits
MAX_NZ = 1024


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
    raw_nz = meta.get("nz", "")
    # read strictly (not int(), which takes " 16", "1_6" or "+16"), so no later message contradicts the header
    if not (isinstance(raw_nz, str) and _WHOLE.fullmatch(raw_nz) and 1 <= int(raw_nz) <= MAX_NZ):
        raise DirectionsError(
            f"{path.name}: nz in the file's header must be a whole number from 1 to {MAX_NZ}, got {str(raw_nz)[:20]!r}"
        )
    nz = int(raw_nz)
    try:
        names = json.loads(meta.get("names", ""))
        model = json.loads(meta.get("model", "{}"))
    except (ValueError, RecursionError) as exc:
        raise DirectionsError(f"{path.name} has malformed metadata ({exc})") from None
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
    model_nz = model.get("nz", nz)
    if type(model_nz) is not int:  # a JSON integer: not "16", 16.0 or true (which compare unequal, or equal, to 16)
        raise DirectionsError(
            f"{path.name}: nz in the header's 'model' must be written as a whole number ({nz}), "
            f"not {json.dumps(model_nz)[:20]}"
        )
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
