"""The one nearest-neighbour enlargement helper every picture goes through (plots.upscale / enlarge_to)."""

import torch

from dcgan_studio.plots import enlarge_factor, enlarge_to, upscale


def test_upscale_turns_each_pixel_into_a_factor_by_factor_block():
    image = torch.arange(6, dtype=torch.uint8).reshape(1, 2, 3)
    big = upscale(image, 3)
    assert big.shape == (1, 6, 9)
    assert torch.equal(big[:, ::3, ::3], image)
    assert torch.equal(big[0, :3, :3], torch.zeros(3, 3, dtype=torch.uint8))


def test_upscale_works_on_batches_and_leaves_factor_one_alone():
    batch = torch.randint(0, 256, (4, 3, 5, 7), dtype=torch.uint8)
    assert upscale(batch, 1) is batch
    assert upscale(batch, 0) is batch
    assert upscale(batch, 2).shape == (4, 3, 10, 14)


def test_enlarge_to_picks_the_smallest_whole_factor_reaching_min_side():
    assert enlarge_factor(32, 512) == 16
    assert enlarge_factor(100, 512) == 6  # ceil: 5 would give 500 < 512
    assert enlarge_factor(600, 512) == 1
    image = torch.zeros(3, 28, 20, dtype=torch.uint8)
    assert enlarge_to(image, 100).shape == (3, 112, 80)  # the longer side (28) decides: factor 4
    assert enlarge_to(image, 10) is image
