"""Datasets as uint8 image tensors.

Small datasets (the offline digits, MNIST-sized sets, a user's folder) are decoded once into one uint8 tensor
(N, C, H, W) and batched by index, so no image is decoded twice and the whole set can sit on the GPU. Only a
dataset too large for memory goes through a ``DataLoader``. Pixels become floats in [-1, 1] (the Tanh range) only
inside the training step, by ``to_unit_range``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .dataset_names import (  # noqa: F401
    DATASET_NAMES,
    PHOTO_CROPS_HELD_OUT,
    PHOTO_CROPS_TRAIN,
    PHOTO_HELD_OUT_STRIP,
    TORCHVISION_DATASETS,
    available_torchvision,
    dataset_key,
)
from .errors import UserError
from .safe_zip import IMAGE_EXTENSIONS, ZipLimits, decode_image, read_zip_images  # one list of suffixes for both

logger = logging.getLogger(__name__)

IN_MEMORY_LIMIT_BYTES = 2 * 1024**3  # a dataset above this many uint8 bytes is streamed instead


class DatasetError(UserError):
    """A dataset cannot be loaded; the message says what is missing and what to do."""


@dataclass
class ImageTensorDataset:
    """All images of a dataset as one uint8 tensor (N, C, H, W), with optional integer labels (N,)."""

    images: torch.Tensor
    labels: torch.Tensor | None = None
    name: str = ""
    held_out: torch.Tensor | None = None  # a dataset's own evaluation split (bool (N,)); None: a seeded random one

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.dim() != 4:
            raise DatasetError(
                f"images must be a uint8 (N, C, H, W) tensor, got {self.images.dtype} {tuple(self.images.shape)}"
            )
        if len(self.images) == 0:
            raise DatasetError(f"dataset {self.name!r} has no images")

    def __len__(self) -> int:
        return len(self.images)

    def to(self, device: torch.device | str) -> ImageTensorDataset:
        labels = None if self.labels is None else self.labels.to(device)
        return ImageTensorDataset(self.images.to(device), labels, self.name, self.held_out)

    def training_part(self) -> ImageTensorDataset:
        """The images a GAN trains on: all but the dataset's own held-out part (the photos' unseen strip), so its
        evaluation's real-vs-real reference and memorisation check use pixels the generator never saw. A dataset
        without its own split (the digits, a folder) trains on every image; ``eval`` splits it with a seed."""
        if self.held_out is None:
            return self
        keep = ~self.held_out
        labels = None if self.labels is None else self.labels[keep]
        return ImageTensorDataset(self.images[keep], labels, self.name)


def to_unit_range(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [-1, 1], the range of G's Tanh output."""
    return images.float().div_(127.5).sub_(1.0)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """float [-1, 1] -> uint8 [0, 255] (the inverse of ``to_unit_range``, clamped)."""
    return images.detach().float().add(1.0).mul(127.5).round_().clamp_(0, 255).to(torch.uint8)


def resize_uint8(images: torch.Tensor, size: int, channels: int) -> torch.Tensor:
    """Resize a uint8 (N, C, H, W) batch to (N, channels, size, size) with antialiasing, converting channels."""
    x = images.float()
    if x.shape[1] != channels:
        if channels == 1:  # ITU-R 601-2 luma, as Pillow's convert("L")
            weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
            x = (x[:, :3] * weights).sum(1, keepdim=True)
        else:
            x = x[:, :1].expand(-1, 3, -1, -1)
    if x.shape[-2:] != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return x.round_().clamp_(0, 255).to(torch.uint8)


def load_digits(image_size: int = 32, channels: int = 1) -> ImageTensorDataset:
    """scikit-learn's handwritten digits (1,797 images, 8x8, 17 grey levels), upscaled; ships with sklearn."""
    from sklearn.datasets import load_digits as sk_load_digits  # deferred: scikit-learn takes seconds to import

    bunch = sk_load_digits()
    raw = torch.from_numpy(bunch.images.astype(np.float32) * (255.0 / 16.0)).round().to(torch.uint8)
    images = resize_uint8(raw[:, None], image_size, channels)
    return ImageTensorDataset(images, torch.from_numpy(bunch.target.astype(np.int64)), "digits")


