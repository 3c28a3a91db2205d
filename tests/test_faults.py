"""Faults: SIGKILL mid-run, death inside a checkpoint write, damaged files in the checkpoint folder, a full or
read-only disk, NaN/inf losses (stop, or roll back with a lower learning rate), a metrics.csv cut short."""

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from support import ROOT, TINY, TINY_FLAGS, cli

from dcgan_studio import checkpoint as ckpt
from dcgan_studio.config import ConfigError, ModelConfig, StabilityConfig, TrainConfig
from dcgan_studio.data import load_digits
from dcgan_studio.train import CHECKPOINT_DIR, Trainer, TrainingFailed, latest_checkpoint, prune_checkpoints

COMMON = [
    *TINY_FLAGS,
    "--log-every",
    "1",
    "--batch-size",
    "64",
    "--epochs",
    "1000",
]


@pytest.fixture(scope="module")
def digits():
    return load_digits(32, 1)


def _cfg(**kw):
    return TrainConfig(**{**dict(batch_size=64, epochs=100, log_every=1, device="cpu", n_fixed=4), **kw})


def _steps(run_dir):
    return sorted(int(p.stem.split("_")[1]) for p in (run_dir / CHECKPOINT_DIR).glob("step_*.safetensors"))


def _assert_same_state(a, b):
    assert a.step == b.step
    for x, y in ((a.generator, b.generator), (a.discriminator, b.discriminator)):
        for name in x:
            assert torch.equal(x[name], y[name]), name
    for opt_a, opt_b in ((a.optim_g, b.optim_g), (a.optim_d, b.optim_d)):
        for idx, st in opt_a["state"].items():
            for key, value in st.items():
                assert torch.equal(value, opt_b["state"][idx][key])


def _kill(proc):
    if proc.poll() is None:
        proc.kill()  # SIGKILL
    proc.wait(30)


# ------------------------------------------------------------------------------------------------ SIGKILL mid-run


@pytest.mark.slow  # a process started and killed
def test_sigkill_mid_run_then_resume_continues_exactly(tmp_path):
    killed, straight = tmp_path / "killed", tmp_path / "straight"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dcgan_studio",
            "train",
            *COMMON,
            "--max-steps",
            "100000",
            "--checkpoint-every",
            "3",
            "--out",
            str(killed),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.time() + 120
        while (
            time.time() < deadline
            and proc.poll() is None
            and not (killed / CHECKPOINT_DIR / "step_0000006.safetensors").exists()
        ):
            time.sleep(0.02)
        assert proc.poll() is None, proc.stderr.read().decode()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
        assert proc.returncode == -signal.SIGKILL
    finally:
        _kill(proc)
    last = latest_checkpoint(killed)
    s = ckpt.load_training_state(last).step
    assert s >= 6 and s % 3 == 0
    total = s + 4
    r = cli(
        "train", "--resume", str(last), "--max-steps", str(total), "--out", str(killed)
    )  # the kill was the fresh process
    assert r.returncode == 0, r.stderr
    # the uninterrupted reference run, in this process (same configs as the CLI builds)
    Trainer(
        ModelConfig(**TINY),
        TrainConfig(batch_size=64, epochs=1000, log_every=1, device="cpu", checkpoint_every=3, max_steps=total),
        run_dir=straight,
    ).run()
    _assert_same_state(
        ckpt.load_training_state(latest_checkpoint(straight)), ckpt.load_training_state(latest_checkpoint(killed))
    )
    assert latest_checkpoint(killed).name == f"step_{total:07d}.safetensors"
    steps = [int(line.split(",")[0]) for line in (killed / "metrics.csv").read_text().splitlines()[1:]]
    assert steps == list(range(1, total + 1))  # rows the killed process logged after its checkpoint were replaced


# ------------------------------------------------------------------------------------- killed inside a write

