"""Runs side by side: read 1..4 run folders and show how their settings, curves and samples differ.

The core of ``python -m dcgan_studio compare`` and of a Studio tab to come: ``load_runs`` reads the folders once
into ``RunSummary`` records (reading only: nothing in a run folder is ever written), and every other function is a
pure view of those records (``config_diff``, ``nearest_grids``, ``markdown_table``) or draws them
(``plot_curves``, ``compare_png``). A run still training, a metrics.csv cut short and runs of different image
sizes are compared as they are, with a note; only what cannot be compared at all (no config.json, 0 or more than
4 runs) is a ``CompareError``.

Warnings are not stored in a run folder (the loop only logs and publishes them), so they are recomputed as the loop
computed them: D winning and NaN/inf from metrics.csv (``health.HealthMonitor.observe_rows``), mode collapse from the
saved fixed-noise grids, each cut back into the images the loop observed (``grid_images``: ``plots.grid_uint8``'s
layout, read from the run's image size and ``n_fixed``) and fed to ``HealthMonitor.observe_grid`` in step order.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import UserError
from .train.rundir import RunDir

MAX_RUNS = 4
METRICS = ("loss_d", "loss_g", "d_x", "d_g_z1", "d_g_z2")
REPORT_PATH = Path("eval") / "report.json"
SMOOTHING = 0.8  # EMA weight of the curves (plots.smooth_ema, TensorBoard's smoothing)
FIGURE_PX = (1200, 800)  # compare_png's size in pixels (width, height)
_DPI = 100
_ALL_STEPS = 10**12
_PAD = 2  # plots.grid_uint8's padding between the images of a grid
MAX_GRIDS_CHECKED = 400  # grids read to recompute mode collapse (the latest): a long run's stay bounded


class CompareError(UserError):
    """Runs that cannot be compared: not a run folder, none, or too many."""


@dataclass(frozen=True)
class RunSummary:
    """What one run folder holds, read once: what the comparison views are built from."""

    name: str
    path: Path
    config: dict[str, Any]
    metrics: list[dict[str, float]]
    grids: dict[int, Path]  # by the step they show
    warnings: list[str] = field(default_factory=list)  # recomputed from metrics.csv (see the module's docstring)
    report: dict[str, Any] | None = None
    report_path: Path | None = None
    notes: list[str] = field(default_factory=list)  # what was odd about the folder (skipped rows, still training)

    @property
    def last_step(self) -> int:
        return self.metrics[-1]["step"] if self.metrics else 0

    @property
    def image_size(self) -> Any:
        return self.config.get("model", {}).get("image_size")


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts as one level with dotted keys: {"train": {"lr": 2e-4}} -> {"train.lr": 2e-4}."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


# ---------------------------------------------------------------------------------------------------- reading
def read_metrics(path: Path) -> tuple[list[dict[str, float]], list[int]]:
    """metrics.csv's rows that parse, and the line numbers of those that do not (a run killed mid-write, a
    garbled file). Reads only, unlike ``RunDir.continue_metrics``."""
    rows: list[dict[str, float]] = []
    skipped: list[int] = []
    if not path.is_file():
        return rows, skipped
    with open(path, newline="", errors="replace") as fh:
        reader = csv.DictReader(fh)
        while True:
            try:
                r = next(reader)
            except StopIteration:
                break
            except csv.Error:  # a line csv itself refuses (NUL bytes of a crash): skip it, read on
                skipped.append(reader.line_num)
                continue
            try:
                rows.append({"step": int(r["step"]), "epoch": int(r["epoch"]), **{k: float(r[k]) for k in METRICS}})
            except (KeyError, TypeError, ValueError):
                skipped.append(reader.line_num)
    return rows, skipped


def read_config(run: RunDir) -> dict[str, Any]:
    if not run.config_path.is_file():
        raise CompareError(f"{run.path} is not a run folder (no config.json): give folders written by `train`")
    try:
        config = json.loads(run.config_path.read_text(errors="replace"))
    except json.JSONDecodeError as exc:
        raise CompareError(f"{run.config_path} is not valid JSON ({exc.msg}, line {exc.lineno})") from exc
    if not isinstance(config, dict):
        raise CompareError(f"{run.config_path} does not hold a run's settings (a JSON object)")
    return config


def read_report(path: Path) -> dict[str, Any]:
    try:
        report = json.loads(Path(path).read_text(errors="replace"))
    except FileNotFoundError as exc:
        raise CompareError(
            f"no eval report at {path} (write one with `python -m dcgan_studio eval --out DIR`)"
        ) from exc
    except json.JSONDecodeError as exc:
        raise CompareError(f"{path} is not a valid report.json ({exc.msg}, line {exc.lineno})") from exc
    if not isinstance(report, dict):
        raise CompareError(f"{path} is not an eval report (a JSON object)")
    return report


def recompute_warnings(config: Mapping[str, Any], metrics: Sequence[dict[str, float]]) -> list[str]:
    """The D-winning and NaN warnings the run raised, recomputed from its metrics as the loop computed them."""
    from .health import HealthMonitor  # deferred: health imports torch; the module stays cheap to import (a tab)

    stability = config.get("train", {}).get("stability", {}) if isinstance(config.get("train"), dict) else {}
    monitor = HealthMonitor(
        label_smoothing=float(stability.get("label_smoothing", 0.0) or 0.0),
        nan_policy=str(stability.get("nan_policy", "stop")),
    )
    return monitor.observe_rows(metrics)


def grid_images(path: Path, side: int, count: int):
    """The ``count`` images of a saved fixed-noise grid, cut back out as uint8 (N, 3, side, side) (the layout of
    ``plots.grid_uint8``: ceil(sqrt(N)) a row, 2 px of padding), or None for a file that is not such a grid (unreadable,
    being written, another size)."""
    import numpy as np  # deferred: only runs with grids are cut up
    import torch  # deferred: health's diversity is torch's; the module stays cheap to import (a tab)

    image = _read_image(path)
    nrow = max(1, math.ceil(math.sqrt(count)))
    pitch = side + _PAD
    if image is None or image.size != (nrow * pitch + _PAD, math.ceil(count / nrow) * pitch + _PAD):
        return None
    pixels = np.asarray(image)
    cells = []
    for k in range(count):
        y, x = (_PAD + i * pitch for i in divmod(k, nrow))
        cells.append(pixels[y : y + side, x : x + side])
    return torch.from_numpy(np.stack(cells)).permute(0, 3, 1, 2).contiguous()


def recompute_collapse(config: Mapping[str, Any], grids: Mapping[int, Path]) -> list[str]:
    """The mode-collapse warnings the run raised, recomputed from its saved grids (the latest ``MAX_GRIDS_CHECKED``)
    as the loop computed them from the same images."""
    from .health import HealthMonitor  # deferred: health imports torch; the module stays cheap to import (a tab)

    model, train = config.get("model"), config.get("train")
    side = model.get("image_size") if isinstance(model, Mapping) else None
    count = train.get("n_fixed") if isinstance(train, Mapping) else None
    if not isinstance(side, int) or not isinstance(count, int) or count < 2:
        return []  # an older config: the grids cannot be cut up
    monitor, found = HealthMonitor(), []
    for step in sorted(grids)[-MAX_GRIDS_CHECKED:]:
        images = grid_images(grids[step], side, count)
        if images is not None:
            found += monitor.observe_grid(images, step)
    return found


def load_run(path: str | Path, report: str | Path | None = None) -> RunSummary:
    """One run folder; ``report`` is an eval report.json (default: ``<run>/eval/report.json`` when there)."""
    run = RunDir(Path(path))
    if not run.path.is_dir():
        raise CompareError(f"{run.path} is not a folder: give run folders written by `train`")
    config = read_config(run)
    metrics, skipped = read_metrics(run.metrics_path)
    notes = []
    if skipped:
        lines = ", ".join(map(str, skipped[:5])) + (" ..." if len(skipped) > 5 else "")
        notes.append(f"metrics.csv: {len(skipped)} damaged row(s) skipped (line {lines}); the rest is compared")
    if not metrics:
        notes.append("no metrics yet: no curves for this run")
    if not run.generator_path.is_file():
        notes.append("no generator.safetensors: still training or stopped early; compared as it is")
    report_path = Path(report) if report is not None else run.path / REPORT_PATH
    loaded = read_report(report_path) if report is not None or report_path.is_file() else None
    grids = run.grids(_ALL_STEPS)
    return RunSummary(
        name=run.path.resolve().name,
        path=run.path,
        config=config,
        metrics=metrics,
        grids=grids,
        warnings=recompute_warnings(config, metrics) + recompute_collapse(config, grids),
        report=loaded,
        report_path=report_path if loaded is not None else None,
        notes=notes,
    )


def load_runs(paths: Sequence[str | Path], reports: Sequence[str | Path | None] | None = None) -> list[RunSummary]:
    """1..4 run folders, in order; ``reports[i]`` (optional) is the eval report.json of the i-th."""
    if not paths:
        raise CompareError("no runs to compare: give 1 to 4 run folders")
    if len(paths) > MAX_RUNS:
        raise CompareError(f"{len(paths)} runs given: compare at most {MAX_RUNS} at a time")
    reports = list(reports or [])
    if len(reports) > len(paths):
        raise CompareError(f"{len(reports)} reports for {len(paths)} runs: give at most one report per run")
    reports += [None] * (len(paths) - len(reports))
    runs = [load_run(p, r) for p, r in zip(paths, reports, strict=True)]
    sizes = {r.image_size for r in runs}
    if len(sizes) > 1:
        for r in runs:
            r.notes.append(f"image size {r.image_size} (the runs differ): its grids are shown at their own size")
    return runs


# ---------------------------------------------------------------------------------------------------- views
def config_diff(runs: Sequence[RunSummary]) -> dict[str, list[Any]]:
    """The settings that differ between the runs (dotted keys, sorted), each run's value in order; a key one run
    lacks (an older config) is None there."""
    flat = [flatten(r.config) for r in runs]
    keys = sorted(set().union(*flat)) if flat else []
    diff = {}
    for key in keys:
        values = [f.get(key) for f in flat]
        if any(v != values[0] for v in values[1:]):
            diff[key] = values
    return diff


def nearest_grid(grids: Mapping[int, Path], step: int) -> tuple[int, Path] | None:
    """The grid nearest to ``step`` (the earlier one on a tie), or None for a run with no grid."""
    if not grids:
        return None
    best = min(grids, key=lambda s: (abs(s - step), s))
    return best, grids[best]


def nearest_grids(runs: Sequence[RunSummary], step: int) -> list[tuple[int, Path] | None]:
    """Each run's saved grid nearest to ``step``: (the step it shows, its file), or None."""
    return [nearest_grid(r.grids, step) for r in runs]


