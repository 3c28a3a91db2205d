"""What the Train tab draws from one snapshot of the visitor's job: the status line, the loss and D-output curves
(TensorBoard-smoothed, thinned for the browser), the latest fixed-noise grid, the log tail and the run's files."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from ..train import RunDir  # the run folder's layout: no torch
from .common import grid_pil
from .settings import Limits
from .studio import Studio

# torch and the core's torch code load inside the handlers that use them: the page is served first

ENDED = ("finished", "stopped", "failed")
DEFAULT_SMOOTHING = 0.6  # TensorBoard's default weight
MAX_SMOOTHING = 0.99
GRID_MIN_SIDE = 512  # the fixed-noise grid is enlarged (nearest neighbour, whole factors) to at least this width


def format_status(snap: dict[str, Any] | None) -> str:
    if snap is None:
        return "No training run yet. Pick a dataset and press **Start**."
    parts = [f"**{snap['state']}**", f"step {snap['step']}/{snap['total_steps'] or '?'}"]
    epoch = snap["epoch"] + (1 if snap["batches"] else 0)
    parts.append(f"epoch {epoch}/{snap['epochs']} (batch {snap['batch']}/{snap['batches']})")
    if snap["img_per_s"]:
        parts.append(f"{snap['img_per_s']:.0f} img/s")
    if snap["eta_s"] is not None and snap["state"] in ("running", "paused"):
        parts.append(f"ETA {_duration(snap['eta_s'])}")
    text = " · ".join(parts)
    if snap["run_dir"]:
        text += f"  \nrun folder `{snap['run_dir']}`"
    if snap["error"]:
        text += f"  \n**error:** {snap['error']}"
    for w in snap["warnings"][-3:]:
        text += f"  \n⚠ {w}"
    return text


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return (
        f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"
    )


def curves(
    history: list[dict],
    keys: tuple[tuple[str, str], ...],
    smoothing: float = 0.0,
    max_points: int = Limits.plot_max_points,
) -> pd.DataFrame:
    """Long-format frame (step, value, series) for gr.LinePlot, thinned to ``max_points`` steps.

    gr.LinePlot builds its chart once, from the first frame it gets, and later frames only swap the data: the axis
    scales come from the first frame's dtypes (an untyped empty frame makes both axes nominal for good: every step
    its own tick label, no line) and the colour domain from its series. So the columns are always typed (int step,
    float value, str series) and every frame opens with one empty (NaN, not drawn) row per series the plot can ever
    show. With ``smoothing`` in (0, 1) each series is drawn as TensorBoard draws it: its debiased exponential moving
    average under the series' name over its raw values, pale, as "<name> (raw)"; smoothing runs over every step,
    before thinning."""
    if smoothing > 0:
        from ..plots import smooth_ema  # not at build time: the page's empty frames need no torch

    stride = max(1, -(-len(history) // max_points))
    keep = list(range(0, len(history), stride))
    if history and keep[-1] != len(history) - 1:
        keep.append(len(history) - 1)
    steps = [int(history[i]["step"]) for i in keep]
    first = steps[0] if steps else 0
    names = [n for _, label in keys for n in (label, f"{label} (raw)")]
    columns: dict[str, list] = {"step": [first] * len(names), "value": [math.nan] * len(names), "series": names}
    for key, label in keys:
        raw = [float(h[key]) for h in history]
        drawn = [(label, smooth_ema(raw, smoothing)), (f"{label} (raw)", raw)] if smoothing > 0 else [(label, raw)]
        for name, values in drawn:
            columns["step"] += steps
            columns["value"] += [values[i] for i in keep]
            columns["series"] += [name] * len(keep)
    return pd.DataFrame(
        {
            "step": pd.Series(columns["step"], dtype="int64"),
            "value": pd.Series(columns["value"], dtype="float64"),
            "series": pd.Series(columns["series"], dtype="str"),
        }
    )


LOSS_KEYS = (("loss_d", "Loss_D"), ("loss_g", "Loss_G"))
D_KEYS = (("d_x", "D(x)"), ("d_g_z1", "D(G(z)) before D step"), ("d_g_z2", "D(G(z)) after D step"))
# strong colours for the (smoothed) series, pale ones for the raw values behind them
_COLOURS = {
    "Loss_D": ("#1f77b4", "#aec7e8"),
    "Loss_G": ("#ff7f0e", "#ffbb78"),
    "D(x)": ("#2ca02c", "#98df8a"),
    "D(G(z)) before D step": ("#d62728", "#ff9896"),
    "D(G(z)) after D step": ("#9467bd", "#c5b0d5"),
}


def legend(keys: tuple[tuple[str, str], ...]) -> list[str]:
    return [label for _, label in keys]  # the pale raw lines need no entry of their own


COLOR_MAP = {k: v for name, (strong, pale) in _COLOURS.items() for k, v in ((name, strong), (f"{name} (raw)", pale))}


def view(studio: Studio, smoothing: float = DEFAULT_SMOOTHING) -> dict[str, Any]:
    """Everything the tab draws, from one snapshot of the job (or of nothing)."""
    job = studio.jobs.job()
    trainer = job.trainer if job is not None else None
    snap = trainer.snapshot() if trainer is not None else None
    if snap is not None and job.timed_out:
        minutes = (job.time_limit_s or 0) / 60
        snap["warnings"] = [
            *snap["warnings"],
            f"stopped by the public demo's time limit ({minutes:.0f} min); "
            "the checkpoint was saved: resume from it to continue",
        ]
    history = snap["history"] if snap else []
    files = run_files(snap) if snap and snap["state"] in ENDED else []
    grid = snap["latest_grid"] if snap else None
    max_points = studio.limits.plot_max_points
    return {
        "state": snap["state"] if snap else "idle",
        "step": snap["step"] if snap else 0,
        "status": format_status(snap),
        "losses": curves(history, LOSS_KEYS, smoothing, max_points),
        "d_outputs": curves(history, D_KEYS, smoothing, max_points),
        "grid": grid_pil(grid, nrow=8, min_side=GRID_MIN_SIDE) if grid is not None else None,
        "log": "\n".join(snap["log"][-studio.limits.log_tail_lines :]) if snap else "",
        "files": files or None,
        "key": _key(trainer, snap),
    }


def run_files(snap: dict[str, Any]) -> list[str]:
    """An ended run's downloads: the exported generator, the latest checkpoint, the timelapse and the loss plot."""
    files = [
        snap[key]
        for key in ("generator_path", "latest_checkpoint", "timelapse_path")
        if snap.get(key) and Path(snap[key]).is_file()
    ]
    plot = RunDir(snap["run_dir"]).plot_path if snap["run_dir"] else None
    if plot is not None and plot.is_file():
        files.append(str(plot))
    return files


def _key(trainer, snap) -> tuple | None:
    if snap is None:
        return None
    grid = snap["latest_grid"]
    return (
        id(trainer),
        snap["state"],
        snap["step"],
        len(snap["history"]),
        id(grid),
        snap["latest_checkpoint"],
        snap["error"],
    )


def current_key(studio: Studio) -> tuple | None:
    trainer = studio.jobs.current()
    return _key(trainer, trainer.snapshot()) if trainer is not None else None
