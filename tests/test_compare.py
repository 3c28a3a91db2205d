"""compare: runs side by side from their folders alone, read without writing, bad input named in one line."""

import csv
import json
import re
import shutil

import pytest
import torch
from PIL import Image
from support import cli, collapse_last_grid

from dcgan_studio.compare import (
    FIGURE_PX,
    CompareError,
    compare_png,
    config_diff,
    grid_images,
    load_runs,
    markdown_table,
    nearest_grids,
    plot_curves,
    run_colours,
    thinned,
)
from dcgan_studio.plots import pyplot


@pytest.fixture(scope="module")
def runs_dir(two_runs):
    """Two tiny finished runs of 6 steps with grids at 2, 4 and 6, differing in lr and seed (conftest.py)."""
    return two_runs


def snapshot(folder):
    """Every file under a folder: its bytes and mtime."""
    return {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.rglob("*")) if p.is_file()}


def copy_run(runs_dir, tmp_path, name="a"):
    return shutil.copytree(runs_dir / name, tmp_path / name)


def test_config_diff_lists_exactly_the_differing_keys(runs_dir):
    runs = load_runs([runs_dir / "a", runs_dir / "b"])
    assert [r.name for r in runs] == ["a", "b"]
    assert config_diff(runs) == {"train.lr": [2e-4, 1e-3], "train.seed": [0, 1]}
    assert config_diff(runs[:1]) == {}
    assert [r["step"] for r in runs[0].metrics] == list(range(1, 7))
    assert runs[0].warnings == [] and runs[0].report is None and runs[0].notes == []


def test_nearest_grids_are_the_right_files(runs_dir):
    runs = load_runs([runs_dir / "a", runs_dir / "b"])
    assert sorted(runs[0].grids) == [2, 4, 6]
    for step, want in ((0, 2), (3, 2), (4, 4), (5, 4), (100, 6)):  # a tie goes to the earlier grid
        found = nearest_grids(runs, step)
        assert [f[0] for f in found] == [want, want]
        assert [f[1] for f in found] == [runs_dir / n / "samples" / f"step_{want:07d}.png" for n in "ab"]


def test_png_has_the_size_and_differs_between_steps(runs_dir, tmp_path):
    runs = load_runs([runs_dir / "a", runs_dir / "b"])
    early, late = compare_png(runs, 2, tmp_path / "early.png"), compare_png(runs, 6, tmp_path / "late.png")
    for path in (early, late):
        with Image.open(path) as im:
            assert im.size == FIGURE_PX
    assert early.read_bytes() != late.read_bytes()
    with Image.open(plot_curves(runs, tmp_path / "curves.png")) as im:
        assert im.width == FIGURE_PX[0]


def test_markdown_has_the_table_and_report_figures(runs_dir, tmp_path):
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"diversity": {"generated": 0.25, "held_out": 0.31}}))
    md = markdown_table(load_runs([runs_dir / "a", runs_dir / "b"], [None, report]))
    assert "| setting | a | b |" in md
    assert "| train.lr | 0.0002 | 0.001 |" in md and "| train.seed | 0 | 1 |" in md
    assert "| pixel diversity (mean pairwise RMS distance) | — | 0.25 (real 0.31) |" in md


def test_report_is_found_in_the_run_folder(runs_dir, tmp_path):
    run = copy_run(runs_dir, tmp_path)
    (run / "eval").mkdir()
    (run / "eval" / "report.json").write_text(json.dumps({"diversity": {"generated": 0.2, "held_out": 0.3}}))
    (summary,) = load_runs([run])
    assert summary.report_path == run / "eval" / "report.json" and "pixel diversity" in markdown_table([summary])


def test_reading_changes_nothing_in_the_run_folders(runs_dir, tmp_path):
    before = snapshot(runs_dir)
    runs = load_runs([runs_dir / "a", runs_dir / "b"])
    compare_png(runs, 4, tmp_path / "c.png")
    plot_curves(runs, tmp_path / "curves.png")
    markdown_table(runs)
    assert cli("compare", str(runs_dir / "a"), str(runs_dir / "b"), "--out", str(tmp_path / "x.png"),
               "--md", str(tmp_path / "x.md")).returncode == 0  # fmt: skip
    assert snapshot(runs_dir) == before


def test_cli_writes_png_and_markdown(runs_dir, tmp_path):
    out, md = tmp_path / "out" / "c.png", tmp_path / "c.md"
    r = cli("compare", str(runs_dir / "a"), str(runs_dir / "b"), "--step", "4", "--out", str(out), "--md", str(md))
    assert r.returncode == 0, r.stderr
    assert "step 4" in r.stdout and out.is_file() and "| train.lr |" in md.read_text()


@pytest.mark.parametrize(("count", "message"), [(0, "no runs to compare"), (5, "5 runs given: compare at most 4")])
def test_zero_or_too_many_runs(runs_dir, count, message):
    with pytest.raises(CompareError, match=message):
        load_runs([runs_dir / "a"] * count)


