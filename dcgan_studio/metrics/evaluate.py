"""One evaluation of a checkpoint against a dataset: every number of the report, computed offline.

``evaluate`` returns a JSON-ready dict (plus the images and arrays the plots need under keys starting with "_");
``report.write_report`` turns it into report.json, report.md and PNG plots. The CLI ``eval`` subcommand and the
Evaluate tab are thin layers over these two calls.

What is computed depends on what is meaningful:
* dataset ``digits``: the digits classifier's Fréchet distance, classifier score and class coverage (with the
  real-vs-real reference: held-out vs training digits, and a noise reference), precision / recall / density /
  coverage in the classifier's feature space, D's accuracy, the linear probe on D's features with its baselines,
  memorisation.
* every dataset: the multi-scale sliced Wasserstein distance (ProGAN) to the training images and the MS-SSIM
  diversity of sample pairs, each beside held-out real images measured the same way: quality without a network.
* any other dataset: the classifier knows only the ten digits, so its numbers would mean nothing and are skipped.
  Precision / recall and the Fréchet distance are computed in the feature space of the checkpoint's own D (its
  every-layer max-pooled features, reduced by PCA fitted on the training images), or of pixels when the file holds
  no D; D's accuracy and memorisation are computed as for the digits; the linear probe runs when the dataset has
  labels.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from sklearn.decomposition import PCA

from ..checkpoint import CheckpointError, load_networks
from ..config import ModelConfig
from ..data import DatasetError, ImageTensorDataset, dataset_key, load_dataset, to_unit_range
from ..errors import UserError
from ..health import grid_diversity
from ..latent import generate, sample_z
from ..models import Discriminator, Generator, Networks
from . import inception, probe, scores
from .classifier import DEFAULT_CLASSIFIER_PATH, TRAIN_COMMAND, classify, load_classifier
from .memorisation import memorisation
from .msssim import msssim_diversity
from .splits import HELD_OUT_FRACTION, SPLIT_SEED, split_dataset
from .swd import MetricInputError, swd

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
        "note": "mean pairwise RMS pixel distance; a ratio well below 1 means the samples are more alike than real "
        "images (mode collapse)",
    }


@dataclass
class _Samples:
    """What every part of an evaluation measures: the networks, the split real images and the generated ones."""

    checkpoint: Path
    generator: Generator
    discriminator: Discriminator | None
    data: ImageTensorDataset
    train: ImageTensorDataset
    held: ImageTensorDataset
    generated: torch.Tensor
    seed: int

    @property
    def config(self) -> ModelConfig:
        return self.generator.config


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
    networks = load_networks(checkpoint)
    key = dataset_key(dataset)
    say(f"loading dataset {dataset}")
    data = _real_images(dataset, key, networks.generator.config, data_path, dataset_obj)
    ev = _draw_samples(checkpoint, networks, data, n_generated, seed, say)
    report = _summary(ev, networks.info.format, key)
    if key == "digits":
        report.update(_classifier_quality(ev, classifier_path, say))
    else:
        report.update(_feature_space_quality(ev, say))
    report.update(_pixel_statistics(ev, say))
    report["discriminator"] = _discriminator_part(ev)
    report.update(_probes(ev, run_probe, probe_label_counts, probe_repeats, cifar10_root, say))
    say("memorisation (nearest training neighbours)")
    report["memorisation"] = memorisation(ev.generated, ev.train.images, ev.held.images)
    report["fid_is"] = inception.fid_is(ev.train.images, ev.generated, inception_weights)
    report["seconds"] = time.perf_counter() - t0
    report["train_command"] = TRAIN_COMMAND
    return report


def _real_images(
    dataset: str, key: str, cfg: ModelConfig, data_path: str | Path | None, dataset_obj: ImageTensorDataset | None
) -> ImageTensorDataset:
    """The dataset in memory at the generator's size, subsampled (seeded) to ``MAX_REAL_IMAGES``."""
    data = dataset_obj if dataset_obj is not None else load_dataset(key, cfg.image_size, cfg.channels, data_path)
    if not isinstance(data, ImageTensorDataset):
        raise DatasetError(f"dataset {dataset!r} is too large to evaluate in memory; use a folder with fewer images")
    if tuple(data.images.shape[1:]) != (cfg.channels, cfg.image_size, cfg.image_size):
        raise DatasetError(
            f"dataset images are {tuple(data.images.shape[1:])}, the generator makes "
            f"({cfg.channels}, {cfg.image_size}, {cfg.image_size})"
        )
    if len(data) > MAX_REAL_IMAGES:
        order = torch.randperm(len(data), generator=torch.Generator().manual_seed(SPLIT_SEED))
        keep = order[:MAX_REAL_IMAGES].sort().values
        data = ImageTensorDataset(data.images[keep], None if data.labels is None else data.labels[keep], data.name)
    if len(data) < 10:
        raise DatasetError(f"dataset {dataset!r} has {len(data)} images; the metrics need at least 10")
    return data


