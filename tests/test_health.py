"""Training health: warnings fire on synthetic rows and grids, and on a real run whose G cannot learn."""

from __future__ import annotations

import pytest
import torch

from dcgan_studio.config import StabilityConfig
from dcgan_studio.health import HealthMonitor, grid_diversity


def _rows(n, start=0, **values):
    base = dict(loss_d=1.2, loss_g=0.9, d_x=0.6, d_g_z1=0.4, d_g_z2=0.4)
    base.update(values)
    return [dict(step=start + i, epoch=0, **base) for i in range(n)]


def test_d_winning_fires_once_after_patience_with_remedy():
    m = HealthMonitor(patience=50)
    assert m.observe_rows(_rows(100)) == []  # a healthy run
    winning = dict(loss_d=0.0001, loss_g=12.0, d_x=0.9999, d_g_z1=0.0001, d_g_z2=0.0001)  # the seed report's lost run
    assert m.observe_rows(_rows(49, 100, **winning)) == []
    msgs = m.observe_rows(_rows(30, 149, **winning))
    assert len(msgs) == 1
    assert (
        "D is winning" in msgs[0]
        and "--label-smoothing" in msgs[0]
        and "--instance-noise" in msgs[0]
        and "--lr-d" in msgs[0]
    )
    assert m.observe_rows(_rows(100, 179, **winning)) == []  # once per episode
    m.observe_rows(_rows(5, 279))  # recovers ...
    assert len(m.observe_rows(_rows(60, 284, **winning))) == 1  # ... and a new episode warns again


def test_the_studio_reads_the_same_advice_in_its_field_labels():
    """The advice names options through their metadata: flags for the CLI, the Train form's labels for the Studio."""
    from dcgan_studio.option_names import find

    winning = dict(loss_d=0.0001, loss_g=12.0, d_x=0.9999, d_g_z1=0.0001, d_g_z2=0.0001)
    cli, studio = (HealthMonitor(patience=5, face=face).observe_rows(_rows(5, **winning)) for face in ("cli", "studio"))
    assert len(cli) == len(studio) == 1 and "--label-smoothing 0.1" in cli[0]
    assert "--" not in studio[0]
    for path in ("stability.label_smoothing", "stability.instance_noise", "lr_d"):
        assert f"“{find(path)[1].widget.label}”" in studio[0], path
    nan = dict(loss_d=float("nan"))
    rollback = HealthMonitor.for_options(StabilityConfig(nan_policy="rollback"), face="studio").observe_rows(
        _rows(1, **nan)
    )
    assert "rolls back" in rollback[0] and "“Learning rate”" in rollback[0]


def test_label_smoothing_raises_the_loss_floor():
    # with s = 0.1, Loss_D cannot go below H(0.9) ~ 0.325: a D at that floor is winning
    m = HealthMonitor.for_options(StabilityConfig(label_smoothing=0.1))
    m.patience = 10
    assert m.observe_rows(_rows(20, loss_d=0.33, d_g_z2=0.001, d_g_z1=0.001))
    assert HealthMonitor(patience=10).observe_rows(_rows(20, loss_d=0.33, d_g_z2=0.001)) == []


def test_nan_warning_and_collapse_warning():
    m = HealthMonitor()
    msgs = m.observe_rows(_rows(3) + _rows(1, 3, loss_d=float("nan")))
    assert len(msgs) == 1 and "NaN/inf at step 3" in msgs[0] and "--lr" in msgs[0]

    g = torch.Generator().manual_seed(0)
    varied = torch.randint(0, 256, (16, 1, 8, 8), generator=g, dtype=torch.uint8)
    assert m.observe_grid(varied, 0) == [] and m.observe_grid(varied, 10) == []
    one_image = varied[:1].expand(16, -1, -1, -1)
    # 0 up to float error (cdist's matmul path can leave ~1e-8 on some CPUs); distinct 8x8 uint8 images are at least
    # 1/255/8 = 4.9e-4 apart, and the collapse check itself uses a floor of 1e-3
    assert grid_diversity(one_image) == pytest.approx(0.0, abs=1e-6)
    msgs = m.observe_grid(one_image, 20)
    assert len(msgs) == 1 and "mode collapse" in msgs[0] and "--instance-noise" in msgs[0]
    assert m.observe_grid(one_image, 30) == []  # not repeated while it lasts


def test_trainer_warns_when_g_cannot_learn(tiny_model_config):
    """A crippled G (learning rate 1e-8) against a fast D: D wins and the trainer says so, with the remedy."""
    from dcgan_studio.config import TrainConfig
    from dcgan_studio.data import load_digits
    from dcgan_studio.train import Trainer

    cfg = TrainConfig(
        batch_size=32, epochs=50, max_steps=60, log_every=10, device="cpu", n_fixed=8, lr_g=1e-8, lr_d=2e-3
    )
    trainer = Trainer(tiny_model_config, cfg, dataset=load_digits(32, 1))
    trainer.loop.health.patience = 25
    events = []
    trainer.subscribe(lambda e: events.append(e) if e.kind == "warning" else None)
    trainer.run()
    snap = trainer.snapshot()
    assert any("D is winning" in w and "--label-smoothing 0.1" in w for w in snap["warnings"]), snap["history"][-1]
    assert any("D is winning" in e.data["message"] for e in events)


def test_train_cli_flags_reach_the_config():
    from dcgan_studio.cli import build_parser, configs_from_args

    args = build_parser().parse_args(
        ["train", "--label-smoothing", "0.1", "--instance-noise", "0.05", "--lr-d", "1e-4"]
    )
    _, train = configs_from_args(args)
    assert train.stability.label_smoothing == 0.1 and train.stability.instance_noise == 0.05 and train.d_lr == 1e-4
    _, plain = configs_from_args(build_parser().parse_args(["train"]))
    assert plain.stability.label_smoothing == 0.0
