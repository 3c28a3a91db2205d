"""Models on the Hub: save_pretrained / from_pretrained / push_to_hub, the model card, export_for_hub and
resolve_checkpoint, against a fake Hub on 127.0.0.1 that huggingface_hub's real download and upload code talks to."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from fake_hub import use_fake_hub
from huggingface_hub import ModelCard, constants
from support import ROOT, TINY

from dcgan_studio import hub
from dcgan_studio.checkpoint import CheckpointError, load_discriminator, load_generator, read_metadata
from dcgan_studio.config import ModelConfig
from dcgan_studio.hub import HubError
from dcgan_studio.models import Discriminator, Generator, build_models

ATOL = 1e-5  # same weights, same z: equal up to kernel choice


@pytest.fixture
def pair():
    torch.manual_seed(0)
    g, d = build_models(ModelConfig(**TINY))
    return g.eval(), d.eval()


@pytest.fixture
def hub_folder(tmp_path, pair) -> Path:
    """A save_pretrained folder holding G and D."""
    g, d = pair
    folder = tmp_path / "saved"
    g.save_pretrained(folder)
    d.save_pretrained(folder)
    return folder


def same_images(g1, g2, n: int = 8) -> bool:
    z = torch.randn(n, g1.config.nz, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        return torch.allclose(g1.eval()(z), g2.eval()(z), atol=ATOL)


def one_line(exc: pytest.ExceptionInfo) -> str:
    message = str(exc.value)
    assert "\n" not in message, message
    return message


# ------------------------------------------------------------------------------------------------- local folders


def test_save_pretrained_then_from_pretrained_draws_the_same_images(pair, hub_folder):
    g, d = pair
    assert sorted(p.name for p in hub_folder.iterdir()) == [
        "README.md",
        "config.json",
        "discriminator.safetensors",
        "model.safetensors",
    ]
    g2 = Generator.from_pretrained(hub_folder)
    assert g2.config == g.config and not g2.training
    assert same_images(g, g2)
    d2 = Discriminator.from_pretrained(str(hub_folder))
    x = torch.rand(4, 1, 32, 32) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(d(x), d2(x), atol=ATOL)


def test_config_json_is_the_model_config_and_round_trips(pair, hub_folder):
    data = json.loads((hub_folder / "config.json").read_text())
    assert data == {"library_name": "dcgan-studio", **TINY}
    assert ModelConfig.from_dict(data) == pair[0].config
    assert Generator.from_pretrained(hub_folder)._hub_mixin_config == pair[0].config


def test_the_hub_generator_file_is_a_generator_checkpoint(pair, hub_folder):
    assert read_metadata(hub_folder / "model.safetensors")["format"] == "dcgan_studio.generator"
    assert same_images(pair[0], load_generator(hub_folder / "model.safetensors"))


def test_a_folder_without_our_config_is_refused(tmp_path, pair):
    folder = tmp_path / "other"
    pair[0].save_pretrained(folder)
    (folder / "config.json").write_text(json.dumps({"model_type": "bert", "hidden_size": 768}))
    with pytest.raises(HubError, match="not a DCGAN Studio model") as exc:
        Generator.from_pretrained(folder)
    one_line(exc)


def test_a_tampered_weight_file_is_refused_before_loading(tmp_path, hub_folder):
    path = hub_folder / "model.safetensors"
    path.write_bytes(path.read_bytes()[:-100])  # truncated: the header no longer fits the file
    with pytest.raises(HubError, match="truncated or damaged"):
        Generator.from_pretrained(hub_folder)


def test_resolve_checkpoint_keeps_a_local_file_as_it_is(tiny_models_checkpoint, tmp_path):
    assert hub.resolve_checkpoint(str(tiny_models_checkpoint)) == tiny_models_checkpoint
    missing = tmp_path / "nope.safetensors"
    assert hub.resolve_checkpoint(str(missing)) == missing  # the loaders say it does not exist


def test_repo_ids_are_told_from_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert hub.is_repo_id("user/name") and hub.is_repo_id("user/name@v1") and hub.is_repo_id("user/name@refs/pr/1")
    assert not hub.is_repo_id("runs/x.safetensors") and not hub.is_repo_id("a/b/c") and not hub.is_repo_id("name")
    (tmp_path / "user").mkdir()
    (tmp_path / "user" / "name").write_bytes(b"")
    assert not hub.is_repo_id("user/name")  # an existing path wins
    assert hub.split_revision("user/name@refs/pr/1") == ("user/name", "refs/pr/1")


BAD_REVISIONS = [
    "../../..",  # the issue's: huggingface_hub keeps a revision as a path in its cache (refs/<revision>)
    "..",
    "a..b",
    ".hidden",
    "refs/.x",
    "main.lock",
    "refs/x.lock/y",
    "a b",
    "a~1",
    "a^",
    "a:b",
    "a?",
    "a*",
    "a[b",
    "a\\b",
    "a\x00b",
    "a\tb",
    "a\x7fb",
    "a@{1}",
    "@",
    "refs/",
    "/main",
    "refs//pr",
    "main.",
    "x" * 129,
]
GOOD_REVISIONS = ["main", "v1.0", "refs/pr/1", "refs/convert/parquet", "feature/x-y_z", "a@b", "a1b2c3d", "0" * 40]


@pytest.mark.parametrize("revision", BAD_REVISIONS)
def test_revisions_that_break_gits_ref_rules_are_not_repo_ids(tmp_path, monkeypatch, revision):
    monkeypatch.chdir(tmp_path)
    spec = f"user/name@{revision}"
    assert not hub.is_repo_id(spec) and hub.parse_repo_id(spec) is None
    with pytest.raises(HubError, match=r"is not a branch, tag or commit id \(.+\): use one of the repo's branches"):
        hub.split_revision(spec)
    with pytest.raises(HubError, match=r"is not a branch, tag or commit id"):
        hub.split_revision("user/name", revision)  # given apart, as from_pretrained(revision=...) does


@pytest.mark.parametrize("revision", GOOD_REVISIONS)
def test_branches_tags_and_commit_ids_are_revisions(tmp_path, monkeypatch, revision):
    monkeypatch.chdir(tmp_path)
    spec = f"user/name@{revision}"
    assert hub.is_repo_id(spec) and hub.parse_repo_id(spec) == ("user/name", revision)
    assert hub.split_revision(spec) == ("user/name", revision)


def test_a_bad_revision_never_reaches_the_hub(fake_hub, tmp_path, pair):
    pair[0].save_pretrained(tmp_path / "g")
    fake_hub.publish("user/name", tmp_path / "g")
    for call in (
        lambda: hub.resolve_checkpoint("user/name@../../.."),
        lambda: hub.resolve_checkpoint("user/name@../../..", local=False),
        lambda: Generator.from_pretrained("user/name", revision="../../.."),
        lambda: hub.fetch("user/name", "refs/../../x"),
    ):
        with pytest.raises(HubError, match=r"revision '[^']*\.\.[^']*' is not a branch, tag or commit id"):
            call()
    assert fake_hub.requests == []
    assert not list((tmp_path / "hf_home").rglob("x"))  # nothing written outside the cache's refs/


def test_repo_ids_from_the_text_alone_never_look_at_the_disk(tmp_path, monkeypatch):
    """``local=False`` (the Studio's): whether a file of that name exists must not change the answer."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "demo").write_bytes(b"")
    assert not hub.is_repo_id("runs/demo") and hub.is_repo_id("runs/demo", local=False)  # an existing path wins
    with monkeypatch.context() as m:
        m.setattr(os, "stat", lambda *a, **k: pytest.fail("looked at the disk"))
        assert hub.is_repo_id("runs/demo", local=False) and hub.parse_repo_id("runs/demo") == ("runs/demo", None)
        assert not hub.is_repo_id("runs/x.safetensors", local=False) and hub.parse_repo_id("a/b/c") is None
        with pytest.raises(HubError, match="'a/b/c' is not a Hub repo id: type user/name or user/name@revision"):
            hub.check_repo_id("a/b/c")


# ------------------------------------------------------------------------------------------------- the model card

REPORT = {
    "dataset": "mnist",
    "n_generated": 359,
    "n_held_out": 359,
    "classifier": {
        "available": True,
        "frechet": {"generated_vs_train": 137.32, "held_out_vs_train": 10.278, "noise_vs_train": 2433.0},
        "score": {"generated": 6.536, "held_out": 9.739},
        "coverage": {
            "generated": {"evenness": 0.9604, "present": 10, "n_classes": 10},
            "held_out": {"evenness": 0.9998, "present": 10, "n_classes": 10},
        },
    },
    "prdc": {
        "feature_space": "digits classifier penultimate layer (128-d)",
        "generated": {"precision": 0.571, "recall": 0.933},
        "held_out": {"precision": 0.969, "recall": 0.966},
    },
    "diversity": {"generated": 0.278, "held_out": 0.298},
    "fid_is": {"available": False, "message": "off"},
}


def test_the_model_card_has_the_front_matter_and_the_figures():
    text = hub.model_card(
        hub.headline_figures(REPORT),
        model_config=ModelConfig(**TINY),
        license="mit",
        train_command="python -m dcgan_studio train --dataset mnist --epochs 5",
        sample_image="samples.png",
        has_discriminator=True,
        repo_id="user/name",
    )
    card = ModelCard(text)
    assert card.data.library_name == "dcgan-studio"
    assert {"dcgan", "gan", "unconditional-image-generation", "pytorch"} <= set(card.data.tags)
    assert card.data.pipeline_tag == "unconditional-image-generation"
    assert card.data.license == "mit"
    assert card.data.datasets == ["ylecun/mnist"]
    body = card.text
    for row in (
        "| Fréchet distance in classifier features (lower is better) | 137.3 | 10.28 |",
        "| precision (samples that look real) | 0.571 | 0.969 |",
        "| recall (real images the samples cover) | 0.933 | 0.966 |",
        "| class evenness (normalised entropy, 1 = even) | 0.960 | 1.000 |",
    ):
        assert row in body
    assert "real-vs-real reference" in body and "![64 samples, seed 0](samples.png)" in body
    assert "```bash\npython -m dcgan_studio train --dataset mnist --epochs 5\n```" in body
    assert 'Generator.from_pretrained("user/name")' in body


def test_figures_the_report_lacks_are_left_out():
    figures = hub.headline_figures(
        {"dataset": "digits", "classifier": {"available": False}, "diversity": {"generated": 0.2, "held_out": 0.3}}
    )
    assert list(figures["metrics"]) == ["pixel_diversity"]
    text = hub.model_card(figures, model_config=TINY)
    assert "Fréchet" not in text and "datasets" not in ModelCard(text).data.to_dict()  # no Hub id for the digits


def test_export_for_hub_writes_a_hub_folder_from_a_checkpoint(tiny_models_checkpoint, tmp_path):
    report = tmp_path / "report.json"
    report.write_text(json.dumps(REPORT))
    out = hub.export_for_hub(
        tiny_models_checkpoint,
        tmp_path / "hub",
        report_json=report,
        train_command="python -m dcgan_studio train --epochs 1",
        sample_seed=3,
    )
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "README.md",
        "config.json",
        "discriminator.safetensors",
        "model.safetensors",
        "report.json",
        "samples.png",
    ]
    assert same_images(load_generator(tiny_models_checkpoint), Generator.from_pretrained(out))
    x = torch.rand(2, 1, 32, 32)
    with torch.no_grad():
        assert torch.allclose(
            load_discriminator(tiny_models_checkpoint)(x), Discriminator.from_pretrained(out)(x), atol=ATOL
        )
    card = (out / "README.md").read_text()
    assert "| 137.3 | 10.28 |" in card and "seed 3" in card and "python -m dcgan_studio train --epochs 1" in card
    assert json.loads((out / "report.json").read_text()) == REPORT


