"""The learning rate through ``torch.optim.lr_scheduler``: its state in checkpoints, resume and rollback."""

from pathlib import Path

import pytest
import torch

from dcgan_studio.checkpoint import load_training_state

DATA = Path(__file__).parent / "data"
LEGACY = DATA / "legacy_lr_checkpoint.safetensors"  # step 2 of 4, written before the scheduler (README.md)
LEGACY_END = DATA / "legacy_lr_checkpoint_step4.safetensors"  # the same run's step 4, trained straight


def _assert_same_training(a, b):
    assert a.step == b.step
    for name in a.generator:
        assert torch.equal(a.generator[name], b.generator[name]), name
    for name in a.discriminator:
        assert torch.equal(a.discriminator[name], b.discriminator[name]), name
    for opt_a, opt_b in ((a.optim_g, b.optim_g), (a.optim_d, b.optim_d)):
        for idx, st in opt_a["state"].items():
            for key, value in st.items():
                assert torch.equal(value, opt_b["state"][idx][key]), (idx, key)


def test_a_checkpoint_from_before_the_scheduler_resumes_on_the_same_curve(tmp_path):
    from dcgan_studio.data import load_digits
    from dcgan_studio.train import Trainer

    legacy = load_training_state(LEGACY)
    assert legacy.step == 2 and legacy.train_config.lr_decay == "linear"
    trainer = Trainer(
        legacy.model_config, legacy.train_config, run_dir=tmp_path, resume_from=LEGACY, dataset=load_digits(32, 1)
    ).run()
    assert trainer.loop.step == 4
    resumed = load_training_state(tmp_path / "checkpoints" / "step_0000004.safetensors")
    _assert_same_training(resumed, load_training_state(LEGACY_END))
    # the rate of the last step taken (step index 3 of 2 x 28), decaying linearly to 0.1 x the starting rates
    factor = 0.1 + 0.9 * (1 - 3 / 56)
    assert resumed.optim_g["param_groups"][0]["lr"] == pytest.approx(3e-4 * factor, rel=1e-9)
    assert resumed.optim_d["param_groups"][0]["lr"] == pytest.approx(1e-4 * factor, rel=1e-9)
