"""Public mode keeps visitors apart where an id or a path could leak across (issue 17): a sample belongs to the
visitor who made it, so another visitor's lookup answers exactly as for an unknown id; and "Load from the Hub"
answers every input that is not a repo id the same way, from the text alone, whatever lies on the server's disk."""

from __future__ import annotations

import os
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

gr = pytest.importorskip("gradio")
from gradio_client import Client  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402

from dcgan_studio.app import (  # noqa: E402
    arithmetic_tab,
    build_app,
    directions_tab,
    features_tab,
    interpolate_tab,
    launch_options,
    sample_tab,
)
from dcgan_studio.app.errors import StudioError  # noqa: E402
from dcgan_studio.app.settings import Limits  # noqa: E402
from dcgan_studio.app.studio import make_studio  # noqa: E402
from dcgan_studio.app.visitors import LOCAL_VISITOR, Visitor  # noqa: E402

A, B = Visitor("a" * 32), Visitor("b" * 32)  # two browsers' visitors
UNKNOWN = "0123456789abcdef"  # a well-formed sample id no one made
NOT_FOUND = re.escape("only samples this server made can be used (sample again)")
NOT_A_DROP = re.escape("that drop is not a sample made by this server; drag a thumbnail from the gallery")


@pytest.fixture
def public(tiny_models_checkpoint, tmp_path):
    return make_studio(tiny_models_checkpoint, tmp_path / "runs", tmp_path / "data", public=True)


def made_by(studio, visitor: Visitor, seed: int = 3, count: int = 3) -> list:
    samples, *_ = sample_tab.sample(studio, visitor, None, seed, count, 0.0)
    return samples


def unknown_message(studio, visitor: Visitor, sid: str) -> str:
    """The message ``require`` gives ``visitor`` for ``sid``, with the id itself written as <id>."""
    with pytest.raises(StudioError, match=NOT_FOUND) as exc:
        studio.samples.require(visitor, sid)
    return str(exc.value).replace(sid, "<id>")


# ------------------------------------------------------------------------------------------------ the registry


def test_another_visitors_sample_is_not_found_exactly_as_an_unknown_id(public):
    s = made_by(public, A)[0]
    assert public.samples.get(A, s.id) is s and public.samples.require(A, s.id) is s
    assert public.samples.resolve_drop(A, f"http://127.0.0.1:7860/gradio_api/file=/tmp/x/s_{s.id}.png") is s
    assert public.samples.get(B, s.id) is None
    with pytest.raises(StudioError, match=NOT_A_DROP):
        public.samples.resolve_drop(B, f"http://127.0.0.1:7860/gradio_api/file=/tmp/x/s_{s.id}.png")
    with pytest.raises(StudioError, match=NOT_A_DROP):
        public.samples.resolve_drop(B, s.id)
    assert unknown_message(public, B, s.id) == unknown_message(public, B, UNKNOWN)
    # a request that names no visitor is nobody's owner either
    assert public.samples.get(LOCAL_VISITOR, s.id) is None


def test_a_local_studio_has_one_visitor_and_sees_every_sample(studio):
    outside = sample_tab.sample(studio, LOCAL_VISITOR, None, 1, 2, 0.0)[0][0]
    assert studio.samples.get(LOCAL_VISITOR, outside.id) is outside
    inside = sample_tab.sample(studio, LOCAL_VISITOR, None, 2, 1, 0.0)[0][0]
    assert studio.samples.get(LOCAL_VISITOR, inside.id) is inside


def test_the_page_loads_seed_0_grid_is_every_visitors(public):
    first, *_ = sample_tab.first_samples(public, A, None)
    again, *_ = sample_tab.first_samples(public, B, None)
    assert again == first  # made once, for everyone: seed 0 is anyone's to draw
    assert all(public.samples.get(B, s.id) is s for s in first)
    assert interpolate_tab.walk(public, B, None, first[0].id, first[1].id, 0, 1, "slerp", 4)[3].startswith("seed 0")


# ------------------------------------------------------------------------------------------------ the handlers