def load_photos(image_size: int = 64, channels: int = 3) -> ImageTensorDataset:
    """Crops of scikit-learn's two colour photographs (china.jpg, flower.jpg, 427x640), with flips: an offline colour
    dataset for the paper's 64x64 setting. 2,560 crops of 48..160 pixels, resized with area averaging; the label is
    the photo. The held-out crops come from each photo's right-most strip, which no training crop overlaps, so the
    real-vs-real reference and memorisation compare against pixels the generator never saw."""
    from sklearn.datasets import load_sample_images  # deferred: scikit-learn and torchvision, for this set only
    from torchvision.ops import roi_align

    g = torch.Generator().manual_seed(0)
    crops, labels, held = [], [], []
    for label, photo in enumerate(load_sample_images().images):
        img = torch.from_numpy(photo.copy()).permute(2, 0, 1)[None].float()  # (1, 3, 427, 640)
        height, width = photo.shape[:2]
        train_width = width - PHOTO_HELD_OUT_STRIP
        for n, x0, x_span, max_side, is_held in (
            (PHOTO_CROPS_TRAIN, 0, train_width, 160, False),
            (PHOTO_CROPS_HELD_OUT, train_width, PHOTO_HELD_OUT_STRIP, PHOTO_HELD_OUT_STRIP, True),
        ):
            side = torch.randint(48, max_side + 1, (n,), generator=g).float()
            x = x0 + torch.rand(n, generator=g) * (x_span - side)
            y = torch.rand(n, generator=g) * (height - side)
            boxes = torch.stack([torch.zeros(n), x, y, x + side, y + side], dim=1)
            out = roi_align(img, boxes, image_size, spatial_scale=1.0, sampling_ratio=-1, aligned=True)
            flip = torch.rand(n, generator=g) < 0.5
            out[flip] = out[flip].flip(-1)
            crops.append(out)
            labels.append(torch.full((n,), label))
            held.append(torch.full((n,), is_held))
    images = torch.cat(crops).round_().clamp_(0, 255).to(torch.uint8)
    images = resize_uint8(images, image_size, channels)  # channels only: the size is already right
    return ImageTensorDataset(images, torch.cat(labels), "photos", torch.cat(held))


def square_crop_resize(img: Image.Image, image_size: int, channels: int) -> torch.Tensor:
    """Center-crop a PIL image to a square, resize it and return uint8 (channels, size, size)."""
    img = img.convert("L" if channels == 1 else "RGB")
    w, h = img.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    img = img.crop((left, top, left + side, top + side)).resize((image_size, image_size), Image.Resampling.BICUBIC)
    arr = np.asarray(img, dtype=np.uint8)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).contiguous()


def load_image_folder(path: str | Path, image_size: int, channels: int) -> ImageTensorDataset:
    """Every image under ``path`` (recursively), center-cropped and resized. Unreadable files are skipped with a
    warning naming them; a folder without any readable image is an error."""
    root = Path(path)
    if not root.is_dir():
        raise DatasetError(f"image folder {root} does not exist or is not a folder")
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    images = []
    for file in files:
        try:  # the zip loader's guards: safe formats only, pixel count checked before decoding
            images.append(square_crop_resize(decode_image(file.read_bytes()), image_size, channels))
        except (OSError, ValueError) as exc:
            logger.warning("skipping %s: %s", file, exc)
    if not images:
        raise DatasetError(f"no readable images ({', '.join(IMAGE_EXTENSIONS)}) found under {root}")
    return ImageTensorDataset(torch.stack(images), None, root.name)


def load_image_zip(
    path: str | Path, image_size: int, channels: int, skipped: list | None = None, limits=None
) -> ImageTensorDataset:
    """Every image inside a .zip, decoded straight from the archive (nothing is extracted to disk). Refused
    members are appended to ``skipped`` (``safe_zip.Skipped``: name, rule, detail) so a caller can show them;
    ``limits`` (a ``safe_zip.ZipLimits``; default: the core's) bounds what is read (the Studio's are tighter)."""
    members = read_zip_images(Path(path), limits or ZipLimits(), skipped)
    images = [square_crop_resize(img, image_size, channels) for _, img in members]
    return ImageTensorDataset(torch.stack(images), None, Path(path).stem)


def load_torchvision(name: str, root: str | Path, image_size: int, channels: int, download: bool = False):
    """A torchvision dataset by its real loading (and, if allowed, downloading) code.

    Returns an ``ImageTensorDataset`` when the resized set fits in memory, else a torch ``Dataset`` of uint8 images.
    """
    import torchvision  # deferred: torchvision takes seconds to import; only its datasets need it

    key = dataset_key(name)
    if key not in TORCHVISION_DATASETS:
        raise DatasetError(f"unknown dataset {name!r}; choose one of {', '.join(DATASET_NAMES)}")
    cls_name, kwargs, hint = TORCHVISION_DATASETS[key]
    root = Path(root)
    try:
        ds = getattr(torchvision.datasets, cls_name)(str(root), download=download, **kwargs)
    except Exception as exc:  # noqa: BLE001 - torchvision raises RuntimeError, URLError, OSError, ...
        how = (
            "the download failed (is there a network connection?)"
            if download
            else "downloading is off (pass --download to let torchvision fetch it)"
        )
        raise DatasetError(
            f"{cls_name} is not available under {root}: {how}. Put the dataset's files in {root / hint} "
            f"(the layout torchvision.datasets.{cls_name} expects) and try again. Details: {exc}"
        ) from None
    n = len(ds)
    if n * channels * image_size * image_size <= IN_MEMORY_LIMIT_BYTES:
        return _materialise(ds, image_size, channels, name=key)
    logger.info("%s: %d images do not fit the in-memory limit; streaming with a DataLoader", cls_name, n)
    return _UInt8View(ds, image_size, channels)


