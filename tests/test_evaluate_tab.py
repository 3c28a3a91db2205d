"""The Evaluate tab's handler over the core, without a browser."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

gr = pytest.importorskip("gradio")

from dcgan_studio.app import evaluate_tab  # noqa: E402
from dcgan_studio.app.errors import StudioError  # noqa: E402
from dcgan_studio.app.visitors import LOCAL_VISITOR  # noqa: E402


@pytest.mark.slow  # the whole report through the Studio (~10 s)
def test_evaluate_handler_shows_report_plots_and_files(studio):
    ckpt = studio.models.default(LOCAL_VISITOR)
    out = evaluate_tab.run_evaluation(studio, LOCAL_VISITOR, ckpt, "digits", run_probe=False, repeats=1, seed=0)
    assert "real-vs-real" in out["markdown"] and "![" not in out["markdown"]
    assert out["report"]["classifier"]["available"] and out["report"]["discriminator"]["available"]
    assert {Path(p).name for p, _ in out["plots"]} >= {"samples.png", "class_histogram.png", "memorisation_pairs.png"}
    assert json.loads(Path(out["files"][0]).read_text())["dataset"] == "digits"
    assert (
        evaluate_tab.run_evaluation(studio, LOCAL_VISITOR, ckpt, "digits", run_probe=False, repeats=1, seed=0) is out
    )  # cached


def test_evaluate_handler_refuses_bad_input(studio, tmp_path):
    ckpt = studio.models.default(LOCAL_VISITOR)
    with pytest.raises(StudioError):
        evaluate_tab.run_evaluation(studio, LOCAL_VISITOR, "/etc/passwd", "digits")
    with pytest.raises(StudioError):
        evaluate_tab.run_evaluation(studio, LOCAL_VISITOR, ckpt, "imagenet")
    with pytest.raises(ValueError):
        evaluate_tab.run_evaluation(studio, LOCAL_VISITOR, ckpt, "digits", repeats=99)
    with pytest.raises(StudioError):
        evaluate_tab.run_evaluation(studio, LOCAL_VISITOR, ckpt, evaluate_tab.ZIP_CHOICE, zip_file=None)


def test_evaluate_tab_is_in_the_app():
    from dcgan_studio.app import TABS

    assert evaluate_tab in TABS