def _draw_samples(
    checkpoint: Path, networks: Networks, data: ImageTensorDataset, n_generated: int | None, seed: int, say
) -> _Samples:
    """The fixed train / held-out split and ``n_generated`` samples (default: as many as held-out images)."""
    split = split_dataset(data)
    n = int(n_generated or len(split.held_out))
    if not 2 <= n <= 20_000:
        raise UserError(f"the number of generated samples must be in 2..20000, got {n}")
    say(f"generating {n} samples")
    generated = generate(networks.generator, sample_z(n, networks.generator.config.nz, seed))
    G, D = networks.generator, networks.discriminator
    return _Samples(checkpoint, G, D, data, split.train, split.held_out, generated, seed)


def _summary(ev: _Samples, checkpoint_format: str, key: str) -> dict:
    """What was evaluated on what, and the pixel diversity of the samples against the held-out images."""
    return {
        "checkpoint": str(ev.checkpoint),
        "checkpoint_format": checkpoint_format,
        "model_config": ev.config.to_dict(),
        "dataset": key,
        "n_train": len(ev.train),
        "n_held_out": len(ev.held),
        "n_generated": len(ev.generated),
        "seed": ev.seed,
        "split": {"held_out_fraction": HELD_OUT_FRACTION, "seed": SPLIT_SEED, "stratified": ev.data.labels is not None},
        "diversity": _diversity(ev.generated, ev.held.images),
        "_samples": ev.generated[:64],
    }


def _pixel_statistics(ev: _Samples, say) -> dict:
    """SWD and MS-SSIM: the network-free figures, so every dataset has quality and diversity beside real-vs-real.

    SWD: generated vs training images, held-out vs training (the reference), and, when there are enough, other
    training images vs the same ones (a floor: for the photos the held-out strip is another part of the pictures, so
    its distance measures that shift as well). MS-SSIM of random pairs within the
    generated set and within the held-out set. A figure the images cannot give (too few, too small) is marked as not
    available with the reason."""
    say("sliced Wasserstein distance and MS-SSIM")
    out = {}
    n = min(len(ev.generated), len(ev.held))
    # a seeded draw of the training images, not the first n: a dataset stored in order (the photos photo by photo, a
    # folder by file name) is not a sample of itself
    order = torch.randperm(len(ev.train), generator=torch.Generator().manual_seed(ev.seed))
    train = ev.train.images[order[:n]]
    try:
        out["swd"] = {
            "available": True,
            "generated": swd(ev.generated[:n], train, seed=ev.seed),
            "held_out": swd(ev.held.images[:n], train, seed=ev.seed),
        }
        if len(order) >= 2 * n:  # other training images against the same ones: the floor of the same distribution
            out["swd"]["training"] = swd(ev.train.images[order[n : 2 * n]], train, seed=ev.seed)
    except MetricInputError as exc:
        out["swd"] = {"available": False, "message": str(exc)}
    try:
        out["msssim"] = {
            "available": True,
            "generated": msssim_diversity(ev.generated, seed=ev.seed),
            "held_out": msssim_diversity(ev.held.images, seed=ev.seed),
            "training": msssim_diversity(train, seed=ev.seed),  # as many training images: the photos' strip is narrow
        }
    except MetricInputError as exc:
        out["msssim"] = {"available": False, "message": str(exc)}
    return out


