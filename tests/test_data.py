"""Datasets come out as uint8 tensors of the model's size; batches follow a reproducible order."""

import io
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from dcgan_studio.data import (
    DatasetError,
    ImageTensorDataset,
    batches_per_epoch,
    dataset_key,
    epoch_permutation,
    iterate_batches,
    load_dataset,
    load_digits,
    to_uint8,
    to_unit_range,
)


@pytest.mark.parametrize("size,channels", [(32, 1), (64, 3), (128, 1)])
def test_digits_offline_shapes_range_and_labels(size, channels):
    ds = load_digits(size, channels)
    assert ds.images.shape == (1797, channels, size, size)
    assert ds.images.dtype == torch.uint8
    assert ds.images.max() == 255 and ds.images.min() == 0
    assert sorted(ds.labels.unique().tolist()) == list(range(10))
    # the strokes survive the upscaling: a digit's centre is brighter than its corner
    assert ds.images[:, :, size // 2 - 2 : size // 2 + 2].float().mean() > ds.images[:, :, :2, :2].float().mean() + 20


def test_unit_range_round_trip():
    x = torch.arange(256, dtype=torch.uint8).view(1, 1, 16, 16)
    y = to_unit_range(x)
    assert y.min() == -1 and y.max() == 1
    assert torch.equal(to_uint8(y), x)


def test_epoch_order_is_a_pure_function_of_seed_and_epoch():
    assert torch.equal(epoch_permutation(100, 3, 7), epoch_permutation(100, 3, 7))
    assert not torch.equal(epoch_permutation(100, 3, 7), epoch_permutation(100, 3, 8))


def test_batches_cover_each_image_at_most_once_and_resume_mid_epoch():
    images = torch.arange(100, dtype=torch.uint8).view(100, 1, 1, 1)
    full = list(iterate_batches(images, 16, seed=1, epoch=0))
    assert len(full) == batches_per_epoch(100, 16) == 6
    seen = torch.cat([b.flatten() for b in full])
    assert len(seen.unique()) == len(seen) == 96
    later = list(iterate_batches(images, 16, seed=1, epoch=0, start=4))
    assert all(torch.equal(a, b) for a, b in zip(full[4:], later, strict=True))


def _png(size=(40, 30), mode="RGB", color=(200, 10, 10)):
    buf = io.BytesIO()
    Image.new(mode, size, color).save(buf, format="PNG")
    return buf.getvalue()


def test_folder_of_images_is_cropped_resized_and_converted(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.png").write_bytes(_png((40, 30)))
    (tmp_path / "sub" / "b.png").write_bytes(_png((10, 50), "L", 128))
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG broken")
    (tmp_path / "eps.png").write_bytes(
        b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n"
    )  # never handed to Ghostscript
    ds = load_dataset("folder", 32, 3, tmp_path)
    assert ds.images.shape == (2, 3, 32, 32)
    gray = load_dataset("folder", 64, 1, tmp_path)
    assert gray.images.shape == (2, 1, 64, 64)


def test_zip_of_images_loads_without_extracting(tmp_path):
    archive = tmp_path / "imgs.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("x/one.png", _png())
        zf.writestr("two.jpg", _png((64, 64)))  # PNG bytes with a .jpg name still decode
        zf.writestr("readme.md", "hello")
    ds = load_dataset("zip", 32, 1, archive)
    assert ds.images.shape == (2, 1, 32, 32)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["imgs.zip"]


@pytest.mark.parametrize("name", ["mnist", "cifar10", "celeba"])
def test_torchvision_dataset_offline_fails_with_where_to_put_files(tmp_path, name):
    with pytest.raises(DatasetError) as err:
        load_dataset(name, 32, 1, tmp_path, download=False)
    msg = str(err.value)
    assert str(tmp_path) in msg and "--download" in msg


def test_torchvision_dataset_present_locally_is_materialised(tmp_path):
    """A locally present MNIST (written here in torchvision's raw format) loads as one uint8 tensor."""
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, size=(20, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=20, dtype=np.uint8)
    for prefix in ("train", "t10k"):
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(
            np.array([0, 0, 8, 3], dtype=">u1").tobytes()
            + np.array([20, 28, 28], dtype=">i4").tobytes()
            + imgs.tobytes()
        )
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(
            np.array([0, 0, 8, 1], dtype=">u1").tobytes() + np.array([20], dtype=">i4").tobytes() + labels.tobytes()
        )
    ds = load_dataset("mnist", 32, 1, tmp_path)
    assert ds.images.shape == (20, 1, 32, 32) and ds.images.dtype == torch.uint8
    assert torch.equal(ds.labels, torch.from_numpy(labels.astype(np.int64)))


@pytest.mark.parametrize("name,path", [("nope", None), ("folder", None), ("folder", "/does/not/exist")])
def test_bad_dataset_requests_say_what_to_do(name, path):
    with pytest.raises(DatasetError):
        load_dataset(name, 32, 1, path)


def test_streaming_batches_follow_the_same_order_as_in_memory_ones():
    """Datasets too large for memory go through a DataLoader, in the same per-epoch order (exact resume holds)."""
    from dcgan_studio.data import iterate_loader_batches

    images = torch.arange(100, dtype=torch.uint8).view(100, 1, 1, 1)

    class Streamed(torch.utils.data.Dataset):
        def __len__(self):
            return len(images)

        def __getitem__(self, i):
            return images[i]

    for start in (0, 3):
        in_memory = list(iterate_batches(images, 16, seed=5, epoch=2, start=start))
        streamed = list(iterate_loader_batches(Streamed(), 16, seed=5, epoch=2, start=start, num_workers=0))
        assert len(in_memory) == len(streamed) == 6 - start
        assert all(torch.equal(a, b) for a, b in zip(in_memory, streamed, strict=True))


@pytest.mark.parametrize("name", ["Fashion-MNIST", "fashion_mnist", "FASHIONMNIST", "fashionmnist"])
def test_dataset_names_have_one_spelling(name):
    assert dataset_key(name) == "fashionmnist"


def test_photos_are_an_offline_colour_dataset_with_its_own_split():
    from dcgan_studio.data import load_dataset
    from dcgan_studio.metrics.splits import split_dataset

    photos = load_dataset("Photos", 32, 3)
    assert photos.images.shape == (2560, 3, 32, 32) and photos.images.dtype == torch.uint8
    assert photos.labels.bincount().tolist() == [1280, 1280]  # china.jpg, flower.jpg
    # colour, not grey: the channels differ (the flower is orange on teal)
    assert (photos.images[:, 0].float() - photos.images[:, 2].float()).abs().mean() > 10
    split = split_dataset(photos)
    assert len(split.held_out) == 512 and len(split.train) == 2048
    assert not set(split.train_index.tolist()) & set(split.held_out_index.tolist())
    again = load_dataset("photos", 32, 3)  # fixed: the same crops every time
    assert torch.equal(again.images, photos.images)
    assert load_dataset("photos", 32, 1).images.shape == (2560, 1, 32, 32)


def test_each_named_dataset_says_its_channels_and_a_folder_or_zip_does_not():
    from dcgan_studio.dataset_names import DATASET_NAMES, native_channels

    assert {name: native_channels(name) for name in ("digits", "photos", "mnist", "Fashion-MNIST", "cifar10")} == {
        "digits": 1, "photos": 3, "mnist": 1, "Fashion-MNIST": 1, "cifar10": 3,
    }  # fmt: skip
    assert native_channels("folder") is None and native_channels("zip upload") is None
    assert all(native_channels(n) in (1, 3) for n in DATASET_NAMES if n not in ("folder", "zip"))


def test_a_run_never_trains_on_a_datasets_own_held_out_part():
    """The photos' held-out strip stays unseen by the generator (its eval's reference relies on it); a dataset
    without its own split trains on every image."""
    from dcgan_studio import distributed
    from dcgan_studio.config import ModelConfig, TrainConfig
    from dcgan_studio.dataset_names import PHOTOS_TRAIN_COUNT
    from dcgan_studio.train.setup import load_train_data

    images = torch.zeros(10, 1, 32, 32, dtype=torch.uint8)
    images[8:] = 255  # the two held-out images are the only white ones
    held = torch.tensor([False] * 8 + [True] * 2)
    model, train = ModelConfig(image_size=32, channels=1), TrainConfig(batch_size=2, device="cpu")
    args = (distributed.env_context(), torch.device("cpu"))
    data = load_train_data(model, train, ImageTensorDataset(images, None, "x", held), *args)
    assert data.batches == 4 and int(data.images.max()) == 0
    data = load_train_data(model, train, ImageTensorDataset(images, None, "x"), *args)
    assert data.batches == 5 and int(data.images.max()) == 255
    photos = load_dataset("photos", 32, 3)
    assert len(photos.training_part()) == int((~photos.held_out).sum()) == 2048 == PHOTOS_TRAIN_COUNT
