"""Experiment trackers a run logs to besides its own folder: TensorBoard and Trackio, both optional extras.

PyTorch users read runs in TensorBoard; Hugging Face users increasingly in Trackio (local-first, a Gradio dashboard,
runs storable as a Hub dataset). A tracker gets what the run folder gets: the scalars at each log step, the
fixed-noise grid at each sample step, the config as hyperparameters, and the run folder's name as the run's name.
Neither package is needed to train: asking for one that is not installed is a one-line error that says what to
install.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from .errors import UserError

logger = logging.getLogger(__name__)

TRACKERS = ("tensorboard", "trackio")
TRACKIO_PROJECT = "dcgan-studio"
INSTALL_HINT = "pip install 'dcgan-studio[track]'"


class TrackerError(UserError):
    """A tracker cannot be used (unknown name, package not installed)."""


class Tracker(Protocol):
    def log_scalars(self, step: int, values: dict[str, float]) -> None: ...
    def log_grid(self, step: int, grid_uint8: torch.Tensor) -> None: ...
    def close(self) -> None: ...


def flat_config(config: dict, prefix: str = "") -> dict[str, float | int | str | bool]:
    """Nested config -> {"model.ngf": 64, ...}: what hyperparameter tables show (lists and None become text)."""
    out: dict[str, float | int | str | bool] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flat_config(value, f"{name}."))
        elif isinstance(value, (bool, int, float, str)):
            out[name] = value
        else:
            out[name] = json.dumps(value)
    return out


class TensorBoardTracker:
    """Event files under ``<run>/tensorboard``: ``tensorboard --logdir runs`` shows every run by its folder name."""

    def __init__(self, run_dir: Path, config: dict):
        try:
            from torch.utils.tensorboard import SummaryWriter
            from torch.utils.tensorboard.summary import hparams
        except ImportError as exc:
            raise TrackerError(f"--track tensorboard needs the tensorboard package: {INSTALL_HINT}") from exc
        self.writer = SummaryWriter(log_dir=str(Path(run_dir) / "tensorboard"))
        # hyperparameters in this run's own event file (add_hparams would open a second run beside it)
        for summary in hparams(flat_config(config), {}):
            self.writer.file_writer.add_summary(summary)
        self.writer.add_text("config", "```\n" + json.dumps(config, indent=2) + "\n```", 0)

    def log_scalars(self, step: int, values: dict[str, float]) -> None:
        for key, value in values.items():
            self.writer.add_scalar(key, value, step)

    def log_grid(self, step: int, grid_uint8: torch.Tensor) -> None:
        self.writer.add_image("samples/fixed_noise", grid_uint8.cpu(), step, dataformats="CHW")

    def close(self) -> None:
        self.writer.close()


class TrackioTracker:
    """A run in Trackio's local store (``TRACKIO_DIR``), project "dcgan-studio": ``trackio show`` opens it."""

    def __init__(self, run_dir: Path, config: dict):
        try:
            import trackio
        except ImportError as exc:
            raise TrackerError(f"--track trackio needs the trackio package: {INSTALL_HINT}") from exc
        self._trackio = trackio
        self.run = trackio.init(project=TRACKIO_PROJECT, name=Path(run_dir).name, config=config, embed=False)

    def log_scalars(self, step: int, values: dict[str, float]) -> None:
        self.run.log(dict(values), step=step)

    def log_grid(self, step: int, grid_uint8: torch.Tensor) -> None:
        pixels = grid_uint8.cpu().permute(1, 2, 0).numpy()
        pixels = np.repeat(pixels, 3, axis=2) if pixels.shape[2] == 1 else pixels
        self.run.log({"samples/fixed_noise": self._trackio.Image(pixels)}, step=step)

    def close(self) -> None:
        self.run.finish()


def open_tracker(name: str, run_dir: Path, config: dict) -> Tracker:
    """The tracker called ``name`` for the run in ``run_dir``; unknown names and missing packages are user errors."""
    kinds = {"tensorboard": TensorBoardTracker, "trackio": TrackioTracker}
    if name not in kinds:
        raise TrackerError(f"unknown tracker {name!r}; choose one of {', '.join(TRACKERS)}")
    return kinds[name](Path(run_dir), config)
