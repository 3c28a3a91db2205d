"""``compare``: 1..4 run folders side by side, as one PNG (smoothed curves and the grids nearest one step) and a
Markdown file (the settings that differ, where each run stands, the eval reports' headline figures)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..compare import MAX_RUNS, compare_png, default_step, load_runs, markdown_table


def compare_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", nargs="+", metavar="RUN", help=f"run folders written by `train` (1 to {MAX_RUNS})")
    p.add_argument(
        "--step",
        type=int,
        default=None,
        help="show the grids nearest this step (default: the last step all runs reached)",
    )
    p.add_argument("--out", default="compare.png", help="the PNG to write (default: %(default)s)")
    p.add_argument("--md", default="compare.md", help="the Markdown file to write (default: %(default)s)")
    p.add_argument(
        "--report",
        action="append",
        default=[],
        metavar="REPORT_JSON",
        help="an eval report.json for the runs in order (once per run; default: <run>/eval/report.json when there)",
    )


def run_compare(args: argparse.Namespace) -> int:
    runs = load_runs(args.runs, args.report)
    for run in runs:
        for note in run.notes:
            print(f"note: {run.name}: {note}", file=sys.stderr)
    step = args.step if args.step is not None else default_step(runs)
    png = compare_png(runs, step, Path(args.out))
    md = Path(args.md)
    md.parent.mkdir(parents=True, exist_ok=True)
    md.write_text(markdown_table(runs))
    print(f"wrote {png} (grids nearest step {step}) and {md}")
    return 0
