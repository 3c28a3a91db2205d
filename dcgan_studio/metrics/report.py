"""report.json, report.md and the PNG plots of one evaluation (see ``evaluate.evaluate``)."""
from __future__ import annotations

import json
import math
from pathlib import Path

import torch

from ..checkpoint import atomic_write_bytes
from ..plots import save_grid, to_pil, upscale
from .memorisation import pairs_grid


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
    plt = _plt()
    plots: dict[str, str] = {}
    save_grid(report["_samples"], out / "samples.png")
    plots["samples"] = "samples.png"

    mem = report.get("memorisation")
    if mem:
        pairs = mem["_pairs"]
        grid = pairs_grid(pairs["generated"], pairs["train"])
        scale = max(1, 96 // pairs["generated"].shape[-1])  # small images enlarged (nearest neighbour) to be seen
        to_pil(upscale(grid, scale)).save(out / "memorisation_pairs.png")
        plots["memorisation_pairs"] = "memorisation_pairs.png"
        fig, ax = plt.subplots(figsize=(6, 3.4), dpi=100)
        d = mem["_distances"]
        hi = float(max(d["generated"].max(), d["held_out"].max()))
        bins = torch.linspace(0, hi * 1.02, 40).numpy()
        ax.hist(d["held_out"].numpy(), bins=bins, alpha=0.6, density=True, label="held-out real -> train")
        ax.hist(d["generated"].numpy(), bins=bins, alpha=0.6, density=True, label="generated -> train")
        ax.axvline(mem["copy_threshold"], color="k", linestyle="--", linewidth=1, label="1% of held-out")
        ax.set(xlabel="RMS pixel distance to nearest training image", ylabel="density", title="Nearest training neighbours")
        ax.legend(fontsize=8)
        plots["nn_distances"] = _save(fig, out / "nn_distances.png")

    clf = report.get("classifier", {})
    if clf.get("available"):
        fig, ax = plt.subplots(figsize=(6, 3.2), dpi=100)
        gen = torch.tensor(clf["coverage"]["generated"]["histogram"], dtype=torch.float64)
        ref = torch.tensor(clf["coverage"]["held_out"]["histogram"], dtype=torch.float64)
        xs = torch.arange(len(gen)).numpy()
        ax.bar(xs - 0.2, (ref / ref.sum()).numpy(), width=0.4, label="held-out real")
        ax.bar(xs + 0.2, (gen / gen.sum()).numpy(), width=0.4, label="generated")
        ax.set(xticks=xs, xlabel="predicted digit", ylabel="share", title="Class coverage")
        ax.legend(fontsize=8)
        plots["class_histogram"] = _save(fig, out / "class_histogram.png")

    lp = report.get("linear_probe", {})
    if lp.get("available"):
        fig, ax = plt.subplots(figsize=(6, 3.6), dpi=100)
        counts = lp["label_counts"]
        for name, accs in lp["accuracy"].items():
            ax.errorbar(counts, [accs[str(c)]["mean"] for c in counts], yerr=[accs[str(c)]["std"] for c in counts], marker="o", capsize=3, label=name)
        ax.set(xscale="log", xticks=counts, xticklabels=[str(c) for c in counts], xlabel="labels per class", ylabel="held-out accuracy", title="Linear probe")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        plots["linear_probe"] = _save(fig, out / "linear_probe.png")
    return plots


def _f(x, digits: int = 3) -> str:
    if x is None:
        return "n/a"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


def _pct(x) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def markdown(report: dict) -> str:
    r = report
    lines = [
        f"# Evaluation of `{Path(r['checkpoint']).name}` on `{r['dataset']}`",
        "",
        f"{r['n_generated']} generated samples (seed {r['seed']}) against {r['n_train']} training and {r['n_held_out']} "
        f"held-out real images (fixed split: {int(100 * r['split']['held_out_fraction'])}% held out, seed {r['split']['seed']}). "
        "Every generated figure stands beside the **real-vs-real reference**: held-out real images measured the same way "
        "against the training images; a generator can at best match it.",
        "",
        "![samples](samples.png)",
        "",
    ]
    clf = r.get("classifier", {})
    lines.append("## Quality and diversity (digits classifier)")
    if clf.get("available"):
        fr, sc, cov = clf["frechet"], clf["score"], clf["coverage"]
        g, h = cov["generated"], cov["held_out"]
        lines += [
            f"Classifier held-out accuracy: {_pct(clf['held_out_accuracy'])}.",
            "",
            "| | generated | held-out real (reference) | uniform noise |",
            "|---|---|---|---|",
            f"| Fréchet distance to training digits (lower is better) | {_f(fr['generated_vs_train'])} | {_f(fr['held_out_vs_train'])} | {_f(fr['noise_vs_train'])} |",
            f"| classifier score (IS-like, 1..10) | {_f(sc['generated'])} | {_f(sc['held_out'])} | |",
            f"| classes present (of {g['n_classes']}, >= 1% of samples) | {g['present']} | {h['present']} | |",
            f"| class evenness (normalised entropy, 1 = even) | {_f(g['evenness'])} | {_f(h['evenness'])} | |",
            f"| mean top-class confidence | {_f(g['confidence'])} | {_f(h['confidence'])} | |",
            "",
            "![class histogram](class_histogram.png)",
            "",
        ]
    else:
        lines += [clf.get("message", "not available"), ""]
    div = r["diversity"]
    lines += [
        f"Pixel diversity (mean pairwise RMS distance): generated {_f(div['generated'])}, held-out {_f(div['held_out'])}, "
        f"ratio {_f(div['ratio'], 2)}" + (" - **the samples look collapsed (mode collapse)**." if div["collapsed"] else "."),
        "",
    ]
    pr = r.get("prdc")
    if pr:
        lines += [
            "## Precision / recall / density / coverage",
            f"k-NN manifolds (k = {pr['generated']['k']}) in {pr['feature_space']}. Precision: samples that look real; "
            "recall: real images the samples cover; density ~1 and coverage ~1 for a perfect generator.",
            "",
            "| | precision | recall | density | coverage |",
            "|---|---|---|---|---|",
        ]
        for name in ("generated", "held_out"):
            p = pr[name]
            lines.append(f"| {name.replace('_', '-')}{' (reference)' if name == 'held_out' else ''} | {_f(p['precision'])} | {_f(p['recall'])} | {_f(p['density'])} | {_f(p['coverage'])} |")
        if pr.get("frechet"):
            lines += ["", f"Fréchet distance in this space: generated {_f(pr['frechet']['generated_vs_train'])}, held-out reference {_f(pr['frechet']['held_out_vs_train'])}."]
        if pr.get("caveat"):
            lines += ["", pr["caveat"]]
        lines.append("")
    d = r.get("discriminator", {})
    lines.append("## Discriminator accuracy (held-out real vs generated)")
    if d.get("available"):
        lines += [
            f"Accuracy {_pct(d['accuracy'])} (real judged real {_pct(d['real_accuracy'])}, generated judged fake {_pct(d['fake_accuracy'])}); "
            f"mean D(x) {_f(d['mean_d_real'])}, mean D(G(z)) {_f(d['mean_d_fake'])}. Near 50% means D can no longer tell them apart; "
            "near 100% means the samples are easy to spot (or D overfits).",
            "",
        ]
    else:
        lines += [d.get("message", "not available"), ""]
    lp = r.get("linear_probe", {})
    lines.append("## Linear probe (the paper's discriminator-as-feature-extractor test)")
    if lp.get("available"):
        counts = lp["label_counts"]
        lines += [
            f"Linear L2-SVM (C = {lp['svm_c']}, standardised features) trained on n labelled training images per class, "
            f"tested on the {lp['n_test']} held-out images; mean ± std over {lp['repeats']} draws.",
            "",
            "| method | dims | " + " | ".join(f"{c}/class" for c in counts) + " |",
            "|---|---|" + "---|" * len(counts),
        ]
        for name, accs in lp["accuracy"].items():
            cells = " | ".join(f"{100 * accs[str(c)]['mean']:.1f} ± {100 * accs[str(c)]['std']:.1f}%" for c in counts)
            lines.append(f"| {name} | {lp['feature_dims'][name]} | {cells} |")
        lines += ["", "![linear probe](linear_probe.png)", ""]
        if lp.get("message"):
            lines += [lp["message"], ""]
    else:
        lines += [lp.get("message", "not available"), ""]
    cf = r.get("cifar10_probe")
    if cf:
        if cf.get("available"):
            lines += [f"CIFAR-10 probe: {_pct(cf['accuracy'])} with D's features ({cf['per_class']} labels per class; pixels {_pct(cf['pixels_accuracy'])}) against the paper's {_pct(cf['paper_accuracy'])}. {cf['note']}", ""]
        else:
            lines += [cf["message"], ""]
    mem = r.get("memorisation")
    if mem:
        g, h = mem["generated"], mem["held_out"]
        lines += [
            "## Memorisation (nearest training neighbours)",
            f"{mem['metric']}.",
            "",
            "| | min | 5th percentile | median | mean |",
            "|---|---|---|---|---|",
            f"| generated -> train | {_f(g['min'])} | {_f(g['p05'])} | {_f(g['median'])} | {_f(g['mean'])} |",
            f"| held-out real -> train (reference) | {_f(h['min'])} | {_f(h['p05'])} | {_f(h['median'])} | {_f(h['mean'])} |",
            "",
            f"{_pct(mem['share_closer_than_held_out_p01'])} of the samples are closer than the 1st percentile of the held-out distances ({_f(mem['copy_threshold'])}): {mem['verdict']}",
            "",
            mem["note"],
            "",
            "Closest pairs (top: generated, bottom: its nearest training image):",
            "",
            "![pairs](memorisation_pairs.png)",
            "",
            "![distances](nn_distances.png)",
            "",
        ]
    fi = r.get("fid_is", {})
    lines.append("## FID / Inception Score")
    if fi.get("available"):
        is_ = fi.get("inception_score")
        lines.append(f"FID {_f(fi['fid'])}" + (f", IS {_f(is_['mean'])} ± {_f(is_['std'])}" if is_ else f". {fi.get('message') or ''}"))
    else:
        lines.append(fi.get("message", "not available"))
    lines += ["", f"_Computed in {r.get('seconds', 0):.0f} s._", ""]
    return "\n".join(lines)


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