def _classifier_quality(ev: _Samples, classifier_path: str | Path | None, say) -> dict:
    """The digits classifier's Fréchet distance, score, coverage and PRDC; each beside the real-vs-real reference
    (held-out images against the training images) and, for the distance, uniform noise."""
    try:
        clf = load_classifier(classifier_path)
    except CheckpointError as exc:
        return {"classifier": {"available": False, "message": str(exc)}}
    say("classifier features")
    ref = ev.held.images
    out_train, out_held = classify(clf, ev.train.images), classify(clf, ref)
    out_gen, out_noise = classify(clf, ev.generated), classify(clf, _noise_images(ref, ev.seed))
    held_acc = float((out_held.probs.argmax(1) == ev.held.labels).double().mean())
    classifier = {
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
    prdc = {
        "feature_space": "digits classifier penultimate layer (128-d)",
        "generated": scores.prdc(out_train.features, out_gen.features),
        "held_out": scores.prdc(out_train.features, out_held.features),
    }
    return {"classifier": classifier, "prdc": prdc}


def _feature_space_quality(ev: _Samples, say) -> dict:
    """On datasets other than the digits: why the classifier is skipped, and PRDC in D's features or pixels."""
    instead = (
        "checkpoint's discriminator features instead."
        if ev.discriminator is not None
        else "pixels instead (the file holds no discriminator)."
    )
    classifier = {
        "available": False,
        "meaningful": False,
        "message": (
            "the digits classifier knows only the ten sklearn digits; on this dataset its Fréchet distance, score "
            "and class coverage would not mean anything, so they are skipped. Precision/recall below use the " + instead
        ),
    }
    say("feature-space precision / recall")
    return {
        "classifier": classifier,
        "prdc": _prdc_other(ev.discriminator, ev.train.images, ev.held.images, ev.generated),
    }


def _discriminator_part(ev: _Samples) -> dict:
    if ev.discriminator is not None:
        return {"available": True, **discriminator_accuracy(ev.discriminator, ev.held.images, ev.generated)}
    return {
        "available": False,
        "message": f"{ev.checkpoint.name} holds no discriminator (a generator-only export); evaluate a training "
        "checkpoint or an export made with --with-discriminator",
    }


def _probes(ev: _Samples, run_probe: bool, label_counts, repeats: int, cifar10_root, say) -> dict:
    """The linear probe on the dataset's labels and, when CIFAR-10 is on disk, the paper's CIFAR-10 probe."""
    part = {"linear_probe": _linear_probe(ev, run_probe, label_counts, repeats, say)}
    if ev.discriminator is not None and cifar10_root is not None and run_probe:
        part["cifar10_probe"] = _cifar10_probe(ev.discriminator, Path(cifar10_root))
    return part


def _linear_probe(ev: _Samples, run_probe: bool, label_counts, repeats: int, say) -> dict:
    if not run_probe:
        return {"available": False, "message": "skipped (--no-probe)"}
    if ev.data.labels is None:
        return {"available": False, "message": "the dataset has no labels, so there is nothing to classify"}
    say("linear probe (D features, pixels, k-NN, random D)")
    counts = tuple(c for c in label_counts if c >= 1)
    result = probe.linear_probe(
        ev.train.images,
        ev.train.labels,
        ev.held.images,
        ev.held.labels,
        ev.discriminator,
        counts,
        repeats,
        like=Discriminator(ev.config),
    )
    report = {"available": True, **result}
    if ev.discriminator is None:
        report["message"] = "no discriminator in the file: only the baselines were probed"
    return report


def _cifar10_probe(D: Discriminator, root: Path) -> dict:
    folder = root / "cifar-10-batches-py"
    if folder.is_dir():
        return probe.cifar10_probe(D, root)
    return {
        "available": False,
        "paper_accuracy": probe.PAPER_CIFAR10_ACCURACY,
        "message": f"CIFAR-10 is not present under {folder}; the paper's figure is "
        f"{100 * probe.PAPER_CIFAR10_ACCURACY:.1f}%. Put the dataset there (never downloaded here) to run the same "
        "probe on it.",
    }


def _prdc_other(D, train_images: torch.Tensor, held_images: torch.Tensor, generated: torch.Tensor) -> dict:
    """Precision/recall/density/coverage and a Fréchet distance in D's (PCA-reduced) features, or in pixels."""
    if D is not None:
        feats = [probe.discriminator_features(D, x) for x in (train_images, held_images, generated)]
        space = (
            "the checkpoint's discriminator features (every conv layer max-pooled to 4x4), PCA to at most "
            f"{PCA_DIM} dims fitted on the training images"
        )
        caveat = (
            "D was trained to tell these very samples from real images, so this space may exaggerate differences: "
            "compare against the held-out row."
        )
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
        "frechet": {
            "generated_vs_train": scores.frechet_distance(ge, tr),
            "held_out_vs_train": scores.frechet_distance(ho, tr),
        },
    }
