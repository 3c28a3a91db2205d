"""Quality per minute (issue 12): DiffAugment, the moving average of G, lr decay; their configs, flags and form
fields, checkpoints and exact resume."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest
import torch
from support import TINY, TINY_FLAGS, cli

from dcgan_studio import augment
from dcgan_studio import checkpoint as ckpt
from dcgan_studio.app import train_form, train_tab
from dcgan_studio.config import AugmentConfig, ConfigError, EmaConfig, ModelConfig, TrainConfig
from dcgan_studio.ema import EmaGenerator, decay_at, recompute_batch_norm
from dcgan_studio.models import Generator
from dcgan_studio.schedule import lr_factor

LEGACY = Path(__file__).parent / "data" / "legacy_extra_checkpoint.safetensors"


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ----------------------------------------------------------------------------------------------- augmentation
@pytest.mark.parametrize(
    "fn", [augment.translation, augment.cutout, augment.brightness, augment.saturation, augment.contrast]
)
def test_each_augmentation_keeps_the_shape_and_passes_gradients_to_its_input(fn):
    x = torch.randn(6, 3, 32, 32, requires_grad=True)
    y = fn(x, 1.0, _gen())
    assert y.shape == x.shape
    (y * torch.randn_like(y)).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_translation_moves_content_by_the_given_pixels_and_shifts_in_zeros():
    x = torch.zeros(2, 1, 8, 8)
    x[:, 0, 3, 4] = 1.0
    y = augment.translate_by(x, torch.tensor([2, -1]), torch.tensor([-3, 1]), pad=(3, 3))
    assert y[0, 0, 5, 1] == 1.0 and y[0].sum() == 1.0  # 2 down, 3 left
    assert y[1, 0, 2, 5] == 1.0 and y[1].sum() == 1.0  # 1 up, 1 right
    ones = augment.translate_by(torch.ones(1, 1, 8, 8), torch.tensor([2]), torch.tensor([0]), pad=(2, 0))
    assert torch.equal(ones[0, 0, :2], torch.zeros(2, 8)) and torch.equal(ones[0, 0, 2:], torch.ones(6, 8))


def test_random_translation_stays_within_an_eighth_of_the_side():
    x = torch.zeros(64, 1, 32, 32)
    x[:, 0, 16, 16] = 1.0
    y = augment.translation(x, 1.0, _gen(3))
    rows, cols = (y[:, 0] == 1).nonzero()[:, 1], (y[:, 0] == 1).nonzero()[:, 2]
    assert len(rows) == 64  # the pixel never leaves the image at a shift of at most 4
    assert (rows - 16).abs().max() == 4 and (cols - 16).abs().max() == 4  # 1/8 of 32, reached in 64 draws
    assert len({(int(r), int(c)) for r, c in zip(rows, cols, strict=True)}) > 20


def test_cutout_zeroes_a_square_of_half_the_side():
    x = torch.ones(32, 1, 32, 32)
    y = augment.cutout(x, 1.0, _gen(1))
    for img in y[:, 0]:
        zero = (img == 0).nonzero()
        h = zero[:, 0].max() - zero[:, 0].min() + 1
        w = zero[:, 1].max() - zero[:, 1].min() + 1
        assert len(zero) == h * w and h <= 16 and w <= 16  # one rectangle, clipped at the border
    inside = [int((img == 0).sum()) for img in y[:, 0]]
    assert max(inside) == 16 * 16  # the full square when it lies inside the image
    square = augment.cutout_mask(1, 8, 8, torch.tensor([2]), torch.tensor([3]), (4, 4))[0, 0]
    assert square.sum() == 64 - 16 and not square[2:6, 3:7].any()


def test_the_probability_leaves_the_other_images_untouched():
    x = torch.randn(200, 1, 16, 16)
    y = augment.cutout(x, 0.25, _gen(2))
    changed = (y != x).flatten(1).any(1).float().mean()
    assert 0.15 < changed < 0.35


def test_same_generator_state_same_output_and_colour_only_for_rgb():
    policy = AugmentConfig("translation,cutout,color").policy
    assert policy == ("color", "translation", "cutout")
    x = torch.randn(4, 3, 32, 32)
    assert torch.equal(augment.diff_augment(x, policy, 0.7, _gen(5)), augment.diff_augment(x, policy, 0.7, _gen(5)))
    assert not torch.equal(augment.diff_augment(x, policy, 1.0, _gen(5)), augment.diff_augment(x, policy, 1, _gen(6)))
    gray = torch.randn(4, 1, 32, 32)
    only_colour = augment.diff_augment(gray, ("color",), 1.0, _gen(0))
    assert torch.equal(only_colour, gray)


def test_augment_config_checks_its_values():
    assert AugmentConfig(" Cutout , translation ").diffaugment == "translation,cutout"
    for bad in (dict(diffaugment="flip"), dict(augment_p=0), dict(augment_p=1.5)):
        with pytest.raises(ConfigError):
            AugmentConfig(**bad)


# -------------------------------------------------------------------------------------------------------- EMA
def test_one_ema_step_is_the_decayed_average():
    torch.manual_seed(0)
    live = Generator(ModelConfig(**TINY))
    ema = EmaGenerator(live, decay=0.9)
    before = {k: v.clone() for k, v in ema.module.named_parameters()}
    with torch.no_grad():
        for p in live.parameters():
            p.add_(1.0)
    ema.update(live, updates=1000)  # past the warm-up: the decay itself
    for name, p in ema.module.named_parameters():
        expected = 0.9 * before[name] + 0.1 * dict(live.named_parameters())[name]
        assert torch.allclose(p, expected, atol=1e-6), name
    assert decay_at(0.999, 0) == pytest.approx(0.1) and decay_at(0.999, 10_000) == 0.999
    assert decay_at(0.999, 90) == pytest.approx(91 / 100)
    with pytest.raises(ConfigError):
        EmaConfig(ema_decay=0.3)


def test_batch_norm_recompute_replaces_the_running_statistics():
    torch.manual_seed(0)
    g = Generator(ModelConfig(**TINY))
    bn = next(m for m in g.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert torch.equal(bn.running_mean, torch.zeros_like(bn.running_mean))
    batches = [torch.randn(32, 16, 1, 1, generator=_gen(i)) for i in range(3)]
    recompute_batch_norm(g, batches)
    assert not g.training and bn.momentum == 0.1
    # the exact mean of the three batches' statistics of the first layer's output
    with torch.no_grad():
        first = torch.stack([g.main[0](z).mean(dim=(0, 2, 3)) for z in batches]).mean(0)
    assert torch.allclose(bn.running_mean, first, atol=1e-5)


# ------------------------------------------------------------------------------------------------- lr decay
def test_lr_decay_schedule_values():
    assert lr_factor("none", 50, 100) == 1.0
    assert [lr_factor("linear", s, 100) for s in (0, 25, 50, 99)] == pytest.approx([1.0, 0.75, 0.5, 0.01])
    assert lr_factor("cosine", 50, 100) == pytest.approx(0.5)
    assert lr_factor("cosine", 25, 100) == pytest.approx(0.5 * (1 + math.cos(math.pi / 4)))
    assert lr_factor("linear", 50, 100, floor=0.2) == pytest.approx(0.6)
    assert lr_factor("cosine", 99, 100) > 0  # a checkpoint's rate stays in (0, 1)
    # a late start holds the rates, then falls over what is left of the run to the same end
    assert [lr_factor("linear", s, 100, start=0.5) for s in (0, 49, 50, 75, 99)] == pytest.approx(
        [1.0, 1.0, 1.0, 0.5, 0.02]
    )
    assert lr_factor("cosine", 80, 100, floor=0.2, start=0.6) == pytest.approx(0.6)
    with pytest.raises(ConfigError):
        TrainConfig(lr_decay="step")


def test_lr_decay_sets_both_rates_each_step(tmp_path):
    from dcgan_studio.data import load_digits
    from dcgan_studio.train import Trainer

    cfg = TrainConfig(batch_size=64, epochs=1, max_steps=5, device="cpu", n_fixed=4, lr=1e-3, lr_d=2e-3)
    cfg.lr_decay = "linear"
    trainer = Trainer(ModelConfig(**TINY), cfg, run_dir=tmp_path, dataset=load_digits(32, 1)).run()
    g, d = trainer.loop.models.opt_g.param_groups[0], trainer.loop.models.opt_d.param_groups[0]
    # the curve spans the epochs (1,797 // 64 = 28 steps); max_steps only ends the run early
    assert trainer.loop.step == 5 and trainer.loop.data.batches == 28
    assert g["lr"] == pytest.approx(1e-3 * (1 - 4 / 28)) and d["lr"] == pytest.approx(2e-3 * (1 - 4 / 28))
    assert g["initial_lr"] == 1e-3 and d["initial_lr"] == 2e-3


def test_a_late_decay_start_holds_the_rates_until_it(tmp_path):
    from dcgan_studio.data import load_digits
    from dcgan_studio.train import Trainer

    cfg = TrainConfig(batch_size=64, epochs=1, max_steps=5, device="cpu", n_fixed=4, lr=1e-3, lr_decay="linear")
    cfg.lr_decay_start = 0.1  # 2.8 of the 28 steps: the rate of step 4 is 1 - (4/28 - 0.1) / 0.9 of the start
    trainer = Trainer(ModelConfig(**TINY), cfg, run_dir=tmp_path, dataset=load_digits(32, 1)).run()
    rate = trainer.loop.models.opt_g.param_groups[0]["lr"]
    assert rate == pytest.approx(1e-3 * (1 - (4 / 28 - 0.1) / 0.9)) and rate > 1e-3 * (1 - 4 / 28)


# ------------------------------------------------------------------------------- flags, form, old checkpoints
def test_cli_flags_reach_the_typed_config(tmp_path):
    r = cli(
        "train", *TINY_FLAGS, "--batch-size", "64", "--max-steps",
        "2", "--diffaugment", "cutout,translation", "--augment-p", "0.5", "--ema", "0.99", "--lr-decay", "cosine",
        "--lr-floor", "0.1", "--lr-decay-start", "0.25", "--out", str(tmp_path),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    state = ckpt.load_training_state(tmp_path / "checkpoints" / "step_0000002.safetensors")
    cfg = state.train_config
    assert cfg.augment == AugmentConfig("translation,cutout", 0.5) and cfg.ema == EmaConfig(0.99)
    assert (cfg.lr_decay, cfg.lr_floor, cfg.lr_decay_start) == ("cosine", 0.1, pytest.approx(0.25))
    assert state.ema is not None and set(state.ema) == set(state.generator)
    bad = cli("train", "--diffaugment", "flip", "--out", str(tmp_path / "bad"))
    assert bad.returncode == 2 and "unknown transform 'flip'" in bad.stderr and "Traceback" not in bad.stderr


def test_studio_fields_reach_the_typed_config(studio):
    from test_app_handlers import FORM

    _, train = train_tab.build_configs(studio, *FORM.values())  # by position: the rest take the quick preset's
    assert (train.augment, train.ema, train.lr_decay) == (AugmentConfig("translation,cutout"), EmaConfig(), "none")
    extra = dict(
        diffaugment="translation,cutout", augment_p=0.6, ema=0.995, lr_decay="linear", lr_floor=0.05, lr_decay_start=0.7
    )
    _, train = train_tab.build_configs(studio, **(FORM | extra))
    assert train.augment == AugmentConfig("translation,cutout", 0.6) and train.ema.ema_decay == 0.995
    assert (train.lr_decay, train.lr_floor, train.lr_decay_start) == ("linear", 0.05, pytest.approx(0.7))
    shown = train_form.shown_values(ModelConfig(**TINY), train)
    assert {k: shown[k] for k in extra} == extra
    for bad in (dict(diffaugment="flip"), dict(ema=0.2), dict(ema=1.0), dict(lr_decay="step"), dict(augment_p=0)):
        with pytest.raises(ValueError):
            train_tab.build_configs(studio, **(FORM | bad))


def test_an_old_checkpoint_loads_with_the_options_off_and_resumes_with_ema(tmp_path):
    state = ckpt.load_training_state(LEGACY)
    cfg = state.train_config
    assert (cfg.augment, cfg.ema, cfg.lr_decay, state.ema) == (AugmentConfig(), EmaConfig(), "none", None)
    start = tmp_path / "run" / "checkpoints" / LEGACY.name
    start.parent.mkdir(parents=True)
    shutil.copy(LEGACY, start)
    r = cli("train", "--resume", str(start), "--out", str(tmp_path / "run"), "--max-steps", "3", "--ema", "0.9")
    assert r.returncode == 0, r.stderr
    resumed = ckpt.load_training_state(tmp_path / "run" / "checkpoints" / "step_0000003.safetensors")
    assert resumed.train_config.ema.ema_decay == 0.9 and resumed.ema is not None


# ------------------------------------------------------------------------------------ checkpoints and resume
def test_exports_and_grids_use_the_average(tmp_path):
    from dcgan_studio.data import load_digits
    from dcgan_studio.train import Trainer

    cfg = TrainConfig(batch_size=64, max_steps=4, device="cpu", n_fixed=4, ema=EmaConfig(0.9))
    trainer = Trainer(ModelConfig(**TINY), cfg, run_dir=tmp_path, dataset=load_digits(32, 1)).run()
    last = Path(trainer.snapshot()["latest_checkpoint"])
    state = ckpt.load_training_state(last)
    exported = ckpt.load_generator(tmp_path / "generator.safetensors").state_dict()
    from_checkpoint = ckpt.load_generator(last).state_dict()
    for name, value in exported.items():
        assert torch.equal(value, state.ema[name]) and torch.equal(from_checkpoint[name], value), name
    weight = "main.0.weight"
    assert not torch.equal(state.ema[weight], state.generator[weight])  # the average, not the live G
    bn_mean = "main.1.running_mean"
    assert not torch.equal(state.ema[bn_mean], state.generator[bn_mean])  # its statistics recomputed


def test_resume_with_ema_augmentation_and_decay_is_bitwise_exact(tmp_path):
    args = [*TINY_FLAGS, "--log-every", "1", "--batch-size", "64"]
    args += ["--epochs", "5", "--diffaugment", "translation,cutout", "--augment-p", "0.8", "--ema", "0.99"]
    args += ["--lr-decay", "cosine"]
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert cli("train", *args, "--max-steps", "6", "--out", str(straight)).returncode == 0
    assert cli("train", *args, "--max-steps", "3", "--out", str(split)).returncode == 0
    half = split / "checkpoints" / "step_0000003.safetensors"
    r = cli("train", "--resume", str(half), "--max-steps", "6", "--out", str(split))
    assert r.returncode == 0, r.stderr
    a = ckpt.load_training_state(straight / "checkpoints" / "step_0000006.safetensors")
    b = ckpt.load_training_state(split / "checkpoints" / "step_0000006.safetensors")
    for part in ("generator", "discriminator", "ema"):
        for name, value in getattr(a, part).items():
            assert torch.equal(value, getattr(b, part)[name]), (part, name)
    assert a.optim_g["param_groups"] == b.optim_g["param_groups"]
    assert a.optim_d["param_groups"][0]["lr"] == pytest.approx(2e-4 * lr_factor("cosine", 5, 5 * 28))  # decayed
