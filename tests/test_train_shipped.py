"""The Train tab before the visitor's first run: the shipped generator's run folder (beside its checkpoint) drawn as
a live run is, with a caption naming it; read once and kept; a visitor's own run replaces it; no folder, no change."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from support import TINY_FORM, ship_beside

pytest.importorskip("gradio")

from dcgan_studio.app import train_tab  # noqa: E402
from dcgan_studio.app.common import make_studio  # noqa: E402
from dcgan_studio.app.train_shipped import GRID_LABEL, SHIPPED_GRID_LABEL, shipped_run  # noqa: E402
from dcgan_studio.app.train_view import DEFAULT_SMOOTHING, current_key, view  # noqa: E402
from dcgan_studio.app.visitors import LOCAL_VISITOR  # noqa: E402
from dcgan_studio.compare import read_metrics  # noqa: E402
from dcgan_studio.shipped import GENERATOR, run_of  # noqa: E402


@pytest.fixture
def shipped_studio(tiny_models_checkpoint, tiny_run, tmp_path):
    checkpoint = ship_beside(tiny_models_checkpoint, tiny_run, tmp_path / "checkpoints")
    return make_studio(shipped=checkpoint, runs_dir=tmp_path / "runs", data_dir=tmp_path / "data")


def test_the_shipped_run_folder_is_named_after_the_shipped_file():
    assert run_of(f"checkpoints/{GENERATOR}").name == "digits32-run"


def test_before_a_run_the_tab_draws_the_shipped_runs_curves_timelapse_and_caption(shipped_studio, tiny_run):
    v = view(shipped_studio, LOCAL_VISITOR, DEFAULT_SMOOTHING)
    rows, _ = read_metrics(tiny_run / "metrics.csv")
    assert v["state"] == "idle"
    assert "shipped generator's training" in v["status"] and "`tiny_models.safetensors`" in v["status"]
    assert f"{rows[-1]['step']} steps" in v["status"]
    for frame, label in ((v["losses"], "Loss_D"), (v["d_outputs"], "D(x)")):
        drawn = frame[frame.series == label].dropna()
        assert list(drawn.step) == [r["step"] for r in rows]  # every logged step of the run, as a live run draws it
    assert v["grid_label"] == SHIPPED_GRID_LABEL
    with Image.open(v["grid"]) as im:
        assert im.format == "GIF"
    # the run's timelapse, copied where the Studio serves files from
    assert Path(v["grid"]).read_bytes() == (tiny_run / "timelapse.gif").read_bytes()
    assert Path(v["grid"]).parent == shipped_studio.work_dir
    assert current_key(shipped_studio, LOCAL_VISITOR) == v["key"]  # the timer skips redrawing it


def test_the_shipped_run_is_read_once_and_drawn_once(shipped_studio, monkeypatch):
    first = view(shipped_studio, LOCAL_VISITOR, DEFAULT_SMOOTHING)
    monkeypatch.setattr("dcgan_studio.app.train_shipped.read_metrics", lambda *_: pytest.fail("read again"))
    again = view(shipped_studio, LOCAL_VISITOR, DEFAULT_SMOOTHING)
    assert again["losses"] is first["losses"] and again["grid"] == first["grid"]
    assert view(shipped_studio, LOCAL_VISITOR, 0.0)["losses"] is not first["losses"]  # the slider still redraws


def test_a_visitors_run_replaces_the_shipped_run(shipped_studio):
    train_tab.start(shipped_studio, LOCAL_VISITOR, **TINY_FORM)
    shipped_studio.jobs.stop_and_wait(60)
    v = view(shipped_studio, LOCAL_VISITOR)
    assert "shipped" not in v["status"] and v["grid_label"] == GRID_LABEL
    assert current_key(shipped_studio, LOCAL_VISITOR) != shipped_run(shipped_studio).key


def test_without_a_run_folder_beside_the_checkpoint_the_tab_opens_as_before(studio):
    v = view(studio, LOCAL_VISITOR)
    assert shipped_run(studio) is None and current_key(studio, LOCAL_VISITOR) is None
    assert v["status"].startswith("No training run yet") and v["grid"] is None and v["losses"].value.isna().all()


def test_a_damaged_shipped_run_leaves_the_tab_as_before(shipped_studio):
    (run_of(shipped_studio.models.shipped) / "config.json").write_text("{not json")
    assert view(shipped_studio, LOCAL_VISITOR)["status"].startswith("No training run yet")
