"""One evaluation of a checkpoint against a dataset: every number of the report, computed offline.

``evaluate`` returns a JSON-ready dict (plus the images and arrays the plots need under keys starting with "_");
``report.write_report`` turns it into report.json, report.md and PNG plots. The CLI ``eval`` subcommand and the
Evaluate tab are thin layers over these two calls.

What is computed depends on what is meaningful:
* dataset ``digits``: the digits classifier's Fréchet distance, classifier score and class coverage (with the
  real-vs-real reference: held-out vs training digits, and a noise reference), precision / recall / density /
  coverage in the classifier's feature space, D's accuracy, the linear probe on D's features with its baselines,
  memorisation.
* any other dataset: the classifier knows only the ten digits, so its numbers would mean nothing and are skipped.
  Precision / recall and the Fréchet distance are computed in the feature space of the checkpoint's own D (its
  every-layer max-pooled features, reduced by PCA fitted on the training images), or of pixels when the file holds
  no D; D's accuracy and memorisation are computed as for the digits; the linear probe runs when the dataset has
  labels.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Callable

import torch

from ..checkpoint import CheckpointError, load_discriminator, load_generator, read_metadata
from ..data import ImageTensorDataset, load_dataset, to_unit_range
from ..health import grid_diversity
from ..latent import generate, sample_z
from . import inception, probe, scores
from .classifier import DEFAULT_CLASSIFIER_PATH, TRAIN_COMMAND, classify, load_classifier
from .memorisation import memorisation
from .splits import HELD_OUT_FRACTION, SPLIT_SEED, split_dataset

logger = logging.getLogger(__name__)

MAX_REAL_IMAGES = 10_000  # larger datasets are subsampled (seeded) before the split: the metrics are O(N^2)
COLLAPSE_RATIO = 0.5  # generated diversity below half the held-out diversity: collapsed
PCA_DIM = 64


@torch.no_grad()
def discriminator_accuracy(discriminator, real_uint8: torch.Tensor, fake_uint8: torch.Tensor) -> dict:
    """D (eval mode) on held-out real vs generated images: accuracy at threshold 0.5 and mean outputs."""
    discriminator.eval()
    device = next(discriminator.parameters()).device
    p_real = torch.sigmoid(discriminator(to_unit_range(real_uint8).to(device))).cpu().double()
    p_fake = torch.sigmoid(discriminator(to_unit_range(fake_uint8).to(device))).cpu().double()
    correct = (p_real > 0.5).sum() + (p_fake < 0.5).sum()
    return {
        "accuracy": float(correct / (len(p_real) + len(p_fake))),
        "real_accuracy": float((p_real > 0.5).double().mean()),
        "fake_accuracy": float((p_fake < 0.5).double().mean()),
        "mean_d_real": float(p_real.mean()),
        "mean_d_fake": float(p_fake.mean()),
        "n_real": len(p_real),
        "n_fake": len(p_fake),
    }


def _noise_images(like: torch.Tensor, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, like.shape, generator=g, dtype=torch.uint8)


def _diversity(generated: torch.Tensor, held_out: torch.Tensor) -> dict:
    gen, ref = grid_diversity(generated), grid_diversity(held_out)
    ratio = gen / ref if ref > 0 else float("nan")
    return {
        "generated": gen,
        "held_out": ref,
        "ratio": ratio,
        "collapsed": bool(ratio < COLLAPSE_RATIO),
        "note": "mean pairwise RMS pixel distance; a ratio well below 1 means the samples are more alike than real images (mode collapse)",
    }


def evaluate(
    checkpoint: str | Path,
    dataset: str = "digits",
    data_path: str | Path | None = None,
    n_generated: int | None = None,
    seed: int = 0,
    classifier_path: str | Path | None = None,
    probe_label_counts: tuple[int, ...] = probe.DEFAULT_LABEL_COUNTS,
    probe_repeats: int = 3,
    run_probe: bool = True,
    cifar10_root: str | Path | None = "data",
    inception_weights: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
    dataset_obj: ImageTensorDataset | None = None,
) -> dict:
    """Everything in the report for ``checkpoint`` on ``dataset``; see the module docstring."""
    say = progress or (lambda msg: logger.info(msg))
    t0 = time.perf_counter()
    checkpoint = Path(checkpoint)
    meta = read_metadata(checkpoint)
    G = load_generator(checkpoint)
    cfg = G.config
    D = load_discriminator(checkpoint) if meta["has_discriminator"] else None
    key = dataset.lower().replace("-", "").replace("_", "")

    say(f"loading dataset {dataset}")
    data = dataset_obj if dataset_obj is not None else load_dataset(key, cfg.image_size, cfg.channels, data_path)
    if not isinstance(data, ImageTensorDataset):
        raise ValueError(f"dataset {dataset!r} is too large to evaluate in memory; use a folder with fewer images")
    if tuple(data.images.shape[1:]) != (cfg.channels, cfg.image_size, cfg.image_size):
        raise ValueError(f"dataset images are {tuple(data.images.shape[1:])}, the generator makes ({cfg.channels}, {cfg.image_size}, {cfg.image_size})")
    if len(data) > MAX_REAL_IMAGES:
        keep = torch.randperm(len(data), generator=torch.Generator().manual_seed(SPLIT_SEED))[:MAX_REAL_IMAGES].sort().values
        data = ImageTensorDataset(data.images[keep], None if data.labels is None else data.labels[keep], data.name)
    if len(data) < 10:
        raise ValueError(f"dataset {dataset!r} has {len(data)} images; the metrics need at least 10")
    split = split_dataset(data)
    train, held = split.train, split.held_out
    n = int(n_generated or len(held))
    if not 2 <= n <= 20_000:
        raise ValueError(f"the number of generated samples must be in 2..20000, got {n}")

    say(f"generating {n} samples")
    generated = generate(G, sample_z(n, cfg.nz, seed))
    ref = held.images  # the real-vs-real reference: held-out images against the training images

    report: dict = {
        "checkpoint": str(checkpoint),
        "checkpoint_format": meta["format"],
        "model_config": cfg.to_dict(),
        "dataset": key,
        "n_train": len(train),
        "n_held_out": len(held),
        "n_generated": n,
        "seed": seed,
        "split": {"held_out_fraction": HELD_OUT_FRACTION, "seed": SPLIT_SEED, "stratified": data.labels is not None},
        "diversity": _diversity(generated, ref),
        "_samples": generated[:64],
    }

    # ---- classifier-based quality (digits only) --------------------------------------------------------------
    if key == "digits":
        try:
            clf = load_classifier(classifier_path)
        except CheckpointError as exc:
            report["classifier"] = {"available": False, "message": str(exc)}
        else:
            say("classifier features")
            out_train, out_held = classify(clf, train.images), classify(clf, ref)
            out_gen, out_noise = classify(clf, generated), classify(clf, _noise_images(ref, seed))
            held_acc = float((out_held.probs.argmax(1) == held.labels).double().mean())
            report["classifier"] = {
                "available": True,
                "meaningful": True,
                "path": str(classifier_path or DEFAULT_CLASSIFIER_PATH),
                "held_out_accuracy": held_acc,
                "frechet": {
                    "generated_vs_train": scores.frechet_distance(out_gen.features, out_train.features),
                    "held_out_vs_train": scores.frechet_distance(out_held.features, out_train.features),
                    "noise_vs_train": scores.frechet_distance(out_noise.features, out_train.features),
                },
                "score": {
                    "generated": scores.classifier_score(out_gen.probs),
                    "held_out": scores.classifier_score(out_held.probs),
                },
                "coverage": {
                    "generated": scores.class_coverage(out_gen.probs),
                    "held_out": scores.class_coverage(out_held.probs),
                },
            }
            report["prdc"] = {
                "feature_space": "digits classifier penultimate layer (128-d)",
                "generated": scores.prdc(out_train.features, out_gen.features),
                "held_out": scores.prdc(out_train.features, out_held.features),
            }
    else:
        report["classifier"] = {
            "available": False,
            "meaningful": False,
            "message": (
                "the digits classifier knows only the ten sklearn digits; on this dataset its Fréchet distance, score "
                "and class coverage would not mean anything, so they are skipped. Precision/recall below use the "
                + ("checkpoint's discriminator features instead." if D is not None else "pixels instead (the file holds no discriminator).")
            ),
        }
        say("feature-space precision / recall")
        report["prdc"] = _prdc_other(D, train.images, ref, generated)

    # ---- discriminator accuracy -------------------------------------------------------------------------------
    if D is not None:
        report["discriminator"] = {"available": True, **discriminator_accuracy(D, ref, generated)}
    else:
        report["discriminator"] = {"available": False, "message": f"{checkpoint.name} holds no discriminator (a generator-only export); evaluate a training checkpoint or an export made with --with-discriminator"}

    # ---- linear probe ------------------------------------------------------------------------------------------
    if not run_probe:
        report["linear_probe"] = {"available": False, "message": "skipped (--no-probe)"}
    elif data.labels is None:
        report["linear_probe"] = {"available": False, "message": "the dataset has no labels, so there is nothing to classify"}
    else:
        say("linear probe (D features, pixels, k-NN, random D)")
        from ..models import Discriminator

        counts = tuple(c for c in probe_label_counts if c >= 1)
        report["linear_probe"] = {
            "available": True,
            **probe.linear_probe(train.images, train.labels, ref, held.labels, D, counts, probe_repeats, like=Discriminator(cfg)),
        }
        if D is None:
            report["linear_probe"]["message"] = "no discriminator in the file: only the baselines were probed"
    if D is not None and cifar10_root is not None and run_probe:
        report["cifar10_probe"] = probe.cifar10_probe(D, cifar10_root) if (Path(cifar10_root) / "cifar-10-batches-py").is_dir() else {
            "available": False,
            "paper_accuracy": probe.PAPER_CIFAR10_ACCURACY,
            "message": f"CIFAR-10 is not present under {Path(cifar10_root) / 'cifar-10-batches-py'}; the paper's figure is {100 * probe.PAPER_CIFAR10_ACCURACY:.1f}%. Put the dataset there (never downloaded here) to run the same probe on it.",
        }

    # ---- memorisation -----------------------------------------------------------------------------------------
    say("memorisation (nearest training neighbours)")
    report["memorisation"] = memorisation(generated, train.images, ref)

    # ---- FID / IS ---------------------------------------------------------------------------------------------
    report["fid_is"] = inception.fid_is(train.images, generated, inception_weights)
    report["seconds"] = time.perf_counter() - t0
    report["train_command"] = TRAIN_COMMAND
    return report


def _prdc_other(D, train_images: torch.Tensor, held_images: torch.Tensor, generated: torch.Tensor) -> dict:
    """Precision/recall/density/coverage and a Fréchet distance in D's (PCA-reduced) features, or in pixels."""
    from sklearn.decomposition import PCA

    if D is not None:
        feats = [probe.discriminator_features(D, x) for x in (train_images, held_images, generated)]
        space = f"the checkpoint's discriminator features (every conv layer max-pooled to 4x4), PCA to at most {PCA_DIM} dims fitted on the training images"
        caveat = "D was trained to tell these very samples from real images, so this space may exaggerate differences: compare against the held-out row."
    else:
        feats = [probe.pixels(x) for x in (train_images, held_images, generated)]
        space = f"pixels, PCA to at most {PCA_DIM} dims fitted on the training images"
        caveat = "pixel distances reward blur and punish small shifts; compare against the held-out row."
    dim = max(1, min(PCA_DIM, len(train_images) - 1, feats[0].shape[1]))
    pca = PCA(n_components=dim, random_state=0).fit(feats[0].double().numpy())
    tr, ho, ge = (torch.from_numpy(pca.transform(f.double().numpy())) for f in feats)
    k = max(1, min(5, len(ho) - 1, len(ge) - 1))
    return {
        "feature_space": space,
        "caveat": caveat,
        "generated": scores.prdc(tr, ge, k),
        "held_out": scores.prdc(tr, ho, k),
        "frechet": {"generated_vs_train": scores.frechet_distance(ge, tr), "held_out_vs_train": scores.frechet_distance(ho, tr)},
    }
