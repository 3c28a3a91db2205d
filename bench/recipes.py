"""Which training options buy quality per minute? An ablation on the shipped digits recipe.

Each variant trains the Train tab's quick recipe (digits, 32x32, ngf = ndf = 32, batch 128, seed 0, the CPU's
default speed settings, ``--amp auto``, DiffAugment) with options changed, for the same budget of steps, keeps its
fixed-noise grids with the wall time since Start (``bench/first_run.py``'s timeline and its "all ten classes" test),
then runs ``python -m dcgan_studio eval`` on the last checkpoint and prints the report's figures side by side with
the steps, seconds and load average.

``plain`` is the paper's recipe (the quick one without DiffAugment); ``shipped`` is DiffAugment + EMA, the recipe of
``checkpoints/digits32.safetensors``; the ``shipped+...`` variants add issue 20's levers to it: the paper's width
(ngf = ndf = 64), a learning-rate decay that starts late (``--lr-decay-start``) and a faster D (``--lr-d``).

    python bench/recipes.py                                   # every variant, 840 steps (60 epochs) each
    (the epochs are the budget's, so a decay falls over the steps the variant trains)
    python bench/recipes.py --variants shipped,shipped+late-decay --steps 1400 --out runs/recipes
    python bench/recipes.py --show runs/recipesA runs/recipesB     # the tables of two runs side by side, as one
"""

from __future__ import annotations

import argparse
import dataclasses
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

PLAIN = {"augment": {"diffaugment": ""}}  # the quick preset without its DiffAugment: the paper's recipe
EMA = {"ema": {"ema_decay": 0.999}}
LATE_DECAY = {"lr_decay": "linear", "lr_decay_start": 0.5}  # the rates hold for half the run, then fall to 0
WIDTH64 = {"model": {"ngf": 64, "ndf": 64}}  # the paper's width
TTUR = {"lr_d": 4e-4}  # two time-scales: D learns twice as fast as G
VARIANTS = {  # TrainConfig fields (and, under "model", ModelConfig fields) on top of the quick preset
    "plain": PLAIN,
    "diffaugment": {},
    "ema": PLAIN | EMA,
    "lr-decay": PLAIN | {"lr_decay": "linear"},
    "combo": EMA | {"lr_decay": "linear"},
    "shipped": EMA,
    "shipped+late-decay": EMA | LATE_DECAY,
    "shipped+width64": EMA | WIDTH64,
    "shipped+width64+late-decay": EMA | WIDTH64 | LATE_DECAY,
    "shipped+ttur": EMA | TTUR,
}


def evaluate(checkpoint: Path, out: Path) -> dict:
    cmd = [sys.executable, "-m", "dcgan_studio", "eval", "--checkpoint", str(checkpoint), "--dataset", "digits"]
    subprocess.run([*cmd, "--out", str(out), "--no-probe"], check=True, capture_output=True)
    report = json.loads((out / "report.json").read_text())
    clf, prdc = report["classifier"], report["prdc"]["generated"]
    coverage = clf["coverage"]["generated"]
    swd, msssim = report["swd"], report["msssim"]
    return {
        "swd": swd["generated"]["average"] if swd["available"] else float("nan"),
        "msssim": msssim["generated"]["mean"] if msssim["available"] else float("nan"),
        "fd": clf["frechet"]["generated_vs_train"],
        "precision": prdc["precision"],
        "recall": prdc["recall"],
        "density": prdc["density"],
        "evenness": coverage["evenness"],
        "classes": coverage["present"],
    }


def run_variant(name: str, steps: int, out: Path, classifier) -> dict:
    overrides = dict(VARIANTS[name])
    widths = overrides.pop("model", {})
    quick = PRESETS["quick"]
    epochs = -(-steps // quick.steps_per_epoch(quick.train["batch_size"]))  # a decay spans the budget
    model, train = quick.configs(**overrides, epochs=epochs, max_steps=steps, keep_checkpoints=1)
    model = dataclasses.replace(model, **widths)
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


def print_table(rows: list[dict]) -> None:
    print(f"{'variant':<26} {'steps':>5} {'train s':>7} {'load':>4} {'FD':>6} {'prec':>5} {'recall':>6} "
          f"{'density':>7} {'even':>5} {'cls':>3} {'SWD':>5} {'MS-SSIM':>7} {'all ten at':>16}")  # fmt: skip
    for r in rows:
        ten = f"{r['all_ten'][0]:.1f} s / {r['all_ten'][1]}" if r["all_ten"] else "not reached"
        print(
            f"{r['variant']:<26} {r['steps']:>5} {r['seconds']:>7.1f} {r['load']:>4.1f} {r['fd']:>6.1f} "
            f"{r['precision']:>5.3f} {r['recall']:>6.3f} {r['density']:>7.3f} {r['evenness']:>5.3f} "
            f"{r['classes']:>3} {r['swd']:>5.1f} {r['msssim']:>7.3f} {ten:>16}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated, from {', '.join(VARIANTS)}")
    ap.add_argument("--steps", type=int, default=840, help="steps per variant (default: %(default)s = 60 epochs)")
    ap.add_argument("--out", default="runs/recipes", help="folder for the runs and their eval reports")
    ap.add_argument("--show", nargs="+", metavar="OUT", help="only print the tables of earlier --out folders, as one")
    args = ap.parse_args()
    if args.show:  # e.g. two halves of the variants run side by side, one thread each
        print_table([row for out in args.show for row in json.loads((Path(out) / "recipes.json").read_text())])
        return
    classifier = load_classifier()
    rows = []
    for name in args.variants.split(","):  # each row is written as soon as it is measured
        rows.append(run_variant(name, args.steps, Path(args.out), classifier))
        (Path(args.out) / "recipes.json").write_text(json.dumps(rows, indent=1))
    print_table(rows)


if __name__ == "__main__":
    main()