def handler_calls(sid: str, other: str | None = None) -> dict:
    """What each endpoint that takes sample ids computes, as its handler calls it for visitor ``v`` (``other``: the
    second group)."""
    return {
        "/arithmetic": lambda s, v: arithmetic_tab.compute(s, v, None, sid, sid, sid, 2, 0.1, 0),
        "/interpolate": lambda s, v: interpolate_tab.walk(s, v, None, sid, None, 0, 1, "slerp", 4),
        "/features": lambda s, v: features_tab.feature_maps(s, v, None, sid, 0),
        "/ablate": lambda s, v: features_tab.ablate(s, v, None, sid, 0, 0, "0"),
        "groups (directions)": lambda s, v: directions_tab.add_group(s, v, None, None, [sid], [other or sid], "x"),
    }


@pytest.mark.parametrize("endpoint", list(handler_calls(UNKNOWN)))
def test_handlers_refuse_another_visitors_sample_as_unknown(public, endpoint):
    s, other = made_by(public, A)[:2]
    handler_calls(s.id, other.id)[endpoint](public, A)  # the owner may
    with pytest.raises(StudioError, match=NOT_FOUND) as foreign:
        handler_calls(s.id, other.id)[endpoint](public, B)
    with pytest.raises(StudioError, match=NOT_FOUND) as unknown:
        handler_calls(UNKNOWN)[endpoint](public, B)
    assert str(foreign.value).replace(s.id, "<id>") == str(unknown.value).replace(UNKNOWN, "<id>")


def test_steering_another_visitors_sample_steers_seed_0_as_for_an_unknown_id(public):
    s = made_by(public, A)[0]
    nz = public.models.get(LOCAL_VISITOR, None).config.nz
    assert directions_tab.start_z(public, A, [s.id], nz)[1] == s.label
    foreign, unknown = (directions_tab.start_z(public, B, [sid], nz) for sid in (s.id, UNKNOWN))
    assert foreign[1] == unknown[1] == "seed 0 #0" and torch.equal(foreign[0], unknown[0])


# ------------------------------------------------------------------------------------------------ the page's listeners


def listeners(demo, name: str) -> list:
    return [f.fn for f in demo.fns.values() if getattr(f.fn, "__name__", "") == name]


def test_gallery_and_drop_listeners_run_as_the_visitor_behind_the_request(tiny_models_checkpoint, tmp_path):
    """The listeners that read the registry without an endpoint of their own (the pool's galleries, a click on a
    thumbnail, a drop) must know who is asking, or a visitor would lose their own samples."""
    demo = build_app(
        shipped=tiny_models_checkpoint, runs_dir=tmp_path / "runs", data_dir=tmp_path / "data", public=True
    )
    studio = demo.studio
    mine, theirs = made_by(studio, A)[0], made_by(studio, B)[0]
    studio.sessions.bind("session-a", A.id)
    request = SimpleNamespace(session_hash="session-a", headers={}, client=None)
    for show in listeners(demo, "show"):
        assert show([mine.id, theirs.id], request=request) == [(str(mine.thumb), mine.label)]
    for on_select in listeners(demo, "on_select"):
        on_select([mine.id, theirs.id], SimpleNamespace(index=0), request=request)  # picks A's: no error
    drops = listeners(demo, "on_drop")
    assert drops, "the page has drop slots"
    for on_drop in drops:
        ids, _ = on_drop([], SimpleNamespace(_data={"url": f"/gradio_api/file=/tmp/s_{mine.id}.png"}), request=request)
        assert ids == [mine.id]
        theirs_drop = SimpleNamespace(_data={"url": f"/gradio_api/file=/tmp/s_{theirs.id}.png"})
        with pytest.warns(UserWarning, match="not a sample made by this server"):
            skipped = on_drop([], theirs_drop, request=request)
        assert skipped[0] == gr.skip()


# ------------------------------------------------------------------------------------------------ through the API


