"""The paper's linear probe: how good are the discriminator's features for classification?

Radford et al. (2015, section 5.1) take D's activations from every convolutional layer, max-pool each to a 4 x 4
grid, flatten and concatenate them, and train a regularised linear L2-SVM on the result (82.8% on CIFAR-10 with a D
trained on ImageNet-1k). Here the same features are probed with scikit-learn's ``LinearSVC`` (squared hinge loss:
the L2-SVM) on few labels per class, tested on held-out images, beside three baselines: the same SVM on raw pixels,
k-nearest neighbours on raw pixels, and the same D architecture with random (initial) weights, which tells how much
of the result is training rather than architecture.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..data import resize_uint8
from ..features import discriminator_activations
from ..models import Discriminator

logger = logging.getLogger(__name__)

PAPER_CIFAR10_ACCURACY = 0.828  # DCGAN (D trained on ImageNet-1k) + L2-SVM, Radford et al. 2015, table 1
DEFAULT_LABEL_COUNTS = (10, 50, 100)
SVM_C = 1e-3  # one regularisation strength for every method (features are standardised first); strong
# regularisation suits few labels in thousands of dimensions, and keeps liblinear fast (seconds, not minutes)


@torch.no_grad()
def discriminator_features(
    discriminator: nn.Module, images_uint8: torch.Tensor, pool: int = 4, batch_size: int = 256
) -> torch.Tensor:
    """(N, sum_l C_l * pool * pool) float32: every conv layer's activation (after its LeakyReLU) max-pooled to
    ``pool`` x ``pool`` and concatenated. Images are resized to D's input format first."""
    cfg = discriminator.config
    out = []
    for i in range(0, len(images_uint8), batch_size):
        x = images_uint8[i : i + batch_size]
        if tuple(x.shape[1:]) != (cfg.channels, cfg.image_size, cfg.image_size):
            x = resize_uint8(x.cpu(), cfg.image_size, cfg.channels)
        acts = discriminator_activations(discriminator, x)
        out.append(torch.cat([F.adaptive_max_pool2d(a.float(), pool).flatten(1) for _, a in acts], 1))
    return torch.cat(out)


def random_discriminator(like: Discriminator, seed: int = 0) -> Discriminator:
    """A discriminator of the same architecture with the paper's random initial weights (the untrained baseline)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return Discriminator(like.config).eval()


def pixels(images_uint8: torch.Tensor) -> torch.Tensor:
    return images_uint8.flatten(1).float() / 255.0


def few_label_indices(labels: torch.Tensor, per_class: int, seed: int) -> torch.Tensor:
    """``per_class`` indices of each class (fewer when a class has fewer), drawn with ``seed``."""
    g = torch.Generator().manual_seed(int(seed))
    picks = []
    for c in torch.unique(labels).tolist():
        idx = torch.nonzero(labels == c).flatten()
        picks.append(idx[torch.randperm(len(idx), generator=g)[:per_class]])
    return torch.cat(picks)


def _linear_svm(x_train, y_train, x_test, y_test) -> float:
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    clf = make_pipeline(StandardScaler(), LinearSVC(C=SVM_C, loss="squared_hinge", dual=True, tol=1e-3, max_iter=1000))
    clf.fit(x_train, y_train)
    return float((clf.predict(x_test) == y_test).mean())


def _knn(x_train, y_train, x_test, y_test) -> float:
    from sklearn.neighbors import KNeighborsClassifier

    clf = KNeighborsClassifier(n_neighbors=1)
    clf.fit(x_train, y_train)
    return float((clf.predict(x_test) == y_test).mean())


def linear_probe(
    train_images: torch.Tensor,
    train_labels: torch.Tensor,
    test_images: torch.Tensor,
    test_labels: torch.Tensor,
    discriminator: Discriminator | None,
    label_counts: Sequence[int] = DEFAULT_LABEL_COUNTS,
    repeats: int = 3,
    like: Discriminator | None = None,
) -> dict:
    """Accuracy on the test images of each method at each number of labels per class, averaged over ``repeats``
    draws of the labelled images. ``discriminator`` None (a generator-only file) probes only the baselines; the
    random-D baseline then uses ``like``'s architecture."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    arch = discriminator or like
    features: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if discriminator is not None:
        features["D features + linear SVM"] = (
            discriminator_features(discriminator, train_images).numpy(),
            discriminator_features(discriminator, test_images).numpy(),
        )
    if arch is not None:
        rnd = random_discriminator(arch)
        features["random-weight D + linear SVM"] = (
            discriminator_features(rnd, train_images).numpy(),
            discriminator_features(rnd, test_images).numpy(),
        )
    px = (pixels(train_images).numpy(), pixels(test_images).numpy())
    features["pixels + linear SVM"] = px
    y_tr, y_te = train_labels.numpy(), test_labels.numpy()
    results: dict[str, dict[str, dict[str, float]]] = {name: {} for name in [*features, "pixels + 1-NN"]}
    for n in label_counts:
        accs: dict[str, list[float]] = {name: [] for name in results}
        for r in range(repeats):
            idx = few_label_indices(train_labels, n, seed=1000 * n + r).numpy()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                for name, (f_tr, f_te) in features.items():
                    accs[name].append(_linear_svm(f_tr[idx], y_tr[idx], f_te, y_te))
            accs["pixels + 1-NN"].append(_knn(px[0][idx], y_tr[idx], px[1], y_te))
        for name, values in accs.items():
            results[name][str(n)] = {"mean": float(np.mean(values)), "std": float(np.std(values))}
    dims = {name: int(f[0].shape[1]) for name, f in features.items()}
    dims["pixels + 1-NN"] = dims["pixels + linear SVM"]
    return {
        "label_counts": [int(n) for n in label_counts],
        "repeats": repeats,
        "n_test": int(len(test_labels)),
        "svm_c": SVM_C,
        "feature_dims": dims,
        "accuracy": results,
    }


