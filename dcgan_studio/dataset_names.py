"""The datasets by name: the offline digits and photo crops, the torchvision sets, a folder or a zip, and which
torchvision sets already lie on disk. No torch here, so the Studio lists datasets before torch is imported;
``data.py`` loads them.
"""

from __future__ import annotations

from pathlib import Path

# torchvision datasets users of the seeds train on: name -> (class name, constructor kwargs, folder hint)
TORCHVISION_DATASETS: dict[str, tuple[str, dict, str]] = {
    "mnist": ("MNIST", {"train": True}, "MNIST/raw"),
    "fashionmnist": ("FashionMNIST", {"train": True}, "FashionMNIST/raw"),
    "emnist": ("EMNIST", {"split": "balanced", "train": True}, "EMNIST/raw"),
    "cifar10": ("CIFAR10", {"train": True}, "cifar-10-batches-py"),
    "stl10": ("STL10", {"split": "unlabeled"}, "stl10_binary"),
    "svhn": ("SVHN", {"split": "train"}, "train_32x32.mat"),
    "celeba": ("CelebA", {"split": "train"}, "celeba/img_align_celeba"),
}
OFFLINE_DATASETS = ("digits", "photos")  # ship with scikit-learn: grey 8x8 digits, crops of its two colour photos
DATASET_NAMES = (*OFFLINE_DATASETS, *TORCHVISION_DATASETS, "folder", "zip")
COLOUR_DATASETS = ("photos", "cifar10", "stl10", "svhn", "celeba")  # the rest of the named sets are grey
# the photos (data.load_photos): crops per photograph, and where the held-out ones come from; here, without torch,
# so the presets can count a photos epoch
PHOTO_CROPS_TRAIN = 1024  # per photo
PHOTO_CROPS_HELD_OUT = 256  # per photo, cut from a strip no training crop touches
PHOTO_HELD_OUT_STRIP = 128  # the right-most 128 of each photo's 640 columns
PHOTOS_TRAIN_COUNT = 2 * PHOTO_CROPS_TRAIN  # the images a run on the photos trains on (two photographs)


def native_channels(name: str) -> int | None:
    """The channels a named dataset comes in (3: colour, 1: grey); None for a folder or zip, which can be either."""
    key = dataset_key(name)
    if key in COLOUR_DATASETS:
        return 3
    return 1 if key in OFFLINE_DATASETS or key in TORCHVISION_DATASETS else None


def dataset_key(name: str) -> str:
    """The one spelling of a dataset name: lower case without dashes or underscores ("Fashion-MNIST" and
    "fashion_mnist" are both "fashionmnist"), as ``TORCHVISION_DATASETS`` and ``DATASET_NAMES`` spell them."""
    return name.lower().replace("-", "").replace("_", "")


def available_torchvision(root: str | Path = "data") -> list[str]:
    """The torchvision datasets whose files are already under ``root`` (so they load without a download)."""
    root = Path(root)
    return [name for name, (_, _, hint) in TORCHVISION_DATASETS.items() if (root / hint).exists()]
