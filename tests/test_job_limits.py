"""Who may start a run on a public Studio: one live run per visitor, one per network address (a client picks its
own session, so one API client could otherwise hold every slot), and the server's slots; all checked before an
upload is read."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

pytest.importorskip("gradio")

from dcgan_studio.app.errors import StudioError  # noqa: E402
from dcgan_studio.app.jobs import Job, JobRegistry  # noqa: E402
from dcgan_studio.app.settings import Limits  # noqa: E402
from dcgan_studio.app.visitors import Visitor, client_address  # noqa: E402

PUBLIC = Limits.for_mode(True, env={})  # 2 jobs at once, 1 per address


def live(registry: JobRegistry, visitor: str, client: str | None) -> None:
    """A registered job whose trainer reports itself alive (what start() leaves behind, without training)."""
    trainer = SimpleNamespace(is_alive=True, run_dir=None)
    registry._jobs[visitor] = Job(trainer, visitor, time.time(), client)


def test_one_address_cannot_hold_every_slot():
    registry = JobRegistry(PUBLIC)
    live(registry, "api-session-1", "203.0.113.7")
    with pytest.raises(StudioError, match=r"your address already has 1 training run\(s\) in progress \(at most 1"):
        registry.check_can_start(Visitor("api-session-2", "203.0.113.7"))  # a second session from the same machine
    registry.check_can_start(Visitor("api-session-2", "198.51.100.9"))  # another machine gets the second slot
    live(registry, "api-session-2", "198.51.100.9")
    with pytest.raises(StudioError, match=r"the server is busy: 2 training run\(s\) in progress \(at most 2"):
        registry.check_can_start(Visitor("visitor-3", "192.0.2.1"))
    with pytest.raises(StudioError, match="a training run is already in progress: stop it first"):
        registry.check_can_start(Visitor("api-session-1", "192.0.2.1"))


def test_an_ended_job_frees_its_address_and_a_local_studio_has_no_address_cap():
    registry = JobRegistry(PUBLIC)
    live(registry, "a", "203.0.113.7")
    registry._jobs["a"].trainer.is_alive = False
    registry.check_can_start(Visitor("b", "203.0.113.7"))
    local = JobRegistry(Limits.for_mode(False, env={}))
    local.check_can_start(Visitor("local", "127.0.0.1"))


def test_the_address_is_the_peer_or_behind_a_space_the_forwarded_client():
    request = SimpleNamespace(
        client=SimpleNamespace(host="10.0.0.5"), headers={"x-forwarded-for": "203.0.113.7, 10.1.1.1"}
    )
    assert client_address(request, trust_forwarded=False) == "10.0.0.5"
    assert client_address(request, trust_forwarded=True) == "203.0.113.7"
    assert client_address(SimpleNamespace(client=SimpleNamespace(host="10.0.0.5"), headers={}), True) == "10.0.0.5"
    assert client_address(None) is None
    assert Limits.for_mode(True, env={"SPACE_ID": "user/space"}).trust_forwarded
    assert not Limits.for_mode(True, env={"DCGAN_STUDIO_PUBLIC": "1"}).trust_forwarded


def test_every_handler_runs_as_its_visitor_from_its_address(studio):
    studio.limits = PUBLIC
    seen = {}

    def handler(visitor: Visitor):
        seen.update(visitor=visitor.id, client=visitor.client)
        return "ok"

    request = SimpleNamespace(client=SimpleNamespace(host="198.51.100.9"), headers={}, session_hash="abc123")
    assert studio.handler(handler, visitor=True)(request=request) == "ok"
    assert seen == {"visitor": "api-abc123", "client": "198.51.100.9"}
