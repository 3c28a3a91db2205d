"""The Runs tab's handlers: which runs a visitor may pick (local vs public), what a comparison shows, bad input
answered in words, and the run folders left exactly as they were."""

from __future__ import annotations

import csv
import functools
import json
import re
import shutil

import gradio as gr
import numpy as np
import pytest
from PIL import Image
from support import collapse_last_grid

from dcgan_studio.app import runs_tab
from dcgan_studio.app.common import make_studio
from dcgan_studio.app.visitors import LOCAL_VISITOR, Visitor

A, B = Visitor("a" * 32), Visitor("b" * 32)  # two public visitors


def snapshot(folder):
    """Every file under a folder: its bytes and mtime."""
    return {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def no_shipped_run(monkeypatch, tmp_path):
    """No shipped run folder (a checkout may or may not have one): the listing is the runs folder's alone."""
    monkeypatch.setattr(runs_tab, "shipped_run", lambda: tmp_path / "no-shipped-run")


@pytest.fixture
def local(tiny_models_checkpoint, two_runs, tmp_path, no_shipped_run):
    """A local Studio whose runs folder holds a/, b/, sweep/c/ (a copy of a), a folder that is not a run, a symlink
    to a run elsewhere and a public visitor's run."""
    runs = tmp_path / "runs"
    for name in ("a", "b"):
        shutil.copytree(two_runs / name, runs / name)
    shutil.copytree(two_runs / "a", runs / "sweep" / "c")
    (runs / "junk" / "samples").mkdir(parents=True)  # no config.json
    (runs / "elsewhere").symlink_to(two_runs / "b", target_is_directory=True)
    shutil.copytree(two_runs / "a", runs / "public" / "somebody" / "x")
    return make_studio(tiny_models_checkpoint, runs, tmp_path / "data", public=False)


@pytest.fixture
def public(tiny_models_checkpoint, two_runs, tmp_path, no_shipped_run):
    """A public Studio where visitor A has one run (a copy of a) and visitor B none."""
    studio = make_studio(tiny_models_checkpoint, tmp_path / "runs", tmp_path / "data", public=True)
    shutil.copytree(two_runs / "a", studio.runs_for(A) / "app-1")
    return studio


def ids(studio, visitor):
    return [c.id for c in runs_tab.run_choices(studio, visitor)]


def test_local_lists_every_run_folder_under_runs(local):
    assert sorted(ids(local, LOCAL_VISITOR)) == ["a", "b", "sweep/c"]  # no junk, no symlink, no public visitor's run


def test_the_shipped_run_comes_first_when_it_exists(local, two_runs, monkeypatch):
    monkeypatch.setattr(runs_tab, "shipped_run", lambda: two_runs / "b")
    choices = runs_tab.run_choices(local, LOCAL_VISITOR)
    assert (choices[0].id, choices[0].label) == ("shipped: b", "b (shipped)")
    assert runs_tab.default_selection(choices) == ["shipped: b"]


def as_page(studio, fn):
    """``fn(studio, visitor, ...)`` as the page calls it: through ``studio.handler``, as the request's visitor (here
    none: a public Studio's anonymous API visitor, who owns no run)."""
    return studio.handler(functools.partial(fn, studio), visitor=True)


def test_public_visitors_see_their_own_runs_and_the_shipped_one(public, two_runs, monkeypatch):
    assert ids(public, A) == ["app-1"] and ids(public, B) == [] and ids(public, LOCAL_VISITOR) == []
    with pytest.raises(gr.Error, match="'app-1' is not one of the runs this Studio offers you"):
        as_page(public, runs_tab.compare_runs)(["app-1"])
    assert runs_tab.view(public, A, ["app-1"]).runs[0].name == "app-1"
    monkeypatch.setattr(runs_tab, "shipped_run", lambda: two_runs / "b")
    assert ids(public, A) == ["shipped: b", "app-1"] and ids(public, B) == ["shipped: b"]
    assert [r.name for r in runs_tab.view(public, B, ["shipped: b"]).runs] == ["b (shipped)"]


def test_the_first_screen_opens_on_the_shipped_run(public, two_runs, monkeypatch, tmp_path):
    picker, summary, curves, *_ = runs_tab.first_screen(public, B)  # nothing shipped, no run of their own
    assert picker["value"] == [] and summary.startswith("**No runs yet.**") and curves == ""
    monkeypatch.setattr(runs_tab, "shipped_run", lambda: two_runs / "b")
    picker, summary, curves, _, grids, *_ = runs_tab.first_screen(public, A)
    assert picker["value"] == ["shipped: b"] and picker["choices"] == [
        ("b (shipped)", "shipped: b"),
        ("app-1", "app-1"),
    ]
    assert summary == "Comparing **b (shipped)** (blue)." and "<svg" in curves
    assert [c for _, c in grids] == ["b (shipped): step 6"]
    shipped = shutil.copytree(two_runs / "b", tmp_path / "shipped" / "b")
    (shipped / "generator.safetensors").unlink()  # the shipped generator lies beside its run folder
    monkeypatch.setattr(runs_tab, "shipped_run", lambda: shipped)
    health = runs_tab.health_table(runs_tab.view(public, A, ["shipped: b", "app-1"]))
    assert health["state"].tolist() == ["shipped", "finished"] and health["warnings and notes"][0] == "—"


@pytest.mark.parametrize(
    ("runs", "message"),
    [
        (["../b"], "'../b' is not one of the runs this Studio offers you"),
        (["junk"], "'junk' is not one of the runs"),  # a folder without config.json is not offered
        (["elsewhere"], "'elsewhere' is not one of the runs"),  # nor a symlink
        (["public/somebody/x"], "is not one of the runs"),  # nor a public visitor's run
        (["/etc"], "'/etc' is not one of the runs"),
        (["a", "b", "sweep/c", "a", "b"], "5 runs given: compare at most 4"),
        (7, "runs must be a list of run names"),
    ],
)
def test_forged_or_bad_names_get_a_clear_message(local, runs, message):
    with pytest.raises(gr.Error, match=re.escape(message)):
        as_page(local, runs_tab.compare_runs)(runs)


def test_the_comparison_shows_what_differs(local):
    v = runs_tab.view(local, LOCAL_VISITOR, ["a", "b"])
    summary, curves, slider, grids, timelapses, diff, health, evals, figures = runs_tab.outputs_of(local, v, [])
    assert diff.columns.tolist() == ["setting", "a", "b"]
    assert diff.values.tolist() == [["train.lr", "0.0002", "0.001"], ["train.seed", "0", "1"]]
    assert "**a** (blue), **b** (orange)" in summary
    assert health["health"].tolist() == ["ok", "ok"] and health["state"].tolist() == ["finished", "finished"]
    assert (slider["maximum"], slider["value"]) == (6, 6) and "minimum" not in slider
    assert [c for _, c in grids] == ["a: step 6", "b: step 6"] and [c for _, c in timelapses] == [
        "a: timelapse",
        "b: timelapse",
    ]
    assert "no run has an eval report" in evals.values[0][0] and figures["value"] == []
    # the curves: one colour per run, on the same axes
    strokes = set(re.findall(r"stroke: (#[0-9a-f]{6})", curves))
    assert {"#1f77b4", "#ff7f0e"} <= strokes and curves.startswith('<div class="runs-curves"><svg')
    # the same-step grids: each run's own file, different pictures (different seeds)
    a, b = (np.asarray(image) for image, _ in grids)
    assert a.shape == b.shape == (280, 280, 3) and not np.array_equal(a, b)


def test_one_step_moves_every_grid_to_its_nearest(local):
    grids = as_page(local, runs_tab.grids_for)
    for step, want in (
        (0, "step 2 (nearest to 0)"),
        (3, "step 2 (nearest to 3)"),
        (4.0, "step 4"),
        (1e9, "step 6 (nearest to 1000000000)"),
    ):
        assert [c for _, c in grids(["a", "sweep/c"], step)] == [f"a: {want}", f"sweep/c: {want}"]
    a2, a6 = (np.asarray(grids(["a"], s)[0][0]) for s in (2, 6))
    assert not np.array_equal(a2, a6)
    # a and its copy c have the same seed, so the same fixed noise: the same picture at the same step
    assert np.array_equal(*(np.asarray(image) for image, _ in grids(["a", "sweep/c"], 4)))
    assert grids([], 4) == []
    with pytest.raises(gr.Error, match="step must be a number"):
        grids(["a"], "four")


def test_nothing_picked_or_no_runs_at_all(local, tiny_models_checkpoint, tmp_path):
    assert runs_tab.view(local, LOCAL_VISITOR, []) is None
    summary, curves, *_ = runs_tab.outputs_of(local, None, runs_tab.run_choices(local, LOCAL_VISITOR))
    assert summary == "Pick one to four runs above to compare them." and curves == ""
    empty = make_studio(tiny_models_checkpoint, tmp_path / "none", tmp_path / "data", public=True)
    assert runs_tab.run_choices(empty, A) == []
    assert runs_tab.outputs_of(empty, None, [])[0].startswith("**No runs yet.** Train one in the **Train** tab")


def test_damaged_unfinished_and_odd_runs_are_compared_as_they_are(local, two_runs):
    runs = local.runs_dir
    text = (runs / "a" / "metrics.csv").read_text().splitlines()
    (runs / "a" / "metrics.csv").write_text("\n".join([*text[:4], "4,0,0.5"]))  # cut short mid-row, as a kill leaves it
    (runs / "b" / "generator.safetensors").unlink()  # still training
    (runs / "b" / "timelapse.gif").unlink()
    config = json.loads((runs / "sweep" / "c" / "config.json").read_text())
    config["model"]["image_size"] = 64
    (runs / "sweep" / "c" / "config.json").write_text(json.dumps(config))
    for grid in (runs / "sweep" / "c" / "samples").iterdir():
        grid.unlink()  # no grid yet
    v = runs_tab.view(local, LOCAL_VISITOR, ["a", "b", "sweep/c"])
    summary, _, _, grids, timelapses, diff, health, _, _ = runs_tab.outputs_of(local, v, [])
    assert [r["step"] for r in v.runs[0].metrics] == [1, 2, 3]
    notes = health["warnings and notes"].tolist()
    assert "1 damaged row(s) skipped" in notes[0] and "still training" in notes[1]
    assert health["state"].tolist() == ["finished", "training or stopped", "finished"]
    assert "different sizes" in summary and diff["setting"].tolist()[0] == "model.image_size"
    # the slider starts where every run has got to (a: step 3), each run's nearest grid shown
    assert [c for _, c in grids] == ["a: step 2 (nearest to 3)", "b: step 2 (nearest to 3)", "sweep/c: no grid yet"]
    assert [c for _, c in timelapses] == ["a: timelapse", "sweep/c: timelapse"]


def test_d_winning_shows_in_the_health_table(local):
    with open(local.runs_dir / "b" / "metrics.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["step", "epoch", "loss_d", "loss_g", "d_x", "d_g_z1", "d_g_z2"])
        writer.writerows([s, 0, 0.001, 12.0, 0.999, 0.001, 0.001] for s in range(1, 251))
    health = runs_tab.health_table(runs_tab.view(local, LOCAL_VISITOR, ["a", "b"]))
    assert health["health"].tolist() == ["ok", "⚠ D winning"]
    assert health["warnings and notes"][1].startswith("D is winning")


def test_mode_collapse_shows_in_the_health_table(local):
    collapse_last_grid(local.runs_dir / "a")
    health = runs_tab.health_table(runs_tab.view(local, LOCAL_VISITOR, ["a", "b"]))
    assert health["health"].tolist() == ["⚠ mode collapse", "ok"]
    assert health["warnings and notes"][0].startswith("possible mode collapse at step 6")


def test_eval_figures_side_by_side_only_from_the_report_folder(local):
    report = local.runs_dir / "b" / "eval"
    report.mkdir()
    Image.new("RGB", (40, 30), "red").save(report / "samples.png")
    plots = {"samples": "samples.png", "class_histogram": "../config.json", "linear_probe": "missing.png"}
    body = {"dataset": "digits", "diversity": {"generated": 0.2, "held_out": 0.3}, "plots": plots}
    (report / "report.json").write_text(json.dumps(body))
    *_, evals, figures = runs_tab.outputs_of(local, runs_tab.view(local, LOCAL_VISITOR, ["a", "b"]), [])
    assert [c for _, c in figures["value"]] == ["b: samples"]  # "../config.json" is not a figure of the report
    assert figures["columns"] == 1  # one run with a report: one column
    with Image.open(figures["value"][0][0]) as im:
        assert im.size == (40, 30)
    assert evals.columns.tolist() == ["figure", "a", "b"] and evals.values[0].tolist() == ["dataset", "—", "digits"]


def test_a_view_is_made_once_per_state_of_the_folders(local):
    first = runs_tab.view(local, LOCAL_VISITOR, ["a", "b"])
    assert runs_tab.view(local, LOCAL_VISITOR, ["a", "b"]) is first
    with open(local.runs_dir / "b" / "metrics.csv", "a") as fh:
        fh.write("7,0,1.0,1.0,0.5,0.5,0.5\n")  # the run moved on
    moved = runs_tab.view(local, LOCAL_VISITOR, ["a", "b"])
    assert moved is not first and moved.runs[1].last_step == 7
    # the files it serves are copied once per state of the file, not once per view
    assert moved.timelapses == first.timelapses and runs_tab.view(local, LOCAL_VISITOR, ["b"]).timelapses == [
        first.timelapses[1]
    ]
    assert len(list((local.work_dir / "runs").iterdir())) == 2 and not list(local.work_dir.glob("o_*"))


def test_the_tab_writes_nothing_in_a_run_folder(local, two_runs, monkeypatch):
    monkeypatch.setattr(runs_tab, "shipped_run", lambda: two_runs / "b")
    report = local.runs_dir / "a" / "eval"
    report.mkdir()
    Image.new("RGB", (8, 8)).save(report / "samples.png")
    (report / "report.json").write_text(json.dumps({"plots": {"samples": "samples.png"}}))
    before, shipped = snapshot(local.runs_dir), snapshot(two_runs)
    picked = ["shipped: b", "a", "sweep/c"]
    v = runs_tab.view(local, LOCAL_VISITOR, picked)
    runs_tab.outputs_of(local, v, runs_tab.run_choices(local, LOCAL_VISITOR))
    for step in (0, 3, 6):
        runs_tab.grids_at(v.runs, step)
    assert snapshot(local.runs_dir) == before and snapshot(two_runs) == shipped
    served = [p for p, _ in [*v.timelapses, *v.figures]]
    assert served and all(str(p).startswith(str(local.work_dir)) for p in served)  # copies, never the run's files


def test_a_damaged_config_is_a_message_not_a_trace(local):
    (local.runs_dir / "b" / "config.json").write_text("{")
    with pytest.raises(gr.Error, match=r"config.json is not valid JSON"):
        as_page(local, runs_tab.compare_runs)(["a", "b"])
    (local.runs_dir / "b" / "config.json").unlink()  # no longer a run folder: no longer offered
    with pytest.raises(gr.Error, match="'b' is not one of the runs this Studio offers you"):
        as_page(local, runs_tab.compare_runs)(["a", "b"])


def test_a_run_with_nothing_yet_beside_one_with_everything(local):
    bare = local.runs_dir / "bare"
    shutil.copytree(local.runs_dir / "a", bare)
    for name in ("metrics.csv", "generator.safetensors", "timelapse.gif", "training.png"):
        (bare / name).unlink()
    shutil.rmtree(bare / "samples")
    shutil.rmtree(bare / "checkpoints")  # just started: config.json alone
    summary, curves, slider, grids, timelapses, diff, health, _, _ = runs_tab.compare_runs(
        local, LOCAL_VISITOR, ["b", "bare"]
    )
    assert "<svg" in curves and diff["setting"].tolist() == ["train.lr", "train.seed"]
    assert [c for _, c in grids] == ["b: step 6", "bare: no grid yet"] and len(timelapses) == 1
    assert health["last step"].tolist() == ["6", "0"] and "no metrics yet" in health["warnings and notes"][1]
    assert slider["maximum"] == 6
