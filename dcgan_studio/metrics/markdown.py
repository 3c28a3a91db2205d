"""report.md: one evaluation as Markdown, a function per section, each figure beside its real-vs-real reference."""

from __future__ import annotations

from pathlib import Path


def _f(x, digits: int = 3) -> str:
    if x is None:
        return "n/a"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


def _pct(x) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def markdown(report: dict) -> str:
    """The whole report.md of ``report`` (what ``evaluate.evaluate`` returned)."""
    lines = _title(report)
    for section in (
        _classifier_section,
        _diversity_section,
        _pixel_statistics_section,
        _prdc_section,
        _discriminator_section,
        _linear_probe_section,
        _cifar10_section,
        _memorisation_section,
        _fid_is_section,
    ):
        lines += section(report)
    lines += ["", f"_Computed in {report.get('seconds', 0):.0f} s._", ""]
    return "\n".join(lines)


def _title(r: dict) -> list[str]:
    held_out_pct = int(100 * r["split"]["held_out_fraction"])
    return [
        f"# Evaluation of `{Path(r['checkpoint']).name}` on `{r['dataset']}`",
        "",
        f"{r['n_generated']} generated samples (seed {r['seed']}) against {r['n_train']} training and "
        f"{r['n_held_out']} held-out real images (fixed split: {held_out_pct}% held out, seed {r['split']['seed']}). "
        "Every generated figure stands beside the **real-vs-real reference**: held-out real images measured the same "
        "way against the training images; a generator can at best match it.",
        "",
        "![samples](samples.png)",
        "",
    ]


def _classifier_section(r: dict) -> list[str]:
    clf = r.get("classifier", {})
    lines = ["## Quality and diversity (digits classifier)"]
    if not clf.get("available"):
        return lines + [clf.get("message", "not available"), ""]
    fr, sc, cov = clf["frechet"], clf["score"], clf["coverage"]
    g, h = cov["generated"], cov["held_out"]
    return lines + [
        f"Classifier held-out accuracy: {_pct(clf['held_out_accuracy'])}.",
        "",
        "| | generated | held-out real (reference) | uniform noise |",
        "|---|---|---|---|",
        f"| Fréchet distance to training digits (lower is better) | {_f(fr['generated_vs_train'])} | "
        f"{_f(fr['held_out_vs_train'])} | {_f(fr['noise_vs_train'])} |",
        f"| classifier score (IS-like, 1..10) | {_f(sc['generated'])} | {_f(sc['held_out'])} | |",
        f"| classes present (of {g['n_classes']}, >= 1% of samples) | {g['present']} | {h['present']} | |",
        f"| class evenness (normalised entropy, 1 = even) | {_f(g['evenness'])} | {_f(h['evenness'])} | |",
        f"| mean top-class confidence | {_f(g['confidence'])} | {_f(h['confidence'])} | |",
        "",
        "![class histogram](class_histogram.png)",
        "",
    ]


def _diversity_section(r: dict) -> list[str]:
    div = r["diversity"]
    verdict = " - **the samples look collapsed (mode collapse)**." if div["collapsed"] else "."
    return [
        f"Pixel diversity (mean pairwise RMS distance): generated {_f(div['generated'])}, held-out "
        f"{_f(div['held_out'])}, ratio {_f(div['ratio'], 2)}" + verdict,
        "",
    ]


def _pixel_statistics_section(r: dict) -> list[str]:
    sw, ms = r.get("swd"), r.get("msssim")
    if sw is None and ms is None:
        return []
    lines = ["## Sliced Wasserstein distance and MS-SSIM (no network needed)"]
    if sw and sw.get("available"):
        g, h = sw["generated"], sw["held_out"]
        levels = list(g["per_level"])
        lines += [
            "SWD x 10^3 to the training images on 7x7 Laplacian-pyramid patches, per level and averaged (ProGAN; "
            "lower is better).",
            "",
            "| | " + " | ".join(f"{lvl} px" for lvl in levels) + " | average |",
            "|---" * (len(levels) + 2) + "|",
        ]
        rows = [("generated", g), ("held-out real (reference)", h)]
        if "training" in sw:  # older reports have no floor
            rows.append(("other training images (floor)", sw["training"]))
        for label, d in rows:
            cells = " | ".join(_f(d["per_level"][lvl], 2) for lvl in levels)
            lines.append(f"| {label} | {cells} | {_f(d['average'], 2)} |")
        lines.append("")
    elif sw:
        lines += [f"SWD not available: {sw['message']}", ""]
    if ms and ms.get("available"):
        lines += [
            f"MS-SSIM of random pairs (diversity; lower is more diverse): generated {_f(ms['generated']['mean'])}, "
            f"held-out real {_f(ms['held_out']['mean'])}"
            + (f", training images {_f(ms['training']['mean'])}" if "training" in ms else "")
            + f" ({ms['generated']['n_pairs']} pairs each).",
            "",
        ]
    elif ms:
        lines += [f"MS-SSIM not available: {ms['message']}", ""]
    return lines


