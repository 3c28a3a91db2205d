"""Hostile .zip uploads: every trick gets a clear message naming the member and the rule, nothing is written
anywhere, and the good images of the same archive still load."""

import io
import itertools
import re
import stat
import struct
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dcgan_studio import safe_zip
from dcgan_studio.data import load_dataset, load_image_zip
from dcgan_studio.safe_zip import RULES, Skipped, ZipDatasetError, ZipLimits, decode_image, read_zip_images, to_8bit


def _png(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


GOOD = _png(Image.new("RGB", (40, 30), (10, 200, 30)))


def _zip(path: Path, entries, compression=zipfile.ZIP_DEFLATED) -> Path:
    """entries: (ZipInfo or name, bytes)."""
    with zipfile.ZipFile(path, "w", compression) as zf:
        for info, data in entries:
            if isinstance(info, str):
                info = zipfile.ZipInfo(info)
                info.compress_type = compression
            zf.writestr(info, data)
    return path


DEFAULT_LIMITS = ZipLimits()


def _read(path, limits=DEFAULT_LIMITS):
    skipped: list[Skipped] = []
    try:
        images = dict(read_zip_images(path, limits, skipped))
    except ZipDatasetError as exc:
        assert exc.skipped == skipped
        return None, skipped, str(exc)
    return images, skipped, None


def _rules(skipped):
    return {s.name: s.rule for s in skipped}


def _symlink(name: str, target: str):
    info = zipfile.ZipInfo(name)
    info.create_system = 3  # unix
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info, target.encode()


def _huge_png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height (the pixels are never there): a decompression bomb's first step."""
    data = bytearray(_png(Image.new("L", (1, 1))))
    ihdr = 8  # after the signature: length(4) 'IHDR'(4) data(13) crc(4)
    data[ihdr + 8 : ihdr + 16] = struct.pack(">II", width, height)
    data[ihdr + 21 : ihdr + 25] = struct.pack(">I", zlib.crc32(bytes(data[ihdr + 4 : ihdr + 21])))
    return bytes(data)


def _files_around(tmp_path: Path) -> set[str]:
    roots = [tmp_path.parent, Path.cwd()]
    return {
        str(p)
        for root in roots
        for p in root.rglob("*")
        if "__pycache__" not in p.parts
        and ".pytest_cache" not in p.parts
        and ".hypothesis" not in p.parts
        and ".git" not in p.parts
    }


def test_every_hostile_member_is_named_with_its_rule_and_good_images_still_load(tmp_path):
    big_zeros = b"\0" * (8 * 1024**2)
    entries = [
        ("good/one.png", GOOD),
        ("../escape.png", GOOD),
        ("a/../../escape2.png", GOOD),
        ("/tmp/dcgan_abs_evil.png", GOOD),
        ("C:/windows/evil.png", GOOD),
        ("..\\backslash_escape.png", GOOD),
        _symlink("link.png", "/etc/passwd"),
        _symlink("linkdir", "/"),
        ("bomb.bmp", big_zeros),  # 8 MB of zeros deflate to ~8 KB: ratio ~1000
        ("inner.zip", _zip(tmp_path / "inner.zip", [("x.png", GOOD)]).read_bytes()),
        ("inner.tar.gz", b"\x1f\x8b" + b"\0" * 30),
        ("readme.txt", b"hello"),
        ("run.sh", b"#!/bin/sh\nrm -rf /\n"),
        ("fake.png", b"this is not a png at all"),
        ("truncated.png", GOOD[: len(GOOD) // 2]),
        ("truncated.jpg", _png(Image.new("RGB", (64, 64), "red"), "JPEG")[:300]),
        ("bomb_header.png", _huge_png_header(20_000, 20_000)),  # 400 M pixels: over our limit and Pillow's
        ("eps_in_disguise.png", b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n"),
        ("folder/", b""),
        ("good/two.jpg", _png(Image.new("RGB", (50, 50), "blue"), "JPEG")),
    ]
    archive = _zip(tmp_path / "hostile.zip", entries)
    before = _files_around(tmp_path)
    images, skipped, error = _read(archive)
    assert error is None
    assert sorted(images) == ["good/one.png", "good/two.jpg"]
    assert all(img.mode in ("L", "RGB") for img in images.values())
    rules = _rules(skipped)
    assert rules == {
        "../escape.png": "path",
        "a/../../escape2.png": "path",
        "/tmp/dcgan_abs_evil.png": "path",
        "C:/windows/evil.png": "path",
        "..\\backslash_escape.png": "path",
        "link.png": "symlink",
        "linkdir": "symlink",
        "bomb.bmp": "ratio",
        "inner.zip": "nested-archive",
        "inner.tar.gz": "nested-archive",
        "readme.txt": "not-an-image",
        "run.sh": "not-an-image",
        "fake.png": "corrupt-image",
        "truncated.png": "corrupt-image",
        "truncated.jpg": "corrupt-image",
        "bomb_header.png": "pixels",
        "eps_in_disguise.png": "corrupt-image",  # Pillow may not even try EPS (it would run Ghostscript)
    }
    for s in skipped:  # each message names the member and says the rule in words
        assert s.name in str(s) and RULES[s.rule].split(" (")[0] in s.detail, s
    bomb = re.search(r"(\d+):1, the limit is 200:1", next(s.detail for s in skipped if s.name == "bomb.bmp"))
    assert bomb and int(bomb.group(1)) > 1000  # 8 MB of zeros deflate about 1000:1
    # nothing was extracted or written anywhere: the test's temp tree and the working folder are unchanged
    assert _files_around(tmp_path) == before
    for p in (
        "/tmp/dcgan_abs_evil.png",
        tmp_path.parent / "escape.png",
        tmp_path / "escape.png",
        Path.cwd() / "escape.png",
    ):
        assert not Path(p).exists()


def test_the_dataset_loader_uses_the_good_images_and_reports_the_rest(tmp_path):
    archive = _zip(tmp_path / "mixed.zip", [("ok.png", GOOD), ("../x.png", GOOD), ("notes.txt", b"x")])
    skipped = []
    ds = load_image_zip(archive, 32, 3, skipped=skipped)
    assert ds.images.shape == (1, 3, 32, 32)
    assert [(s.name, s.rule) for s in skipped] == [("../x.png", "path"), ("notes.txt", "not-an-image")]
    assert load_dataset("zip", 32, 1, archive).images.shape == (1, 1, 32, 32)  # the plain entry point still works


def test_an_archive_with_nothing_usable_is_one_clear_error(tmp_path):
    empty = _zip(tmp_path / "empty.zip", [])
    with pytest.raises(ZipDatasetError, match="empty.zip.*the archive is empty"):
        list(read_zip_images(empty))
    only_bad = _zip(tmp_path / "bad.zip", [("../a.png", GOOD), ("b.txt", b"")])
    with pytest.raises(
        ZipDatasetError, match=r"\.\./a\.png.*absolute or parent-directory.*b\.txt: not an image"
    ) as info:
        list(read_zip_images(only_bad))
    assert [s.rule for s in info.value.skipped] == ["path", "not-an-image"]
    folders_only = _zip(tmp_path / "folders.zip", [("a/", b""), ("a/b/", b"")])
    with pytest.raises(ZipDatasetError, match="empty"):
        list(read_zip_images(folders_only))
    not_zip = tmp_path / "photo.zip"
    not_zip.write_bytes(GOOD)
    with pytest.raises(ZipDatasetError, match="not a zip archive"):
        list(read_zip_images(not_zip))
    with pytest.raises(ZipDatasetError, match="not a zip archive"):
        list(read_zip_images(tmp_path / "missing.zip"))


def test_size_count_and_total_limits(tmp_path):
    noise = _png(Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 200, 3), dtype=np.uint8)))  # ~120 KB
    archive = _zip(tmp_path / "many.zip", [(f"{i}.png", noise) for i in range(5)])
    _, skipped, error = _read(archive, ZipLimits(max_member_bytes=50_000))
    assert error and {s.rule for s in skipped} == {"member-size"} and "50,000" in error
    images, skipped, _ = _read(archive, ZipLimits(max_total_bytes=3 * len(noise) + 10))
    assert len(images) == 3 and [s.rule for s in skipped] == ["total-size", "total-size"]
    _, _, error = _read(archive, ZipLimits(max_members=4))
    assert "5 entries; the limit is 4" in error
    # a small flat image compresses far beyond 200:1 but is harmless: only members above ratio_min_bytes are judged
    flat = _zip(tmp_path / "flat.zip", [("flat.bmp", _png(Image.new("L", (600, 600)), "BMP"))])
    images, skipped, _ = _read(flat)
    assert list(images) == ["flat.bmp"] and not skipped
    images, skipped, _ = _read(flat, ZipLimits(ratio_min_bytes=0))
    assert images is None and skipped[0].rule == "ratio"


def _patch_central_dir(data: bytes, name: bytes, offset: int, fmt: str, value: int) -> bytes:
    """Change one field of a member's central-directory record (what zipfile trusts for sizes and flags)."""
    at = data.index(b"PK\x01\x02")
    while True:
        n = struct.unpack("<H", data[at + 28 : at + 30])[0]
        if data[at + 46 : at + 46 + n] == name:
            break
        at = data.index(b"PK\x01\x02", at + 4)
    return data[: at + offset] + struct.pack(fmt, value) + data[at + offset + struct.calcsize(fmt) :]


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_members_whose_headers_lie_are_refused(tmp_path, method):
    zeros = b"\0" * (4 * 1024**2)
    raw = _zip(
        tmp_path / "src.zip",
        [
            ("ok.png", GOOD),
            ("small_lie.png", GOOD),
            ("big_lie.png", GOOD),
            ("bomb_lie.bmp", zeros),
            ("locked.png", GOOD),
        ],
        method,
    ).read_bytes()
    raw = _patch_central_dir(raw, b"small_lie.png", 24, "<I", 10)  # claims 10 bytes uncompressed
    raw = _patch_central_dir(raw, b"big_lie.png", 24, "<I", len(GOOD) + 5000)  # claims more than there is
    raw = _patch_central_dir(raw, b"bomb_lie.bmp", 24, "<I", 100)  # hides a 4 MB member from the ratio rule
    raw = _patch_central_dir(raw, b"locked.png", 8, "<H", 0x1)  # "encrypted"
    archive = tmp_path / "liar.zip"
    archive.write_bytes(raw)
    images, skipped, error = _read(archive)
    assert error is None and list(images) == ["ok.png"]
    rules = _rules(skipped)
    assert rules == {
        "small_lie.png": "corrupt-entry",
        "big_lie.png": "corrupt-entry",
        "bomb_lie.bmp": "corrupt-entry",
        "locked.png": "encrypted",
    }, skipped


def test_a_damaged_central_directory_is_a_clear_error(tmp_path):
    raw = bytearray(_zip(tmp_path / "src.zip", [("a.png", GOOD), ("b.png", GOOD)]).read_bytes())
    eocd = raw.rindex(b"PK\x05\x06")
    raw[eocd + 16 : eocd + 20] = struct.pack("<I", 3)  # the central directory "starts" inside the first member
    bad = tmp_path / "damaged.zip"
    bad.write_bytes(bytes(raw))
    with pytest.raises(ZipDatasetError, match="damaged.zip"):
        list(read_zip_images(bad))


def test_pillow_decompression_bomb_beyond_pillows_own_limit(tmp_path):
    archive = _zip(tmp_path / "bomb.zip", [("huge.png", _huge_png_header(65_000, 65_000)), ("ok.png", GOOD)])
    images, skipped, _ = _read(archive)
    assert list(images) == ["ok.png"] and skipped[0].rule == "pixels" and "huge.png" in str(skipped[0])
    # and our own, lower limit, checked from the header before any pixel is decoded
    archive = _zip(tmp_path / "medium.zip", [("m.png", _png(Image.new("L", (300, 300)))), ("ok.png", GOOD)])
    images, skipped, _ = _read(archive, ZipLimits(max_pixels=50_000))
    assert list(images) == ["ok.png"] and "300x300" in skipped[0].detail


# ----------------------------------------------------------------------------------------------- archive budgets


@pytest.fixture(scope="module")
def blank_5000() -> bytes:
    """A real 5000x5000 blank PNG (25M pixels, under the core's per-image limit): a few kB to store, 25 MB decoded."""
    return _png(Image.new("L", (5000, 5000)))


def _decoded_sizes(monkeypatch) -> list[tuple[int, int]]:
    """The sizes of the images safe_zip decodes from now on (filled as it goes)."""
    sizes: list[tuple[int, int]] = []
    load = safe_zip._load

    def recording(img):
        sizes.append(img.size)
        return load(img)

    monkeypatch.setattr(safe_zip, "_load", recording)
    return sizes


def test_the_pixel_budget_refuses_members_from_their_headers_before_decoding(tmp_path, monkeypatch, blank_5000):
    assert len(blank_5000) < 100_000
    small = _png(Image.new("L", (40, 30), 7))  # 1,200 pixels each
    archive = _zip(
        tmp_path / "budget.zip",
        [("a.png", small), ("big.png", blank_5000), ("b.png", small), ("c.png", small), ("d.png", small)],
    )
    decoded = _decoded_sizes(monkeypatch)
    images, skipped, error = _read(archive, ZipLimits(max_total_pixels=3_000))
    assert error is None and sorted(images) == ["a.png", "b.png"]  # 2,400 pixels; a third would make 3,600
    assert [(s.name, s.rule) for s in skipped] == [
        ("big.png", "pixel-budget"),
        ("c.png", "pixel-budget"),
        ("d.png", "pixel-budget"),
    ]
    assert "5000x5000 is over what is left of the 3,000 pixels" in skipped[0].detail
    assert decoded == [(40, 30), (40, 30)]  # the 5000x5000 member was never decoded
    # nothing fits: one clear error naming the rule
    with pytest.raises(ZipDatasetError, match=r"no usable images in budget\.zip .*pixel-budget"):
        list(read_zip_images(archive, ZipLimits(max_total_pixels=1_000)))
    # the core's default has no budget: the CLI reads the same archive whole
    images, skipped, _ = _read(archive)
    assert len(images) == 5 and not skipped and ZipLimits().max_total_pixels is None


def test_the_time_budget_stops_reading_between_members(tmp_path):
    archive = _zip(tmp_path / "slow.zip", [(f"{i}.png", GOOD) for i in range(5)] + [("dir/", b"")])
    ticks = itertools.count(0, 10)  # every look at the clock is 10 s later: reading starts at 0

    def clock() -> float:
        return float(next(ticks))

    skipped: list[Skipped] = []
    names = [name for name, _ in read_zip_images(archive, ZipLimits(max_seconds=25), skipped, clock=clock)]
    assert names == ["0.png", "1.png"]  # checked at 10 s and 20 s; at 30 s the rest is left unread
    assert [(s.name, s.rule) for s in skipped] == [(f"{i}.png", "time-budget") for i in (2, 3, 4)]
    assert "took too long" in skipped[0].detail and "25 s" in skipped[0].detail
    with pytest.raises(ZipDatasetError, match=r"no usable images in slow\.zip .*took too long.*\[time-budget\]"):
        list(read_zip_images(archive, ZipLimits(max_seconds=5), clock=itertools.count(0, 10).__next__))
    assert ZipLimits().max_seconds is None  # off in the core


def test_16_bit_images_decode_without_widening(tmp_path):
    side = 1500
    data = _png(Image.fromarray(np.full((side, side), 51_400, np.uint16)))  # 2.25M pixels of 16 bits
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        img = decode_image(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert img.mode == "L" and img.size == (side, side) and img.getpixel((7, 9)) == 51_400 >> 8
    assert peak < 4 * side * side, f"decoding took {peak / side**2:.1f} bytes a pixel"  # the old path took 10+


# ----------------------------------------------------------------------------------------------- pixel formats


def _one(tmp_path, name, data, channels=3):
    archive = _zip(tmp_path / f"{name}.zip", [(name, data)])
    (img,) = [im for _, im in read_zip_images(archive)]
    ds = load_image_zip(archive, 32, channels)
    return img, ds.images[0]


def test_16_bit_grayscale_is_scaled_not_clipped(tmp_path):
    ramp = (np.arange(64 * 64, dtype=np.uint32).reshape(64, 64) * 16).astype(np.uint16)  # 0 .. 65520
    img16 = Image.fromarray(ramp)
    data = _png(img16)
    assert Image.open(io.BytesIO(data)).mode.startswith("I")
    img, tensor = _one(tmp_path, "deep.png", data, channels=1)
    arr = np.asarray(img)
    assert img.mode == "L" and arr.min() == 0 and arr.max() == 65520 >> 8  # a ramp, not a white square
    assert len(np.unique(arr)) > 200
    rgb16 = _png(Image.fromarray(ramp), "TIFF")
    img, _ = _one(tmp_path, "deep.tif", rgb16)
    assert np.asarray(img).max() == 255


def test_cmyk_rgba_palette_la_and_1bit_images(tmp_path):
    img, t = _one(tmp_path, "cmyk.jpg", _png(Image.new("CMYK", (32, 32), (0, 255, 255, 0)), "JPEG"))  # pure red ink
    assert img.mode == "RGB" and t[0].float().mean() > 200 and t[1].float().mean() < 60
    # RGBA: transparent pixels hiding pure red must become the white background, not red
    rgba = Image.new("RGBA", (32, 32), (255, 0, 0, 0))
    rgba.paste((0, 0, 255, 255), (0, 0, 16, 32))
    img, t = _one(tmp_path, "alpha.png", _png(rgba))
    assert img.getpixel((0, 0)) == (0, 0, 255) and img.getpixel((31, 0)) == (255, 255, 255)
    half = Image.new("RGBA", (8, 8), (0, 0, 0, 128))
    img, _ = _one(tmp_path, "half.png", _png(half))
    assert all(abs(c - 127) <= 1 for c in img.getpixel((0, 0)))  # 50% black over white
    # palette, with and without a transparent index
    pal = Image.new("P", (16, 16), 1)
    pal.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    img, _ = _one(tmp_path, "pal.png", _png(pal))
    assert img.mode == "RGB" and img.getpixel((0, 0)) == (255, 0, 0)
    img, _ = _one(tmp_path, "paltrans.png", _png(pal, transparency=1))
    assert img.getpixel((0, 0)) == (255, 255, 255)
    img, _ = _one(tmp_path, "palgif.gif", _png(pal, "GIF", transparency=1))
    assert img.getpixel((0, 0)) == (255, 255, 255)
    img, t = _one(tmp_path, "la.png", _png(Image.new("LA", (8, 8), (0, 0))), channels=1)
    assert img.mode == "L" and img.getpixel((0, 0)) == 255 and t.min() == 255
    img, _ = _one(tmp_path, "bits.png", _png(Image.new("1", (8, 8), 1)))
    assert img.mode == "L" and img.getpixel((0, 0)) == 255
    img, _ = _one(tmp_path, "float.tif", _png(Image.fromarray(np.full((8, 8), 0.5, np.float32)), "TIFF"))
    assert img.mode == "L" and img.getpixel((0, 0)) in (127, 128)
    img, _ = _one(tmp_path, "ycbcr.webp", _png(Image.new("RGB", (8, 8), (0, 255, 0)), "WEBP", lossless=True))
    assert img.getpixel((0, 0)) == (0, 255, 0)


def test_to_8bit_handles_every_mode_pillow_makes():
    for mode in (
        "1",
        "L",
        "P",
        "RGB",
        "RGBA",
        "CMYK",
        "YCbCr",
        "LAB",
        "HSV",
        "I",
        "F",
        "LA",
        "PA",
        "RGBX",
        "RGBa",
        "La",
        "I;16",
        "I;16B",
        "I;16L",
    ):
        try:
            img = Image.new(mode, (4, 4))
        except (ValueError, OSError):
            continue
        out = to_8bit(img)
        assert out.mode in ("L", "RGB"), mode