def default_step(runs: Sequence[RunSummary]) -> int:
    """The last step every run has reached: the furthest point where all can be compared (a run with nothing yet,
    just started, is left out rather than pulling every other run back to step 0)."""
    reached = [s for s in ((r.last_step or max(r.grids, default=0)) for r in runs) if s > 0]
    return min(reached) if reached else 0


def _cell(value: Any) -> str:
    text = "—" if value is None else (f"{value:.4g}" if isinstance(value, float) else str(value))
    return text.replace("|", "\\|").replace("\n", " ")


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(map(_cell, header)) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(map(_cell, row)) + " |" for row in rows]


def _figure(pair: Any) -> str:
    if not isinstance(pair, Mapping):
        return _cell(pair)
    return f"{_cell(pair.get('generated'))} (real {_cell(pair.get('reference'))})"


def headline_rows(runs: Sequence[RunSummary]) -> list[list[Any]]:
    """The reports' headline figures (``hub.card.headline_figures``, the model card's rows and labels), one row per
    figure, one column per run: generated (real reference)."""
    from .hub.card import FIGURE_ROWS, headline_figures  # deferred: the hub package loads lazily; only for reports

    figures = [headline_figures(r.report) if r.report else {} for r in runs]
    rows: list[list[Any]] = [["dataset", *(f.get("dataset") for f in figures)]]
    metrics = [f.get("metrics") or {} for f in figures]
    labels = dict(FIGURE_ROWS)
    present = {k for m in metrics for k in m}
    keys = [k for k, _ in FIGURE_ROWS if k in present] + sorted(present - set(labels))
    return rows + [[labels.get(k, k), *(_figure(m[k]) if k in m else None for m in metrics)] for k in keys]