def test_export_of_a_generator_only_file_has_no_discriminator(tmp_path, pair):
    from dcgan_studio.checkpoint import save_generator

    path = save_generator(tmp_path / "g.safetensors", pair[0])
    out = hub.export_for_hub(path, tmp_path / "hub")
    assert not (out / "discriminator.safetensors").exists() and (out / "samples.png").is_file()
    assert "The train command was not recorded." in (out / "README.md").read_text()


# ------------------------------------------------------------------------------------------------- through the fake Hub


def test_from_pretrained_downloads_through_the_hub_resolve_urls(fake_hub, pair, hub_folder):
    g, _ = pair
    commit = fake_hub.publish("user/name", hub_folder)
    g2 = Generator.from_pretrained("user/name")
    assert same_images(g, g2)
    hub_requests = [(method, path) for origin, method, path in fake_hub.requests if origin == "hub"]
    assert ("GET", "/user/name/resolve/main/config.json") in hub_requests
    assert ("HEAD", f"/user/name/resolve/{commit}/model.safetensors") in hub_requests  # same commit as config.json
    assert [method for origin, method, _ in fake_hub.requests if origin == "cdn"] == ["GET"]  # the LFS blob, once
    snapshot = Path(constants.HF_HUB_CACHE) / "models--user--name" / "snapshots" / commit
    assert (snapshot / "model.safetensors").is_file()  # huggingface_hub's own cache, in this test's HF_HOME


