"""Public-demo mode: lower caps, a wall-clock limit per job, no server folder paths, a lower upload limit, and each
visitor (a gradio_client session here; a BrowserState id in a browser) sees and controls only their own job, runs
and uploads. Design: one job per visitor, at most Limits.max_jobs live jobs in all (no queue: a Start beyond
that is refused with a "busy" message), each stopped and saved after Limits.max_job_seconds."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from support import TINY_FORM

pytest.importorskip("gradio")
from gradio_client import Client  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402

from dcgan_studio.app import settings, train_tab  # noqa: E402
from dcgan_studio.app.settings import Limits  # noqa: E402
from dcgan_studio.app.studio import make_studio  # noqa: E402
from dcgan_studio.app.visitors import LOCAL  # noqa: E402

FORM = TINY_FORM | dict(epochs=50, max_steps=0, log_every=5, sample_every=0)


def test_public_mode_from_environment():
    assert not settings.public_from_env({})
    assert settings.public_from_env({"DCGAN_STUDIO_PUBLIC": "1"})
    assert settings.public_from_env({"SYSTEM": "spaces"}) and settings.public_from_env({"SPACE_ID": "me/studio"})
    assert not settings.public_from_env({"SPACE_ID": "me/studio", "DCGAN_STUDIO_PUBLIC": "0"})
    spaces = Limits.from_env({"SYSTEM": "spaces", "DCGAN_STUDIO_MAX_JOB_SECONDS": "30", "DCGAN_STUDIO_MAX_JOBS": "3"})
    assert spaces.public and (spaces.max_job_seconds, spaces.max_jobs, spaces.max_file_size) == (30.0, 3, "16mb")
    local = Limits.from_env({})
    assert not local.public and local.max_job_seconds is None and local.max_file_size == "64mb"


def test_the_studio_mode_is_its_limits(tiny_models_checkpoint, tmp_path):
    for public in (False, True):
        studio = make_studio(tiny_models_checkpoint, tmp_path / "runs", tmp_path / "data", public=public)
        assert studio.public is public and studio.limits == Limits.for_mode(public)
        assert studio.jobs.limits is studio.limits and studio.models.public is public


@pytest.fixture(scope="module")
def public_studio(tiny_models_checkpoint, tmp_path_factory):
    from dcgan_studio.app import build_app, launch_options

    limits = replace(Limits.for_mode(public=True), max_job_seconds=4.0, max_jobs=2)
    root = tmp_path_factory.mktemp("public")
    demo = None
    try:
        demo = build_app(shipped=tiny_models_checkpoint, runs_dir=root / "runs", data_dir=root / "data", limits=limits)
        demo.queue(default_concurrency_limit=1)
        _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, server_name="127.0.0.1", **launch_options(limits))
        yield demo, url, root
    finally:
        if demo is not None:
            demo.studio.jobs.stop_and_wait(60)
            demo.close()


def test_visitor_identity(tiny_models_checkpoint, tmp_path):
    studio = make_studio(tiny_models_checkpoint, tmp_path / "runs", tmp_path / "data", public=True)

    class Req:
        def __init__(self, h):
            self.session_hash = h

    vid = "ab" * 16
    assert studio.visitor_for(Req("s1"), vid) == vid  # page load binds the session to the browser's id
    assert studio.visitor_for(Req("s1")) == vid  # later calls of that session
    assert studio.visitor_for(Req("s2")) == "api-s2"  # an API client is its own visitor
    assert studio.visitor_for(Req("s3"), "../../etc") == "api-s3"  # a forged id is ignored
    local = make_studio(tiny_models_checkpoint, tmp_path / "runs", tmp_path / "data", public=False)
    assert local.visitor_for(Req("s2")) == LOCAL


def wait_state(client, states, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        status = client.predict(api_name="/train_status")
        if status["state"] in states:
            return status
        time.sleep(0.3)
    raise AssertionError(f"no state in {states} within {timeout} s: {status}")


def test_public_caps_and_no_folder_paths(public_studio):
    demo, url, _ = public_studio
    c = Client(url, verbose=False)
    assert train_tab.FOLDER_CHOICE not in train_tab.dataset_choices(demo.studio)
    for bad in (
        dict(epochs=51),
        dict(max_steps=3001),
        dict(image_size=128),
        dict(batch_size=129),
        dict(ngf=65),
        dict(dataset=train_tab.FOLDER_CHOICE, folder="data"),
    ):
        with pytest.raises(AppError):
            c.predict(**(FORM | bad), api_name="/train_start")
    with pytest.raises(AppError):
        c.predict(checkpoint=demo.studio.models.default(), seed=0, count=65, truncation=0.0, api_name="/sample")
    r = httpx.post(
        f"{url}gradio_api/upload",
        files={"files": ("big.zip", b"\x00" * (demo.studio.limits.max_upload_mb * 1024**2 + 1024))},
        timeout=60,
    )
    assert demo.studio.limits.max_upload_mb == 16 and r.status_code == 413


def test_visitors_are_kept_apart_and_jobs_time_out(public_studio):
    demo, url, root = public_studio
    a, b, c = (Client(url, verbose=False) for _ in range(3))
    msg_a = a.predict(**FORM, api_name="/train_start")
    assert msg_a.startswith("started") and "stops and saves after" in msg_a
    assert str(root / "runs" / "public") in msg_a  # a per-visitor run folder
    # B sees no job and cannot pause or stop A's
    assert b.predict(api_name="/train_status")["state"] == "idle"
    for action in ("pause", "stop", "resume"):
        with pytest.raises(AppError, match="no training run"):
            b.predict(api_name=f"/train_{action}")
    assert a.predict(api_name="/train_status")["state"] in ("loading", "running")
    # B may run its own job (2 at most), a third visitor is told the server is busy
    assert b.predict(**(FORM | dict(seed=1)), api_name="/train_start").startswith("started")
    with pytest.raises(AppError, match="busy"):
        c.predict(**FORM, api_name="/train_start")
    # both jobs stop by themselves after MAX_JOB_SECONDS and save a checkpoint
    status_a = wait_state(a, ("stopped",), timeout=90)
    wait_state(b, ("stopped",), timeout=90)
    assert "time limit" in status_a["status"] and status_a["step"] > 0
    run_a = Path(status_a["status"].split("run folder `", 1)[1].split("`", 1)[0])
    gen_a = run_a / "generator.safetensors"
    assert gen_a.is_file() and any((run_a / "checkpoints").glob("step_*.safetensors"))
    # A's generator is A's: B cannot sample from it, nor fetch it by path
    a.predict(checkpoint=str(gen_a), seed=0, count=2, truncation=0.0, api_name="/sample")
    with pytest.raises(AppError, match="not one of the checkpoints"):
        b.predict(checkpoint=str(gen_a), seed=0, count=2, truncation=0.0, api_name="/sample")
    with pytest.raises(AppError):
        b.predict(
            checkpoint=str(next((run_a / "checkpoints").glob("step_*.safetensors"))),
            epochs=1,
            max_steps=1,
            api_name="/train_resume_from",
        )
    assert httpx.get(f"{url}gradio_api/file={gen_a}", timeout=10).status_code == 403
    # and C can train now that the slots are free
    assert c.predict(**(FORM | dict(max_steps=2)), api_name="/train_start").startswith("started")
    wait_state(c, ("finished", "stopped"), timeout=90)
