"""Runs tab: up to four runs side by side, a thin layer over ``compare`` (the core of ``python -m dcgan_studio
compare``).

Which runs a visitor may pick is decided here, server-side, on every call (``run_choices``): the shipped run (when
this Studio ships its folder), and the run folders (those with a config.json) under the visitor's runs folder:
every one under runs/ in a local Studio, only the visitor's own in public mode. The page and API clients pass a
run's id from that list, never a path; any other value is refused. The folders are only read (``compare.load_runs``
reads, and what the page serves is copied out of them first), and one comparison is made once per state of its
folders on disk (``Studio.comparisons``): a run still training is compared as it is so far, and again once it has
moved on. Bad folders (a damaged metrics.csv, another image size, no grid yet) get a note, not an error.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd
from PIL import Image

from .. import compare
from ..shipped import shipped_run
from ..train import RunDir  # the run folder's layout: no torch
from .errors import StudioError
from .settings import check_text
from .studio import Studio
from .visitors import LOCAL_VISITOR, Visitor, in_folder

TITLE = "Runs"
SHIPPED_ID = "shipped: "  # + the shipped run folder's name: the id of the shipped run (a run's id is its path)
MAX_LISTED = 50  # run folders offered, newest first
CURVE_POINTS = 600  # points per curve in the page (smoothed over every step first)
GRID_MIN_SIDE = 256  # grids are enlarged (nearest neighbour, whole factor) to at least this width
MAX_STEP = 10**9  # the step slider's bound before a comparison sets it
COLOUR_NAMES = {"#1f77b4": "blue", "#ff7f0e": "orange", "#2ca02c": "green", "#d62728": "red"}
FIGURES = {  # an eval report's figures (report.json's "plots"), in the order shown
    "samples": "samples",
    "class_histogram": "class coverage",
    "linear_probe": "linear probe",
    "nn_distances": "nearest-training-image distances",
    "memorisation_pairs": "closest training pairs",
}
HEALTH = (("D is winning", "D winning"), ("possible mode collapse", "mode collapse"), ("the losses became NaN", "NaN"))


# ---------------------------------------------------------------------------------------------------- which runs
@dataclass(frozen=True)
class RunChoice:
    """A run a visitor may pick: ``id`` is what the page and API clients pass, ``label`` what they are shown."""

    id: str
    label: str
    path: Path


def shipped_choice() -> RunChoice | None:
    """The shipped generator's run folder, when this Studio has it (older checkouts and wheels do not)."""
    path = shipped_run()
    if not (path / "config.json").is_file():
        return None
    return RunChoice(SHIPPED_ID + path.name, f"{path.name} (shipped)", path)


def _subfolders(folder: Path, skip: tuple[str, ...] = ()) -> list[Path]:
    try:
        return [p for p in folder.iterdir() if p.is_dir() and not p.is_symlink() and p.name not in skip]
    except OSError:
        return []


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def run_folders(root: Path, skip: tuple[str, ...] = ()) -> list[Path]:
    """The run folders (with a config.json) under ``root``: its subfolders, or theirs for a folder of runs
    (runs/sweep/a), newest first, at most ``MAX_LISTED``. Symlinks are not followed."""
    found: list[Path] = []
    for child in _subfolders(root, skip):
        if (child / "config.json").is_file():
            found.append(child)
        else:
            found += [g for g in _subfolders(child) if (g / "config.json").is_file()]
    return sorted(found, key=_mtime, reverse=True)[:MAX_LISTED]


def run_choices(studio: Studio, visitor: Visitor) -> list[RunChoice]:
    """What ``visitor`` may compare: the shipped run first, then the run folders under their runs folder (all of
    runs/ locally, but the public visitors' folders; their own in public mode)."""
    root = studio.runs_for(visitor)
    choices = [c for c in [shipped_choice()] if c is not None]
    taken = {c.id for c in choices}
    for path in run_folders(root, () if studio.public else ("public",)):
        run_id = path.relative_to(root).as_posix()
        if run_id not in taken:
            choices.append(RunChoice(run_id, run_id, path))
    return choices


def default_selection(choices: Sequence[RunChoice]) -> list[str]:
    """What the tab opens on: the shipped run, else the newest run, else nothing."""
    return [choices[0].id] if choices else []