def test_a_revision_is_taken_from_user_name_at_rev(fake_hub, tmp_path):
    torch.manual_seed(1)
    g_main, g_v1 = Generator(ModelConfig(**TINY)).eval(), Generator(ModelConfig(**TINY)).eval()
    g_main.save_pretrained(tmp_path / "main")
    g_v1.save_pretrained(tmp_path / "v1")
    fake_hub.publish("user/name", tmp_path / "main")
    commit_v1 = fake_hub.publish("user/name", tmp_path / "v1", revision="v1")
    assert same_images(g_main, Generator.from_pretrained("user/name"))
    assert same_images(g_v1, Generator.from_pretrained("user/name@v1"))
    assert same_images(g_v1, Generator.from_pretrained("user/name", revision="v1"))
    assert same_images(g_v1, Generator.from_pretrained(f"user/name@{commit_v1}"))
    assert same_images(g_v1, load_generator(hub.resolve_checkpoint("user/name@v1")))
    assert not same_images(g_main, g_v1)


def test_resolve_checkpoint_of_a_generator_repo_is_its_generator_file(fake_hub, pair, tmp_path):
    pair[0].save_pretrained(tmp_path / "g")
    fake_hub.publish("user/gen", tmp_path / "g")
    path = hub.resolve_checkpoint("user/gen")
    assert path.name == "model.safetensors" and str(path).startswith(constants.HF_HUB_CACHE)
    assert same_images(pair[0], load_generator(path))
    with pytest.raises(CheckpointError, match="holds no discriminator"):
        load_discriminator(path)


