"""The typed training configuration: nested parts validated once, JSON in and out, and files from before it."""

from __future__ import annotations

import shutil
from dataclasses import fields
from pathlib import Path

import pytest
from support import cli

from dcgan_studio import checkpoint as ckpt
from dcgan_studio.config import ConfigError, SpeedConfig, StabilityConfig, TrainConfig
from dcgan_studio.train import Trainer

LEGACY = Path(__file__).parent / "data" / "legacy_extra_checkpoint.safetensors"  # see tests/data/README.md
LEGACY_STABILITY = StabilityConfig(
    label_smoothing=0.1, instance_noise=0.05, nan_policy="rollback", nan_max_rollbacks=2, nan_lr_factor=0.5
)
LEGACY_SPEED = SpeedConfig(amp="off", channels_last=False, fused_adam=False, compile=False)


def test_a_checkpoint_written_with_the_old_extra_dict_loads_into_typed_fields():
    cfg = ckpt.load_training_state(LEGACY).train_config
    assert cfg.stability == LEGACY_STABILITY and cfg.speed == LEGACY_SPEED
    assert (cfg.lr_g, cfg.lr_d, cfg.seed) == (3e-4, 1e-4, 7)
    assert "extra" not in cfg.to_dict()  # written back in the typed form


def test_a_checkpoint_written_with_the_old_extra_dict_resumes(tmp_path):
    start = tmp_path / "checkpoints" / LEGACY.name  # inside a run folder, as a resumed run expects
    start.parent.mkdir()
    shutil.copy(LEGACY, start)
    state = ckpt.load_training_state(start)
    cfg = TrainConfig.from_dict({**state.train_config.to_dict(), "max_steps": 4})
    trainer = Trainer(state.model_config, cfg, run_dir=tmp_path, resume_from=start).run()
    assert trainer.snapshot()["state"] == "finished" and trainer.loop.step == 4
    resumed = ckpt.load_training_state(trainer.snapshot()["latest_checkpoint"]).train_config
    assert resumed.stability == LEGACY_STABILITY and resumed.speed == LEGACY_SPEED
    assert [g["lr"] for g in trainer.loop.models.opt_g.param_groups] == [
        3e-4
    ] and trainer.loop.train_step.stability.label_smoothing == 0.1


def test_the_cli_resumes_an_old_checkpoint_and_keeps_its_options(tmp_path):
    start = tmp_path / "run" / "checkpoints" / LEGACY.name
    start.parent.mkdir(parents=True)
    shutil.copy(LEGACY, start)
    result = cli(
        "train", "--resume", str(start), "--out", str(tmp_path / "run"), "--max-steps", "3", "--instance-noise", "0.2"
    )
    assert result.returncode == 0, result.stderr
    cfg = ckpt.load_training_state(tmp_path / "run" / "checkpoints" / "step_0000003.safetensors").train_config
    assert cfg.stability == StabilityConfig(**{**vars(LEGACY_STABILITY), "instance_noise": 0.2})  # typed flag wins
    assert cfg.speed == LEGACY_SPEED and cfg.max_steps == 3 and cfg.seed == 7


def test_nested_parts_round_trip_through_json_and_accept_dicts():
    cfg = TrainConfig(lr_d=1e-4, stability=dict(label_smoothing=0.2), speed=SpeedConfig(amp="BF16", compile=True))
    assert cfg.stability.label_smoothing == 0.2 and cfg.speed.amp == "bf16"
    assert TrainConfig.from_json(cfg.to_json()) == cfg
    data = cfg.to_dict()
    assert data["stability"]["label_smoothing"] == 0.2 and data["speed"]["compile"] is True
    newer = {**data, "future": 1, "stability": {**data["stability"], "future": 2}}  # a newer file's keys are ignored
    assert TrainConfig.from_dict(newer) == cfg


def test_the_old_extra_dict_is_read_and_unknown_keys_are_ignored():
    cfg = TrainConfig.from_dict(
        {"epochs": 2, "extra": {"nan_policy": "rollback", "amp": "off", "num_workers": 0, "someday": True}}
    )
    assert cfg.stability.nan_policy == "rollback" and cfg.speed.amp == "off" and cfg.num_workers == 0
    assert cfg.epochs == 2 and cfg.stability.label_smoothing == 0.0


@pytest.mark.parametrize(
    "make,message",
    [
        (lambda: StabilityConfig(label_smoothing=0.5), r"stability.label_smoothing must be in \[0, 0.5\), got 0.5"),
        (lambda: StabilityConfig(label_smoothing=-0.1), r"stability.label_smoothing must be in \[0, 0.5\), got -0.1"),
        (lambda: StabilityConfig(instance_noise=11), r"stability.instance_noise must be between 0.0 and 10.0, got 11"),
        (
            lambda: StabilityConfig(instance_noise=float("nan")),
            r"stability.instance_noise must be between 0.0 and 10.0",
        ),
        (lambda: StabilityConfig(nan_policy="ignore"), r"stability.nan_policy must be one of \('stop', 'rollback'\)"),
        (lambda: StabilityConfig(nan_max_rollbacks=0), r"stability.nan_max_rollbacks must be between 1 and 10, got 0"),
        (
            lambda: StabilityConfig(nan_lr_factor=1.5),
            r"stability.nan_lr_factor must be between 0.001 and 0.99, got 1.5",
        ),
        (lambda: SpeedConfig(amp="fp8"), r"speed.amp must be one of \('off', 'bf16', 'auto'\)"),
        (lambda: SpeedConfig(channels_last="yes"), r"speed.channels_last must be true, false or None"),
        (lambda: TrainConfig(num_workers=-1), r"num_workers must be between 0 and 256, got -1"),
        (lambda: TrainConfig(stability={"label_smoothing": 0.7}), r"stability.label_smoothing must be in \[0, 0.5\)"),
        (lambda: TrainConfig(extra={"instance_noise": 20}), r"stability.instance_noise must be between 0.0 and 10.0"),
    ],
)
def test_validation_errors_name_the_field_and_the_range(make, message):
    with pytest.raises(ConfigError, match=message):
        make()


def test_every_typed_option_is_a_cli_flag():
    from dcgan_studio.cli import build_parser, configs_from_args

    args = build_parser().parse_args(
        [
            "train",
            "--label-smoothing",
            "0.1",
            "--instance-noise",
            "0.05",
            "--nan-policy",
            "rollback",
            "--nan-max-rollbacks",
            "2",
            "--nan-lr-factor",
            "0.25",
            "--amp",
            "off",
            "--no-channels-last",
            "--fused-adam",
            "--compile",
            "--num-workers",
            "0",
        ]
    )
    _, cfg = configs_from_args(args)
    assert cfg.stability == StabilityConfig(0.1, 0.05, "rollback", 2, 0.25)
    assert cfg.speed == SpeedConfig(amp="off", channels_last=False, fused_adam=True, compile=True)
    assert cfg.num_workers == 0
    assert {f.name for f in fields(StabilityConfig)} | {f.name for f in fields(SpeedConfig)} == {
        "label_smoothing",
        "instance_noise",
        "nan_policy",
        "nan_max_rollbacks",
        "nan_lr_factor",
        "amp",
        "channels_last",
        "fused_adam",
        "compile",
    }  # a new option needs a flag here too


def test_a_bad_flag_value_is_one_error_line_and_exit_2(tmp_path):
    result = cli("train", "--label-smoothing", "0.6", "--out", str(tmp_path / "run"), "--max-steps", "1")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["error: stability.label_smoothing must be in [0, 0.5), got 0.6"]
