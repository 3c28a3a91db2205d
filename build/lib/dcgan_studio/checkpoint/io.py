"""safetensors files read and written safely, whatever they hold.

Writes are atomic (a temporary file in the same folder, fsync, ``os.replace``, fsync of the folder), so a crash
mid-write leaves the previous file intact; ``remove_stale_temporaries`` clears what a killed writer left behind.
Reads validate the header first: its length is capped (``MAX_HEADER_BYTES``), every entry's dtype, shape and byte
span must agree, and the spans must tile the data exactly, so a truncated, padded or lying file is refused before
any tensor is allocated. safetensors never runs code, so a hostile file can at worst be refused with a
``CheckpointError``. What the tensors and metadata must mean is ``schema.py``'s business, not this module's.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from safetensors import SafetensorError, safe_open

from ..errors import UserError

if TYPE_CHECKING:
    import torch

MAX_HEADER_BYTES = 16 * 1024**2  # a real header is a few KB; refuse absurd ones before parsing them
MAX_DIMS = 8  # no tensor of ours has more dimensions; a header claiming more is refused
MAX_DIM_SIZE = 2**40

# the bytes of one element of each safetensors dtype
DTYPE_BYTES = {
    "F64": 8, "I64": 8, "U64": 8, "F32": 4, "I32": 4, "U32": 4, "F16": 2, "BF16": 2, "I16": 2, "U16": 2,
    "I8": 1, "U8": 1, "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1,
}  # fmt: skip

Spec = tuple[str, tuple[int, ...]]  # (safetensors dtype, shape) of one tensor, read from the header


@cache
def st_dtypes() -> dict[torch.dtype, str]:
    """The safetensors dtype name of each torch dtype (made on first use: reading a header needs no torch)."""
    import torch

    return {
        torch.float32: "F32",
        torch.int64: "I64",
        torch.uint8: "U8",
        torch.float64: "F64",
        torch.float16: "F16",
        torch.bfloat16: "BF16",
        torch.int32: "I32",
        torch.int16: "I16",
        torch.int8: "I8",
        torch.bool: "BOOL",
    }


class CheckpointError(UserError):
    """A checkpoint cannot be used; the message names the file and the problem."""


# ----------------------------------------------------------------------------------------------------- writing


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and not exc.filename:
            exc.filename = str(path)  # fsync/write errors carry no name: say which file could not be written
        raise
    _fsync_folder(path.parent)  # make the rename itself durable
    return path


def _fsync_folder(folder: Path) -> None:
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def remove_stale_temporaries(folder: str | Path) -> list[Path]:
    """Delete the ``.<name>.<random>.tmp`` files that ``atomic_write_bytes`` leaves when its process is killed
    mid-write (loaders and listings never look at them). Call it only from the folder's single writer."""
    removed = []
    for tmp in Path(folder).glob(".*.tmp"):
        if tmp.is_file():
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


def save_tensors(path: str | Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> Path:
    """Write ``tensors`` (moved to the CPU, made contiguous) and string ``metadata`` as one safetensors file,
    atomically."""
    from safetensors.torch import save as st_save

    tensors = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    return atomic_write_bytes(path, st_save(tensors, metadata=metadata))


# ----------------------------------------------------------------------------------------------------- reading


def read_header(path: str | Path) -> tuple[dict[str, str], dict[str, Spec]]:
    """(metadata, {name: (dtype, shape)}) from a safetensors header alone, checked for consistency with the file's
    size (so a truncated or padded file is caught here), without reading or allocating any tensor."""
    path = Path(path)
    header, data_bytes = _raw_header(path)
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise CheckpointError(f"{path.name}: the safetensors metadata must map strings to strings")
    specs: dict[str, Spec] = {}
    spans = []
    for name, entry in header.items():
        specs[name], span = _entry(path.name, name, entry)
        spans.append(span)
    _check_spans(path.name, spans, data_bytes)
    return metadata, specs


def _raw_header(path: Path) -> tuple[dict, int]:
    """The header's JSON object and the number of bytes after it, the length checked before anything is parsed."""
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    size = path.stat().st_size
    if size < 8:
        raise CheckpointError(f"{path.name} is not a safetensors file (only {size} bytes)")
    with open(path, "rb") as fh:
        header_len = int.from_bytes(fh.read(8), "little")
        if header_len > MAX_HEADER_BYTES or header_len + 8 > size:
            raise CheckpointError(
                f"{path.name} is not a valid safetensors file (header length {header_len} does not fit a {size}-byte "
                "file); it may be truncated, or a pickle/.pth file renamed. Convert .pth generators with `import-pth`."
            )
        raw = fh.read(header_len)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise CheckpointError(f"{path.name} is not a safetensors file (its header is not JSON: {exc})") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path.name} is not a safetensors file (its header is not a JSON object)")
    return header, size - 8 - header_len


def _entry(file_name: str, name: str, entry) -> tuple[Spec, tuple[int, int]]:
    """One header entry as (spec, (begin, end)), refused unless its dtype, shape and byte span agree."""
    try:
        dtype, shape, (begin, end) = entry["dtype"], entry["shape"], entry["data_offsets"]
        ok = (
            dtype in DTYPE_BYTES
            and isinstance(shape, list)
            and len(shape) <= MAX_DIMS
            and all(type(d) is int and 0 <= d < MAX_DIM_SIZE for d in shape)
            and type(begin) is int
            and type(end) is int
        )
    except (TypeError, KeyError, ValueError):
        ok = False
    if not ok:
        raise CheckpointError(f"{file_name}: tensor {name[:80]!r} has a malformed header entry")
    numel = 1
    for d in shape:
        numel *= d
    if not 0 <= begin <= end or end - begin != numel * DTYPE_BYTES[dtype]:
        raise CheckpointError(
            f"{file_name}: tensor {name[:80]!r} declares shape {shape} ({dtype}) that does not match its "
            f"{end - begin} bytes"
        )
    return (dtype, tuple(shape)), (begin, end)


def _check_spans(file_name: str, spans: list[tuple[int, int]], data_bytes: int) -> None:
    """The tensors' byte spans must tile the data after the header exactly: no overlap, no gap, no excess."""
    covered = 0
    for begin, end in sorted(spans):
        if begin != covered:
            raise CheckpointError(f"{file_name}: the tensors' data overlap or leave gaps; the file is damaged")
        covered = end
    if covered != data_bytes:
        raise CheckpointError(
            f"{file_name} holds {data_bytes} bytes of tensor data but its header describes {covered}; "
            "it is truncated or damaged (an interrupted copy?)"
        )


def spec_of(value: torch.Tensor | Spec) -> Spec:
    """The (dtype, shape) of a tensor, or a header spec unchanged, so tensors and headers compare alike."""
    if isinstance(value, tuple):
        return value
    return st_dtypes().get(value.dtype, str(value.dtype)), tuple(value.shape)


def load_tensors(path: str | Path, names: Iterable[str]) -> dict[str, torch.Tensor]:
    """The named tensors of a safetensors file on the CPU (validate the header with ``read_header`` first)."""
    path = Path(path)
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            return {k: f.get_tensor(k) for k in names}
    except (SafetensorError, OSError, ValueError, RuntimeError, TypeError) as exc:
        raise CheckpointError(f"{path.name} is not a readable safetensors file ({exc})") from None


def read_file(path: str | Path) -> tuple[dict[str, str], dict[str, torch.Tensor]]:
    """(metadata, tensors) of a safetensors file, or a ``CheckpointError`` saying why it is not one."""
    path = Path(path)
    metadata, specs = read_header(path)
    return metadata, load_tensors(path, specs)