_WRITER = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from dcgan_studio.config import ModelConfig, TrainConfig
    from dcgan_studio.train import Trainer
    run, how = Path(sys.argv[1]), sys.argv[2]
    marker = run.parent / "inside_write"
    real_fsync, real_fdopen = os.fsync, os.fdopen

    def hang(note):
        marker.write_text(note)
        time.sleep(600)

    def fsync(fd):  # the temporary is complete but not yet renamed
        if how == "before_rename" and ".step_0000004.safetensors." in os.readlink(f"/proc/self/fd/{fd}"):
            hang("fsync")
        real_fsync(fd)

    class HalfWriter:  # only half the bytes reach the temporary
        def __init__(self, fh):
            self.fh = fh
        def __enter__(self):
            return self
        def __exit__(self, *exc):
            return self.fh.__exit__(*exc)
        def write(self, data):
            self.fh.write(data[: len(data) // 2])
            self.fh.flush()
            hang("half")
        def __getattr__(self, name):
            return getattr(self.fh, name)

    def fdopen(fd, *a, **k):
        fh = real_fdopen(fd, *a, **k)
        if how == "half_written" and ".step_0000004.safetensors." in os.readlink(f"/proc/self/fd/{fd}"):
            return HalfWriter(fh)
        return fh

    os.fsync, os.fdopen = fsync, fdopen
    cfg = TrainConfig(batch_size=64, epochs=10, max_steps=10, checkpoint_every=2, log_every=1, device="cpu", n_fixed=4)
    Trainer(ModelConfig(image_size=32, channels=1, nz=16, ngf=8, ndf=8), cfg, run_dir=run).run()
""")


@pytest.mark.slow  # a process started and killed
@pytest.mark.parametrize("how", ["before_rename", "half_written"])
def test_killed_inside_a_checkpoint_write_keeps_the_previous_one(tmp_path, how, digits):
    run = tmp_path / "run"
    script = tmp_path / "writer.py"
    script.write_text(_WRITER)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(run), how],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None and not (tmp_path / "inside_write").exists():
            time.sleep(0.02)
        assert (tmp_path / "inside_write").exists(), (
            proc.stderr.read().decode() if proc.poll() is not None else "timeout"
        )
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        _kill(proc)
    folder = run / CHECKPOINT_DIR
    leftovers = [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]
    assert len(leftovers) == 1 and leftovers[0].startswith(".step_0000004.safetensors.")
    assert _steps(run) == [2]  # the interrupted step-4 file never appeared under its real name
    assert latest_checkpoint(run).name == "step_0000002.safetensors"
    state = ckpt.load_training_state(latest_checkpoint(run))
    assert state.step == 2
    # resuming writes new checkpoints and cleans the leftover temporary up
    resumed = Trainer(
        ModelConfig(**TINY),
        _cfg(max_steps=6, checkpoint_every=2),
        run_dir=run,
        resume_from=latest_checkpoint(run),
        dataset=digits,
    ).run()
    assert resumed.snapshot()["state"] == "finished"
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]
    assert _steps(run) == [2, 4, 6] and ckpt.load_training_state(latest_checkpoint(run)).step == 6


# ----------------------------------------------------------------------------------------- retention


def test_retention_never_counts_or_deletes_damaged_files(tmp_path, tiny_run):
    folder = tmp_path / CHECKPOINT_DIR
    folder.mkdir()
    good = sorted((tiny_run / CHECKPOINT_DIR).glob("step_*.safetensors"))[-1].read_bytes()
    for step in (2, 4):
        (folder / f"step_{step:07d}.safetensors").write_bytes(good)
    (folder / "step_0000006.safetensors").write_bytes(good[: len(good) // 2])  # truncated (copied half-way, say)
    (folder / "step_0000008.safetensors").write_bytes(b"\0" * 100)  # garbage
    (folder / ".step_0000010.safetensors.abc123.tmp").write_bytes(good[:100])  # a killed write's temporary
    assert latest_checkpoint(tmp_path).name == "step_0000004.safetensors"
    prune_checkpoints(folder, keep=1)
    names = sorted(p.name for p in folder.iterdir())
    # the only good one survives although two newer (damaged) names exist; the damaged ones are left for a human
    assert names == ["step_0000004.safetensors", "step_0000006.safetensors", "step_0000008.safetensors"]
    prune_checkpoints(folder, keep=3)
    assert len(list(folder.iterdir())) == 3
    for p in ("step_0000004.safetensors",):
        assert ckpt.load_training_state(folder / p).step == 6


def test_trainer_retention_keeps_the_last_k(tmp_path, digits):
    Trainer(
        ModelConfig(**TINY),
        _cfg(max_steps=10, checkpoint_every=2, keep_checkpoints=2),
        run_dir=tmp_path,
        dataset=digits,
    ).run()
    assert _steps(tmp_path) == [8, 10]


# ----------------------------------------------------------------------------------------- disk full / read-only


def _run_until_failure(tmp_path, digits, monkeypatch, fail, **cfg):
    """Train; after the first checkpoint event, ``fail()`` is installed (it monkeypatches a file operation)."""
    t = Trainer(ModelConfig(**TINY), _cfg(max_steps=12, checkpoint_every=2, **cfg), run_dir=tmp_path, dataset=digits)
    first = {}

    def on_event(event):
        if event.kind == "checkpoint" and not first:
            first["path"] = Path(event.data["path"])
            first["bytes"] = first["path"].read_bytes()
            fail()

    t.subscribe(on_event)
    with pytest.raises(TrainingFailed):
        t.run()
    snap = t.snapshot()
    assert snap["state"] == "failed"
    return snap, first


def test_disk_full_stops_with_a_clear_message_and_keeps_the_last_checkpoint(tmp_path, digits, monkeypatch):
    def full(*a, **k):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    snap, first = _run_until_failure(tmp_path, digits, monkeypatch, lambda: monkeypatch.setattr(os, "fsync", full))
    err = snap["error"]
    assert str(tmp_path) in err and "No space left on device" in err and "step_0000004.safetensors" in err
    assert "step_0000002.safetensors" in err and "resume" in err  # says what to do next
    assert snap["step"] == 4
    monkeypatch.undo()
    assert first["path"].read_bytes() == first["bytes"]  # the good checkpoint is untouched
    assert ckpt.load_training_state(first["path"]).step == 2
    assert _steps(tmp_path) == [2] and not [p for p in (tmp_path / CHECKPOINT_DIR).iterdir() if p.name.startswith(".")]
    assert not (tmp_path / "generator.safetensors").exists()


def test_read_only_run_folder_stops_with_a_clear_message(tmp_path, digits, monkeypatch):
    # tests run as root, where chmod a-w does not stop writes: refuse creating files as a read-only mount would
    def read_only(*a, dir=None, **k):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(dir))

    snap, first = _run_until_failure(
        tmp_path, digits, monkeypatch, lambda: monkeypatch.setattr(ckpt.io.tempfile, "mkstemp", read_only)
    )
    assert "Read-only file system" in snap["error"] and str(tmp_path) in snap["error"]
    monkeypatch.undo()
    assert first["path"].read_bytes() == first["bytes"] and _steps(tmp_path) == [2]


def test_an_existing_generator_export_is_not_overwritten_by_a_failed_write(tmp_path, digits, monkeypatch):
    Trainer(ModelConfig(**TINY), _cfg(max_steps=2), run_dir=tmp_path, dataset=digits).run()
    before = (tmp_path / "generator.safetensors").read_bytes()
    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space left on device")))
    t = Trainer(
        ModelConfig(**TINY),
        _cfg(max_steps=4),
        run_dir=tmp_path,
        resume_from=latest_checkpoint(tmp_path),
        dataset=digits,
    )
    with pytest.raises(TrainingFailed):
        t.run()
    monkeypatch.undo()
    assert t.snapshot()["state"] == "failed" and "No space left" in t.snapshot()["error"]
    assert (tmp_path / "generator.safetensors").read_bytes() == before
    assert ckpt.load_generator(tmp_path / "generator.safetensors") is not None


# ----------------------------------------------------------------------------------------- NaN / inf


def _poisoning(trainer, at_steps, once=False):
    """Make G's weights NaN right after the given steps (as a blow-up would), via the trainer's step function;
    ``once``: only the first time (a rollback then gets past it)."""
    original_setup = trainer.loop.setup
    done = []

    def setup():
        original_setup()
        step_fn = trainer.loop.train_step

        def poisoned(real):
            out = step_fn(real)
            if trainer.loop.step + 1 in at_steps and not (once and done):
                done.append(trainer.loop.step + 1)
                with torch.no_grad():
                    trainer.loop.models.G.main[0].weight.fill_(float("nan"))
            return out

        trainer.loop.train_step = poisoned

    trainer.loop.setup = setup
    return trainer


def test_nan_is_caught_before_a_checkpoint_even_between_log_lines(tmp_path, digits):
    t = _poisoning(
        Trainer(
            ModelConfig(**TINY), _cfg(max_steps=40, log_every=100, checkpoint_every=1), run_dir=tmp_path, dataset=digits
        ),
        at_steps={3},
    )
    t.start()
    assert t.join(60)
    snap = t.snapshot()
    assert snap["state"] == "failed" and "NaN" in snap["error"] and "by step 3" in snap["error"]
    assert "step_0000002" in snap["error"]  # where to resume from
    assert _steps(tmp_path) == [1, 2]  # the losses are read every 100 steps, but the weights before every save
    for step in _steps(tmp_path):
        ckpt.load_training_state(tmp_path / CHECKPOINT_DIR / f"step_{step:07d}.safetensors")  # all finite


def test_nan_rollback_returns_to_the_last_good_state_with_a_lower_lr(tmp_path, digits):
    stability = StabilityConfig(nan_policy="rollback", nan_max_rollbacks=2, nan_lr_factor=0.5)
    t = _poisoning(
        Trainer(
            ModelConfig(**TINY),
            _cfg(max_steps=12, checkpoint_every=4, stability=stability),
            run_dir=tmp_path,
            dataset=digits,
        ),
        at_steps={6},
        once=True,
    )
    events = []
    t.subscribe(events.append)
    t.run()
    snap = t.snapshot()
    assert snap["state"] == "finished" and snap["step"] == 12
    rollbacks = [w for w in snap["warnings"] if "rolled back" in w]  # (health.py adds its own NaN warning too)
    assert len(rollbacks) == 1 and "rolled back to step 4" in rollbacks[0]
    assert any(e.kind == "warning" and "rolled back" in e.data["message"] for e in events)
    assert [h["step"] for h in snap["history"]] == list(range(1, 13))  # no gap, no duplicate
    steps = [int(line.split(",")[0]) for line in (tmp_path / "metrics.csv").read_text().splitlines()[1:]]
    assert steps == list(range(1, 13))
    final = ckpt.load_training_state(latest_checkpoint(tmp_path))  # finite, and it carries the lowered rate on
    assert final.optim_g["param_groups"][0]["lr"] == pytest.approx(1e-4)
    assert final.optim_d["param_groups"][0]["lr"] == pytest.approx(1e-4)


def test_nan_rollback_gives_up_after_n_tries_and_rollback_from_the_start(tmp_path, digits):
    stability = StabilityConfig(nan_policy="rollback", nan_max_rollbacks=2)
    t = _poisoning(
        Trainer(ModelConfig(**TINY), _cfg(max_steps=12, checkpoint_every=0, stability=stability), dataset=digits),
        at_steps={2, 3, 4, 5},
    )
    with pytest.raises(Exception, match="gave up after 2 rollbacks"):
        t.run()
    rollbacks = [w for w in t.snapshot()["warnings"] if "rolled back" in w]
    assert len(rollbacks) == 2 and "rolled back to step 0" in rollbacks[0]


def test_bad_nan_policy_is_a_clear_error():
    with pytest.raises(ConfigError, match="nan_policy must be one of"):
        _cfg(max_steps=2, stability=StabilityConfig(nan_policy="ignore"))


# ----------------------------------------------------------------------------------------- a damaged metrics.csv


def test_resume_survives_a_metrics_file_cut_short(tmp_path, digits):
    Trainer(ModelConfig(**TINY), _cfg(max_steps=4, checkpoint_every=2), run_dir=tmp_path, dataset=digits).run()
    metrics = tmp_path / "metrics.csv"
    metrics.write_text(metrics.read_text() + "5,0,0.69,0.7\n6,0,nan-ish,\n\x00\x00garbage")  # a crash mid-append
    t = Trainer(
        ModelConfig(**TINY),
        _cfg(max_steps=6, checkpoint_every=2),
        run_dir=tmp_path,
        resume_from=latest_checkpoint(tmp_path),
        dataset=digits,
    ).run()
    assert t.snapshot()["state"] == "finished"
    steps = [int(line.split(",")[0]) for line in metrics.read_text().splitlines()[1:]]
    assert steps == list(range(1, 7))