def markdown_table(runs: Sequence[RunSummary]) -> str:
    """The comparison as Markdown: the settings that differ, where each run stands, and the headline figures of
    the runs that have an eval report."""
    names = [r.name for r in runs]
    diff = config_diff(runs)
    out = ["# Runs side by side", "", "## Settings that differ", ""]
    out += _table(["setting", *names], [[k, *v] for k, v in diff.items()]) if diff else ["(none: same settings)"]
    last = [
        ["last step", *(r.last_step for r in runs)],
        ["grids", *(len(r.grids) for r in runs)],
        *([m, *(r.metrics[-1][m] if r.metrics else None for r in runs)] for m in METRICS),
        ["warnings", *(len(r.warnings) for r in runs)],
    ]
    out += ["", "## Where each run stands", ""] + _table(["", *names], last)
    if any(r.report for r in runs):
        rows = headline_rows(runs)
        out += ["", "## Eval reports (generated, real reference)", ""]
        out += _table(["figure", *names], rows) if rows else ["(the reports hold no headline figures)"]
    notes = [f"- **{r.name}**: {n}" for r in runs for n in [*r.notes, *r.warnings]]
    if notes:
        out += ["", "## Notes and warnings", "", *notes]
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------------- figures
def run_colours(count: int) -> list[str]:
    """The colour of each run in the curves (matplotlib's default cycle, as hex): a Studio tab names them."""
    from matplotlib.colors import to_hex  # deferred: matplotlib only for figures

    from .plots import pyplot  # deferred: plots imports torch; matplotlib only for figures

    colours = [to_hex(c) for c in pyplot().rcParams["axes.prop_cycle"].by_key()["color"]]
    return [colours[i % len(colours)] for i in range(count)]


