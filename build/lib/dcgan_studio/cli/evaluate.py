"""``eval`` (the evaluation report of a checkpoint) and ``train-classifier`` (the offline digits scorer)."""

from __future__ import annotations

import argparse

from ..data import DATASET_NAMES
from .command import checkpoint_file


def eval_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--checkpoint",
        default=None,
        help="models export (G and D), training checkpoint or generator-only file (.safetensors), or a Hub repo "
        "user/name[@revision] (default: the shipped digits generator)",
    )
    p.add_argument(
        "--dataset", default="digits", help=f"real images to compare with: one of {', '.join(DATASET_NAMES)}"
    )
    p.add_argument(
        "--data-path",
        default=None,
        help="folder or .zip for folder/zip; root of a torchvision dataset (default: ./data)",
    )
    p.add_argument("--out", default="eval", help="folder for report.json, report.md and the plots")
    p.add_argument("--n", type=int, default=None, help="generated samples (default: as many as held-out real images)")
    p.add_argument("--seed", type=int, default=0, help="seed of the generated samples")
    p.add_argument(
        "--classifier",
        default=None,
        help="digits classifier (default: the shipped one, checkpoints/digits_classifier.safetensors)",
    )
    p.add_argument(
        "--labels-per-class", type=int, nargs="+", default=[10, 50, 100], help="label counts of the linear probe"
    )
    p.add_argument("--probe-repeats", type=int, default=3, help="draws of the labelled images per label count")
    p.add_argument("--no-probe", action="store_true", help="skip the linear probe (the slowest part)")
    p.add_argument("--cifar10-root", default="data", help="folder that may hold cifar-10-batches-py (never downloaded)")
    p.add_argument(
        "--inception-weights",
        default=None,
        help="local Inception weights file for FID/IS (needs torchmetrics and torch-fidelity)",
    )


def run_eval(args: argparse.Namespace) -> int:
    from ..metrics.evaluate import evaluate
    from ..metrics.report import write_report

    if not 1 <= args.probe_repeats <= 20:
        raise ValueError(f"--probe-repeats must be in 1..20, got {args.probe_repeats}")
    report = evaluate(
        checkpoint_file(args.checkpoint),
        args.dataset,
        args.data_path,
        n_generated=args.n,
        seed=args.seed,
        classifier_path=args.classifier,
        probe_label_counts=tuple(args.labels_per_class),
        probe_repeats=args.probe_repeats,
        run_probe=not args.no_probe,
        cifar10_root=args.cifar10_root,
        inception_weights=args.inception_weights,
        progress=lambda m: print(f"... {m}", flush=True),
    )
    paths = write_report(report, args.out)
    print(summary_lines(report))
    print(f"wrote {paths['json']} and {paths['markdown']}")
    return 0


def summary_lines(r: dict) -> str:
    """A few lines for the terminal: each figure beside its real-vs-real reference."""
    out = []
    clf = r.get("classifier", {})
    if clf.get("available"):
        fr, cov, score = clf["frechet"], clf["coverage"], clf["score"]
        gen, real = cov["generated"], cov["held_out"]
        out.append(
            f"classifier Fréchet distance: generated {fr['generated_vs_train']:.2f}  "
            f"(real-vs-real {fr['held_out_vs_train']:.2f}, noise {fr['noise_vs_train']:.1f})"
        )
        out.append(f"classifier score: generated {score['generated']:.2f}  (real {score['held_out']:.2f})")
        out.append(
            f"classes present: {gen['present']}/10, evenness {gen['evenness']:.3f}  "
            f"(real {real['present']}/10, {real['evenness']:.3f})"
        )
    elif clf.get("message"):
        out.append(f"classifier metrics: {clf['message']}")
    pr = r.get("prdc")
    if pr:
        g, h = pr["generated"], pr["held_out"]
        out.append(
            f"precision {g['precision']:.3f} recall {g['recall']:.3f} density {g['density']:.3f} "
            f"coverage {g['coverage']:.3f}  "
            f"(real: {h['precision']:.3f} {h['recall']:.3f} {h['density']:.3f} {h['coverage']:.3f})"
        )
    if r["diversity"]["collapsed"]:
        out.append(f"MODE COLLAPSE: samples are {r['diversity']['ratio']:.2f}x as diverse as real images")
    out += _discriminator_lines(r)
    m = r.get("memorisation")
    if m:
        gen, held = m["generated"], m["held_out"]
        out.append(
            f"nearest-train distance: generated median {gen['median']:.4f} min {gen['min']:.4f}  "
            f"(held-out median {held['median']:.4f} min {held['min']:.4f})"
        )
    fi = r.get("fid_is", {})
    if not fi.get("available"):
        out.append(fi.get("message", ""))
    return "\n".join(out)


def _discriminator_lines(r: dict) -> list[str]:
    """D's accuracy on held-out real vs generated images, and the linear probe on its features."""
    out = []
    d = r.get("discriminator", {})
    if d.get("available"):
        out.append(f"D accuracy on held-out real vs generated: {100 * d['accuracy']:.1f}%")
    lp = r.get("linear_probe", {})
    if lp.get("available"):
        for name, accs in lp["accuracy"].items():
            scores = "  ".join(f"{c}/cls {100 * accs[str(c)]['mean']:.1f}%" for c in lp["label_counts"])
            out.append(f"probe {name:32s} {scores}")
    return out


def classifier_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="checkpoints/digits_classifier.safetensors", help="safetensors file to write")
    p.add_argument("--epochs", type=int, default=20, help="passes over the 1,438 training digits")
    p.add_argument("--seed", type=int, default=0, help="seed (same seed, same weights on the CPU)")


def run_train_classifier(args: argparse.Namespace) -> int:
    from ..metrics.classifier import save_classifier, train_classifier

    if not 1 <= args.epochs <= 200:
        raise ValueError(f"--epochs must be in 1..200, got {args.epochs}")

    def progress(epoch: int, loss: float) -> None:
        print(f"epoch {epoch}/{args.epochs} loss {loss:.4f}", flush=True)

    model, info = train_classifier(epochs=args.epochs, seed=args.seed, progress=progress)
    command_line = f"python -m dcgan_studio train-classifier --out {args.out}"
    if args.epochs != 20 or args.seed != 0:
        command_line += f" --epochs {args.epochs} --seed {args.seed}"
    path = save_classifier(args.out, model, info, command_line)
    print(
        f"wrote {path}: held-out accuracy {100 * info['held_out_accuracy']:.2f}% on {info['n_held_out']} digits, "
        f"trained in {info['train_seconds']:.0f} s"
    )
    return 0