def cifar10_probe(
    discriminator: Discriminator, root: str | Path = "data", per_class: int = 1000, n_test: int = 10000
) -> dict:
    """The probe on CIFAR-10 when its files are already under ``root`` (never downloads): LinearSVC on D's features
    of ``per_class`` training images per class, tested on the first ``n_test`` test images, beside the paper's 82.8%
    (which used all 50,000 labels and a D trained on ImageNet-1k)."""
    import warnings

    import torchvision
    from sklearn.exceptions import ConvergenceWarning

    folder = Path(root) / "cifar-10-batches-py"
    base = {"paper_accuracy": PAPER_CIFAR10_ACCURACY, "root": str(root)}
    if not folder.is_dir():
        return {
            **base,
            "available": False,
            "message": f"CIFAR-10 is not present under {folder}; put the python version of CIFAR-10 there "
            "(torchvision.datasets.CIFAR10 layout) to run this probe. Nothing is downloaded.",
        }
    try:
        train = torchvision.datasets.CIFAR10(str(root), train=True, download=False)
        test = torchvision.datasets.CIFAR10(str(root), train=False, download=False)
    except Exception as exc:  # noqa: BLE001 - a damaged copy
        return {**base, "available": False, "message": f"CIFAR-10 under {folder} could not be read ({exc})"}
    cfg = discriminator.config
    x_tr = torch.as_tensor(train.data).permute(0, 3, 1, 2)
    y_tr = torch.as_tensor(train.targets)
    idx = few_label_indices(y_tr, per_class, seed=0)
    x_te = torch.as_tensor(test.data[:n_test]).permute(0, 3, 1, 2)
    y_te = np.asarray(test.targets[:n_test])
    x_tr = resize_uint8(x_tr[idx], cfg.image_size, cfg.channels)
    x_te = resize_uint8(x_te, cfg.image_size, cfg.channels)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        acc = _linear_svm(
            discriminator_features(discriminator, x_tr).numpy(),
            y_tr[idx].numpy(),
            discriminator_features(discriminator, x_te).numpy(),
            y_te,
        )
        acc_px = _linear_svm(pixels(x_tr).numpy(), y_tr[idx].numpy(), pixels(x_te).numpy(), y_te)
    return {
        **base,
        "available": True,
        "per_class": per_class,
        "n_test": int(len(y_te)),
        "accuracy": acc,
        "pixels_accuracy": acc_px,
        "note": "D was not trained on CIFAR-10 or ImageNet here, and fewer labels are used than the paper's 50,000; "
        "the paper's figure is an upper reference, not a like-for-like target.",
    }