def thinned(steps: Sequence[int], values: Sequence[float], max_points: int | None) -> tuple[list, list]:
    """At most ``max_points`` (at least 2) evenly spaced points of a curve, the first and last kept (None: all)."""
    if not max_points or len(steps) <= max_points:
        return list(steps), list(values)
    last, count = len(steps) - 1, max(2, max_points)
    keep = sorted({round(i * last / (count - 1)) for i in range(count)})
    return [steps[i] for i in keep], [values[i] for i in keep]


def _draw_curves(ax_loss, ax_d, runs: Sequence[RunSummary], max_points: int | None = None) -> None:
    from .plots import smooth_ema  # deferred: plots imports torch; matplotlib only for figures

    for run, colour in zip(runs, run_colours(len(runs)), strict=True):
        steps = [r["step"] for r in run.metrics]
        for ax, solid, dashed in ((ax_loss, "loss_d", "loss_g"), (ax_d, "d_x", "d_g_z2")):
            for key, style in ((solid, "-"), (dashed, "--")):
                values = smooth_ema([r[key] for r in run.metrics], SMOOTHING)  # smoothed over every step, then thinned
                xs, ys = thinned(steps, values, max_points)
                named = ax is ax_loss and key == solid  # the legend names each run once: its colour
                ax.plot(xs, ys, style, color=colour, linewidth=1.2, label=run.name if named else "_nolegend_")
    ax_loss.set(xlabel="step", ylabel="loss", title="Loss_D (solid), Loss_G (dashed), smoothed")
    ax_d.set(xlabel="step", ylabel="mean D output", ylim=(-0.02, 1.02), title="D(x) (solid), D(G(z)) (dashed)")
    for ax in (ax_loss, ax_d):
        ax.grid(alpha=0.3)
    if any(r.metrics for r in runs):
        ax_loss.legend(loc="best", fontsize=8)


