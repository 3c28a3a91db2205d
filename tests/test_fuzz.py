"""Bounded fuzzing (hypothesis, derandomised so CI is repeatable) of the two loaders that read untrusted files:
random bytes and mutated valid files must give a result or the documented error type, never another exception,
and never take long."""

import io
import time
import zipfile

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from support import TINY

from dcgan_studio import checkpoint as ckpt
from dcgan_studio.config import ModelConfig
from dcgan_studio.models import Discriminator, Generator
from dcgan_studio.safe_zip import ZipDatasetError, ZipLimits, read_zip_images

FUZZ = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
LIMITS = ZipLimits(max_members=50, max_member_bytes=2 * 1024**2, max_total_bytes=8 * 1024**2, max_pixels=1_000_000)
SLOW_S = 10.0  # one example taking longer than this counts as a hang


def _image(fmt, mode="RGB", size=(12, 9)):
    buf = io.BytesIO()
    Image.new(mode, size, 128 if mode in ("L", "P") else (1, 2, 3, 4)[: len(mode)]).save(buf, fmt)
    return buf.getvalue()


def _seed_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(zipfile.ZipInfo("a.png"), _image("PNG"))
        info = zipfile.ZipInfo("dir/b.jpg")
        info.compress_type = zipfile.ZIP_DEFLATED
        zf.writestr(info, _image("JPEG"))
        zf.writestr("c.gif", _image("GIF", "P"))
        zf.writestr("d.bmp", _image("BMP", "L"))
        zf.writestr("notes.txt", b"x" * 40)
    return buf.getvalue()


SEED_ZIP = _seed_zip()


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def seed_checkpoints(work):
    torch.manual_seed(0)
    G, D = Generator(ModelConfig(**TINY)), Discriminator(ModelConfig(**TINY))
    return {
        "generator": ckpt.save_generator(work / "seed_g.safetensors", G).read_bytes(),
        "models": ckpt.save_models(work / "seed_m.safetensors", G, D).read_bytes(),
    }


def _mutate(data: bytes, edits, cut) -> bytes:
    out = bytearray(data)
    for pos, value in edits:
        out[pos % len(out)] = value
    return bytes(out[:cut]) if cut is not None else bytes(out)


def _zip_outcome(path):
    t0 = time.perf_counter()
    try:
        for name, img in read_zip_images(path, LIMITS):
            assert img.mode in ("L", "RGB") and img.size[0] * img.size[1] <= LIMITS.max_pixels, name
    except ZipDatasetError:
        pass
    assert time.perf_counter() - t0 < SLOW_S


edits = st.lists(st.tuples(st.integers(0, 1 << 30), st.integers(0, 255)), min_size=1, max_size=12)


@FUZZ
@given(data=st.binary(max_size=4096))
def test_zip_loader_on_random_bytes(work, data):
    path = work / "random.zip"
    path.write_bytes(data)
    _zip_outcome(path)
    path.write_bytes(b"PK\x03\x04" + data)  # looks like a zip at first glance
    _zip_outcome(path)


@FUZZ
@given(edits=edits, cut=st.one_of(st.none(), st.integers(0, len(SEED_ZIP))), focus_tail=st.booleans())
def test_zip_loader_on_mutated_archives(work, edits, cut, focus_tail):
    if focus_tail:  # aim at the central directory and end record, where sizes, offsets and names live
        tail = SEED_ZIP.rindex(b"PK\x01\x02") - 200
        edits = [(tail + pos % (len(SEED_ZIP) - tail), v) for pos, v in edits]
    path = work / "mutated.zip"
    path.write_bytes(_mutate(SEED_ZIP, edits, cut))
    _zip_outcome(path)


def _checkpoint_outcome(path):
    t0 = time.perf_counter()
    for load in (
        ckpt.read_metadata,
        ckpt.load_generator,
        ckpt.load_discriminator,
        ckpt.load_training_state,
        ckpt.verify_file,
    ):
        try:
            load(path)
        except ckpt.CheckpointError:
            pass
    assert time.perf_counter() - t0 < SLOW_S


@FUZZ
@given(
    data=st.binary(max_size=4096),
    prefix=st.sampled_from([b"", b"\x10\x00\x00\x00\x00\x00\x00\x00{", b"\x02\x00\x00\x00\x00\x00\x00\x00{}"]),
)
def test_checkpoint_reader_on_random_bytes(work, data, prefix):
    path = work / "random.safetensors"
    path.write_bytes(prefix + data)
    _checkpoint_outcome(path)


@FUZZ
@given(
    which=st.sampled_from(["generator", "models"]),
    edits=edits,
    cut=st.one_of(st.none(), st.integers(0, 1 << 20)),
    in_header=st.booleans(),
)
def test_checkpoint_reader_on_mutated_files(work, seed_checkpoints, which, edits, cut, in_header):
    data = seed_checkpoints[which]
    if in_header:  # most edits of the tensor bytes only change weights: aim at the JSON header instead
        header_end = 8 + int.from_bytes(data[:8], "little")
        edits = [(pos % header_end, v) for pos, v in edits]
    path = work / "mutated.safetensors"
    path.write_bytes(_mutate(data, edits, None if cut is None else cut % (len(data) + 1)))
    _checkpoint_outcome(path)


@FUZZ
@given(
    key=st.sampled_from(["format", "format_version", "model_config"]),
    value=st.one_of(
        st.text(max_size=60),
        st.from_regex(r'\{"image_size": -?\d{1,12}, "nz": -?\d{1,12}, "ngf": \d{1,5}\}', fullmatch=True),
    ),
)
def test_checkpoint_reader_on_hostile_metadata_values(work, seed_checkpoints, key, value):
    from safetensors.torch import load, save

    tensors = load(seed_checkpoints["models"])
    meta, _ = ckpt.read_header(work / "seed_m.safetensors")
    path = work / "meta.safetensors"
    path.write_bytes(save(tensors, metadata={**meta, key: value}))
    _checkpoint_outcome(path)