def test_resolve_checkpoint_of_a_g_and_d_repo_is_a_models_file(fake_hub, pair, hub_folder):
    g, d = pair
    commit = fake_hub.publish("user/pair", hub_folder)
    path = hub.resolve_checkpoint("user/pair")
    assert str(path).startswith(constants.HF_ASSETS_CACHE) and commit in str(path)
    info = read_metadata(path)
    assert info["format"] == "dcgan_studio.models" and info["extra.hub_source"] == f"user/pair@{commit}"
    assert same_images(g, load_generator(path))
    x = torch.rand(3, 1, 32, 32)
    with torch.no_grad():
        assert torch.allclose(d(x), load_discriminator(path)(x), atol=ATOL)
    assert hub.resolve_checkpoint("user/pair") == path  # built once per commit


@pytest.mark.slow  # a fresh interpreter
def test_a_fresh_process_reads_hf_endpoint_and_hf_home_from_the_environment(fake_hub, pair, hub_folder, tmp_path):
    """What the CLI does: huggingface_hub reads HF_ENDPOINT / HF_HOME at import, in a new process."""
    fake_hub.publish("user/name", hub_folder)
    code = "from dcgan_studio.hub import resolve_checkpoint; print(resolve_checkpoint('user/name@main'))"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    path = Path(done.stdout.strip())
    assert path.is_relative_to(tmp_path / "hf_home" / "assets") and read_metadata(path)["has_discriminator"]


