"""Public-demo mode: lower caps, a wall-clock limit per job, no server folder paths, a lower upload limit, and each
visitor (a gradio_client session here; a BrowserState id in a browser) sees and controls only their own job, runs
and uploads. Design: one job per visitor, at most Limits.max_jobs live jobs in all (no queue: a Start beyond
that is refused with a "busy" message), each stopped and saved after Limits.max_job_seconds.

Every wait here is on a state the server reports (running, paused, stopped), never on how long something takes: the
"busy" check runs while both jobs are live (their time limit is far away, they are stopped through the API), and the
time-limit check pauses its job first, so only the limit can end it."""

from __future__ import annotations

import inspect
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from support import TINY_FORM

pytest.importorskip("gradio")
from gradio_client import Client  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402

from dcgan_studio.app import settings, train_tab  # noqa: E402
from dcgan_studio.app.settings import Limits  # noqa: E402
from dcgan_studio.app.studio import make_studio  # noqa: E402
from dcgan_studio.app.visitors import LOCAL, LOCAL_VISITOR, Visitor  # noqa: E402

# the public caps, written out: epochs 100, max steps 3000 (the longest run a visitor may start)
FORM = TINY_FORM | dict(epochs=100, max_steps=3000, log_every=5, sample_every=0)


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
    # every client of this test comes from 127.0.0.1: the per-address cap is set above the server's 2 slots, so the
    # server's own cap is what refuses a third job; the time limit (10 min) never ends a job during these tests
    limits = replace(Limits.for_mode(public=True), max_job_seconds=600.0, max_jobs=2, max_jobs_per_client=3)
    yield from launched(tiny_models_checkpoint, tmp_path_factory.mktemp("public"), limits)


@pytest.fixture(scope="module")
def timed_studio(tiny_models_checkpoint, tmp_path_factory):
    """A public Studio whose jobs are stopped after 3 s."""
    limits = replace(Limits.for_mode(public=True), max_job_seconds=3.0)
    yield from launched(tiny_models_checkpoint, tmp_path_factory.mktemp("timed"), limits)


def launched(checkpoint, root, limits):
    from dcgan_studio.app import build_app, launch_options

    demo = None
    try:
        demo = build_app(shipped=checkpoint, runs_dir=root / "runs", data_dir=root / "data", limits=limits)
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
    assert studio.visitor_for(Req("s1"), vid).id == vid  # page load binds the session to the browser's id
    assert studio.visitor_for(Req("s1")).id == vid  # later calls of that session
    assert studio.visitor_for(Req("s2")).id == "api-s2"  # an API client is its own visitor
    assert studio.visitor_for(Req("s3"), "../../etc").id == "api-s3"  # a forged id is ignored
    local = make_studio(tiny_models_checkpoint, tmp_path / "runs", tmp_path / "data", public=False)
    assert local.visitor_for(Req("s2")).id == LOCAL


def test_a_handler_gets_its_visitor_as_its_first_argument(tiny_models_checkpoint, tmp_path):
    """``visitor=True``: the wrapper resolves the Visitor once and passes it first; ``browser=True``: the listener
    takes the browser's id as its last input (Gradio calls listeners positionally) and binds the session to it."""
    studio = make_studio(tiny_models_checkpoint, tmp_path / "runs", tmp_path / "data", public=True)
    seen = []

    def page_load(visitor, smooth):
        seen.append((visitor, smooth))
        return "drawn"

    listener = studio.handler(page_load, browser=True)
    assert list(inspect.signature(listener).parameters) == ["smooth", "visitor_browser_id", "request"]
    request = SimpleNamespace(session_hash="s9", headers={}, client=SimpleNamespace(host="10.0.0.7"))
    assert listener(0.5, "cd" * 16, request) == "drawn"
    assert seen == [(Visitor("cd" * 16, "10.0.0.7"), 0.5)]
    later = studio.handler(lambda visitor: visitor, visitor=True)  # the same session, no browser id: bound above
    assert later(request=request) == Visitor("cd" * 16, "10.0.0.7")
    assert later(request=SimpleNamespace(session_hash="s10", headers={}, client=None)) == Visitor("api-s10")
    assert studio.handler(lambda n: n + 1)(2, request=request) == 3  # asked for no visitor: none passed


