"""report.json, report.md and the PNG plots of one evaluation (see ``evaluate.evaluate``)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch

from ..checkpoint import atomic_write_bytes
from ..plots import save_grid, to_pil, upscale
from .markdown import markdown
from .memorisation import pairs_grid

__all__ = ["markdown", "public", "write_plots", "write_report"]


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def public(report: dict) -> dict:
    """The report without the private (underscore) entries: what goes into report.json."""
    if isinstance(report, dict):
        return {k: public(v) for k, v in report.items() if not str(k).startswith("_")}
    if isinstance(report, list):
        return [public(v) for v in report]
    if isinstance(report, float) and not math.isfinite(report):
        return None
    return report


def write_plots(report: dict, out: Path) -> dict[str, str]:
    """The report's PNGs in ``out``: {plot name: file name} for those the report has data for."""
    plots: dict[str, str] = {}
    save_grid(report["_samples"], out / "samples.png")
    plots["samples"] = "samples.png"
    mem = report.get("memorisation")
    if mem:
        plots["memorisation_pairs"] = _memorisation_pairs(mem, out / "memorisation_pairs.png")
        plots["nn_distances"] = _nn_distances(mem, out / "nn_distances.png")
    clf = report.get("classifier", {})
    if clf.get("available"):
        plots["class_histogram"] = _class_histogram(clf, out / "class_histogram.png")
    lp = report.get("linear_probe", {})
    if lp.get("available"):
        plots["linear_probe"] = _linear_probe_plot(lp, out / "linear_probe.png")
    return plots


def _memorisation_pairs(mem: dict, path: Path) -> str:
    """The closest generated/training pairs, small images enlarged (nearest neighbour) to be seen."""
    pairs = mem["_pairs"]
    grid = pairs_grid(pairs["generated"], pairs["train"])
    to_pil(upscale(grid, 96 // pairs["generated"].shape[-1])).save(path)
    return path.name


def _nn_distances(mem: dict, path: Path) -> str:
    fig, ax = _plt().subplots(figsize=(6, 3.4), dpi=100)
    d = mem["_distances"]
    hi = float(max(d["generated"].max(), d["held_out"].max()))
    bins = torch.linspace(0, hi * 1.02, 40).numpy()
    ax.hist(d["held_out"].numpy(), bins=bins, alpha=0.6, density=True, label="held-out real -> train")
    ax.hist(d["generated"].numpy(), bins=bins, alpha=0.6, density=True, label="generated -> train")
    ax.axvline(mem["copy_threshold"], color="k", linestyle="--", linewidth=1, label="1% of held-out")
    ax.set(xlabel="RMS pixel distance to nearest training image", ylabel="density", title="Nearest training neighbours")
    ax.legend(fontsize=8)
    return _save(fig, path)


def _class_histogram(clf: dict, path: Path) -> str:
    fig, ax = _plt().subplots(figsize=(6, 3.2), dpi=100)
    gen = torch.tensor(clf["coverage"]["generated"]["histogram"], dtype=torch.float64)
    ref = torch.tensor(clf["coverage"]["held_out"]["histogram"], dtype=torch.float64)
    xs = torch.arange(len(gen)).numpy()
    ax.bar(xs - 0.2, (ref / ref.sum()).numpy(), width=0.4, label="held-out real")
    ax.bar(xs + 0.2, (gen / gen.sum()).numpy(), width=0.4, label="generated")
    ax.set(xticks=xs, xlabel="predicted digit", ylabel="share", title="Class coverage")
    ax.legend(fontsize=8)
    return _save(fig, path)


def _linear_probe_plot(lp: dict, path: Path) -> str:
    fig, ax = _plt().subplots(figsize=(6, 3.6), dpi=100)
    counts = lp["label_counts"]
    for name, accs in lp["accuracy"].items():
        means = [accs[str(c)]["mean"] for c in counts]
        stds = [accs[str(c)]["std"] for c in counts]
        ax.errorbar(counts, means, yerr=stds, marker="o", capsize=3, label=name)
    ax.set(xscale="log", xticks=counts, xticklabels=[str(c) for c in counts])
    ax.set(xlabel="labels per class", ylabel="held-out accuracy", title="Linear probe")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return _save(fig, path)


def write_report(report: dict, out_dir: str | Path) -> dict[str, Path]:
    """Write report.json, report.md and the plots into ``out_dir``; returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    plots = write_plots(report, out)
    report["plots"] = plots
    data = public(report)
    json_path = atomic_write_bytes(out / "report.json", json.dumps(data, indent=2, sort_keys=True).encode())
    md_path = atomic_write_bytes(out / "report.md", markdown(report).encode())
    return {"json": json_path, "markdown": md_path, **{k: out / v for k, v in plots.items()}}


def _save(fig, path: Path) -> str:
    """Write a report figure as PNG, close it, and return its file name (what report.md links to)."""
    fig.tight_layout()
    fig.savefig(path)
    _plt().close(fig)
    return path.name
