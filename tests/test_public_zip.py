"""A public Studio reads every uploaded zip under one set of limits (``settings.zip_limits``), in the Train and the
Evaluate tab alike, and refuses a busy start before it decodes any upload: a visitor cannot stall the server with a
small zip. Every input here is small: the "big" image is a blank PNG of a few kB."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest
from PIL import Image
from support import TINY_FORM

pytest.importorskip("gradio")

from dcgan_studio.app import evaluate_tab, train_tab  # noqa: E402
from dcgan_studio.app.errors import StudioError  # noqa: E402
from dcgan_studio.app.jobs import BUSY, Job  # noqa: E402
from dcgan_studio.app.settings import Limits, zip_limits  # noqa: E402
from dcgan_studio.app.studio import make_studio  # noqa: E402
from dcgan_studio.app.visitors import LOCAL_VISITOR, Visitor  # noqa: E402
from dcgan_studio.safe_zip import ZipLimits  # noqa: E402

PUBLIC = Limits.for_mode(True)


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def big_blank_zip(tmp_path_factory) -> Path:
    """One blank 5000x5000 PNG (25M pixels: under the core's 40M per image, over a public Studio's 4096^2)."""
    path = tmp_path_factory.mktemp("zips") / "big.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("big.png", _png(Image.new("L", (5000, 5000))))
    return path


@pytest.fixture
def public_studio(tiny_models_checkpoint, tmp_path):
    return make_studio(tiny_models_checkpoint, tmp_path / "runs", tmp_path / "data", public=True)


def test_one_set_of_public_zip_limits_bounds_pixels_and_time():
    public = zip_limits(PUBLIC)
    assert (public.max_members, public.max_member_bytes, public.max_total_bytes) == (10_000, 16 * 2**20, 256 * 2**20)
    assert (public.max_pixels, public.max_total_pixels, public.max_seconds) == (4096 * 4096, 256 * 2**20, 60.0)
    assert zip_limits(Limits.for_mode(False)) == ZipLimits()  # a local Studio reads as the CLI does
    assert (ZipLimits().max_total_pixels, ZipLimits().max_seconds) == (None, None)


def test_the_train_tab_reads_a_public_zip_under_the_public_pixel_limit(big_blank_zip):
    with pytest.raises(StudioError, match=r"the zip cannot be used: no usable images.*5000x5000.*\[pixels\]"):
        train_tab.load_zip(str(big_blank_zip), 32, 1, PUBLIC)


def test_evaluate_reads_a_public_zip_under_the_public_limits(public_studio, big_blank_zip, tmp_path):
    ckpt = public_studio.models.default(LOCAL_VISITOR)
    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w") as zf:  # 10,001 empty entries: /train_start's limit is 10,000
        for i in range(10_001):
            zf.writestr(f"{i}.png", b"")
    with pytest.raises(StudioError, match="the zip cannot be used: many.zip has 10001 entries; the limit is 10000"):
        evaluate_tab.run_evaluation(
            public_studio, LOCAL_VISITOR, ckpt, evaluate_tab.ZIP_CHOICE, zip_file=str(many), run_probe=False
        )
    with pytest.raises(StudioError, match=r"the zip cannot be used: no usable images.*5000x5000.*\[pixels\]"):
        evaluate_tab.run_evaluation(
            public_studio, LOCAL_VISITOR, ckpt, evaluate_tab.ZIP_CHOICE, zip_file=str(big_blank_zip), run_probe=False
        )


def test_evaluate_reports_on_a_public_zip_and_names_what_it_skipped(public_studio, tmp_path):
    path = tmp_path / "real.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for i in range(12):
            zf.writestr(f"{i}.png", _png(Image.new("L", (32, 32), 20 * i)))
        zf.writestr("notes.txt", b"not an image")
    out = evaluate_tab.run_evaluation(
        public_studio,
        LOCAL_VISITOR,
        public_studio.models.default(LOCAL_VISITOR),
        evaluate_tab.ZIP_CHOICE,
        zip_file=str(path),
        run_probe=False,
    )
    assert out["markdown"].startswith("Skipped 1 member(s) of the zip (the first, `notes.txt`: not an image")
    assert out["report"]["dataset"] == "zip"


def _live_job(studio, visitor: str, client: str | None = None) -> None:
    """Register a job that counts as running (a stand-in trainer: no thread, nothing to stop)."""
    studio.jobs._jobs[visitor] = Job(SimpleNamespace(is_alive=True, run_dir=None), visitor, 0.0, client)


@pytest.mark.parametrize(
    ("who_is_running", "limits", "message"),
    [
        ("me", PUBLIC, BUSY),  # the visitor's own job
        ("other", PUBLIC, "your address already has 1 training run"),  # another session from the same address
        ("far", replace(PUBLIC, max_jobs=1), "the server is busy: 1 training run"),  # no free slot
    ],
)
def test_a_busy_start_is_refused_before_the_zip_is_decoded(
    tiny_models_checkpoint, tmp_path, monkeypatch, big_blank_zip, who_is_running, limits, message
):
    studio = make_studio(tiny_models_checkpoint, tmp_path / "runs", tmp_path / "data", limits=limits)
    clients = {"me": "10.0.0.1", "other": "10.0.0.1", "far": "10.0.0.2"}
    _live_job(studio, who_is_running, clients[who_is_running])

    def no_decoding(*args, **kwargs):
        pytest.fail("the zip was read before the busy check")

    monkeypatch.setattr(train_tab, "load_zip", no_decoding)
    monkeypatch.setattr("dcgan_studio.data.load_image_zip", no_decoding)
    form = TINY_FORM | dict(dataset=train_tab.ZIP_CHOICE, zip_file=str(big_blank_zip))
    with pytest.raises(StudioError, match=re.escape(message)):
        train_tab.start(studio, Visitor("me", "10.0.0.1"), **form)
