"""A small digits classifier: the offline stand-in for Inception in FID / IS style scores.

Trained by the project's own command (``python -m dcgan_studio train-classifier``) on the training part of the fixed
digits split only, so its held-out accuracy is honest and the held-out images can serve as the real-vs-real
reference. Deterministic on the CPU: same seed, same weights. The file is safetensors with the architecture config,
the split, the held-out accuracy and the command that made it in its metadata.

Input: uint8 images of any size and channel count, resized to 1 x 32 x 32 (the digits' own format).
Outputs: ``features`` (N, 128), the penultimate layer used for the Fréchet distance and k-NN metrics, and
``logits`` (N, 10).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import save as st_save
from torch import nn

from ..checkpoint import CheckpointError, atomic_write_bytes, read_file
from ..data import resize_uint8, to_unit_range
from ..shipped import shipped_classifier
from .splits import HELD_OUT_FRACTION, SPLIT_SEED, digits_split

FORMAT_CLASSIFIER = "dcgan_studio.classifier"
FORMAT_VERSION = "1"
DEFAULT_CLASSIFIER_PATH = shipped_classifier()  # the checkout's checkpoints/, or the installed wheel's copy
TRAIN_COMMAND = "python -m dcgan_studio train-classifier --out checkpoints/digits_classifier.safetensors"


@dataclass(frozen=True)
class ClassifierConfig:
    image_size: int = 32  # inputs are resized to this (the digits are stored upscaled to 32)
    channels: int = 1  # inputs are converted to grayscale
    width: int = 16  # channels of the first conv; doubled twice
    feature_dim: int = 128  # penultimate layer: the feature space of the Fréchet distance and k-NN metrics
    n_classes: int = 10


class DigitsClassifier(nn.Module):
    """1 x 32 x 32 -> three (conv 3x3, ReLU, max-pool 2) stages -> 4 x 4 x 4w -> fc 128 (features) -> fc 10."""

    def __init__(self, config: ClassifierConfig = ClassifierConfig()):
        super().__init__()
        self.config = config
        w = config.width
        self.body = nn.Sequential(
            nn.Conv2d(config.channels, w, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # w x 16 x 16
            nn.Conv2d(w, 2 * w, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 2w x 8 x 8
            nn.Conv2d(2 * w, 4 * w, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 4w x 4 x 4
            nn.Flatten(),
            nn.Linear(4 * w * (config.image_size // 8) ** 2, config.feature_dim),
            nn.ReLU(),  # the features
        )
        self.head = nn.Linear(config.feature_dim, config.n_classes)

    def prepare(self, images_uint8: torch.Tensor) -> torch.Tensor:
        """uint8 (N, C, H, W) of any size -> float (N, 1, 32, 32) in [-1, 1]."""
        c = self.config
        if tuple(images_uint8.shape[1:]) != (c.channels, c.image_size, c.image_size):
            images_uint8 = resize_uint8(images_uint8.cpu(), c.image_size, c.channels)
        return to_unit_range(images_uint8)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.body(x)
        return features, self.head(features)


@dataclass
class ClassifierOutputs:
    features: torch.Tensor  # (N, feature_dim) float64 on the CPU
    probs: torch.Tensor  # (N, n_classes) softmax


@torch.no_grad()
def classify(model: DigitsClassifier, images_uint8: torch.Tensor, batch_size: int = 512) -> ClassifierOutputs:
    model.eval()
    feats, probs = [], []
    for i in range(0, len(images_uint8), batch_size):
        f, logits = model(model.prepare(images_uint8[i : i + batch_size]))
        feats.append(f.double())
        probs.append(F.softmax(logits.double(), dim=1))
    return ClassifierOutputs(torch.cat(feats), torch.cat(probs))


def _shift(x: torch.Tensor, g: torch.Generator, max_shift: int = 2) -> torch.Tensor:
    """Random translations by up to ``max_shift`` pixels (pad with the background, crop), per image."""
    n, _, h, w = x.shape
    padded = F.pad(x, (max_shift,) * 4, value=-1.0)
    dx = torch.randint(0, 2 * max_shift + 1, (n,), generator=g)
    dy = torch.randint(0, 2 * max_shift + 1, (n,), generator=g)
    return torch.stack([padded[i, :, dy[i] : dy[i] + h, dx[i] : dx[i] + w] for i in range(n)])


def train_classifier(
    epochs: int = 20,
    seed: int = 0,
    batch_size: int = 64,
    lr: float = 2e-3,
    config: ClassifierConfig = ClassifierConfig(),
    progress: Callable[[int, float], None] | None = None,
) -> tuple[DigitsClassifier, dict]:
    """Train on the training digits (CPU, deterministic); returns the model and its held-out accuracy and timing.

    Runs on one CPU thread: the model is so small that more threads only add contention, and one thread makes the
    floating-point order (hence the weights) the same on every machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _train(epochs, seed, batch_size, lr, config, progress)
    finally:
        torch.set_num_threads(threads)