def test_a_cached_model_loads_offline(fake_hub, pair, hub_folder, monkeypatch):
    fake_hub.publish("user/name", hub_folder)
    first = hub.resolve_checkpoint("user/name")
    fake_hub.close()
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert hub.resolve_checkpoint("user/name") == first
    assert same_images(pair[0], Generator.from_pretrained("user/name"))


# ------------------------------------------------------------------------------------------------- one-line errors


def test_a_missing_repo_says_so(fake_hub):
    with pytest.raises(HubError, match=r"Hub repo 'user/missing' not found: check the name") as exc:
        hub.resolve_checkpoint("user/missing")
    one_line(exc)
    with pytest.raises(HubError, match="not found"):
        Generator.from_pretrained("user/missing")


def test_a_missing_revision_says_so(fake_hub, hub_folder):
    fake_hub.publish("user/name", hub_folder)
    with pytest.raises(HubError, match=r"revision 'v9' does not exist in Hub repo 'user/name'") as exc:
        hub.resolve_checkpoint("user/name@v9")
    one_line(exc)
    with pytest.raises(HubError, match="revision 'v9' does not exist"):
        Generator.from_pretrained("user/name", revision="v9")


def test_a_repo_that_is_not_ours_says_so(fake_hub, hub_folder):
    fake_hub.publish(
        "user/bert", {"config.json": json.dumps({"model_type": "bert"}).encode(), "model.safetensors": b"x"}
    )
    fake_hub.publish("user/readme-only", {"README.md": b"# hello"})
    for repo in ("user/bert", "user/readme-only"):
        with pytest.raises(HubError, match=rf"'{repo}' is not a DCGAN Studio model") as exc:
            hub.resolve_checkpoint(repo)
        one_line(exc)
        with pytest.raises(HubError, match="is not a DCGAN Studio model"):
            Generator.from_pretrained(repo)


def test_a_repo_without_a_discriminator_cannot_give_one(fake_hub, pair, tmp_path):
    pair[0].save_pretrained(tmp_path / "g")
    fake_hub.publish("user/gen", tmp_path / "g")
    with pytest.raises(
        HubError, match=r"'user/gen' holds no discriminator \(discriminator.safetensors\): it is a generator-only"
    ) as exc:
        Discriminator.from_pretrained("user/gen")
    one_line(exc)


def test_offline_mode_says_so(fake_hub, monkeypatch):
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(HubError, match=r"offline mode is on \(HF_HUB_OFFLINE=1\)") as exc:
        hub.resolve_checkpoint("user/name")
    one_line(exc)
    with pytest.raises(HubError, match="offline mode is on"):
        Generator.from_pretrained("user/name")


def test_no_network_says_so(tmp_path, monkeypatch):
    with socket.socket() as s:  # a port nobody listens on: connection refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    use_fake_hub(monkeypatch, f"http://127.0.0.1:{port}", tmp_path / "hf_home")
    import huggingface_hub.utils._http as hf_http

    monkeypatch.setattr(hf_http.time, "sleep", lambda seconds: None)  # huggingface_hub retries 5 times with backoff
    with pytest.raises(HubError, match=r"cannot reach the Hub at http://127\.0\.0\.1:\d+ .* check the network") as exc:
        hub.resolve_checkpoint("user/name")
    one_line(exc)