def _prdc_section(r: dict) -> list[str]:
    pr = r.get("prdc")
    if not pr:
        return []
    lines = [
        "## Precision / recall / density / coverage",
        f"k-NN manifolds (k = {pr['generated']['k']}) in {pr['feature_space']}. Precision: samples that look real; "
        "recall: real images the samples cover; density ~1 and coverage ~1 for a perfect generator.",
        "",
        "| | precision | recall | density | coverage |",
        "|---|---|---|---|---|",
    ]
    for name in ("generated", "held_out"):
        p = pr[name]
        label = name.replace("_", "-") + (" (reference)" if name == "held_out" else "")
        lines.append(
            f"| {label} | {_f(p['precision'])} | {_f(p['recall'])} | {_f(p['density'])} | {_f(p['coverage'])} |"
        )
    if pr.get("frechet"):
        fr = pr["frechet"]
        lines += [
            "",
            f"Fréchet distance in this space: generated {_f(fr['generated_vs_train'])}, held-out reference "
            f"{_f(fr['held_out_vs_train'])}.",
        ]
    if pr.get("caveat"):
        lines += ["", pr["caveat"]]
    return lines + [""]


def _discriminator_section(r: dict) -> list[str]:
    d = r.get("discriminator", {})
    lines = ["## Discriminator accuracy (held-out real vs generated)"]
    if not d.get("available"):
        return lines + [d.get("message", "not available"), ""]
    return lines + [
        f"Accuracy {_pct(d['accuracy'])} (real judged real {_pct(d['real_accuracy'])}, generated judged fake "
        f"{_pct(d['fake_accuracy'])}); mean D(x) {_f(d['mean_d_real'])}, mean D(G(z)) {_f(d['mean_d_fake'])}. Near 50% "
        "means D can no longer tell them apart; near 100% means the samples are easy to spot (or D overfits).",
        "",
    ]


def _linear_probe_section(r: dict) -> list[str]:
    lp = r.get("linear_probe", {})
    lines = ["## Linear probe (the paper's discriminator-as-feature-extractor test)"]
    if not lp.get("available"):
        return lines + [lp.get("message", "not available"), ""]
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
    return lines


def _cifar10_section(r: dict) -> list[str]:
    cf = r.get("cifar10_probe")
    if not cf:
        return []
    if not cf.get("available"):
        return [cf["message"], ""]
    return [
        f"CIFAR-10 probe: {_pct(cf['accuracy'])} with D's features ({cf['per_class']} labels per class; pixels "
        f"{_pct(cf['pixels_accuracy'])}) against the paper's {_pct(cf['paper_accuracy'])}. {cf['note']}",
        "",
    ]


def _memorisation_section(r: dict) -> list[str]:
    mem = r.get("memorisation")
    if not mem:
        return []
    g, h = mem["generated"], mem["held_out"]
    return [
        "## Memorisation (nearest training neighbours)",
        f"{mem['metric']}.",
        "",
        "| | min | 5th percentile | median | mean |",
        "|---|---|---|---|---|",
        _distance_row("generated -> train", g),
        _distance_row("held-out real -> train (reference)", h),
        "",
        f"{_pct(mem['share_closer_than_held_out_p01'])} of the samples are closer than the 1st percentile of the "
        f"held-out distances ({_f(mem['copy_threshold'])}): {mem['verdict']}",
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


def _distance_row(label: str, d: dict) -> str:
    return f"| {label} | {_f(d['min'])} | {_f(d['p05'])} | {_f(d['median'])} | {_f(d['mean'])} |"


def _fid_is_section(r: dict) -> list[str]:
    fi = r.get("fid_is", {})
    lines = ["## FID / Inception Score"]
    if not fi.get("available"):
        return lines + [fi.get("message", "not available")]
    is_ = fi.get("inception_score")
    tail = f", IS {_f(is_['mean'])} ± {_f(is_['std'])}" if is_ else f". {fi.get('message') or ''}"
    return lines + [f"FID {_f(fi['fid'])}" + tail]
