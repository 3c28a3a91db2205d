"""The model card (README.md of a Hub folder): front matter and the eval report's headline figures. Pure."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from huggingface_hub import ModelCard, ModelCardData

from ..config import ModelConfig
from ..limits import parameter_count
from ..models import Discriminator
from .names import (
    DEFAULT_LICENSE,
    DISCRIMINATOR_FILE,
    GENERATOR_FILE,
    HUB_DATASETS,
    LIBRARY_NAME,
    N_SAMPLES,
    PAPER_URL,
    PIPELINE_TAG,
    TAGS,
)

# ------------------------------------------------------------------------------------------------- model card

FIGURE_ROWS = (  # (key, label) of the card's table, in order
    ("classifier_frechet_distance", "Fréchet distance in classifier features (lower is better)"),
    ("precision", "precision (samples that look real)"),
    ("recall", "recall (real images the samples cover)"),
    ("class_evenness", "class evenness (normalised entropy, 1 = even)"),
    ("classes_present", "classes present (>= 1% of samples)"),
    ("classifier_score", "classifier score (Inception-Score-like)"),
    ("pixel_diversity", "pixel diversity (mean pairwise RMS distance)"),
    ("fid", "FID (Inception v3)"),
    ("inception_score", "Inception Score"),
)


def dig(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def headline_figures(report: Mapping) -> dict:
    """The figures a model card quotes from an eval ``report.json`` (``python -m dcgan_studio eval --out DIR``), each
    generated beside its real-vs-real reference (held-out real images measured the same way against the training
    images). Figures the report lacks are left out."""

    def pair(generated, reference) -> dict:
        return {"generated": generated, "reference": reference}

    metrics: dict[str, dict] = {}
    clf = dig(report, "classifier") or {}
    if clf.get("available"):
        metrics["classifier_frechet_distance"] = pair(
            dig(clf, "frechet", "generated_vs_train"), dig(clf, "frechet", "held_out_vs_train")
        )
    pr = dig(report, "prdc") or {}
    if pr:
        metrics["precision"] = pair(dig(pr, "generated", "precision"), dig(pr, "held_out", "precision"))
        metrics["recall"] = pair(dig(pr, "generated", "recall"), dig(pr, "held_out", "recall"))
    if clf.get("available"):
        cov = clf.get("coverage") or {}
        metrics["class_evenness"] = pair(dig(cov, "generated", "evenness"), dig(cov, "held_out", "evenness"))
        n = dig(cov, "generated", "n_classes")
        present = [dig(cov, side, "present") for side in ("generated", "held_out")]
        metrics["classes_present"] = pair(*(None if k is None else f"{k} of {n}" for k in present))
        metrics["classifier_score"] = pair(dig(clf, "score", "generated"), dig(clf, "score", "held_out"))
    div = dig(report, "diversity") or {}
    if div:
        metrics["pixel_diversity"] = pair(div.get("generated"), div.get("held_out"))
    fi = dig(report, "fid_is") or {}
    if fi.get("available"):
        metrics["fid"] = pair(fi.get("fid"), None)
        if dig(fi, "inception_score", "mean") is not None:
            metrics["inception_score"] = pair(dig(fi, "inception_score", "mean"), None)
    metrics = {k: v for k, v in metrics.items() if v["generated"] is not None}
    return {
        "dataset": dig(report, "dataset"),
        "n_generated": dig(report, "n_generated"),
        "n_reference": dig(report, "n_held_out"),
        "feature_space": dig(pr, "feature_space"),
        "metrics": metrics,
    }


def _fmt(x: Any) -> str:
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{x:.1f}" if abs(x) >= 100 else f"{x:.2f}" if abs(x) >= 10 else f"{x:.3f}"
    return str(x)


def hub_dataset_ids(dataset: str | None) -> list[str]:
    """The Hub dataset ids for the front matter's ``datasets`` (a trainer dataset name, or a Hub id given as is)."""
    if not dataset:
        return []
    if "/" in dataset:
        return [dataset]
    key = dataset.lower().replace("-", "").replace("_", "")
    return [HUB_DATASETS[key]] if key in HUB_DATASETS else []


def model_card(
    figures: Mapping | None = None,
    *,
    model_config: ModelConfig | Mapping,
    dataset: str | None = None,
    license: str = DEFAULT_LICENSE,
    train_command: str | None = None,
    sample_image: str | None = None,
    sample_seed: int = 0,
    has_generator: bool = True,
    has_discriminator: bool = False,
    repo_id: str | None = None,
    train_config: Mapping | None = None,
    report_file: str | None = None,
) -> str:
    """README.md of a Hub folder: YAML front matter and markdown. Pure: everything comes from the arguments.

    ``figures`` is ``headline_figures(report)``; ``dataset`` the trainer's dataset name ("digits", "mnist" ...) or a
    Hub dataset id; ``sample_image`` a file name in the folder; ``train_command`` the exact command that trained it.
    """
    cfg = model_config if isinstance(model_config, ModelConfig) else ModelConfig.from_dict(dict(model_config))
    figures = figures or {}
    dataset = dataset or figures.get("dataset")
    name = repo_id or "<user>/<repo>"
    lines = _front_matter(dataset, license)
    lines += _summary_lines(cfg, dataset, has_generator, has_discriminator)
    if sample_image:
        lines += _sample_lines(name, sample_image, sample_seed)
    lines += _use_lines(name, cfg)
    lines += _evaluation_lines(figures, dataset, report_file)
    lines += _training_lines(train_command, train_config)
    return "\n".join(lines)


