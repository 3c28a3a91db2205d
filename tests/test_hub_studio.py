"""The Studio's "Load from the Hub": user/name[@revision] downloaded through huggingface_hub from the fake Hub on
127.0.0.1, with the upload cap and header-first checks, registered per visitor like an upload and selected; errors
are toasts (gr.Error) with one line."""

from __future__ import annotations

import json
import pickle
from dataclasses import replace
from types import SimpleNamespace

import gradio as gr
import pytest
import torch
from support import TINY

from dcgan_studio.app import build_app
from dcgan_studio.app.settings import Limits
from dcgan_studio.app.studio import make_studio
from dcgan_studio.app.visitors import Visitor
from dcgan_studio.config import ModelConfig
from dcgan_studio.models import Generator


@pytest.fixture
def public(tmp_path, tiny_models_checkpoint):
    limits = replace(Limits.for_mode(True, env={}), max_upload_mb=1)
    return make_studio(tiny_models_checkpoint, tmp_path / "runs", tmp_path / "data", limits=limits)


def load(studio, repo: str, visitor: str):
    """The Load button's listener as the page calls it: from a session bound to ``visitor`` on page load, through
    studio.handler (it runs as that visitor; errors become gr.Error)."""
    studio.sessions.bind(f"session-{visitor}", visitor)
    return studio.handler(studio.load_from_hub, visitor=True)(
        repo, request=SimpleNamespace(session_hash=f"session-{visitor}")
    )


def test_a_hub_model_is_registered_for_its_visitor_and_selected(fake_hub, public, tmp_path):
    torch.manual_seed(5)
    g = Generator(ModelConfig(**TINY)).eval()
    g.save_pretrained(tmp_path / "g")
    fake_hub.publish("user/name", tmp_path / "g", revision="v1")
    value = load(public, "user/name@v1", "visitor-a")
    assert ("hub: user/name@v1", value) in public.models.choices(Visitor("visitor-a"))
    z = torch.randn(4, TINY["nz"], generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.allclose(public.models.get(Visitor("visitor-a"), value).generator(z), g(z), atol=1e-5)
    assert value not in [v for _, v in public.models.choices(Visitor("visitor-b"))]  # another visitor does not see it


def test_the_named_endpoint_and_the_row_exist(tiny_models_checkpoint, tmp_path):
    demo = build_app(shipped=tiny_models_checkpoint, runs_dir=tmp_path / "runs", data_dir=tmp_path, tabs=[])
    config = demo.get_config_file()
    names = {d.get("api_name") for d in config["dependencies"]}
    assert "load_from_hub" in names and "upload_checkpoint" in names
    labels = {c["props"].get("label") for c in config["components"]}
    assert "Load from the Hub" in labels and "Upload a .safetensors checkpoint" in labels


@pytest.mark.parametrize(
    ("repo", "message"),
    [
        ("user/missing", "Hub repo 'user/missing' not found"),
        ("user/name@v9", "revision 'v9' does not exist"),
        ("user/bert", "is not a DCGAN Studio model"),
        ("user/big", "more than the 1.0 MB this app accepts; refused"),
        ("user/pickled", "safetensors"),
        ("checkpoints/digits32.safetensors", "is not a Hub repo id"),
        ("../../etc/passwd", "is not a Hub repo id"),
    ],
)
def test_bad_repos_are_one_line_toasts(fake_hub, public, tmp_path, repo, message):
    Generator(ModelConfig(**TINY)).save_pretrained(tmp_path / "g")
    fake_hub.publish("user/name", tmp_path / "g")
    fake_hub.publish("user/bert", {"config.json": json.dumps({"model_type": "bert"}).encode()})
    Generator(ModelConfig(**{**TINY, "ngf": 64})).save_pretrained(tmp_path / "big")  # 3 MB of weights
    fake_hub.publish("user/big", tmp_path / "big")
    files = {p.name: p.read_bytes() for p in (tmp_path / "g").iterdir()}
    fake_hub.publish("user/pickled", files | {"model.safetensors": pickle.dumps({"w": [1.0]})})
    with pytest.raises(gr.Error) as exc:
        load(public, repo, "visitor-a")
    assert message in exc.value.message and "\n" not in exc.value.message
    assert not [label for label, _ in public.models.choices(Visitor("visitor-a")) if label.startswith("hub:")]
    if repo == "user/big":
        assert not [r for r in fake_hub.requests if r[0] == "cdn"]  # refused before downloading the weights
