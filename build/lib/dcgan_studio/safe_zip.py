"""Reading images out of a user's .zip without trusting it.

Nothing is extracted to disk (so ``../`` names, absolute paths and symlinks cannot write or read anywhere);
members are read into memory one at a time under limits on count, size, total size and compression ratio (zip
bombs), and each image is decoded by Pillow, restricted to the image formats we list (so no Pillow plugin that
shells out, such as EPS via Ghostscript, ever runs), with its pixel count checked from the header before decoding
(decompression bombs). Two budgets bound the whole archive: decoded pixels summed over its members (each header
is checked against what is left before the member is decoded) and seconds (checked between members); the core's
defaults leave them off, a public Studio sets them (``app/settings.py`` ``zip_limits``). A bad member is skipped with
a ``Skipped`` record naming it and the rule it broke; the caller can collect them (``skipped=[]``) to show them, and
they are logged. An archive with no good image is a ``ZipDatasetError`` that carries the same list.

Pixel formats are normalised to 8-bit L or RGB: 16-bit and 32-bit grayscale are scaled (not clipped), images with
transparency (RGBA, LA, palette with a transparent colour) are composited on white rather than having their alpha
dropped (which would show whatever colour hides under transparent pixels), CMYK/YCbCr/1-bit are converted.
Deep images are scaled in strips of rows straight into the 8-bit result, so decoding never holds a wide (int64 or
float64) copy of a whole image.
"""

from __future__ import annotations

