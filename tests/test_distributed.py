"""torchrun + DDP on the CPU: 2 processes with the gloo backend (127.0.0.1, a free port, a tiny model)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from support import ROOT, TINY, TINY_FLAGS, run_cli

from dcgan_studio.checkpoint import load_training_state
from dcgan_studio.distributed import DistContext, shard_indices

pytestmark = pytest.mark.skipif(
    not torch.distributed.is_available() or not torch.distributed.is_gloo_available(),
    reason="torch.distributed with gloo is needed",
)

WORKER = textwrap.dedent(
    f"""
    import os, sys
    from pathlib import Path
    import torch
    from dcgan_studio.config import ModelConfig, TrainConfig
    from dcgan_studio.distributed import cleanup, exit_worker
    from dcgan_studio.train import Trainer

    rank, out = int(os.environ["RANK"]), Path(sys.argv[1])
    cfg = TrainConfig(batch_size=32, epochs=1, max_steps=5, log_every=2, device="cpu", n_fixed=4)
    trainer = Trainer(ModelConfig(**{TINY!r}), cfg, run_dir=out / f"run{{rank}}").run()
    models = trainer.loop.models
    torch.save({{"G": dict(models.G.named_parameters()), "D": dict(models.D.named_parameters()),
                 "losses": [r["loss_d"] for r in trainer.snapshot()["history"]], "world": trainer.dist.world_size,
                 "shard": trainer.loop.data.shard, "batches": trainer.loop.data.batches}}, out / f"rank{{rank}}.pt")
    cleanup()
    exit_worker(0)  # as the CLI's workers end (see distributed.exit_worker)
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _torchrun(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key, None)
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc-per-node",
        "2",
        "--master-addr",
        "127.0.0.1",
        "--master-port",
        str(_free_port()),
        *args,
    ]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def test_shards_are_disjoint_and_equal():
    shards = [shard_indices(1797, DistContext(rank=r, world_size=2)) for r in range(2)]
    assert len(shards[0]) == len(shards[1]) == 898
    assert not set(shards[0].tolist()) & set(shards[1].tolist())
    assert shard_indices(1797, DistContext()) is None


@pytest.mark.slow  # torchrun: two fresh processes
def test_two_ranks_train_identical_weights_and_only_rank0_writes(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    r = _torchrun(str(script), str(tmp_path), cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    ranks = [torch.load(tmp_path / f"rank{i}.pt") for i in range(2)]
    assert [x["world"] for x in ranks] == [2, 2]
    assert ranks[0]["batches"] == ranks[1]["batches"] == 898 // 32
    assert not set(ranks[0]["shard"].tolist()) & set(ranks[1]["shard"].tolist())
    # each rank saw its own data and noise (its losses differ) ...
    assert ranks[0]["losses"] != ranks[1]["losses"]
    # ... yet the all-reduced gradients left both ranks with the very same weights
    for net in ("G", "D"):
        assert ranks[0][net].keys() == ranks[1][net].keys()
        for name in ranks[0][net]:
            assert torch.equal(ranks[0][net][name], ranks[1][net][name]), f"{net}.{name}"
    # rank 0 alone wrote the run folder; rank 1 was given one and left it untouched
    run0 = tmp_path / "run0"
    assert (run0 / "metrics.csv").exists() and (run0 / "generator.safetensors").exists()
    assert list((run0 / "checkpoints").glob("step_*.safetensors"))
    assert not (tmp_path / "run1").exists()


@pytest.mark.slow  # torchrun: two fresh processes
def test_torchrun_cli_checkpoint_resumes_on_one_process(tmp_path):
    out = tmp_path / "ddp"
    args = [
        *TINY_FLAGS,
        "--batch-size",
        "32",
        "--log-every",
        "2",
        "--epochs",
        "2",
    ]
    r = _torchrun("-m", "dcgan_studio", "train", *args, "--max-steps", "4", "--out", str(out), cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert r.stdout.count("finished at step 4") == 1  # rank 0 alone reports
    ckpt = out / "checkpoints" / "step_0000004.safetensors"
    state = load_training_state(ckpt)
    assert state.step == 4 and state.extra_meta["extra.world_size"] == "2"
    assert all(not k.startswith(("module.", "_orig_mod.")) for k in state.generator)  # unwrapped state dicts
    steps = [int(line.split(",")[0]) for line in (out / "metrics.csv").read_text().splitlines()[1:]]
    assert steps == [1, 2, 3, 4]

    # the same checkpoint continues on a single process (world size 1)
    r = run_cli("train", "--resume", str(ckpt), "--max-steps", "7", "--out", str(out), timeout=300)
    assert r.returncode == 0, r.stderr
    final = load_training_state(out / "checkpoints" / "step_0000007.safetensors")
    assert final.step == 7 and final.extra_meta["extra.world_size"] == "1"
    assert not torch.equal(final.generator["main.0.weight"], state.generator["main.0.weight"])
    steps = [int(line.split(",")[0]) for line in (out / "metrics.csv").read_text().splitlines()[1:]]
    assert steps == list(range(1, 8))
