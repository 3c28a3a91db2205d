"""TensorBoard and Trackio, read back with their own readers, offline; missing packages are one clear error."""

import subprocess
import sys
import textwrap

import pytest
import torch

from dcgan_studio.errors import UserError
from dcgan_studio.trackers import flat_config, open_tracker

CONFIG = {"model": {"ngf": 8, "image_size": 32}, "train": {"lr": 2e-4, "betas": [0.5, 0.999], "ema": None}}


def _grid(step: int) -> torch.Tensor:
    return torch.full((3, 10, 12), step, dtype=torch.uint8)


def test_flat_config_names_nested_keys():
    assert flat_config(CONFIG) == {
        "model.ngf": 8,
        "model.image_size": 32,
        "train.lr": 2e-4,
        "train.betas": "[0.5, 0.999]",
        "train.ema": "null",
    }


def test_tensorboard_event_file_reads_back(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = tmp_path / "run_a"
    tracker = open_tracker("tensorboard", run, CONFIG)
    for step in (10, 20):
        tracker.log_scalars(step, {"loss/D": 1.0 / step, "loss/G": 2.0})
        tracker.log_grid(step, _grid(step))
    tracker.close()
    events = EventAccumulator(str(run / "tensorboard"), size_guidance={"images": 0}).Reload()
    scalars = events.Scalars("loss/D")
    assert [e.step for e in scalars] == [10, 20]
    assert scalars[1].value == pytest.approx(0.05)
    images = events.Images("samples/fixed_noise")
    assert [(i.step, i.width, i.height) for i in images] == [(10, 12, 10), (20, 12, 10)]
    assert "config" in "".join(events.Tags()["tensors"])


@pytest.mark.slow  # a fresh interpreter (Trackio fixes its folder on import)
def test_trackio_local_store_reads_back(tmp_path):
    pytest.importorskip("trackio")
    # a fresh interpreter: Trackio fixes its store's folder (TRACKIO_DIR) when it is imported
    script = textwrap.dedent(
        f"""
        import torch, trackio
        from dcgan_studio.trackers import open_tracker, TRACKIO_PROJECT
        t = open_tracker("trackio", {str(tmp_path / "run_b")!r}, {CONFIG!r})
        for step in (10, 20):
            t.log_scalars(step, {{"loss/D": 1.0 / step}})
            t.log_grid(step, torch.full((1, 8, 8), step, dtype=torch.uint8))
        t.close()
        logs = trackio.SQLiteStorage.get_logs(TRACKIO_PROJECT, "run_b")
        print("SCALARS", [(row["step"], round(row["loss/D"], 4)) for row in logs if "loss/D" in row])
        print("IMAGES", sum("samples/fixed_noise" in row for row in logs))
        """
    )
    env = {"TRACKIO_DIR": str(tmp_path / "store"), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"}
    res = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    lines = dict(line.split(" ", 1) for line in res.stdout.splitlines() if line.startswith(("SCALARS", "IMAGES")))
    assert lines["SCALARS"] == "[(10, 0.1), (20, 0.05)]", res.stdout
    assert lines["IMAGES"] == "2"
    assert any((tmp_path / "store").rglob("*.db"))


def test_unknown_or_missing_tracker_is_one_clear_error(tmp_path, monkeypatch):
    with pytest.raises(UserError, match="choose one of tensorboard, trackio"):
        open_tracker("wandb", tmp_path, CONFIG)
    monkeypatch.setitem(sys.modules, "trackio", None)  # as if not installed
    with pytest.raises(UserError, match=r"pip install 'dcgan-studio\[track\]'"):
        open_tracker("trackio", tmp_path, CONFIG)


def test_train_track_tensorboard_logs_every_step_and_grid(tmp_path):
    """``train --track tensorboard``: the metrics of each step, the fixed-noise grids, the config as hparams."""
    pytest.importorskip("tensorboard")
    from support import TINY_FLAGS, cli
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = tmp_path / "run"
    flags = ["--max-steps", "4", "--log-every", "2", "--sample-every", "2", "--batch-size", "64", "--n-fixed", "4"]
    r = cli("train", *TINY_FLAGS, *flags, "--track", "tensorboard", "--out", str(run))
    assert r.returncode == 0, r.stderr
    events = EventAccumulator(str(run / "tensorboard"), size_guidance={"images": 0, "scalars": 0}).Reload()
    assert [e.step for e in events.Scalars("loss_d")] == [1, 2, 3, 4]
    csv_rows = (run / "metrics.csv").read_text().splitlines()
    loss_d_at_4 = float(csv_rows[-1].split(",")[csv_rows[0].split(",").index("loss_d")])
    assert events.Scalars("loss_d")[-1].value == pytest.approx(loss_d_at_4, rel=1e-5)
    assert [i.step for i in events.Images("samples/fixed_noise")] == [2, 4]
    assert any(tag.endswith("hparams_plugin") or "hparams" in tag for tag in events.summary_metadata)


def test_a_public_studio_offers_no_tracker():
    from dcgan_studio.app.settings import Limits
    from dcgan_studio.config import TrainConfig
    from dcgan_studio.options import options_of

    (opt,) = [o for f, o in options_of(TrainConfig) if f.name == "track"]
    assert Limits.for_mode(False, {}).choices(opt) == ("none", "tensorboard", "trackio")
    assert Limits.for_mode(True, {}).choices(opt) == ("none",)