def wait_state(client, states, timeout=120, min_step=0):
    """Poll /train_status until the visitor's job is in one of ``states`` (and at ``min_step`` or later)."""
    return wait_until(client, lambda st: st["state"] in states and st["step"] >= min_step, timeout, f"{states}")


def wait_until(client, predicate, timeout=120, what="the state asked for"):
    """Poll /train_status until ``predicate(status)``; the timeout only ends a wait that would otherwise hang, it
    decides nothing."""
    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        status = client.predict(api_name="/train_status")
        if predicate(status):
            return status
        time.sleep(0.2)
    raise AssertionError(f"not {what} within {timeout} s: {status}")


def run_folder(status: dict) -> Path:
    return Path(status["status"].split("run folder `", 1)[1].split("`", 1)[0])


# what each refusal says, written out (public caps: epochs 100, max steps 3000, sizes 32/64, batch 128, width 64)
PUBLIC_REFUSALS = [
    (dict(epochs=101), r"Value 101 is greater than maximum value 100\."),
    (dict(max_steps=3001), r"Value 3001 is greater than maximum value 3000\."),
    (dict(image_size=128), r"Value: 128 is not in the list of choices: \['32', '64'\]"),
    (dict(batch_size=129), r"Value 129 is greater than maximum value 128\."),
    (dict(ngf=65), r"Value 65 is greater than maximum value 64\."),
    (dict(ndf=65), r"Value 65 is greater than maximum value 64\."),
    # no folder paths on a public server: the choice is not offered at all
    (
        dict(dataset=train_tab.FOLDER_CHOICE, folder="data"),
        r"Value: folder path is not in the list of choices: \['digits', 'photos', 'zip upload'\]",
    ),
]


def test_public_caps_and_no_folder_paths(public_studio):
    demo, url, _ = public_studio
    c = Client(url, verbose=False)
    assert train_tab.FOLDER_CHOICE not in train_tab.dataset_choices(demo.studio)
    for bad, message in PUBLIC_REFUSALS:
        with pytest.raises(AppError, match=message):
            c.predict(**(FORM | bad), api_name="/train_start")
    assert c.predict(api_name="/train_status")["state"] == "idle"  # nothing was started by a refused form
    with pytest.raises(AppError, match=r"Value 65 is greater than maximum value 64\."):
        c.predict(
            checkpoint=demo.studio.models.default(LOCAL_VISITOR), seed=0, count=65, truncation=0.0, api_name="/sample"
        )
    r = httpx.post(
        f"{url}gradio_api/upload",
        files={"files": ("big.zip", b"\x00" * (16 * 1024**2 + 1024))},
        timeout=60,
    )
    assert demo.studio.limits.max_upload_mb == 16 and r.status_code == 413