def plot_curves(runs: Sequence[RunSummary], path: str | Path, max_points: int | None = None) -> Path:
    """The runs' smoothed losses and D outputs on shared axes, one colour per run, written as a PNG (or an SVG: the
    file's suffix says which); ``max_points`` thins each curve for a browser."""
    from .plots import pyplot  # deferred: matplotlib only for figures

    plt = pyplot()
    fig, (ax_loss, ax_d) = plt.subplots(1, 2, figsize=(FIGURE_PX[0] / _DPI, 4), dpi=_DPI, sharex=True)
    _draw_curves(ax_loss, ax_d, runs, max_points)
    fig.tight_layout()
    return _save(fig, path)


def _save(fig, path: str | Path) -> Path:
    from .plots import pyplot  # deferred: matplotlib only for figures

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=_DPI)
    pyplot().close(fig)
    return path


def _read_image(path: Path):
    from PIL import Image  # deferred: Pillow comes with torchvision; only figures read grids

    try:
        with Image.open(path) as im:
            return im.convert("RGB").copy()
    except OSError:
        return None  # a grid being written as we read


def compare_png(runs: Sequence[RunSummary], step: int, path: str | Path) -> Path:
    """One PNG of ``FIGURE_PX``: the curves on top (a line at ``step``), each run's grid nearest to ``step`` below,
    side by side, each at its own size, labelled with the run's name and the step it shows."""
    from .plots import pyplot  # deferred: matplotlib only for figures

    plt = pyplot()
    fig = plt.figure(figsize=(FIGURE_PX[0] / _DPI, FIGURE_PX[1] / _DPI), dpi=_DPI)
    outer = fig.add_gridspec(2, 1, height_ratios=[1, 1.3], hspace=0.3)
    top = outer[0].subgridspec(1, 2, wspace=0.25)
    ax_loss = fig.add_subplot(top[0])
    ax_d = fig.add_subplot(top[1], sharex=ax_loss)
    _draw_curves(ax_loss, ax_d, runs)
    for ax in (ax_loss, ax_d):
        ax.axvline(step, color="grey", linewidth=0.8, linestyle=":")
    found = nearest_grids(runs, step)
    images = [_read_image(g[1]) if g else None for g in found]
    widths = [im.width if im is not None else max((i.width for i in images if i), default=1) for im in images]
    bottom = outer[1].subgridspec(1, len(runs), width_ratios=widths, wspace=0.1)
    for i, (run, grid, image) in enumerate(zip(runs, found, images, strict=True)):
        ax = fig.add_subplot(bottom[i])
        ax.set_xticks([])
        ax.set_yticks([])
        if image is None:
            ax.text(0.5, 0.5, "no grid" if grid is None else "unreadable grid", ha="center", va="center")
            ax.set_title(run.name, fontsize=9)
            continue
        ax.imshow(image, interpolation="nearest")
        ax.set_title(f"{run.name}\nstep {grid[0]} ({image.width}x{image.height} px)", fontsize=9)
    fig.subplots_adjust(left=0.06, right=0.98, top=0.95, bottom=0.03)
    return _save(fig, path)