def picked_ids(runs: Any) -> list[str]:
    """The run ids a call names (a list, or one id as text), each once, in order."""
    if runs is None:
        return []
    items = [runs] if isinstance(runs, str) else runs
    if not isinstance(items, (list, tuple)):
        raise StudioError("runs must be a list of run names")
    if len(items) > compare.MAX_RUNS:
        raise StudioError(f"{len(items)} runs given: compare at most {compare.MAX_RUNS} at a time")
    return list(dict.fromkeys(check_text("run", r, 1000).strip() for r in items if r))


def resolve(studio: Studio, visitor: Visitor, runs: Any) -> list[RunChoice]:
    """The runs named, each only if it is one ``run_choices`` offers ``visitor`` now: a client cannot name a path."""
    offered = {c.id: c for c in run_choices(studio, visitor)}
    chosen = []
    for run_id in picked_ids(runs):
        choice = offered.get(run_id)
        if choice is None:
            raise StudioError(f"{run_id[:200]!r} is not one of the runs this Studio offers you (press Refresh list)")
        if not run_id.startswith(SHIPPED_ID) and not in_folder(choice.path, studio.runs_for(visitor)):
            raise StudioError(f"{run_id[:200]!r} leads outside the runs folder")
        chosen.append(choice)
    return chosen


PICK_AGAIN = [RunChoice("", "", Path())]  # runs were offered (a picker was cleared): "pick some", not "no runs yet"


def no_runs_message(studio: Studio, choices: Sequence[RunChoice]) -> str:
    if not choices:
        where = "" if studio.public else " (or run `python -m dcgan_studio train --out runs/NAME`)"
        return f"**No runs yet.** Train one in the **Train** tab{where}, then press **Refresh list** here."
    return "Pick one to four runs above to compare them."


# ---------------------------------------------------------------------------------------------------- one view
@dataclass(frozen=True)
class RunsView:
    """One comparison, made once per state of its folders (``Studio.comparisons``): what the page shows."""

    runs: list[compare.RunSummary]
    colours: list[str]
    curves: str  # inline SVG
    timelapses: list[tuple[str, str]]  # (copy of the GIF, caption)
    figures: list[tuple[str, str]]  # (copy of an eval figure, caption)
    shipped: tuple[bool, ...] = ()  # which runs are the shipped one (its generator ships beside its folder)


def folder_state(path: Path) -> tuple:
    """What changes when a run moves on (a new metrics row, grid, report, its end): the key of its view."""
    run = RunDir(path)
    files = (run.config_path, run.metrics_path, run.samples_dir, run.timelapse_path, run.generator_path)
    state = []
    for f in (*files, path / compare.REPORT_PATH):
        try:
            st = f.stat()
            state.append((st.st_mtime_ns, st.st_size))
        except OSError:
            state.append(None)
    return (str(path.resolve()), *state)


def served_copy(studio: Studio, path: Path) -> str | None:
    """A copy of a run's file in the Studio's own output folder (what Gradio may serve; the run is left as is), one
    per state of the file: a GIF shown in many comparisons is copied once, so the folder grows with the files, not
    with the views."""
    try:
        st = path.stat()
        key = hashlib.sha256(f"{path.resolve()}|{st.st_mtime_ns}|{st.st_size}".encode()).hexdigest()[:24]
        target = studio.work_dir / "runs" / key / path.name
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            with path.open("rb") as src, tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp:
                shutil.copyfileobj(src, tmp)
            Path(tmp.name).replace(target)  # whole or absent: two requests may copy at once
    except OSError:
        return None
    return str(target)


def inline_svg(text: str) -> str:
    """matplotlib's SVG file as an element of the page: no XML prologue, as wide as its container."""
    svg = text[text.index("<svg") :]
    svg = re.sub(r'\swidth="[^"]*"\s+height="[^"]*"', ' width="100%"', svg, count=1)
    return f'<div class="runs-curves">{svg}</div>'


def curves_svg(studio: Studio, runs: Sequence[compare.RunSummary]) -> str:
    from ..plots import pyplot  # deferred: matplotlib (with torch) loads with the first comparison, not the page

    path = studio.out_path("curves.svg")
    # text kept as text (tick labels a reader and a test can read), ids the same on every drawing, every point of a
    # (thinned) curve drawn as it is (matplotlib would merge nearly collinear ones)
    svg = {"svg.fonttype": "none", "svg.hashsalt": "dcgan-studio-runs", "path.simplify": False}
    with pyplot().rc_context(svg):
        compare.plot_curves(runs, path, max_points=CURVE_POINTS)
    try:
        return inline_svg(path.read_text())
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)  # inlined: the file is not served


