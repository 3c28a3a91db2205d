"""Start, Pause, Resume and Stop pressed from several tabs / clients at once: one job, consistent state, no deadlock.

Every wait is bounded (futures and joins with timeouts), so a deadlock fails the test instead of hanging it.
"""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from support import TINY_FORM

pytest.importorskip("gradio")
from gradio_client import Client  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402

from dcgan_studio import checkpoint as ckpt  # noqa: E402
from dcgan_studio.app import make_studio, train_tab  # noqa: E402
from dcgan_studio.app.errors import StudioError  # noqa: E402
from dcgan_studio.app.jobs import JobRegistry  # noqa: E402
from dcgan_studio.app.visitors import LOCAL_VISITOR  # noqa: E402

# a tiny run that would take minutes if nobody stopped it
LONG = TINY_FORM | dict(epochs=500, max_steps=0, log_every=20, sample_every=0)
TIMEOUT = 60


def trainer_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "dcgan-trainer" and t.is_alive()]


def test_many_threads_press_start_at_once_one_job(studio):
    studio.jobs = JobRegistry(studio.limits)
    barrier = threading.Barrier(12)

    def press_start(_):
        barrier.wait(10)
        try:
            return train_tab.start(studio, LOCAL_VISITOR, *LONG.values())
        except StudioError as exc:
            return exc

    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(press_start, range(12), timeout=TIMEOUT))
    started = [r for r in results if isinstance(r, str)]
    assert len(started) == 1 and all("already in progress" in str(r) for r in results if not isinstance(r, str))
    assert len(trainer_threads()) == 1
    trainer = studio.jobs.current(LOCAL_VISITOR)

    # pause / resume / stop pressed from many "tabs" in any order; the last press of each tab is Stop
    def press_random(seed):
        rng = random.Random(seed)
        out = []
        for action in [rng.choice(["pause", "resume", "pause", "resume"]) for _ in range(6)] + ["stop"]:
            try:
                out.append(train_tab.control(studio, LOCAL_VISITOR, action))
            except StudioError as exc:
                out.append(str(exc))
        return out

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(press_random, range(8), timeout=TIMEOUT))
    assert trainer.join(TIMEOUT), "the run did not end after Stop (deadlock: paused after a stop?)"
    assert trainer.snapshot()["state"] == "stopped" and trainer.snapshot()["latest_checkpoint"]
    assert not trainer_threads()


def test_a_checkpoint_many_threads_ask_for_at_once_loads_once(tiny_models_checkpoint, tmp_path, monkeypatch):
    """The warm-up and a page's four first-screen handlers ask for the preselected checkpoint together."""
    fresh = make_studio(tiny_models_checkpoint, tmp_path / "runs", tmp_path / "data", public=False)  # nothing cached
    loads = []
    real = ckpt.load_networks

    def slow_load(path):
        loads.append(path)
        time.sleep(0.3)  # every other thread asks while this load runs
        return real(path)

    monkeypatch.setattr(ckpt, "load_networks", slow_load)
    default = fresh.models.default(LOCAL_VISITOR)
    barrier = threading.Barrier(6)

    def ask(_):
        barrier.wait(10)
        return fresh.models.get(LOCAL_VISITOR, default)

    with ThreadPoolExecutor(6) as pool:
        got = list(pool.map(ask, range(6), timeout=TIMEOUT))
    assert len(loads) == 1 and all(m is got[0] for m in got)
    assert fresh.models.get(LOCAL_VISITOR, default) is got[0] and len(loads) == 1  # later calls hit the cache


def test_pause_pressed_after_stop_does_not_hang_the_run(studio):
    """Tab 1 presses Stop, tab 2 presses Pause a moment later: the run must still end (it used to stay paused)."""
    studio.jobs = JobRegistry(studio.limits)
    train_tab.start(studio, LOCAL_VISITOR, *LONG.values())
    trainer = studio.jobs.current(LOCAL_VISITOR)
    assert train_tab.control(studio, LOCAL_VISITOR, "stop") == "stop requested"
    with pytest.raises(StudioError, match="stopping"):
        train_tab.control(studio, LOCAL_VISITOR, "pause")
    assert train_tab.control(studio, LOCAL_VISITOR, "stop") == "stop already requested"
    assert trainer.join(TIMEOUT), "a Pause after Stop left the run paused forever"
    assert trainer.snapshot()["state"] == "stopped"
    with pytest.raises(StudioError, match="no training run"):
        train_tab.control(studio, LOCAL_VISITOR, "resume")
    # and a fresh Start works again afterwards
    train_tab.start(studio, LOCAL_VISITOR, *(LONG | dict(max_steps=3)).values())
    assert (
        studio.jobs.current(LOCAL_VISITOR).join(TIMEOUT)
        and studio.jobs.current(LOCAL_VISITOR).snapshot()["state"] == "finished"
    )


def test_two_clients_press_everything_at_once(running_studio):
    demo, url, _ = running_studio
    clients = [Client(url, verbose=False) for _ in range(3)]
    barrier = threading.Barrier(len(clients))

    def start(c):
        barrier.wait(10)
        try:
            return c.predict(**LONG, api_name="/train_start")
        except AppError as exc:
            return exc

    with ThreadPoolExecutor(len(clients)) as pool:
        results = list(pool.map(start, clients, timeout=TIMEOUT))
    assert sum(isinstance(r, str) and r.startswith("started") for r in results) == 1
    assert all("already in progress" in str(r) for r in results if isinstance(r, AppError))
    assert len(trainer_threads()) == 1
    trainer = demo.studio.jobs.current(LOCAL_VISITOR)

    def press(args):
        c, actions = args
        out = []
        for action in actions:
            try:
                out.append(c.predict(api_name=f"/train_{action}"))
            except AppError as exc:
                out.append(str(exc))
        return out

    plans = [
        (clients[0], ["pause", "resume", "pause", "stop"]),
        (clients[1], ["resume", "pause", "stop", "pause"]),
        (clients[2], ["pause", "stop", "resume", "resume"]),
    ]
    with ThreadPoolExecutor(len(plans)) as pool:
        list(pool.map(press, plans, timeout=TIMEOUT))
    assert trainer.join(TIMEOUT), "the run did not end after Stop was pressed from every client"
    states = {c.predict(api_name="/train_status")["state"] for c in clients}
    steps = {c.predict(api_name="/train_status")["step"] for c in clients}
    assert states == {"stopped"} and len(steps) == 1  # every tab sees the same, finished job
    assert not trainer_threads()
