"""The CLI and the Hub: every --checkpoint takes user/name[@revision], `export --hub-dir` writes a Hub folder and
`push` uploads it; Hub failures are one `error:` line and exit 2. The commands talk to the fake Hub on 127.0.0.1
through huggingface_hub's real code, in this process (``support.cli``) or in a subprocess that reads HF_ENDPOINT /
HF_HOME from its environment (``run_cli``: a revision, offline mode)."""

from __future__ import annotations

import json
import socket

import numpy as np
import pytest
import torch
from fake_hub import use_fake_hub
from huggingface_hub import ModelCard
from PIL import Image
from support import TINY, cli, run_cli

from dcgan_studio.cli import main
from dcgan_studio.config import ModelConfig
from dcgan_studio.models import Generator


def pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("L"), dtype=np.int16)


def error_line(done) -> str:
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return lines[0]


@pytest.mark.slow  # a fresh interpreter
def test_sample_takes_a_repo_id_at_a_revision(fake_hub, tmp_path):
    torch.manual_seed(3)
    g_main, g_v1 = Generator(ModelConfig(**TINY)).eval(), Generator(ModelConfig(**TINY)).eval()
    g_main.save_pretrained(tmp_path / "main")
    g_v1.save_pretrained(tmp_path / "v1")
    fake_hub.publish("user/name", tmp_path / "main")
    fake_hub.publish("user/name", tmp_path / "v1", revision="v1")
    local = cli("sample", "--checkpoint", str(tmp_path / "v1" / "model.safetensors"), "--n", "9",
                "--out", str(tmp_path / "local.png"))  # fmt: skip
    hub = run_cli("sample", "--checkpoint", "user/name@v1", "--n", "9", "--out", str(tmp_path / "hub.png"))
    main_ = cli("sample", "--checkpoint", "user/name", "--n", "9", "--out", str(tmp_path / "main.png"))
    assert local.returncode == hub.returncode == main_.returncode == 0, hub.stderr + main_.stderr
    assert np.array_equal(pixels(tmp_path / "local.png"), pixels(tmp_path / "hub.png"))  # v1's weights, same z
    assert not np.array_equal(pixels(tmp_path / "main.png"), pixels(tmp_path / "hub.png"))  # main: another G
    assert any(path.endswith("/resolve/v1/config.json") for _, _, path in fake_hub.requests)


def test_export_hub_dir_then_push_then_load_back(fake_hub, tiny_models_checkpoint, tmp_path, monkeypatch):
    report = {"dataset": "digits", "n_generated": 10, "n_held_out": 10,
              "diversity": {"generated": 0.25, "held_out": 0.3}}  # fmt: skip
    (tmp_path / "report.json").write_text(json.dumps(report))
    out = tmp_path / "hub_out"
    done = cli("export", str(tiny_models_checkpoint), "--hub-dir", str(out), "--report",
                   str(tmp_path / "report.json"), "--train-command", "python -m dcgan_studio train --epochs 2",
                   "--repo-id", "user/tiny")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "README.md", "config.json", "discriminator.safetensors", "model.safetensors", "report.json", "samples.png"
    ]  # fmt: skip
    card = ModelCard((out / "README.md").read_text())
    assert card.data.library_name == "dcgan-studio" and card.data.pipeline_tag == "unconditional-image-generation"
    assert "| pixel diversity (mean pairwise RMS distance) | 0.250 | 0.300 |" in card.text
    assert "python -m dcgan_studio train --epochs 2" in card.text and 'from_pretrained("user/tiny")' in card.text
    monkeypatch.setenv("HF_TOKEN", "hf_fake")
    pushed = cli("push", "--dir", str(out), "--repo", "user/tiny")
    assert pushed.returncode == 0, pushed.stderr
    assert sorted(fake_hub.commits[-1]["files"]) == sorted(p.name for p in out.iterdir())
    assert fake_hub.commits[-1]["repo_id"] == "user/tiny"
    # and back: the pushed repo's samples equal the local file's
    a = cli("sample", "--checkpoint", "user/tiny", "--n", "4", "--out", str(tmp_path / "a.png"))
    b = cli("sample", "--checkpoint", str(tiny_models_checkpoint), "--n", "4", "--out", str(tmp_path / "b.png"))
    assert a.returncode == b.returncode == 0, a.stderr
    assert np.array_equal(pixels(tmp_path / "a.png"), pixels(tmp_path / "b.png"))


def test_export_needs_a_file_or_a_hub_dir(tiny_models_checkpoint):
    line = error_line(cli("export", str(tiny_models_checkpoint)))
    assert "--hub-dir" in line


def test_hub_failures_are_one_error_line_and_exit_2(fake_hub, tmp_path):
    Generator(ModelConfig(**TINY)).save_pretrained(tmp_path / "g")
    fake_hub.publish("user/name", tmp_path / "g")
    fake_hub.publish("user/bert", {"config.json": json.dumps({"model_type": "bert"}).encode()})
    cases = {
        ("sample", "--checkpoint", "user/missing"): "Hub repo 'user/missing' not found",
        ("interpolate", "--checkpoint", "user/name@v9"): "revision 'v9' does not exist in Hub repo 'user/name'",
        ("export", "user/bert", "--hub-dir", str(tmp_path / "x")): "'user/bert' is not a DCGAN Studio model",
        ("push", "--dir", str(tmp_path / "g"), "--repo", "not-a-repo"): "is not a Hub repo id",
    }
    for argv, expected in cases.items():
        assert expected in error_line(cli(*argv)), argv


def test_no_network_is_one_error_line(tmp_path, monkeypatch, capsys):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    use_fake_hub(monkeypatch, f"http://127.0.0.1:{port}", tmp_path / "hf_home")
    import huggingface_hub.utils._http as hf_http

    monkeypatch.setattr(hf_http.time, "sleep", lambda seconds: None)  # no backoff between huggingface_hub's retries
    assert main(["sample", "--checkpoint", "user/name", "--out", str(tmp_path / "s.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: cannot reach the Hub at http://127.0.0.1:") and "\n" not in err
    assert not (tmp_path / "s.png").exists()


@pytest.mark.slow  # a fresh interpreter
def test_offline_mode_in_a_subprocess_says_so(fake_hub, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert "offline mode is on (HF_HUB_OFFLINE=1)" in error_line(run_cli("eval", "--checkpoint", "user/name"))
