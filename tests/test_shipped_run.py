"""The shipped generator's run folder (checkpoints/digits32-run) belongs to the shipped file: the same model and
train config, its metrics end at the step the file was exported from, and it is a run folder `compare` reads. Small:
a thinned set of grids, a compact timelapse, no checkpoints."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from dcgan_studio.checkpoint import read_info
from dcgan_studio.compare import load_run, read_metrics
from dcgan_studio.config import TrainConfig
from dcgan_studio.plots import grid_step
from dcgan_studio.shipped import run_of, shipped_generator, shipped_run

MAX_GRIDS = 20
MAX_TIMELAPSE_BYTES = 2_000_000
MAX_FOLDER_BYTES = 3_000_000


@pytest.fixture(scope="module")
def shipped():
    info = read_info(shipped_generator())
    run = shipped_run()
    assert run == run_of(shipped_generator()) and run.is_dir(), f"{run} is missing"
    return info.metadata, info.model_config, run


def test_the_shipped_run_has_the_shipped_files_config(shipped):
    metadata, model_config, run = shipped
    config = json.loads((run / "config.json").read_text())
    assert config["model"] == model_config.to_dict()
    # both read as configs: a field added since the run (lr_decay_start) takes its default in each
    assert TrainConfig.from_dict(config["train"]) == TrainConfig.from_json(metadata["extra.train_config"])


def test_the_shipped_runs_metrics_end_at_the_step_the_file_was_exported_from(shipped):
    metadata, _, run = shipped
    rows, skipped = read_metrics(run / "metrics.csv")
    step = int(metadata["extra.step"])
    assert not skipped and [r["step"] for r in rows] == list(range(1, step + 1))  # every step, none after
    assert metadata["extra.exported_from"] == f"step_{step:07d}.safetensors"
    grids = sorted(grid_step(p) for p in (run / "samples").glob("*.png"))
    assert 2 <= len(grids) <= MAX_GRIDS and grids[-1] == step, grids  # spread over the run, up to its last grid


def test_the_shipped_run_is_a_small_run_folder_that_compare_reads(shipped):
    _, _, run = shipped
    files = [p for p in run.rglob("*") if p.is_file()]
    assert not (run / "checkpoints").exists() and not [p for p in files if p.suffix == ".safetensors"]
    assert sum(p.stat().st_size for p in files) <= MAX_FOLDER_BYTES
    assert (run / "timelapse.gif").stat().st_size <= MAX_TIMELAPSE_BYTES
    with Image.open(run / "timelapse.gif") as gif:
        assert gif.n_frames >= 10
    summary = load_run(run)
    assert summary.last_step == int(shipped[0]["extra.step"]) and len(summary.grids) == len(list(run.glob("samples/*")))
