"""Which training options buy quality per minute? An ablation on the shipped digits recipe.

Each variant trains the Train tab's quick recipe (digits, 32x32, ngf = ndf = 32, batch 128, seed 0, the CPU's
default speed settings, ``--amp auto``) with one option changed, or the chosen combination, for the same budget of
steps, keeps its fixed-noise grids with the wall time since Start (``bench/first_run.py``'s timeline and its
"all ten classes" test), then runs ``python -m dcgan_studio eval`` on the last checkpoint and prints the report's
figures side by side with the steps, seconds and load average.

    python bench/recipes.py                                   # every variant, 840 steps (60 epochs) each
    python bench/recipes.py --variants baseline,combo --steps 840 --out runs/recipes
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
sys.path.insert(0, str(Path(__file__).resolve().parent))

from first_run import milestones, run_timeline  # noqa: E402

from dcgan_studio.metrics.classifier import load_classifier  # noqa: E402
from dcgan_studio.presets import PRESETS  # noqa: E402

VARIANTS = {  # TrainConfig fields on top of the quick preset
    "baseline": {},
    "diffaugment": {"augment": {"diffaugment": "translation,cutout"}},
    "ema": {"ema": {"ema_decay": 0.999}},
    "lr-decay": {"lr_decay": "linear"},
    "combo": {"augment": {"diffaugment": "translation,cutout"}, "ema": {"ema_decay": 0.999}, "lr_decay": "linear"},
    "diffaugment+ema": {"augment": {"diffaugment": "translation,cutout"}, "ema": {"ema_decay": 0.999}},
}


def evaluate(checkpoint: Path, out: Path) -> dict:
    cmd = [sys.executable, "-m", "dcgan_studio", "eval", "--checkpoint", str(checkpoint), "--dataset", "digits"]
    subprocess.run([*cmd, "--out", str(out), "--no-probe"], check=True, capture_output=True)
    report = json.loads((out / "report.json").read_text())
    clf, prdc = report["classifier"], report["prdc"]["generated"]
    coverage = clf["coverage"]["generated"]
    return {
        "fd": clf["frechet"]["generated_vs_train"],
        "precision": prdc["precision"],
        "recall": prdc["recall"],
        "density": prdc["density"],
        "evenness": coverage["evenness"],
        "classes": coverage["present"],
    }


def run_variant(name: str, steps: int, out: Path, classifier) -> dict:
    model, train = PRESETS["quick"].configs(**VARIANTS[name], max_steps=steps, keep_checkpoints=1)
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    grids = run_timeline(model, train, out / name, max_seconds=3600)
    seconds = time.perf_counter() - t0
    found = milestones(classifier, grids, show=False)
    checkpoint = sorted((out / name / "checkpoints").glob("step_*.safetensors"))[-1]
    row = {"variant": name, "steps": grids[-1][1] if grids else 0, "seconds": seconds, "load": load}
    row["all_ten"] = found["all_ten"]
    row.update(evaluate(checkpoint, out / name / "eval"))
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated, from {', '.join(VARIANTS)}")
    ap.add_argument("--steps", type=int, default=840, help="steps per variant (default: %(default)s = 60 epochs)")
    ap.add_argument("--out", default="runs/recipes", help="folder for the runs and their eval reports")
    args = ap.parse_args()
    classifier = load_classifier()
    rows = []
    for name in args.variants.split(","):  # each row is written as soon as it is measured
        rows.append(run_variant(name, args.steps, Path(args.out), classifier))
        (Path(args.out) / "recipes.json").write_text(json.dumps(rows, indent=1))
    print(f"{'variant':<12} {'steps':>5} {'train s':>7} {'load':>4} {'FD':>6} {'prec':>5} {'recall':>6} "
          f"{'density':>7} {'even':>5} {'cls':>3} {'all ten at':>16}")  # fmt: skip
    for r in rows:
        ten = f"{r['all_ten'][0]:.1f} s / {r['all_ten'][1]}" if r["all_ten"] else "not reached"
        print(
            f"{r['variant']:<12} {r['steps']:>5} {r['seconds']:>7.1f} {r['load']:>4.1f} {r['fd']:>6.1f} "
            f"{r['precision']:>5.3f} {r['recall']:>6.3f} {r['density']:>7.3f} {r['evenness']:>5.3f} "
            f"{r['classes']:>3} {ten:>16}"
        )


if __name__ == "__main__":
    main()
