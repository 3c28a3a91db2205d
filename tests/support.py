"""Constants and helpers the tests import (a plain module: conftest.py is pytest's, not for importing)."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(image_size=32, channels=1, nz=16, ngf=8, ndf=8)  # a model small enough for many CPU tests
# two tiny runs that differ in exactly these settings (conftest's ``two_runs``: compare and the Runs tab)
TWO_RUNS = {"a": dict(lr=2e-4, seed=0), "b": dict(lr=1e-3, seed=1)}
# TINY on the CPU as `train` flags (32x32 with 1 channel are train's defaults)
TINY_FLAGS = ["--ngf", str(TINY["ngf"]), "--ndf", str(TINY["ndf"]), "--nz", str(TINY["nz"]), "--device", "cpu"]
# /train_start's first 16 parameters for a tiny digits run of 4 steps (tests override what they need)
TINY_FORM = dict(
    dataset="digits",
    zip_file=None,
    folder="",
    image_size="32",
    channels="1",
    nz=16,
    ngf=8,
    ndf=8,
    batch_size=64,
    lr=2e-4,
    beta1=0.5,
    epochs=1,
    max_steps=4,
    seed=0,
    log_every=2,
    sample_every=2,
)


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """``python -m dcgan_studio ARGS`` in a fresh process (as a user runs it)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "dcgan_studio", *args],
        cwd=cwd or ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``python -m dcgan_studio ARGS`` in this process: the same parser, exit code, stdout and stderr as ``run_cli``
    without an interpreter start and a torch import (seconds each on 2 cores). ``run_cli`` stays for the tests whose
    point is a fresh process (exact resume, the entry point itself). An uncaught exception fails the test."""
    from dcgan_studio.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), contextlib.chdir(cwd or ROOT):
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse: --help (0) and usage errors (2)
            code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    return subprocess.CompletedProcess(["python", "-m", "dcgan_studio", *args], code, out.getvalue(), err.getvalue())


def ship_beside(checkpoint: Path, run: Path, folder: Path) -> Path:
    """A checkpoint with its run folder beside it, as the shipped generator lies in ``checkpoints/``
    (``<stem>.safetensors`` and ``<stem>-run/``: config.json, metrics.csv, samples/, timelapse.gif; no
    checkpoints). Returns the copied checkpoint."""
    import shutil

    folder.mkdir(parents=True, exist_ok=True)
    target = shutil.copyfile(checkpoint, folder / checkpoint.name)
    beside = folder / f"{checkpoint.stem}-run"
    beside.mkdir(exist_ok=True)
    for name in ("config.json", "metrics.csv", "timelapse.gif"):
        if (run / name).is_file():
            shutil.copyfile(run / name, beside / name)
    shutil.copytree(run / "samples", beside / "samples", dirs_exist_ok=True)
    return Path(target)


def collapse_last_grid(run: Path) -> None:
    """Make a ``two_runs`` run's last grid (step 6) show one image four times over, as a collapsed G draws the fixed
    noise (2x2 images of 32 px, 2 px apart)."""
    import numpy as np
    from PIL import Image

    grid = np.asarray(Image.open(run / "samples" / "step_0000004.png").convert("RGB")).copy()
    first = grid[2:34, 2:34].copy()
    for y, x in ((2, 2), (2, 36), (36, 2), (36, 36)):
        grid[y : y + 32, x : x + 32] = first
    Image.fromarray(grid).save(run / "samples" / "step_0000006.png")
