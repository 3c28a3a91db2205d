"""Exact resume: 2N steps straight == N steps, save, load in a fresh process, N more (bitwise, on the CPU).

The straight run and the first half run in this process (``support.cli``); the resume is the fresh process."""

import pytest
import torch
from support import TINY_FLAGS, cli, run_cli

from dcgan_studio.checkpoint import load_training_state

COMMON = [*TINY_FLAGS, "--log-every", "1"]


def _final_state(run_dir):
    return load_training_state(sorted((run_dir / "checkpoints").glob("step_*.safetensors"))[-1])


@pytest.mark.slow  # a fresh process for the resume
@pytest.mark.parametrize("batch,n", [(64, 3), (512, 4)])  # mid-epoch, and across an epoch boundary (3 batches/epoch)
def test_resume_in_a_fresh_process_is_bitwise_exact(tmp_path, batch, n):
    args = [*COMMON, "--batch-size", str(batch), "--epochs", "5"]
    straight, split = tmp_path / "straight", tmp_path / "split"
    r = cli("train", *args, "--max-steps", str(2 * n), "--out", str(straight))
    assert r.returncode == 0, r.stderr
    r = cli("train", *args, "--max-steps", str(n), "--out", str(split))
    assert r.returncode == 0, r.stderr
    half = load_training_state(split / "checkpoints" / f"step_{n:07d}.safetensors")
    assert half.step == n
    r = run_cli(
        "train",
        "--resume",
        str(split / "checkpoints" / f"step_{n:07d}.safetensors"),
        "--max-steps",
        str(2 * n),
        "--out",
        str(split),
    )
    assert r.returncode == 0, r.stderr

    a, b = _final_state(straight), _final_state(split)
    assert a.step == b.step == 2 * n
    for name in a.generator:
        assert torch.equal(a.generator[name], b.generator[name]), name
    for name in a.discriminator:
        assert torch.equal(a.discriminator[name], b.discriminator[name]), name
    for opt_a, opt_b in ((a.optim_g, b.optim_g), (a.optim_d, b.optim_d)):
        for idx, st in opt_a["state"].items():
            for key, value in st.items():
                assert torch.equal(value, opt_b["state"][idx][key])
    # the resumed run's metrics continue where the first half stopped, with no gap or duplicate
    steps = [int(line.split(",")[0]) for line in (split / "metrics.csv").read_text().splitlines()[1:]]
    assert steps == list(range(1, 2 * n + 1))


def test_resume_refuses_a_generator_only_file(tmp_path, tiny_run):
    r = cli("train", "--resume", str(tiny_run / "generator.safetensors"), "--out", str(tmp_path / "x"))
    assert r.returncode == 2
    assert "cannot resume" in r.stderr and "Traceback" not in r.stderr


def test_resuming_an_earlier_checkpoint_sets_the_abandoned_branch_aside(tmp_path):
    from support import TINY

    from dcgan_studio.config import ModelConfig, TrainConfig
    from dcgan_studio.data import load_digits
    from dcgan_studio.train import Trainer, latest_checkpoint

    data = load_digits(32, 1)
    cfg = TrainConfig(
        batch_size=64, epochs=5, max_steps=6, checkpoint_every=2, keep_checkpoints=5, device="cpu", n_fixed=4
    )
    Trainer(ModelConfig(**TINY), cfg, run_dir=tmp_path, dataset=data).run()
    folder = tmp_path / "checkpoints"
    assert [p.name for p in sorted(folder.glob("step_*"))] == [f"step_000000{i}.safetensors" for i in (2, 4, 6)]
    resumed = Trainer(
        ModelConfig(**TINY),
        TrainConfig(**{**cfg.to_dict(), "max_steps": 3}),
        run_dir=tmp_path,
        resume_from=folder / "step_0000002.safetensors",
        dataset=data,
    ).run()
    assert resumed.loop.step == 3
    assert sorted(p.name for p in (folder / "abandoned").iterdir()) == [
        "step_0000004.safetensors",
        "step_0000006.safetensors",
    ]
    assert latest_checkpoint(tmp_path).name == "step_0000003.safetensors"


def test_a_resumed_run_reads_its_checkpoint_once(tmp_path, monkeypatch):
    from pathlib import Path

    import dcgan_studio.checkpoint as ckpt
    from dcgan_studio.cli import main

    legacy = Path(__file__).parent / "data" / "legacy_lr_checkpoint.safetensors"  # 2 steps of a tiny model
    reads = []
    load = ckpt.load_training_state

    def counted(path):
        reads.append(Path(path))
        return load(path)

    import dcgan_studio.cli.train as cli_train

    monkeypatch.setattr(ckpt, "load_training_state", counted)  # the trainer's reads
    monkeypatch.setattr(cli_train, "load_training_state", counted)  # the command's
    args = ["train", "--resume", str(legacy), "--max-steps", "3", "--device", "cpu", "--out", str(tmp_path)]
    assert main(args) == 0
    assert reads == [legacy]
    assert load(tmp_path / "checkpoints" / "step_0000003.safetensors").step == 3