def report_figures(studio: Studio, run: compare.RunSummary) -> dict[str, tuple[str, str]]:
    """The figures of a run's eval report (named by report.json, only files beside it), copied to be served: by
    figure, (copy, caption)."""
    plots = run.report.get("plots") if run.report else None
    if not isinstance(plots, dict) or run.report_path is None:
        return {}
    folder, out = run.report_path.parent, {}
    for key, caption in FIGURES.items():
        name = plots.get(key)
        if isinstance(name, str) and Path(name).name == name and (folder / name).is_file():
            copy = served_copy(studio, folder / name)
            if copy:
                out[key] = (copy, f"{run.name}: {caption}")
    return out


def make_view(studio: Studio, choices: Sequence[RunChoice]) -> RunsView:
    loaded = compare.load_runs([c.path for c in choices])
    shipped = tuple(c.id.startswith(SHIPPED_ID) for c in choices)
    runs = [
        # unique names (ids, "(shipped)"); the shipped generator lies beside its run folder, not in it: not a note
        replace(r, name=c.label, notes=[n for n in r.notes if not (ship and n.startswith("no generator"))])
        for r, c, ship in zip(loaded, choices, shipped, strict=True)
    ]
    timelapses = []
    for run in runs:
        gif = RunDir(run.path).timelapse_path
        copy = served_copy(studio, gif) if gif.is_file() else None
        timelapses += [(copy, f"{run.name}: timelapse")] if copy else []
    reports = [report_figures(studio, run) for run in runs]
    figures = [r[key] for key in FIGURES for r in reports if key in r]  # a row per figure, a column per run
    return RunsView(runs, compare.run_colours(len(runs)), curves_svg(studio, runs), timelapses, figures, shipped)


def view(studio: Studio, visitor: Visitor, runs: Any) -> RunsView | None:
    """The comparison of the runs named (None when none is), made once per state of their folders."""
    choices = resolve(studio, visitor, runs)
    if not choices:
        return None
    key = ("runs", *(c.label for c in choices), *(folder_state(c.path) for c in choices))
    return studio.comparisons.get(key, lambda: make_view(studio, choices))


# ---------------------------------------------------------------------------------------------------- its parts
def text(value: Any) -> str:
    return "—" if value is None else (f"{value:.4g}" if isinstance(value, float) else str(value))


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
    """A frame of text (mixed settings shown as written), columns named once each."""
    return pd.DataFrame([[text(v) for v in row] for row in rows], columns=list(header), dtype=str)


def diff_table(runs: Sequence[compare.RunSummary]) -> pd.DataFrame:
    names = [r.name for r in runs]
    diff = compare.config_diff(runs)
    if not diff:
        blank = [""] * len(names)
        why = "(one run: pick another to see what differs)" if len(runs) < 2 else "(no setting differs)"
        return table(["setting", *names], [[why, *blank]])
    return table(["setting", *names], [[k, *v] for k, v in diff.items()])


def health_flags(warnings: Sequence[str]) -> str:
    flags = [flag for prefix, flag in HEALTH if any(w.startswith(prefix) for w in warnings)]
    return "⚠ " + ", ".join(flags) if flags else "ok"


def health_table(v: RunsView) -> pd.DataFrame:
    """One row a run: its colour in the curves, how far it got, whether it ended, its warnings at a glance."""
    rows = []
    for run, colour, shipped in zip(v.runs, v.colours, v.shipped or [False] * len(v.runs), strict=True):
        ended = (
            "shipped" if shipped else "finished" if RunDir(run.path).generator_path.is_file() else "training or stopped"
        )
        said = " · ".join([*run.warnings, *run.notes]) or "—"
        colour_name = COLOUR_NAMES.get(colour, colour)
        rows.append([run.name, colour_name, run.last_step, ended, health_flags(run.warnings), said])
    return table(["run", "colour", "last step", "state", "health", "warnings and notes"], rows)


def eval_table(runs: Sequence[compare.RunSummary]) -> pd.DataFrame:
    names = [r.name for r in runs]
    if not any(r.report for r in runs):
        hint = "(no run has an eval report: `python -m dcgan_studio eval ... --out RUN/eval` writes one)"
        return table(["figure", *names], [[hint, *[""] * len(names)]])
    return table(["figure", *names], compare.headline_rows(runs))


