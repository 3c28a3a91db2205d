"""Reading images out of a user's .zip without trusting it.

Nothing is extracted to disk (so ``../`` names and absolute paths cannot write anywhere); members are read into
memory one at a time under limits on count, total size and compression ratio (zip bombs), and each image is
decoded by Pillow with its decompression-bomb guard on. A bad member is skipped with a message naming it and the
rule it broke; an archive with no good image is an error.
"""
from __future__ import annotations

import io
import logging
import stat
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from PIL import Image

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")


@dataclass(frozen=True)
class ZipLimits:
    max_members: int = 100_000
    max_member_bytes: int = 64 * 1024**2  # uncompressed size of one member
    max_total_bytes: int = 2 * 1024**3  # uncompressed size of all images read
    max_ratio: float = 200.0  # uncompressed / compressed, per member
    max_pixels: int = 40_000_000  # per image, checked before decoding


class ZipDatasetError(ValueError):
    """The archive cannot be used at all; the message says why."""


def read_zip_images(path: Path, limits: ZipLimits = ZipLimits()) -> Iterator[tuple[str, Image.Image]]:
    """Yield (member name, decoded PIL image) for each acceptable image in the archive."""
    if not zipfile.is_zipfile(path):
        raise ZipDatasetError(f"{Path(path).name} is not a zip archive")
    skipped: list[str] = []
    found = 0
    total = 0
    with zipfile.ZipFile(path) as zf:
        members = zf.infolist()
        if len(members) > limits.max_members:
            raise ZipDatasetError(f"{Path(path).name} has {len(members)} entries; the limit is {limits.max_members}")
        for info in members:
            name = info.filename
            reason = _member_problem(info, limits)
            if reason is None and total + info.file_size > limits.max_total_bytes:
                reason = f"the archive's images exceed {limits.max_total_bytes // 1024**2} MB uncompressed in total"
            if reason:
                if reason != "folder":
                    skipped.append(f"{name}: {reason}")
                continue
            try:
                data = _read_bounded(zf, info, limits.max_member_bytes)
                img = _decode(data, limits.max_pixels)
            except Exception as exc:  # noqa: BLE001 - any failure skips this member with its reason
                skipped.append(f"{name}: not a readable image ({exc})")
                continue
            total += len(data)
            found += 1
            yield name, img
    for line in skipped:
        logger.warning("zip %s: skipped %s", Path(path).name, line)
    if found == 0:
        detail = "; ".join(skipped[:5]) or "the archive is empty"
        raise ZipDatasetError(f"no usable images in {Path(path).name} ({detail})")


def _member_problem(info: zipfile.ZipInfo, limits: ZipLimits) -> str | None:
    name = info.filename
    if info.is_dir():
        return "folder"
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        return "symbolic links are not followed"
    if name.startswith(("/", "\\")) or ".." in Path(name).parts or ":" in name.split("/")[0]:
        return "absolute or parent-directory paths are refused"
    if name.lower().endswith(".zip"):
        return "nested archives are not opened"
    if not name.lower().endswith(IMAGE_EXTENSIONS):
        return f"not an image file (allowed: {', '.join(IMAGE_EXTENSIONS)})"
    if info.file_size > limits.max_member_bytes:
        return f"larger than {limits.max_member_bytes // 1024**2} MB uncompressed"
    if info.compress_size and info.file_size / info.compress_size > limits.max_ratio:
        return f"compression ratio above {limits.max_ratio:.0f} (zip bomb guard)"
    return None


def _read_bounded(zf: zipfile.ZipFile, info: zipfile.ZipInfo, max_bytes: int) -> bytes:
    """Read at most ``max_bytes``: the header's size field can lie, the stream cannot."""
    with zf.open(info) as fh:
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ValueError(f"decompresses to more than {max_bytes // 1024**2} MB")
    return data


def _decode(data: bytes, max_pixels: int) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        img = Image.open(io.BytesIO(data))
        w, h = img.size
        if w * h > max_pixels:
            raise ValueError(f"{w}x{h} pixels is above the {max_pixels:,} pixel limit (decompression bomb guard)")
        img.load()
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16-bit grayscale: scale to 8 bits instead of clipping
        img = img.point(lambda v: v / 256).convert("L")
    elif img.mode in ("P", "PA", "LA", "RGBA", "CMYK", "YCbCr", "1"):
        img = img.convert("RGBA").convert("RGB") if img.mode in ("P", "PA", "RGBA", "LA") else img.convert("RGB")
    return img