def test_visitors_are_kept_apart_and_a_full_server_is_busy(public_studio):
    demo, url, root = public_studio
    a, b, c = (Client(url, verbose=False) for _ in range(3))
    msg_a = a.predict(**FORM, api_name="/train_start")  # the public caps themselves (100 epochs, 3000 steps) start
    assert msg_a.startswith("started") and "stops and saves after 10 min" in msg_a
    assert str(root / "runs" / "public") in msg_a  # a per-visitor run folder
    # B sees no job and cannot pause or stop A's
    assert b.predict(api_name="/train_status")["state"] == "idle"
    for action in ("pause", "stop", "resume"):
        with pytest.raises(AppError, match="no training run is in progress"):
            b.predict(api_name=f"/train_{action}")
    wait_state(a, ("running",), min_step=1)
    # a paused job holds its slot as a running one does (and leaves the 2 cores to the server meanwhile)
    assert a.predict(api_name="/train_pause") == "pause requested"
    wait_state(a, ("paused",))
    # A has one job at a time
    with pytest.raises(AppError, match="a training run is already in progress: stop it first"):
        a.predict(**(FORM | dict(seed=2)), api_name="/train_start")
    # B may run its own job (2 at most); once both are live, a third visitor is told the server is busy
    assert b.predict(**(FORM | dict(seed=1)), api_name="/train_start").startswith("started")
    wait_state(b, ("running",), min_step=1)
    assert b.predict(api_name="/train_pause") == "pause requested"
    wait_state(b, ("paused",))
    assert demo.studio.jobs.live_count() == 2
    with pytest.raises(
        AppError, match=r"the server is busy: 2 training run\(s\) in progress \(at most 2; each stops after 10 min\)"
    ):
        c.predict(**FORM, api_name="/train_start")
    assert c.predict(api_name="/train_status")["state"] == "idle"
    # A stops its (paused) run: it is saved in A's run folder
    assert a.predict(api_name="/train_stop") == "stop requested"
    status_a = wait_state(a, ("stopped",))
    assert status_a["step"] > 0 and "time limit" not in status_a["status"]
    run_a = run_folder(status_a)
    gen_a = run_a / "generator.safetensors"
    assert run_a.is_relative_to(root / "runs" / "public")
    assert gen_a.is_file() and any((run_a / "checkpoints").glob("step_*.safetensors"))
    # A's generator is A's: B cannot sample from it, resume from its checkpoints, nor fetch it by path
    a.predict(checkpoint=str(gen_a), seed=0, count=2, truncation=0.0, api_name="/sample")
    with pytest.raises(AppError, match="is not one of the checkpoints this Studio offers"):
        b.predict(checkpoint=str(gen_a), seed=0, count=2, truncation=0.0, api_name="/sample")
    with pytest.raises(AppError, match=r"pick a training checkpoint of a run \(runs/<run>/checkpoints/step_\*"):
        b.predict(
            checkpoint=str(next((run_a / "checkpoints").glob("step_*.safetensors"))),
            epochs=1,
            max_steps=1,
            api_name="/train_resume_from",
        )
    assert httpx.get(f"{url}gradio_api/file={gen_a}", timeout=10).status_code == 403
    # B's job is still live (paused), C takes the slot A freed
    assert b.predict(api_name="/train_status")["state"] == "paused"
    assert c.predict(**(FORM | dict(max_steps=2)), api_name="/train_start").startswith("started")
    assert wait_state(c, ("finished",))["step"] == 2
    assert b.predict(api_name="/train_stop") == "stop requested"
    wait_state(b, ("stopped",))


def test_a_job_is_stopped_and_saved_at_its_time_limit(timed_studio):
    """A paused job cannot end by itself: only the time limit (3 s here, paused time included) can stop it."""
    demo, url, _ = timed_studio
    t = Client(url, verbose=False)
    assert t.predict(**FORM, api_name="/train_start").startswith("started")
    seen = wait_until(t, lambda st: st["state"] == "stopped" or (st["state"] == "running" and st["step"] >= 1))
    if seen["state"] == "running":  # else the limit came first (a very slow machine): the same end is expected
        try:
            assert t.predict(api_name="/train_pause") == "pause requested"
        except AppError as err:  # the limit fell between the status and the pause
            assert "no training run is in progress" in str(err) or "the run is stopping" in str(err), err
    status = wait_state(t, ("stopped",))
    assert "stopped by the public demo's time limit" in status["status"], status["status"]
    assert status["step"] < 3000  # not the end of the run: the limit stopped it
    run = run_folder(status)
    assert (run / "generator.safetensors").is_file()
    assert (run / "checkpoints" / f"step_{status['step']:07d}.safetensors").is_file()  # saved where it stopped
    assert demo.studio.jobs.live_count() == 0
