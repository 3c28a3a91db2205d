"""Constants and helpers the tests import (a plain module: conftest.py is pytest's, not for importing)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(image_size=32, channels=1, nz=16, ngf=8, ndf=8)  # a model small enough for many CPU tests


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