def _train(epochs, seed, batch_size, lr, config, progress) -> tuple[DigitsClassifier, dict]:
    torch.manual_seed(seed)
    split = digits_split(config.image_size, config.channels)
    x = to_unit_range(split.train.images)
    y = split.train.labels
    model = DigitsClassifier(config)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    g = torch.Generator().manual_seed(seed)
    t0 = time.perf_counter()
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(x), generator=g)
        total = 0.0
        for i in range(0, len(x), batch_size):
            idx = perm[i : i + batch_size]
            _, logits = model(_shift(x[idx], g))
            loss = F.cross_entropy(logits, y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        sched.step()
        if progress is not None:
            progress(epoch + 1, total / len(x))
    out = classify(model, split.held_out.images)
    accuracy = float((out.probs.argmax(1) == split.held_out.labels).double().mean())
    info = {
        "held_out_accuracy": accuracy,
        "epochs": epochs,
        "seed": seed,
        "train_seconds": time.perf_counter() - t0,
        "n_train": len(split.train),
        "n_held_out": len(split.held_out),
    }
    return model.eval(), info


def save_classifier(path: str | Path, model: DigitsClassifier, info: dict, command: str = TRAIN_COMMAND) -> Path:
    metadata = {
        "format": FORMAT_CLASSIFIER,
        "format_version": FORMAT_VERSION,
        "config": json.dumps(asdict(model.config), sort_keys=True),
        "split": json.dumps({"dataset": "digits", "held_out_fraction": HELD_OUT_FRACTION, "seed": SPLIT_SEED}),
        "held_out_accuracy": f"{info['held_out_accuracy']:.4f}",
        "train": json.dumps({k: v for k, v in info.items() if k != "train_seconds"}, sort_keys=True),
        "command": command,
    }
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    return atomic_write_bytes(path, st_save(tensors, metadata=metadata))


def load_classifier(path: str | Path | None = None) -> DigitsClassifier:
    """The classifier at ``path`` (default: the shipped one), or a ``CheckpointError`` saying how to make it."""
    path = Path(path) if path is not None else DEFAULT_CLASSIFIER_PATH
    if not path.is_file():
        raise CheckpointError(
            f"digits classifier {path} does not exist; make it with `{TRAIN_COMMAND}` (about 30 s on a CPU)"
        )
    metadata, tensors = read_file(path)
    if metadata.get("format") != FORMAT_CLASSIFIER:
        raise CheckpointError(
            f"{path.name} is not a digits classifier (metadata 'format' is {metadata.get('format')!r})"
        )
    try:
        config = ClassifierConfig(**json.loads(metadata["config"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path.name} has an invalid classifier config ({exc})") from None
    model = DigitsClassifier(config)
    expected = model.state_dict()
    if set(expected) != set(tensors) or any(expected[k].shape != tensors[k].shape for k in expected):
        raise CheckpointError(f"{path.name}: the weights do not match the classifier config in its metadata")
    model.load_state_dict(tensors)
    model.held_out_accuracy = float(metadata.get("held_out_accuracy", "nan"))  # type: ignore[attr-defined]
    return model.eval()