def _front_matter(dataset: str | None, license: str) -> list[str]:
    data = ModelCardData(
        library_name=LIBRARY_NAME,
        license=license,
        pipeline_tag=PIPELINE_TAG,
        tags=[*TAGS, "model_hub_mixin", "pytorch_model_hub_mixin"],
        datasets=hub_dataset_ids(dataset) or None,
    )
    return ["---", data.to_yaml().strip(), "---", ""]


def _summary_lines(cfg: ModelConfig, dataset: str | None, has_generator: bool, has_discriminator: bool) -> list[str]:
    colour = "RGB" if cfg.channels == 3 else "grayscale"
    n_g, n_d = parameter_count(cfg.image_size, cfg.channels, cfg.nz, cfg.ngf, cfg.ndf)
    holds = [f"the generator (`{GENERATOR_FILE}`)"] * has_generator + [
        f"the discriminator (`{DISCRIMINATOR_FILE}`)"
    ] * has_discriminator
    return [
        f"# DCGAN{f' on {dataset}' if dataset else ''}: {cfg.image_size}x{cfg.image_size} {colour}",
        "",
        f"A DCGAN ([Radford, Metz & Chintala, 2015]({PAPER_URL})) trained with DCGAN Studio"
        f"{f' on `{dataset}`' if dataset else ''}. This repo holds {' and '.join(holds) or 'no weights'}, as "
        "safetensors; `config.json` gives the architecture.",
        "",
        "| image size | channels | nz | ngf | ndf | parameters (G / D) |",
        "|---|---|---|---|---|---|",
        f"| {cfg.image_size} | {cfg.channels} | {cfg.nz} | {cfg.ngf} | {cfg.ndf} "
        f"| {n_g / 1e6:.2f}M / {n_d / 1e6:.2f}M |",
        "",
    ]


def _sample_lines(name: str, sample_image: str, sample_seed: int) -> list[str]:
    return [
        f"![{N_SAMPLES} samples, seed {sample_seed}]({sample_image})",
        "",
        f"{N_SAMPLES} samples, z ~ N(0, I) with seed {sample_seed}: "
        f"`python -m dcgan_studio sample --checkpoint {name} --n {N_SAMPLES} --seed {sample_seed} "
        "--out samples.png` draws this grid.",
        "",
    ]


def _use_lines(name: str, cfg: ModelConfig) -> list[str]:
    return [
        "## Use",
        "",
        "```python",
        "import torch",
        "from dcgan_studio.models import Generator",
        "",
        f'G = Generator.from_pretrained("{name}")  # or "{name}@<revision>", or a local folder',
        f"images = G(torch.randn(16, G.config.nz))  # (16, {cfg.channels}, {cfg.image_size}, {cfg.image_size}), "
        "in [-1, 1]",
        "```",
        "",
        f'Every `--checkpoint` of the CLI and the Studio\'s "Load from the Hub" field take `{name}` as well as a file.',
        "",
    ]


def _evaluation_lines(figures: Mapping, dataset: str | None, report_file: str | None) -> list[str]:
    metrics = figures.get("metrics") or {}
    if not metrics:
        return []
    n_gen, n_ref = figures.get("n_generated"), figures.get("n_reference")
    of = figures.get("dataset") or dataset
    lines = [
        "## Evaluation",
        "",
        (f"{n_gen} generated samples against {n_ref} held-out real images" if n_gen and n_ref else "Generated samples")
        + (f" of `{of}`" if of else "")
        + ". Every figure stands beside the **real-vs-real reference**: held-out real images measured the same "
        "way against the training images, which a generator can at best match"
        + (f". Classifier features: {figures['feature_space']}." if figures.get("feature_space") else "."),
        "",
        "| | generated | real-vs-real reference |",
        "|---|---|---|",
    ]
    labels = dict(FIGURE_ROWS)
    for key in [k for k, _ in FIGURE_ROWS if k in metrics] + [k for k in metrics if k not in labels]:
        row = metrics[key]
        lines.append(f"| {labels.get(key, key)} | {_fmt(row.get('generated'))} | {_fmt(row.get('reference'))} |")
    lines.append("")
    if report_file:
        lines += [f"The full report: [`{report_file}`]({report_file}) (`python -m dcgan_studio eval`).", ""]
    return lines


def _training_lines(train_command: str | None, train_config: Mapping | None) -> list[str]:
    lines = ["## Training", ""]
    if train_command:
        lines += ["```bash", train_command.strip(), "```", ""]
    else:
        lines += ["The train command was not recorded.", ""]
    if train_config:
        lines += [
            "Training configuration (from the checkpoint):",
            "",
            "```json",
            json.dumps(dict(train_config), indent=2, sort_keys=True, default=str),
            "```",
            "",
        ]
    return lines


def model_card_for(model, **kwargs) -> ModelCard:
    """``HubMixin.generate_model_card``: the card of a model saved alone (``model_card_kwargs`` pass through)."""
    is_d = isinstance(model, Discriminator)
    kwargs.setdefault("has_generator", not is_d)
    kwargs.setdefault("has_discriminator", is_d)
    return ModelCard(model_card(kwargs.pop("figures", None), model_config=model.config, **kwargs))