def test_a_folder_that_is_not_a_run(runs_dir, tmp_path):
    with pytest.raises(CompareError, match="not a run folder"):
        load_runs([runs_dir / "a", tmp_path])
    r = cli("compare", str(tmp_path), "--out", str(tmp_path / "c.png"), "--md", str(tmp_path / "c.md"))
    assert r.returncode == 2 and r.stderr.startswith("error: ") and "not a run folder" in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_garbled_metrics_use_what_parses(runs_dir, tmp_path):
    run = copy_run(runs_dir, tmp_path)
    text = (run / "metrics.csv").read_text().splitlines()
    text[3] = "3,0,garbage"
    (run / "metrics.csv").write_text("\n".join(text) + "\n7,0,0.5")  # a row cut short, as a killed run leaves it
    (summary,) = load_runs([run])
    assert [r["step"] for r in summary.metrics] == [1, 2, 4, 5, 6]
    assert any("2 damaged row(s) skipped (line 4, 8)" in n for n in summary.notes)
    compare_png([summary], 4, tmp_path / "c.png")
    (run / "metrics.csv").write_bytes(b"step,epoch\n\x00\x00\x00\n" + b"\x00" * 64)  # the zeros of a crash
    assert load_runs([run])[0].metrics == []


def test_a_run_still_training(runs_dir, tmp_path):
    run = copy_run(runs_dir, tmp_path)
    (run / "generator.safetensors").unlink()
    (run / "timelapse.gif").unlink()
    (run / "samples" / "step_0000006.png").write_bytes(b"\x89PNG half")  # being written
    (summary,) = load_runs([run])
    assert any("still training" in n for n in summary.notes)
    assert compare_png([summary], 6, tmp_path / "c.png").is_file()


def test_runs_of_different_image_sizes(runs_dir, tmp_path):
    run = copy_run(runs_dir, tmp_path, "b")
    config = json.loads((run / "config.json").read_text())
    config["model"]["image_size"] = 64
    (run / "config.json").write_text(json.dumps(config))
    grid = run / "samples" / "step_0000004.png"
    Image.new("RGB", (130, 130), "white").save(grid)
    runs = load_runs([runs_dir / "a", run])
    assert config_diff(runs)["model.image_size"] == [32, 64]
    assert all(any("image size" in n for n in r.notes) for r in runs)
    with Image.open(compare_png(runs, 4, tmp_path / "c.png")) as im:
        assert im.size == FIGURE_PX


def test_d_winning_is_recomputed_from_metrics(runs_dir, tmp_path):
    run = copy_run(runs_dir, tmp_path)
    with open(run / "metrics.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["step", "epoch", "loss_d", "loss_g", "d_x", "d_g_z1", "d_g_z2"])
        writer.writerows([s, 0, 0.001, 12.0, 0.999, 0.001, 0.001] for s in range(1, 251))
    (summary,) = load_runs([run])
    assert len(summary.warnings) == 1 and summary.warnings[0].startswith("D is winning")
    assert "D is winning" in markdown_table([summary])


def test_mode_collapse_is_recomputed_from_the_grids(runs_dir, tmp_path):
    run = copy_run(runs_dir, tmp_path)
    (before,) = load_runs([run])
    images = grid_images(before.grids[4], 32, 4)
    assert images.shape == (4, 3, 32, 32) and images.dtype == torch.uint8
    assert before.warnings == [] and grid_images(before.grids[4], 64, 4) is None  # another layout: not cut up
    collapse_last_grid(run)
    (summary,) = load_runs([run])
    assert len(summary.warnings) == 1 and summary.warnings[0].startswith("possible mode collapse at step 6")
    assert "possible mode collapse at step 6" in markdown_table([summary])


def test_curves_as_svg_thinned_for_a_browser(runs_dir, tmp_path):
    assert thinned(list(range(10)), list(range(10, 20)), 4) == ([0, 3, 6, 9], [10, 13, 16, 19])  # the last kept
    assert thinned([1, 2], [3.0, 4.0], None) == ([1, 2], [3.0, 4.0])
    runs = load_runs([runs_dir / "a", runs_dir / "b"])
    assert run_colours(5) == ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"]
    with pyplot().rc_context({"path.simplify": False}):  # every point drawn (matplotlib merges nearly collinear ones)
        svg = plot_curves(runs, tmp_path / "curves.svg", max_points=3).read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    # 8 lines (2 runs x Loss_D, Loss_G, D(x), D(G(z))) of 3 points each, in the runs' two colours (+ the legend)
    paths = re.findall(r'<path d="M ([^"]*)"[^>]*style="([^"]*)"', svg)
    lines = [(d, m.group(1)) for d, style in paths if (m := re.search(r"stroke: (#[0-9a-f]{6})", style))]
    points = [([float(v) for v in re.findall(r"-?[\d.]+", d)], c) for d, c in lines]
    curves = [(xy, c) for xy, c in points if len(xy) == 6 and len(set(xy[1::2])) > 1]  # the legend's are flat
    assert len(curves) == 8 and {c for _, c in curves} == {"#1f77b4", "#ff7f0e"}
