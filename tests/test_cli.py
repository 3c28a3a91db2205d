"""The command line end to end, as a user runs it (a few steps): its parser, output and exit codes through ``main``
in this process (``support.cli``); the parser's refusal once in a fresh process (``python -m dcgan_studio``)."""

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image
from support import ROOT, TINY_FLAGS, cli, run_cli

from dcgan_studio.checkpoint import read_info
from dcgan_studio.config import TrainConfig


def test_help_explains_every_option():
    r = cli("--help")
    assert r.returncode == 0
    for name in ("train", "sample", "interpolate", "export", "import-pth"):
        assert name in r.stdout
    r = cli("train", "--help")
    assert r.returncode == 0
    for flag in (
        "--dataset",
        "--image-size",
        "--batch-size",
        "--lr",
        "--beta1",
        "--seed",
        "--device",
        "--resume",
        "--out",
    ):
        assert flag in r.stdout


def test_train_sample_interpolate_export(tmp_path):
    run = tmp_path / "run"
    r = cli(
        "train",
        "--ngf",
        "8",
        "--ndf",
        "8",
        "--batch-size",
        "64",
        "--max-steps",
        "4",
        "--log-every",
        "2",
        "--device",
        "cpu",
        "--out",
        str(run),
    )
    assert r.returncode == 0, r.stderr
    assert "[0/25][1/28]\tLoss_D:" in r.stdout and "D(G(z)):" in r.stdout
    assert "finished at step 4" in r.stdout
    rows = list(csv.DictReader(open(run / "metrics.csv")))
    assert [int(row["step"]) for row in rows] == [1, 2, 3, 4]
    assert (run / "training.png").is_file() and (run / "config.json").is_file()
    assert list((run / "samples").glob("*.png")), "a fixed-noise grid is written"

    grid = tmp_path / "grid.png"
    r = cli(
        "sample", "--checkpoint", str(run / "generator.safetensors"), "--out", str(grid), "--n", "16", "--seed", "3"
    )
    assert r.returncode == 0, r.stderr
    assert Image.open(grid).size == (4 * 34 + 2, 4 * 34 + 2)
    again = tmp_path / "again.png"
    cli("sample", "--checkpoint", str(run / "generator.safetensors"), "--out", str(again), "--n", "16", "--seed", "3")
    assert grid.read_bytes() == again.read_bytes()  # a seed names a grid

    strip = tmp_path / "walk.png"
    r = cli("interpolate", "--checkpoint", str(run / "generator.safetensors"), "--out", str(strip), "--steps", "5")
    assert r.returncode == 0, r.stderr
    assert Image.open(strip).size == (5 * 34 + 2, 34 + 2)
    gif = tmp_path / "walk.gif"
    assert (
        cli(
            "interpolate", "--checkpoint", str(run / "generator.safetensors"), "--out", str(gif), "--steps", "4"
        ).returncode
        == 0
    )
    assert Image.open(gif).n_frames >= 4

    ckpt = sorted((run / "checkpoints").glob("*.safetensors"))[-1]
    small = tmp_path / "G.safetensors"
    r = cli("export", str(ckpt), str(small))
    assert r.returncode == 0, r.stderr
    assert small.stat().st_size < ckpt.stat().st_size / 3  # no D, no optimiser state
    # the export names the run it came from: the checkpoint's step, epoch and train config (config.json's)
    meta = read_info(small).metadata
    assert meta["extra.exported_from"] == ckpt.name and meta["extra.step"] == "4" and meta["extra.epoch"] == "0"
    run_config = json.loads((run / "config.json").read_text())
    assert TrainConfig.from_json(meta["extra.train_config"]).to_dict() == run_config["train"]


@pytest.mark.parametrize(
    "args,message",
    [
        (["train", "--dataset", "imagenet", "--max-steps", "1"], "unknown dataset"),
        (["train", "--dataset", "folder", "--data-path", "/no/such/folder", "--max-steps", "1"], "does not exist"),
        (["train", "--dataset", "cifar10", "--data-path", "{tmp}", "--max-steps", "1"], "--download"),
        (["train", "--batch-size", "0"], "batch_size"),
        (["sample", "--checkpoint", "/no/such.safetensors"], "does not exist"),
        (["sample", "--checkpoint", "{tmp}/corrupt.safetensors"], "safetensors"),
        (["sample", "--checkpoint", "{tmp}/corrupt.safetensors", "--n", "100000"], "--n"),
    ],
)
def test_bad_input_ends_with_one_clear_line_and_exit_code_2(tmp_path, args, message):
    (tmp_path / "corrupt.safetensors").write_bytes(b"\x00" * 64)
    r = cli(
        *[a.replace("{tmp}", str(tmp_path)) for a in args],
        "--out" if args[0] == "train" else "--seed",
        str(tmp_path / "out") if args[0] == "train" else "0",
    )
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    err_lines = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(err_lines) == 1 and message in err_lines[0], r.stderr


@pytest.mark.slow  # a fresh interpreter
def test_wrong_image_size_is_refused_by_the_parser():
    r = run_cli("train", "--image-size", "48")  # the entry point itself, in a fresh process
    assert r.returncode == 2 and "invalid choice" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.slow  # a fresh process that trains until it is interrupted
def test_ctrl_c_ends_a_run_with_a_checkpoint_of_the_step_it_stopped_at(tmp_path):
    """Ctrl-C (SIGINT) mid-run, as a user or ``timeout -s INT`` sends it: the CLI saves the step it stopped at and
    exits 0, so the steps since the last periodic checkpoint are kept (a Ctrl-C inside ``Thread.join`` once made it
    exit without them, its training thread still running: "terminate called without an active exception")."""
    cmd = [sys.executable, "-m", "dcgan_studio", "train", *TINY_FLAGS, "--epochs", "1000", "--log-every", "1"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([*cmd, "--out", str(tmp_path)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    metrics, deadline = tmp_path / "metrics.csv", time.monotonic() + 120
    while time.monotonic() < deadline and (not metrics.exists() or len(metrics.read_text().splitlines()) < 4):
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    out, err = (b.decode() for b in proc.communicate(timeout=120))
    assert proc.returncode == 0, err
    ended = re.search(r"stopped at step (\d+): checkpoint (\S+),", out)
    assert ended, out
    step, checkpoint = int(ended.group(1)), Path(ended.group(2))
    assert step >= 3 and checkpoint.name == f"step_{step:07d}.safetensors" and checkpoint.exists()
    assert "terminate called" not in err
