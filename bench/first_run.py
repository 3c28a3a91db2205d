"""How long from Start to recognisable digits? The Train tab's presets, timed as a user sees them.

Runs each preset through the same core ``Trainer`` the Studio starts (in its background thread, grids every
``sample_every`` steps), keeps every fixed-noise grid with the wall time since Start, and afterwards (outside the
timed run) asks the shipped digits classifier what it sees in each grid: how many of the 64 samples it labels with
confidence >= 0.9, and how many of the ten classes those confident samples cover.

    python bench/first_run.py                       # the quick preset (the Train tab's default)
    python bench/first_run.py --presets quick,paper64 --max-seconds 120

"Recognisable" here means: at least half of the grid labelled with confidence and at least 9 classes among them;
the time to all ten classes is printed beside it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from dcgan_studio.metrics.classifier import classify, load_classifier  # noqa: E402
from dcgan_studio.presets import PRESETS  # noqa: E402
from dcgan_studio.train import Trainer  # noqa: E402

CONFIDENT = 0.9


def timeline(preset_name: str, max_seconds: float) -> list[tuple[float, int, torch.Tensor]]:
    """(seconds since Start, step, uint8 grid images) for every grid of one run of the preset."""
    with tempfile.TemporaryDirectory() as tmp:
        return run_timeline(*PRESETS[preset_name].configs(), Path(tmp) / "run", max_seconds)


def run_timeline(model, train, run_dir: Path, max_seconds: float) -> list[tuple[float, int, torch.Tensor]]:
    """(seconds since Start, step, uint8 grid images) for every grid of one run of these configs into ``run_dir``
    (left there: its checkpoints and generator)."""
    grids: list[tuple[float, int, torch.Tensor]] = []
    trainer = Trainer(model, train, run_dir=run_dir)
    t0 = time.perf_counter()
    trainer.subscribe(
        lambda e: grids.append((time.perf_counter() - t0, e.step, e.data["images"])) if e.kind == "samples" else None
    )
    trainer.start()
    while trainer.is_alive and time.perf_counter() - t0 < max_seconds:
        time.sleep(0.2)
    trainer.stop()
    trainer.join()
    return grids


def milestones(classifier, grids, show: bool = True) -> dict[str, tuple[float, int] | None]:
    """(seconds, step) of the first grid with recognisable digits and of the first with all ten classes (None: not
    reached), printing each grid's counts when ``show``."""
    found: dict[str, tuple[float, int] | None] = {"recognisable": None, "all_ten": None}
    for seconds, step, images in grids:
        probs = classify(classifier, images).probs
        conf, label = probs.max(1)
        sure = conf >= CONFIDENT
        classes = len(set(label[sure].tolist()))
        if show:
            print(f"{seconds:8.1f} {step:6d} {int(sure.sum()):>6}/{len(images):<3} {classes:8d}")
        if found["recognisable"] is None and sure.float().mean() >= 0.5 and classes >= 9:
            found["recognisable"] = (seconds, step)
        if found["all_ten"] is None and classes == 10:
            found["all_ten"] = (seconds, step)
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--presets", default="quick", help=f"comma-separated, from {', '.join(PRESETS)}")
    ap.add_argument("--max-seconds", type=float, default=180.0, help="stop a run after this long")
    args = ap.parse_args()
    classifier = load_classifier()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; confident = p >= {CONFIDENT}")
    for name in args.presets.split(","):
        grids = timeline(name, args.max_seconds)
        print(f"\npreset {name!r} ({PRESETS[name].label}): {len(grids)} grids")
        print(f"{'seconds':>8} {'step':>6} {'confident':>10} {'classes':>8}")
        found = milestones(classifier, grids)
        fmt = lambda s: f"{s[0]:.1f} s (step {s[1]})" if s is not None else "not reached"  # noqa: E731
        print(
            f"preset {name!r}: recognisable digits after {fmt(found['recognisable'])}; all ten classes after "
            f"{fmt(found['all_ten'])}"
        )


if __name__ == "__main__":
    main()