def test_an_oversized_weight_file_is_refused_before_download(fake_hub, hub_folder):
    fake_hub.publish("user/name", hub_folder)
    fake_hub.requests.clear()
    with pytest.raises(
        HubError, match=r"model\.safetensors is \d+ KB, more than the 10 KB this app accepts; refused"
    ) as exc:
        hub.resolve_checkpoint("user/name", max_bytes=10_000)
    one_line(exc)
    assert not [r for r in fake_hub.requests if r[0] == "cdn"]  # the weights were never downloaded


def test_weights_bigger_than_the_config_says_are_refused_before_download(fake_hub, hub_folder, tmp_path):
    Generator(ModelConfig(**{**TINY, "ngf": 64})).save_pretrained(
        tmp_path / "big"
    )  # 3 MB of weights for a 0.1 MB config
    files = {p.name: p.read_bytes() for p in hub_folder.iterdir()}
    files["model.safetensors"] = (tmp_path / "big" / "model.safetensors").read_bytes()
    fake_hub.publish("user/liar", files)
    with pytest.raises(HubError, match="the architecture in config.json needs: it is not that model's weights") as exc:
        hub.resolve_checkpoint("user/liar")
    one_line(exc)
    assert not [r for r in fake_hub.requests if r[0] == "cdn"]


def test_a_discriminator_of_another_architecture_is_refused(fake_hub, hub_folder, tmp_path):
    Discriminator(ModelConfig(**{**TINY, "ndf": 16})).save_pretrained(tmp_path / "other")
    files = {p.name: p.read_bytes() for p in hub_folder.iterdir()}
    files["discriminator.safetensors"] = (tmp_path / "other" / "discriminator.safetensors").read_bytes()
    fake_hub.publish("user/mixed", files)
    with pytest.raises(HubError, match="describe different models") as exc:
        hub.resolve_checkpoint("user/mixed")
    one_line(exc)


def test_a_pickle_named_like_weights_is_refused(fake_hub, hub_folder, tmp_path):
    import pickle

    files = {p.name: p.read_bytes() for p in hub_folder.iterdir() if p.name != "discriminator.safetensors"}
    files["model.safetensors"] = pickle.dumps({"main.0.weight": [1.0]})
    fake_hub.publish("user/pickled", files)
    with pytest.raises(HubError, match="not a valid safetensors file|not a safetensors file") as exc:
        hub.resolve_checkpoint("user/pickled")
    one_line(exc)


# ------------------------------------------------------------------------------------------------- uploads


def test_push_to_hub_uploads_config_weights_and_card(fake_hub, pair):
    g, _ = pair
    url = g.push_to_hub("user/pushed", token="hf_fake")
    assert fake_hub.commits and "user/pushed" in str(url)
    commit = fake_hub.commits[-1]
    assert commit["repo_id"] == "user/pushed" and commit["revision"] == "main"
    assert sorted(commit["files"]) == ["README.md", "config.json", "model.safetensors"]
    assert json.loads(commit["files"]["config.json"]) == {"library_name": "dcgan-studio", **TINY}
    assert ModelCard(commit["files"]["README.md"].decode()).data.library_name == "dcgan-studio"
    assert same_images(g, Generator.from_pretrained("user/pushed"))  # and back down through the resolve URLs


def test_push_folder_uploads_an_export(fake_hub, tiny_models_checkpoint, tmp_path):
    out = hub.export_for_hub(tiny_models_checkpoint, tmp_path / "hub")
    hub.push_folder(out, "user/exported", token="hf_fake")
    assert sorted(fake_hub.commits[-1]["files"]) == [
        "README.md",
        "config.json",
        "discriminator.safetensors",
        "model.safetensors",
        "samples.png",
    ]
    assert read_metadata(hub.resolve_checkpoint("user/exported"))["has_discriminator"]