def _materialise(ds, image_size: int, channels: int, name: str) -> ImageTensorDataset:
    """Decode a torchvision dataset once into one uint8 tensor (fast paths for sets that already hold arrays)."""
    data = getattr(ds, "data", None)
    labels = getattr(ds, "targets", None)
    if labels is None:
        labels = getattr(ds, "labels", None)
    if isinstance(data, (torch.Tensor, np.ndarray)) and data.dtype in (np.uint8, torch.uint8):
        raw = torch.as_tensor(data)
        if raw.dim() == 3:  # (N, H, W) grayscale
            raw = raw[:, None]
        elif raw.shape[-1] == 3:  # (N, H, W, 3) as CIFAR-10 stores it
            raw = raw.permute(0, 3, 1, 2)
        if name == "emnist":  # EMNIST is stored transposed
            raw = raw.transpose(-1, -2)
        chunks = [resize_uint8(raw[i : i + 4096], image_size, channels) for i in range(0, len(raw), 4096)]
        images = torch.cat(chunks)
    else:
        view = _UInt8View(ds, image_size, channels)
        images = torch.stack([view[i] for i in range(len(view))])
    label_tensor = torch.as_tensor(np.asarray(labels), dtype=torch.long) if labels is not None else None
    if label_tensor is not None and len(label_tensor) != len(images):
        label_tensor = None
    return ImageTensorDataset(images.contiguous(), label_tensor, name)


class _UInt8View(torch.utils.data.Dataset):
    """Wraps a PIL-returning dataset so items are uint8 (C, H, W) tensors of the model's size."""

    def __init__(self, ds, image_size: int, channels: int):
        self.ds, self.image_size, self.channels = ds, image_size, channels

    def __len__(self) -> int:
        return len(self.ds)

    def __getitem__(self, i: int) -> torch.Tensor:
        item = self.ds[i]
        img = item[0] if isinstance(item, tuple) else item
        return square_crop_resize(img, self.image_size, self.channels)


def load_dataset(name: str, image_size: int, channels: int, path: str | Path | None = None, download: bool = False):
    """The one entry point: a dataset by name, as an ``ImageTensorDataset`` (or a streaming ``Dataset``)."""
    key = dataset_key(name)
    if key == "digits":
        return load_digits(image_size, channels)
    if key == "photos":
        return load_photos(image_size, channels)
    if key in ("folder", "zip"):
        if not path:
            raise DatasetError(f"dataset {name!r} needs a path (--data-path) to a folder or a .zip of images")
        p = Path(path)
        if not p.exists():
            raise DatasetError(f"{p} does not exist; give a folder of images or a .zip of images")
        return load_image_zip(p, image_size, channels) if p.is_file() else load_image_folder(p, image_size, channels)
    if key in TORCHVISION_DATASETS:
        return load_torchvision(key, path or "data", image_size, channels, download)
    raise DatasetError(f"unknown dataset {name!r}; choose one of {', '.join(DATASET_NAMES)}")


def epoch_permutation(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The order of epoch ``epoch``: a pure function of (seed, epoch), so a resumed run replays it exactly."""
    g = torch.Generator().manual_seed(int(seed) * 1_000_003 + int(epoch))
    return torch.randperm(n, generator=g)


def batches_per_epoch(n: int, batch_size: int) -> int:
    """Full batches only (drop the remainder): fixed shapes keep batch norm and compiled steps stable."""
    return max(1, n // batch_size) if n >= batch_size else 1


def iterate_batches(
    images: torch.Tensor, batch_size: int, seed: int, epoch: int, start: int = 0, indices: torch.Tensor | None = None
) -> Iterator[torch.Tensor]:
    """uint8 batches of one epoch from an in-memory tensor, in the epoch's fixed order, from batch ``start`` on.

    ``indices`` restricts the epoch to a subset (a distributed rank's share)."""
    order = epoch_permutation(len(images), seed, epoch)
    if indices is not None:
        order = order[indices]
    n_batches = batches_per_epoch(len(order), batch_size)
    size = min(batch_size, len(order))
    order = order.to(images.device)
    for b in range(start, n_batches):
        yield images.index_select(0, order[b * size : (b + 1) * size])


def iterate_loader_batches(
    dataset: torch.utils.data.Dataset,
    batch_size: int,
    seed: int,
    epoch: int,
    start: int = 0,
    indices: torch.Tensor | None = None,
    num_workers: int = 2,
) -> Iterator[torch.Tensor]:
    """The streaming twin of ``iterate_batches`` for datasets too large for memory: the same epoch order (so
    resume stays exact), decoded by ``DataLoader`` workers, uint8 batches."""
    order = epoch_permutation(len(dataset), seed, epoch)
    if indices is not None:
        order = order[indices]
    n_batches = batches_per_epoch(len(order), batch_size)
    size = min(batch_size, len(order))
    sampler = order[start * size : n_batches * size].tolist()
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=size, sampler=sampler, num_workers=num_workers, drop_last=True, persistent_workers=False
    )
    yield from loader