@pytest.fixture(scope="module")
def public_app(tiny_models_checkpoint, tmp_path_factory):
    root = tmp_path_factory.mktemp("isolation")
    limits = Limits.for_mode(True)
    demo = build_app(shipped=tiny_models_checkpoint, runs_dir=root / "runs", data_dir=root / "data", limits=limits)
    demo.queue(default_concurrency_limit=1)
    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, server_name="127.0.0.1", **launch_options(limits))
    try:
        yield demo, url
    finally:
        demo.close()


def test_an_api_client_cannot_use_another_clients_sample_ids(public_app):
    demo, url = public_app
    a, b = Client(url, verbose=False), Client(url, verbose=False)
    checkpoint = demo.studio.models.default(LOCAL_VISITOR)
    _, _, ids = a.predict(checkpoint=checkpoint, seed=5, count=2.0, truncation=0.0, api_name="/sample")
    first, second = ids.split(",")
    walk = dict(checkpoint=checkpoint, seed_start=0, seed_end=1, mode="linear", steps=4.0, api_name="/interpolate")
    assert "seed 5 #0" in a.predict(start_id=first, end_id=second, **walk)[2]
    for sid in (first, UNKNOWN):
        with pytest.raises(AppError, match=f"unknown sample '{sid}': {NOT_FOUND}"):
            b.predict(start_id=sid, end_id="", **walk)
    with pytest.raises(AppError, match=f"unknown sample '{first}': {NOT_FOUND}"):
        b.predict(checkpoint=checkpoint, sample_id=first, seed=0, image=None, api_name="/features")


# ------------------------------------------------------------------------------------------------ Load from the Hub


def hub_answer(studio, repo: str) -> str:
    """What "Load from the Hub" answers visitor A for ``repo`` (every answer here is a refusal)."""
    with pytest.raises(ValueError) as exc:
        studio.load_from_hub(A, repo)
    return str(exc.value)


def no_hub(*args, **kwargs):
    raise AssertionError("went to the Hub (or the disk) for text that is not a repo id")


@pytest.mark.parametrize("repo", ["checkpoints/model.safetensors", "runs/x/y", "../../etc/passwd", "data"])
def test_load_from_hub_answers_the_same_whether_a_path_exists_or_not(public, tmp_path, monkeypatch, repo):
    monkeypatch.setattr("dcgan_studio.hub.resolve_checkpoint", no_hub)
    cwd = tmp_path / "x" / "y" / "cwd"  # ../../etc/passwd stays inside tmp_path
    cwd.mkdir(parents=True)
    monkeypatch.chdir(cwd)
    missing = hub_answer(public, repo)
    (cwd / repo).parent.mkdir(parents=True, exist_ok=True)
    (cwd / repo).write_bytes(b"x")
    assert Path(repo).exists()
    assert hub_answer(public, repo) == missing == f"{repo!r} is not a Hub repo id: type user/name or user/name@revision"


def test_load_from_hub_never_looks_at_the_disk_for_text_that_is_not_a_repo_id(public, monkeypatch):
    monkeypatch.setattr("dcgan_studio.hub.resolve_checkpoint", no_hub)
    for repo in ("checkpoints/digits32.safetensors", "a/b/c", "user/name@../../..", "name"):
        with monkeypatch.context() as m:
            m.setattr(os, "stat", no_hub)
            m.setattr(os, "lstat", no_hub)
            with pytest.raises(StudioError, match="is not a Hub repo id|is not a branch, tag or commit id"):
                public.load_from_hub(A, repo)


def test_a_repo_id_that_is_also_a_relative_path_goes_to_the_hub_either_way(public, tmp_path, monkeypatch):
    """``runs/demo`` is a valid repo id: it is looked up on the Hub (offline in the tests) whether or not a folder
    of that name lies on the server, and the answer does not say which."""
    monkeypatch.chdir(tmp_path)
    missing = hub_answer(public, "runs/demo")
    (tmp_path / "runs" / "demo").mkdir(parents=True)
    (tmp_path / "runs" / "demo" / "config.json").write_text("{}")
    existing = hub_answer(public, "runs/demo")
    assert existing == missing
    assert "offline mode is on (HF_HUB_OFFLINE=1) and Hub repo 'runs/demo' is not in the local Hub cache" in missing