import io
import logging
import stat
import time
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from . import limits as L
from .errors import UserError

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
PIL_FORMATS = ("PNG", "JPEG", "BMP", "DIB", "GIF", "WEBP", "TIFF")  # what Image.open may try, nothing else
ARCHIVE_EXTENSIONS = (".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".jar")
BACKGROUND = (255, 255, 255)  # transparent pixels become white

# rule ids (stable, for a UI or a test to match on) -> what the message says
RULES = {
    "path": "absolute or parent-directory paths are refused",
    "symlink": "symbolic links are not followed",
    "nested-archive": "archives inside the archive are not opened",
    "not-an-image": "not an image file",
    "encrypted": "encrypted entries cannot be read",
    "member-size": "the entry is too large uncompressed",
    "ratio": "the compression ratio is too high (zip bomb guard)",
    "total-size": "the archive's images are too large uncompressed in total (zip bomb guard)",
    "corrupt-entry": "the entry is damaged or its header lies about its size",
    "pixels": "too many pixels (decompression bomb guard)",
    "corrupt-image": "not a readable image",
    "pixel-budget": "the archive's images hold too many pixels in total (decompression bomb guard)",
    "time-budget": "reading the archive took too long, so this entry was not read",
}
STRIP_PIXELS = 1 << 18  # deep images are scaled to 8 bits this many pixels at a time (about a MB of scratch)


@dataclass(frozen=True)
class ZipLimits:
    max_members: int = L.ZIP_MAX_MEMBERS
    max_member_bytes: int = L.ZIP_MAX_MEMBER_BYTES  # uncompressed size of one member
    max_total_bytes: int = L.ZIP_MAX_TOTAL_BYTES  # uncompressed size of all images read
    max_ratio: float = L.ZIP_MAX_RATIO  # uncompressed / compressed, per member
    ratio_min_bytes: int = L.ZIP_RATIO_MIN_BYTES  # members smaller than this are exempt from the ratio rule
    max_pixels: int = L.MAX_IMAGE_PIXELS  # per image, checked before decoding
    max_total_pixels: int | None = L.ZIP_MAX_TOTAL_PIXELS  # per archive, summed from headers before decoding
    max_seconds: float | None = L.ZIP_MAX_SECONDS  # per archive, checked between members


@dataclass(frozen=True)
class Skipped:
    """One archive member that was not used: its name, the rule it broke (a key of ``RULES``) and the details."""

    name: str
    rule: str
    detail: str

    def __str__(self) -> str:
        return f"{self.name}: {self.detail} [{self.rule}]"


class ZipDatasetError(UserError):
    """The archive cannot be used at all; the message says why, ``skipped`` lists every refused member."""

    def __init__(self, message: str, skipped: list[Skipped] | None = None):
        super().__init__(message)
        self.skipped = list(skipped or [])


class _Refused(Exception):
    def __init__(self, rule: str, detail: str):
        super().__init__(detail)
        self.rule, self.detail = rule, detail


def read_zip_images(
    path: str | Path,
    limits: ZipLimits = ZipLimits(),
    skipped: list[Skipped] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[tuple[str, Image.Image]]:
    """Yield (member name, decoded 8-bit L or RGB PIL image) for each acceptable image in the archive.

    Refused members are appended to ``skipped`` (if given) as they are met, and logged at the end. The time budget
    counts from the first call to ``next`` on ``clock`` (a test passes a fake one), including the caller's work
    between members."""
    path = Path(path)
    out = skipped if skipped is not None else []
    first = len(out)
    try:
        is_zip = path.is_file() and zipfile.is_zipfile(path)
    except OSError as exc:
        raise ZipDatasetError(f"{path.name} cannot be read ({exc})") from None
    if not is_zip:
        raise ZipDatasetError(f"{path.name} is not a zip archive")
    found = 0
    total = 0
    pixels = 0  # decoded so far (header sizes of the members that were decoded)
    started = clock()
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        raise ZipDatasetError(f"{path.name} is a damaged zip archive ({exc})") from None
    with zf:
        members = zf.infolist()
        if len(members) > limits.max_members:
            raise ZipDatasetError(
                f"{path.name} has {len(members)} entries; the limit is {limits.max_members} [member-count]"
            )
        for i, info in enumerate(members):
            if limits.max_seconds is not None and clock() - started > limits.max_seconds:
                detail = f"{RULES['time-budget']} (the limit is {limits.max_seconds:g} s)"
                out.extend(Skipped(m.filename, "time-budget", detail) for m in members[i:] if not m.is_dir())
                break
            try:
                if _check_member(info, limits) == "folder":
                    continue
                if total + info.file_size > limits.max_total_bytes:
                    raise _Refused(
                        "total-size", f"{RULES['total-size']}: over {limits.max_total_bytes / 1024**2:.0f} MB"
                    )
                data = _read_bounded(zf, info, limits.max_member_bytes)
                total += len(data)
                img = _open(data, limits.max_pixels)
                w, h = img.size
                if limits.max_total_pixels is not None and pixels + w * h > limits.max_total_pixels:
                    raise _Refused(
                        "pixel-budget",
                        f"{RULES['pixel-budget']}: {w}x{h} is over what is left of the "
                        f"{limits.max_total_pixels:,} pixels one archive may decode",
                    )
                pixels += w * h  # counted once decoding starts, whether or not it succeeds
                img = _load(img)
            except _Refused as exc:
                out.append(Skipped(info.filename, exc.rule, exc.detail))
                continue
            found += 1
            yield info.filename, img
    new = out[first:]
    for item in new[:20]:
        logger.warning("zip %s: skipped %s", path.name, item)
    if len(new) > 20:
        logger.warning("zip %s: skipped %d more entries", path.name, len(new) - 20)
    if found == 0:
        detail = "; ".join(str(s) for s in new[:5]) + (f"; and {len(new) - 5} more" if len(new) > 5 else "")
        raise ZipDatasetError(f"no usable images in {path.name} ({detail or 'the archive is empty'})", new)


def _check_member(info: zipfile.ZipInfo, limits: ZipLimits) -> str | None:
    """Refuse a member from its directory entry alone (before reading a byte of it); 'folder' for folders."""
    name = info.filename
    unix = name.replace("\\", "/")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise _Refused("symlink", RULES["symlink"])
    parts = PurePosixPath(unix).parts
    if unix.startswith("/") or ".." in parts or (parts and ":" in parts[0]) or "\x00" in name:
        raise _Refused("path", RULES["path"])
    if info.is_dir() or unix.endswith("/"):
        return "folder"
    lower = unix.lower()
    if lower.endswith(ARCHIVE_EXTENSIONS):
        raise _Refused("nested-archive", RULES["nested-archive"])
    if not lower.endswith(IMAGE_EXTENSIONS):
        raise _Refused("not-an-image", f"{RULES['not-an-image']} (allowed: {', '.join(IMAGE_EXTENSIONS)})")
    if info.flag_bits & 0x1:
        raise _Refused("encrypted", RULES["encrypted"])
    if info.file_size > limits.max_member_bytes:
        raise _Refused(
            "member-size", f"{RULES['member-size']}: {info.file_size:,} bytes, the limit is {limits.max_member_bytes:,}"
        )
    if info.file_size > limits.ratio_min_bytes and info.file_size > limits.max_ratio * max(info.compress_size, 1):
        ratio = info.file_size / max(info.compress_size, 1)
        raise _Refused("ratio", f"{RULES['ratio']}: {ratio:.0f}:1, the limit is {limits.max_ratio:.0f}:1")
    return None


def _read_bounded(zf: zipfile.ZipFile, info: zipfile.ZipInfo, max_bytes: int) -> bytes:
    """Read at most ``max_bytes``: the header's size field can lie, the stream is cut off and its CRC checked."""
    try:
        with zf.open(info) as fh:
            data = fh.read(max_bytes + 1)
    except Exception as exc:  # noqa: BLE001 - BadZipFile (CRC), EOFError, zlib.error, NotImplementedError, ...
        raise _Refused("corrupt-entry", f"{RULES['corrupt-entry']} ({type(exc).__name__}: {exc})") from None
    if len(data) > max_bytes:
        raise _Refused("member-size", f"{RULES['member-size']}: decompresses to more than {max_bytes:,} bytes")
    if len(data) != info.file_size:
        raise _Refused(
            "corrupt-entry", f"{RULES['corrupt-entry']} (it claims {info.file_size:,} bytes, holds {len(data):,})"
        )
    return data


def _open(data: bytes, max_pixels: int) -> Image.Image:
    """The image's header parsed (no pixel decoded yet), refused if it claims more than ``max_pixels``."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data), formats=PIL_FORMATS)
            w, h = img.size
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise _Refused("pixels", f"{RULES['pixels']}: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - UnidentifiedImageError, SyntaxError, struct.error, ...
            raise _Refused("corrupt-image", f"{RULES['corrupt-image']} ({type(exc).__name__}: {exc})") from None
    if w * h > max_pixels:
        raise _Refused("pixels", f"{RULES['pixels']}: {w}x{h} is above the limit of {max_pixels:,} pixels")
    return img


def _load(img: Image.Image) -> Image.Image:
    """Decode an opened image's pixels and normalise them to 8-bit L or RGB."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img.load()
            return to_8bit(img)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise _Refused("pixels", f"{RULES['pixels']}: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - truncated data, bad tables, odd modes
            raise _Refused("corrupt-image", f"{RULES['corrupt-image']} ({type(exc).__name__}: {exc})") from None


def decode_image(data: bytes, max_pixels: int = L.MAX_IMAGE_PIXELS) -> Image.Image:
    """One image (bytes of a file) decoded with the same guards as archive members: safe formats only, the pixel
    count checked before decoding, an 8-bit 'L'/'RGB' result. A ``ValueError`` says what was wrong."""
    try:
        return _load(_open(data, max_pixels))
    except _Refused as exc:
        raise ValueError(exc.detail) from None


def to_8bit(img: Image.Image) -> Image.Image:
    """An 8-bit 'L' or 'RGB' image from any Pillow mode, without clipping or revealing hidden colours."""
    mode = img.mode
    if mode in ("L", "RGB"):
        return img
    if mode.startswith("I;16"):  # 16-bit grayscale: the high byte, computed in 16 bits
        return _strips(img, lambda a, out: np.right_shift(a, 8, out=out, casting="unsafe"))
    if mode == "I":  # 32-bit grayscale, which holds 8- or 16-bit values: kept, or clipped to 16 bits and scaled
        lo_hi = _extrema(img)
        if lo_hi is not None and 0 <= lo_hi[0] and lo_hi[1] <= 255:
            return _strips(img, lambda a, out: np.copyto(out, a, casting="unsafe"))  # already 8-bit values
        return _strips(img, lambda a, out: np.right_shift(np.clip(a, 0, 65535), 8, out=out, casting="unsafe"))
    if mode == "F":  # floats: [0, 1] is scaled to [0, 255], anything else clipped; NaN and infinities become 0
        lo_hi = _extrema(img)
        gain = np.float32(255 if lo_hi is not None and 0 <= lo_hi[0] and lo_hi[1] <= 1 else 1)
        return _strips(img, lambda a, out: np.copyto(out, np.clip(_finite(a) * gain, 0, 255).round(), casting="unsafe"))
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode == "P" and "transparency" in img.info)
    if mode in ("LA", "La"):
        rgba = img.convert("LA").convert("RGBA")  # premultiplied La converts only through LA
        gray = True
    elif has_alpha:
        rgba = img.convert("RGBA")
        gray = False
    else:
        gray = mode == "1"
        return img.convert("L" if gray else "RGB")
    background = Image.new("RGBA", rgba.size, BACKGROUND + (255,))
    flat = Image.alpha_composite(background, rgba).convert("RGB")
    return flat.convert("L") if gray else flat


def _row_blocks(img: Image.Image) -> Iterator[np.ndarray]:
    """The image's pixels as arrays of a few rows each (``STRIP_PIXELS`` at most): a whole copy is never made."""
    w, h = img.size
    rows = max(1, STRIP_PIXELS // max(w, 1))
    for top in range(0, h, rows):
        yield np.asarray(img.crop((0, top, w, min(h, top + rows))))


def _finite(a: np.ndarray) -> np.ndarray:
    """Float pixels with NaN and infinities as 0, in their own width (float32 stays float32)."""
    return np.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0)


def _extrema(img: Image.Image) -> tuple[float, float] | None:
    """(min, max) of a one-band image's finite pixel values (NaN and infinities count as 0), None when empty."""
    lo = hi = None
    for a in _row_blocks(img):
        if a.size:
            a = _finite(a) if a.dtype.kind == "f" else a
            lo = a.min() if lo is None else min(lo, a.min())
            hi = a.max() if hi is None else max(hi, a.max())
    return None if lo is None else (float(lo), float(hi))


def _strips(img: Image.Image, scale: Callable[[np.ndarray, np.ndarray], object]) -> Image.Image:
    """An 'L' image made strip by strip: ``scale(block, out)`` writes one block's 8-bit values into ``out``."""
    w, h = img.size
    result = np.empty((h, w), np.uint8)
    top = 0
    for block in _row_blocks(img):
        scale(block, result[top : top + len(block)])
        top += len(block)
    return Image.fromarray(result, "L")