def step_slider(runs: Sequence[compare.RunSummary]) -> dict:
    """The step slider up to the last step a run reached or drew a grid at, set where every run has got to. Its
    minimum stays 0: Gradio checks a value against the bounds the session was last sent, so an API client may ask
    for any step up to the runs' last (each run's nearest grid answers)."""
    hi = max([1, *(s for r in runs for s in (r.last_step, *r.grids))])
    return gr.update(maximum=hi, value=min(compare.default_step(runs), hi))


def enlarged(path: Path) -> Image.Image | None:
    """A saved grid, enlarged (nearest neighbour, whole factor) to at least ``GRID_MIN_SIDE`` wide."""
    try:
        with Image.open(path) as im:
            image = im.convert("RGB")
    except OSError:
        return None  # being written as we read
    factor = max(1, -(-GRID_MIN_SIDE // image.width))
    return image.resize((image.width * factor, image.height * factor), Image.Resampling.NEAREST)


def placeholder() -> Image.Image:
    """A blank square where a run has no grid to show (its caption says why)."""
    return Image.new("RGB", (GRID_MIN_SIDE, GRID_MIN_SIDE), (235, 235, 235))


def grids_at(runs: Sequence[compare.RunSummary], step: Any) -> list[tuple[Image.Image, str]]:
    """Each run's saved grid nearest to ``step``, side by side, captioned with the step it shows."""
    try:
        wanted = float(step)
    except (TypeError, ValueError):
        raise StudioError(f"step must be a number, got {str(step)[:40]!r}") from None
    wanted = int(round(min(max(wanted, 0.0), MAX_STEP))) if math.isfinite(wanted) else 0
    items = []
    for run, found in zip(runs, compare.nearest_grids(runs, wanted), strict=True):
        image = enlarged(found[1]) if found else None
        if found is None or image is None:
            why = "no grid yet" if found is None else "grid unreadable (being written?)"
            items.append((placeholder(), f"{run.name}: {why}"))
            continue
        near = "" if found[0] == wanted else f" (nearest to {wanted})"
        items.append((image, f"{run.name}: step {found[0]}{near}"))
    return items


def summary_text(v: RunsView) -> str:
    names = ", ".join(f"**{r.name}** ({COLOUR_NAMES.get(c, c)})" for r, c in zip(v.runs, v.colours, strict=True))
    text_ = f"Comparing {names}."
    sizes = {r.image_size for r in v.runs}
    if len(sizes) > 1:
        text_ += " The runs make images of different sizes: each grid is shown at its own size."
    if not any(r.metrics for r in v.runs):
        text_ += " No run has metrics yet: no curves."
    return text_


def outputs_of(studio: Studio, v: RunsView | None, choices: Sequence[RunChoice]) -> tuple:
    """What ``/runs_compare`` answers: (summary, curves, step slider, grids, timelapses, settings that differ,
    health, eval figures table, eval figures: an update of the gallery, a column per run with a report)."""
    if v is None:
        empty = table(["run"], [])
        return (no_runs_message(studio, choices), "", gr.update(maximum=1, value=0), [], [], empty,
                empty, empty, [])  # fmt: skip
    slider = step_slider(v.runs)
    return (
        summary_text(v),
        v.curves,
        slider,
        grids_at(v.runs, slider["value"]),
        v.timelapses,
        diff_table(v.runs),
        health_table(v),
        eval_table(v.runs),
        gr.update(value=v.figures, columns=max(1, sum(1 for r in v.runs if r.report))),  # a column a run
    )


# ---------------------------------------------------------------------------------------------------- the tab
def build(studio: Studio) -> None:
    choices = run_choices(studio, LOCAL_VISITOR)  # public mode: the shipped run only (the page load adds theirs)
    gr.Markdown(
        "Up to four runs side by side: their smoothed curves on shared axes (one colour per run), their fixed-noise "
        "grids at the same step (runs with the same seed draw the same noise), their timelapses, the settings that "
        "differ, their eval reports and the warnings each raised. Runs are only read; a run still training is "
        "compared as it is so far (**Refresh list** to catch up). The same comparison as "
        "`python -m dcgan_studio compare`."
    )
    with gr.Row(equal_height=True):
        picker = gr.Dropdown(
            [(c.label, c.id) for c in choices],
            value=default_selection(choices),
            multiselect=True,
            max_choices=compare.MAX_RUNS,
            allow_custom_value=True,  # runs made after the page loaded; resolve() still accepts only those offered
            label=f"Runs (at most {compare.MAX_RUNS})",
            elem_id="runs-picker",
            scale=4,
        )
        refresh = gr.Button("Refresh list", size="sm", scale=0, min_width=110, elem_id="runs-refresh")
    summary = gr.Markdown(no_runs_message(studio, choices), elem_id="runs-summary")
    curves = gr.HTML(elem_id="runs-curves")
    # any step until the page load (or an API client's /runs_compare) sets the runs' own range
    step = gr.Slider(
        0, MAX_STEP, value=0, step=1, label="Step: each run's saved grid nearest to it", elem_id="runs-step"
    )
    grids = gr.Gallery(
        label="Fixed-noise grids at that step", columns=compare.MAX_RUNS, height="auto", format="png",
        allow_preview=False, object_fit="contain", elem_id="runs-grids",
    )  # fmt: skip
    timelapses = gr.Gallery(
        label="Timelapses", columns=compare.MAX_RUNS, height="auto", allow_preview=False, object_fit="contain",
        elem_id="runs-timelapses",
    )  # fmt: skip
    diff = gr.Dataframe(label="Settings that differ", interactive=False, wrap=True, elem_id="runs-diff")
    health = gr.Dataframe(label="Health: warnings each run raised", interactive=False, wrap=True, elem_id="runs-health")
    evals = gr.Dataframe(label="Eval reports (generated, real reference)", interactive=False, elem_id="runs-eval")
    figures = gr.Gallery(
        label="Eval figures", columns=compare.MAX_RUNS, height="auto", format="png", allow_preview=True,
        object_fit="contain", elem_id="runs-figures",
    )  # fmt: skip
    wire(studio, picker, refresh, step, [summary, curves, step, grids, timelapses, diff, health, evals, figures])


def list_runs(studio: Studio, visitor: Visitor) -> dict:
    """The runs you may compare, as the picker's choices: (label, id) pairs; pass the ids to /runs_compare and
    /runs_grids."""
    return gr.update(choices=[(c.label, c.id) for c in run_choices(studio, visitor)])


def compare_runs(studio: Studio, visitor: Visitor, runs) -> tuple:
    """1 to 4 runs (ids from /runs_list) side by side: a summary, the curves (inline SVG), the step slider, each run's
    grid at that step, the timelapses, the settings that differ, health, the eval reports' figures and plots."""
    return outputs_of(studio, view(studio, visitor, runs), run_choices(studio, visitor))


def grids_for(studio: Studio, visitor: Visitor, runs, step) -> list[tuple[Image.Image, str]]:
    """Each run's saved fixed-noise grid nearest to ``step`` (runs: ids from /runs_list), captioned with its step."""
    v = view(studio, visitor, runs)
    return grids_at(v.runs, step) if v else []


def first_screen(studio: Studio, visitor: Visitor) -> tuple:
    """A page load: this visitor's runs in the picker, the shipped run (else their newest) compared."""
    choices = run_choices(studio, visitor)
    picked = default_selection(choices)
    shown = [(c.label, c.id) for c in choices]
    return gr.update(choices=shown, value=picked), *outputs_of(studio, view(studio, visitor, picked), choices)


def wire(studio: Studio, picker, refresh, step, outputs: list) -> None:
    def h(fn, **kw):
        bound = functools.partial(fn, studio)
        bound.__qualname__, bound.__doc__ = fn.__qualname__, fn.__doc__  # logs and the API page name fn itself
        return studio.handler(bound, **kw)

    # API clients: /runs_list names the runs (ids to pass on), /runs_compare and /runs_grids compare them
    listed = refresh.click(h(list_runs, visitor=True), None, picker, api_name="runs_list")
    listed.then(h(compare_runs, visitor=True), picker, outputs, api_visibility="private", **studio.light)
    picker.input(h(compare_runs, visitor=True), picker, outputs, api_name="runs_compare", **studio.light)

    def cleared(runs):
        """The dropdown's "clear all" sends a change only (no input): an emptied picker empties the view."""
        return outputs_of(studio, None, PICK_AGAIN) if not runs else tuple(gr.skip() for _ in outputs)

    picker.change(studio.handler(cleared), picker, outputs, api_visibility="private", **studio.light)
    step.release(h(grids_for, visitor=True), [picker, step], outputs[3], api_name="runs_grids", **studio.light)
    studio.blocks.load(
        h(first_screen, browser=True), studio.browser_id, [picker, *outputs], api_visibility="private",
        show_progress="hidden", **studio.light,
    )  # fmt: skip


__all__ = ["TITLE", "RunChoice", "build", "compare_runs", "grids_for", "list_runs", "resolve", "run_choices", "view"]
