"""SWD and MS-SSIM on known inputs: identical sets, blurred and noisy copies, an image with itself, bad input."""

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from dcgan_studio.errors import UserError
from dcgan_studio.metrics.msssim import msssim_diversity, msssim_settings, pairwise_msssim
from dcgan_studio.metrics.swd import laplacian_pyramid, pyramid_levels, swd


@pytest.fixture(scope="module")
def digits32():
    from dcgan_studio.data import load_dataset

    return load_dataset("digits", 32, 1).images


def _blur(x: torch.Tensor) -> torch.Tensor:
    return F.avg_pool2d(x.float(), 3, 1, 1).round().to(torch.uint8)


def test_swd_of_a_set_with_itself_is_zero(digits32):
    result = swd(digits32[:200], digits32[:200], per_image=16)
    assert set(result["per_level"]) == {"32", "16"}
    assert result["average"] == pytest.approx(0.0, abs=1e-9)


def test_swd_ranks_real_below_blurred_below_noise(digits32):
    a, b = digits32[:150], digits32[150:300]
    real = swd(a, b, per_image=8)["average"]
    blurred = swd(a, _blur(b), per_image=8)
    noise = swd(a, torch.randint(0, 256, b.shape, dtype=torch.uint8), per_image=8)["average"]
    assert real < blurred["average"] < noise
    # blurring removes the fine band: the 32-pixel level suffers more than the 16-pixel one
    assert blurred["per_level"]["32"] > blurred["per_level"]["16"]


def test_laplacian_pyramid_sums_back_to_the_image():
    x = torch.rand(2, 3, 64, 64)
    levels = laplacian_pyramid(x, 3)
    assert [lvl.shape[-1] for lvl in levels] == [64, 32, 16]
    # collapsing the pyramid (upsample the coarse, add the band) gives the image back
    from dcgan_studio.metrics.swd import _up

    rebuilt = levels[-1]
    for band in reversed(levels[:-1]):
        rebuilt = band + _up(rebuilt)
    assert torch.allclose(rebuilt, x, atol=1e-5)


def test_msssim_of_an_image_with_itself_is_one(digits32):
    values = pairwise_msssim(digits32[:8], digits32[:8])
    assert torch.allclose(values, torch.ones(8, dtype=values.dtype), atol=1e-6)


def test_msssim_diversity_orders_collapsed_real_and_noise(digits32):
    collapsed = msssim_diversity(digits32[:1].repeat(20, 1, 1, 1), n_pairs=50)["mean"]
    real = msssim_diversity(digits32[:100], n_pairs=100)["mean"]
    noise = msssim_diversity(torch.randint(0, 256, (100, 1, 32, 32), dtype=torch.uint8), n_pairs=100)["mean"]
    assert collapsed == pytest.approx(1.0, abs=1e-6)
    assert noise < real < collapsed


@pytest.mark.parametrize("size", [16, 32, 64])
def test_msssim_settings_fit_the_size(size):
    kernel, betas = msssim_settings(size)
    assert kernel % 2 == 1 and sum(betas) == pytest.approx(1.0)
    image = torch.randint(0, 256, (2, 3, size, size), dtype=torch.uint8)
    assert pairwise_msssim(image, image).min() > 0.999


@pytest.mark.parametrize(
    ("a", "b", "message"),
    [
        (torch.zeros(4, 1, 32, 32), torch.zeros(4, 3, 32, 32), "grey against colour"),
        (torch.zeros(4, 1, 8, 8), torch.zeros(4, 1, 8, 8), "at least 16"),
        (torch.zeros(1, 1, 32, 32), torch.zeros(4, 1, 32, 32), "at least 2 images"),
        (torch.zeros(4, 1, 32, 32), torch.zeros(4, 1, 64, 64), "one size"),
    ],
)
def test_swd_bad_input_is_a_clear_user_error(a, b, message):
    with pytest.raises(UserError, match=message):
        swd(a.to(torch.uint8), b.to(torch.uint8))


def test_msssim_bad_input_is_a_clear_user_error():
    with pytest.raises(UserError, match="at least 16"):
        msssim_diversity(torch.zeros(4, 1, 8, 8, dtype=torch.uint8))
    with pytest.raises(UserError, match="at least 2 images"):
        msssim_diversity(torch.zeros(1, 1, 32, 32, dtype=torch.uint8))
    assert pyramid_levels(64) == [64, 32, 16]


def test_the_report_draws_its_training_images_at_random_and_gives_a_floor():
    """A dataset stored in order (the photos, photo by photo): the SWD's training images are a seeded draw of all of
    them, not the first ones (dark crops only, here), and other training images give the floor beside the held-out
    reference."""
    from dcgan_studio.data import ImageTensorDataset
    from dcgan_studio.metrics.evaluate import _pixel_statistics, _Samples

    g = torch.Generator().manual_seed(0)

    def crops(n: int, level: int) -> torch.Tensor:  # textured images around one brightness
        return (level + torch.randint(-40, 41, (n, 1, 32, 32), generator=g)).clamp(0, 255).to(torch.uint8)

    train = ImageTensorDataset(torch.cat([crops(200, 60), crops(200, 190)]), None, "ordered:train")  # dark, then light
    held = ImageTensorDataset(torch.cat([crops(50, 60), crops(50, 190)]), None, "ordered:held_out")
    mixed = torch.cat([crops(50, 60), crops(50, 190)])[torch.randperm(100, generator=g)]
    ev = _Samples(Path("x.safetensors"), None, None, train, train, held, mixed, seed=0)
    result = _pixel_statistics(ev, say=lambda _: None)["swd"]
    dark_only = swd(mixed, train.images[:100])["average"]  # what the first 100 training images would have given
    assert result["generated"]["average"] < 0.5 * dark_only
    assert result["training"]["average"] < 0.5 * dark_only
    assert result["held_out"]["average"] == pytest.approx(result["generated"]["average"], rel=0.5)
