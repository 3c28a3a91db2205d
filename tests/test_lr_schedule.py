"""The learning rate through ``torch.optim.lr_scheduler``: its state in checkpoints, resume and rollback."""

from pathlib import Path

import pytest
import torch

from dcgan_studio.checkpoint import load_training_state

DATA = Path(__file__).parent / "data"
LEGACY = DATA / "legacy_lr_checkpoint.safetensors"  # step 2 of 4, written before the scheduler (README.md)
LEGACY_END = DATA / "legacy_lr_checkpoint_step4.safetensors"  # the same run's step 4, trained straight


def _assert_same_training(a, b, atol: float = 0.0):
    """Equal states (``atol`` 0: bit for bit, for two runs of this process; else within ``atol``)."""
    same = torch.equal if atol == 0 else (lambda x, y: torch.allclose(x.double(), y.double(), rtol=0, atol=atol))
    assert a.step == b.step
    for name in a.generator:
        assert same(a.generator[name], b.generator[name]), name
    for name in a.discriminator:
        assert same(a.discriminator[name], b.discriminator[name]), name
    for opt_a, opt_b in ((a.optim_g, b.optim_g), (a.optim_d, b.optim_d)):
        for idx, st in opt_a["state"].items():
            for key, value in st.items():
                if atol == 0 or key == "step":  # Adam's moments amplify last-bit differences: weights judge them
                    assert same(value, opt_b["state"][idx][key]), (idx, key)


def _distance(a, b) -> float:
    """The largest weight difference between two states (batch-norm counters left out)."""
    pairs = [(a.generator, b.generator), (a.discriminator, b.discriminator)]
    return max(
        (x[k].double() - y[k].double()).abs().max().item() for x, y in pairs for k in x if "num_batches" not in k
    )


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
    # the files were written with another thread count (or CPU): float sums differ in their last bits and Adam's
    # first steps magnify them, so the weights match the straight run within one Adam step (3e-4), not bit for bit,
    # and the resumed run must land far closer to the straight run's step 4 than its own start (step 2) was
    end = load_training_state(LEGACY_END)
    _assert_same_training(resumed, end, atol=3e-4)
    assert _distance(resumed, end) < 0.25 * _distance(legacy, end)
    # the rate of the last step taken (step index 3 of 2 x 28), decaying linearly to 0.1 x the starting rates
    factor = 0.1 + 0.9 * (1 - 3 / 56)
    assert resumed.optim_g["param_groups"][0]["lr"] == pytest.approx(3e-4 * factor, rel=1e-9)
    assert resumed.optim_d["param_groups"][0]["lr"] == pytest.approx(1e-4 * factor, rel=1e-9)


def _trainer(tmp_path, **overrides):
    from support import TINY

    from dcgan_studio.config import ModelConfig, TrainConfig
    from dcgan_studio.data import load_digits
    from dcgan_studio.train import Trainer

    cfg = dict(batch_size=64, epochs=1, max_steps=6, device="cpu", n_fixed=4, lr=1e-3, lr_decay="cosine")
    cfg.update(overrides.pop("cfg", {}))
    return Trainer(ModelConfig(**TINY), TrainConfig(**cfg), run_dir=tmp_path, dataset=load_digits(32, 1), **overrides)


def test_the_schedule_state_is_saved_and_a_resume_continues_it_bit_for_bit(tmp_path):
    straight = _trainer(tmp_path / "straight").run()
    _trainer(tmp_path / "split", cfg=dict(max_steps=3)).run()
    half = load_training_state(tmp_path / "split" / "checkpoints" / "step_0000003.safetensors")
    assert half.lr_schedule == {"step": 2, "base_lrs": {"G": [1e-3], "D": [1e-3]}}  # set for the last step taken
    resumed = _trainer(tmp_path / "split", resume_from=tmp_path / "split/checkpoints/step_0000003.safetensors").run()
    _assert_same_training(resumed.training_state(), straight.training_state())
    from dcgan_studio.schedule import lr_factor

    assert resumed.loop.models.lr.rates("G") == [pytest.approx(1e-3 * lr_factor("cosine", 5, 28))]


def test_a_rollback_lowers_the_starting_rates_and_the_decay_goes_on_from_them(tmp_path):
    from dcgan_studio.config import StabilityConfig
    from dcgan_studio.schedule import lr_factor

    trainer = _trainer(tmp_path, cfg=dict(stability=StabilityConfig(nan_policy="rollback", nan_lr_factor=0.5)))
    trainer.loop.setup()
    trainer.loop.rollback.remember(trainer.loop.training_state())
    for _ in range(2):  # two rollbacks from step 0: the factors multiply
        assert trainer.loop.roll_back(RuntimeError("the losses became NaN/inf"))
    assert trainer.loop.models.lr.base_rates() == {"G": [pytest.approx(2.5e-4)], "D": [pytest.approx(2.5e-4)]}
    trainer.loop.train()
    assert trainer.loop.step == 6
    assert trainer.loop.models.lr.rates("D") == [pytest.approx(2.5e-4 * lr_factor("cosine", 5, 28))]


def test_a_damaged_schedule_state_is_refused(tmp_path):
    import json

    from safetensors.torch import load_file, save_file

    from dcgan_studio.checkpoint import CheckpointError, read_info

    metadata = dict(read_info(LEGACY).metadata)
    for bad in ({"step": 2}, {"step": -1, "base_lrs": {"G": [1e-3], "D": [1e-3]}}, {"step": 2, "base_lrs": {"G": [2]}}):
        path = tmp_path / "bad.safetensors"
        save_file(load_file(LEGACY), path, metadata={**metadata, "lr_schedule": json.dumps(bad)})
        with pytest.raises(CheckpointError, match="learning-rate schedule is invalid"):
            load_training_state(path)
