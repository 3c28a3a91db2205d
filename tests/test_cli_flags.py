"""CLI flags no other test exercised: ``train-classifier``, ``sample --truncation/--save-z``, ``interpolate --mode``
and ``train --lr-g``. Each runs the command in-process (``cli.main``, as a user's argv) on a tiny model, so the whole
file takes seconds; test_cli.py runs the same entry point in fresh processes."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors import safe_open
from support import TINY, TINY_FLAGS

from dcgan_studio.cli import main

SIDE, PAD = TINY["image_size"], 2  # the tiny model's images, and save_grid's padding around and between them


@pytest.fixture(scope="module")
def generator_file(tmp_path_factory):
    """A tiny generator (random weights, seeded) as a generator-only checkpoint. DCGAN's init (N(0, 0.02), no BN
    bias) draws near-grey pictures whatever z is, and a bias-free ReLU network only rescales its output when z is
    rescaled; larger weights and random BN biases (as training gives) make z visibly change the picture."""
    from dcgan_studio.checkpoint import save_generator
    from dcgan_studio.config import ModelConfig
    from dcgan_studio.models import Generator

    torch.manual_seed(0)
    g = Generator(ModelConfig(**TINY)).eval()
    with torch.no_grad():
        for m in g.modules():
            if isinstance(m, torch.nn.ConvTranspose2d):
                m.weight.mul_(10)
            elif isinstance(m, torch.nn.BatchNorm2d):
                m.bias.normal_(0, 0.5)
    return save_generator(tmp_path_factory.mktemp("gen") / "G.safetensors", g)


def frames(path, n: int) -> list[np.ndarray]:
    """The ``n`` images of a one-row grid PNG, left to right (each SIDE x SIDE, grey levels)."""
    grid = np.asarray(Image.open(path).convert("L"), dtype=np.int16)
    assert grid.shape == (SIDE + 2 * PAD, n * (SIDE + PAD) + PAD)
    return [grid[PAD : PAD + SIDE, PAD + i * (SIDE + PAD) : PAD + i * (SIDE + PAD) + SIDE] for i in range(n)]


def test_train_classifier_writes_a_classifier_whose_reported_accuracy_is_its_own(tmp_path, capsys):
    from dcgan_studio.metrics.classifier import classify, load_classifier
    from dcgan_studio.metrics.splits import digits_split

    out = tmp_path / "clf.safetensors"
    assert main(["train-classifier", "--out", str(out), "--epochs", "1", "--seed", "0"]) == 0
    printed = capsys.readouterr().out
    assert "epoch 1/1 loss " in printed
    m = re.search(r"wrote (\S+): held-out accuracy ([\d.]+)% on (\d+) digits", printed)
    assert m, printed
    assert m.group(1) == str(out) and int(m.group(3)) == 359  # the fixed split: 359 of the 1,797 digits held out
    reported = float(m.group(2)) / 100
    model = load_classifier(out)
    assert model.held_out_accuracy == pytest.approx(reported, abs=5e-5)  # the file says what the command said
    # ...and it is the model's real accuracy on the held-out digits, well above chance (10 %) after one epoch
    held_out = digits_split(32, 1).held_out
    accuracy = float((classify(model, held_out.images).probs.argmax(1) == held_out.labels).double().mean())
    assert accuracy == pytest.approx(reported, abs=5e-5) and 0.3 < accuracy <= 1.0
    with safe_open(str(out), "pt") as f:
        meta = f.metadata()
    assert meta["command"] == f"python -m dcgan_studio train-classifier --out {out} --epochs 1 --seed 0"
    assert json.loads(meta["train"])["epochs"] == 1


def test_sample_truncation_and_save_z(generator_file, tmp_path):
    z_files = {}
    for name, extra in (("plain", []), ("truncated", ["--truncation", "0.5"])):
        z_files[name] = tmp_path / f"{name}.safetensors"
        argv = ["sample", "--checkpoint", str(generator_file), "--out", str(tmp_path / f"{name}.png")]
        assert main([*argv, "--n", "12", "--seed", "3", "--save-z", str(z_files[name]), *extra]) == 0
        assert Image.open(tmp_path / f"{name}.png").size == (4 * (SIDE + PAD) + PAD, 3 * (SIDE + PAD) + PAD)
    z = {}
    for name, path in z_files.items():
        with safe_open(str(path), "pt") as f:
            z[name] = f.get_tensor("z")
            assert f.metadata() == {"seed": "3"}
    assert z["plain"].shape == z["truncated"].shape == (12, TINY["nz"])  # --n vectors of the model's nz
    assert z["plain"].abs().max() > 0.5  # 192 normal draws: many lie beyond 0.5...
    assert z["truncated"].abs().max() <= 0.5  # ...and none once truncated at 0.5
    # the truncation redraws only what lies beyond it: the rest is seed 3's draw unchanged
    inside = z["plain"].abs() <= 0.5
    assert torch.equal(z["truncated"][inside], z["plain"][inside])


def test_interpolate_mode_linear_and_slerp_share_their_ends_not_their_middle(generator_file, tmp_path):
    walk = ["interpolate", "--checkpoint", str(generator_file), "--steps", "5", "--seed-a", "0", "--seed-b", "1"]
    for mode in ("linear", "slerp"):
        assert main([*walk, "--mode", mode, "--out", str(tmp_path / f"{mode}.png")]) == 0
    assert main([*walk, "--out", str(tmp_path / "default.png")]) == 0
    assert (tmp_path / "default.png").read_bytes() == (tmp_path / "slerp.png").read_bytes()  # slerp is the default
    linear, slerp = frames(tmp_path / "linear.png", 5), frames(tmp_path / "slerp.png", 5)
    # both walks start at seed 0's image and end at seed 1's: what `sample --n 1` draws for those seeds
    for i, seed in ((0, 0), (4, 1)):
        one = tmp_path / f"seed{seed}.png"
        assert (
            main(["sample", "--checkpoint", str(generator_file), "--out", str(one), "--n", "1", "--seed", str(seed)])
            == 0
        )
        alone = np.asarray(Image.open(one).convert("L"), dtype=np.int16)
        assert alone.shape == (SIDE, SIDE)  # one image is written as it is, with no grid padding
        for walked in (linear[i], slerp[i]):
            assert np.abs(walked - alone).max() <= 1, f"frame {i} is not seed {seed}'s image"
    assert np.abs(linear[0] - linear[4]).mean() > 10  # the two ends are different pictures
    # in between the paths differ: a straight line through the ball vs the arc along its shell
    for i in (1, 2, 3):
        assert np.abs(linear[i] - slerp[i]).mean() > 1, f"frame {i}: linear and slerp draw the same image"


def test_train_lr_g_gives_g_its_own_learning_rate(tmp_path):
    from dcgan_studio.checkpoint import load_training_state

    run = tmp_path / "run"
    argv = ["train", *TINY_FLAGS, "--batch-size", "64", "--max-steps", "1", "--log-every", "1", "--out", str(run)]
    assert main([*argv, "--lr", "2e-4", "--lr-g", "1e-3"]) == 0
    train = json.loads((run / "config.json").read_text())["train"]
    assert (train["lr"], train["lr_g"], train["lr_d"]) == (2e-4, 1e-3, None)
    state = load_training_state(run / "checkpoints" / "step_0000001.safetensors")
    assert [g["lr"] for g in state.optim_g["param_groups"]] == [1e-3]  # G's Adam ran at --lr-g
    assert [g["lr"] for g in state.optim_d["param_groups"]] == [2e-4]  # D's kept --lr
