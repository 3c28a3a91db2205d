"""The fast step: its losses track the textbook loop's, and its speed options keep exact resume on the CPU."""

from __future__ import annotations

import importlib.util

import pytest
import torch
from support import ROOT, TINY

from dcgan_studio.config import ModelConfig, SpeedConfig, TrainConfig
from dcgan_studio.step import speed_options
from dcgan_studio.train import Trainer


def _bench():
    spec = importlib.util.spec_from_file_location("bench_train_step", ROOT / "bench" / "train_step.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("variant", ["ours", "ours-nchw-foreach-nofreeze"])
def test_fast_step_losses_track_the_plain_loop(variant):
    """Same init weights, same batches, same noise: the fast step (logits + BCEWithLogits, channels_last, fused
    Adam, D frozen in the G step) and pytorch/examples' loop (Sigmoid + BCELoss, .item() per metric) agree."""
    bench = _bench()
    cpu = torch.device("cpu")
    case = {"model": ModelConfig(**{**TINY, "ngf": 16, "ndf": 16}), "batch": 64}
    result = bench.tracking(case, cpu, steps=12, opts=bench.variant_options(variant, cpu))
    assert result["steps"] == 12
    drift = result["max_abs_diff"]
    # float32 rounding differs (sigmoid+log vs log-sum-exp) and Adam amplifies it a little in its first steps
    assert drift["loss_d"] < 2e-2 and drift["loss_g"] < 2e-2, drift
    assert drift["d_x"] < 1e-2 and drift["d_g_z1"] < 1e-2 and drift["d_g_z2"] < 1e-2, drift


def test_speed_defaults_and_overrides(monkeypatch):
    from dcgan_studio import step

    cpu, cuda, mps = torch.device("cpu"), torch.device("cuda"), torch.device("mps")
    # the defaults, written out: channels_last, fused Adam and no compile on the CPU; "auto" mixed precision is bf16
    # only where the CPU computes it natively
    for native_bf16, amp in ((True, "bf16"), (False, "off")):
        monkeypatch.setattr(step, "cpu_has_native_bf16", lambda native_bf16=native_bf16: native_bf16)
        assert speed_options(SpeedConfig(), cpu) == {
            "channels_last": True,
            "amp": amp,
            "fused_adam": True,
            "compile": False,
        }
    assert speed_options(SpeedConfig(), cuda) == {
        "channels_last": True,
        "amp": "bf16",
        "fused_adam": True,
        "compile": False,
    }
    assert speed_options(SpeedConfig(), mps) == {
        "channels_last": False,
        "amp": "off",
        "fused_adam": False,
        "compile": False,
    }
    # an option that is set wins over the default; the others keep theirs
    assert speed_options(SpeedConfig(amp="off"), cpu)["amp"] == "off"
    assert speed_options(SpeedConfig(amp="off"), cuda) == {
        "channels_last": True,
        "amp": "off",
        "fused_adam": True,
        "compile": False,
    }
    assert speed_options(SpeedConfig(channels_last=False, amp="BF16"), cpu) == {
        "channels_last": False,
        "amp": "bf16",
        "fused_adam": True,
        "compile": False,
    }
    assert speed_options({"amp": "off"}, cpu)["amp"] == "off"  # a plain dict of the same options (bench/)
    with pytest.raises(ValueError, match=r"^speed\.amp must be one of \('off', 'bf16', 'auto'\) .*, got 'fp8'$"):
        speed_options(SpeedConfig(amp="fp8"), cpu)


def _train(tmp_path, name, speed, steps, resume=None):
    cfg = TrainConfig(
        batch_size=64, epochs=3, max_steps=steps, log_every=1, device="cpu", n_fixed=4, speed=SpeedConfig(**speed)
    )
    t = Trainer(ModelConfig(**TINY), cfg, run_dir=tmp_path / name, resume_from=resume)
    t.run()
    return t


@pytest.mark.parametrize(
    "speed",
    [
        {},  # the CPU defaults: channels_last + fused Adam + D frozen in the G step
        {"channels_last": False, "fused_adam": False},
        {"channels_last": True, "fused_adam": False},
        {"amp": "bf16"},  # opt-in on the CPU (--amp bf16): 1.9x on an AVX-512-bf16 CPU, still deterministic
    ],
    ids=["defaults", "nchw-foreach", "cl-foreach", "bf16"],
)
def test_speed_options_keep_exact_resume(tmp_path, speed):
    straight = _train(tmp_path, "straight", speed, 6)
    half = _train(tmp_path, "split", speed, 3)
    resumed = _train(tmp_path, "split", speed, 6, resume=half.snapshot()["latest_checkpoint"])
    assert straight.loop.step == resumed.loop.step == 6
    for a, b in ((straight.loop.models.G, resumed.loop.models.G), (straight.loop.models.D, resumed.loop.models.D)):
        for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
            assert torch.equal(x, y), name
    for oa, ob in (
        (straight.loop.models.opt_g, resumed.loop.models.opt_g),
        (straight.loop.models.opt_d, resumed.loop.models.opt_d),
    ):
        for pa, pb in zip(oa.state.values(), ob.state.values(), strict=True):
            for key in pa:
                assert torch.equal(pa[key], pb[key]), key


def test_freezing_d_in_the_g_step_changes_nothing_but_speed():
    """D's weight gradients of the G step are never applied, so not computing them gives the same weights."""
    import copy

    from dcgan_studio.data import iterate_batches, load_digits
    from dcgan_studio.models import build_models
    from dcgan_studio.step import GANStep, make_adam

    cfg = ModelConfig(**TINY)
    torch.manual_seed(0)
    G0, D0 = build_models(cfg)
    images = load_digits(cfg.image_size, cfg.channels).images
    results = []
    for freeze in (True, False):
        G, D = copy.deepcopy(G0), copy.deepcopy(D0)
        opt_g, opt_d = (
            make_adam(G.parameters(), 2e-4, (0.5, 0.999), True),
            make_adam(D.parameters(), 2e-4, (0.5, 0.999), True),
        )
        step = GANStep(G, D, opt_g, opt_d, cfg.nz, torch.Generator().manual_seed(3), freeze_d_in_g_step=freeze)
        metrics = [step(real) for _, real in zip(range(3), iterate_batches(images, 64, 0, 0), strict=False)]
        results.append((G, D, torch.stack(metrics)))
        assert all(p.requires_grad for p in D.parameters())  # unfrozen again after the step
    (g1, d1, m1), (g2, d2, m2) = results
    torch.testing.assert_close(m1, m2, rtol=0, atol=1e-6)
    for a, b in ((g1, g2), (d1, d2)):
        for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
            torch.testing.assert_close(x, y, rtol=0, atol=1e-6, msg=name)
