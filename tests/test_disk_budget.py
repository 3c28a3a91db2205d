"""The public Space's disk budget (app/disk_budget.py): the oldest finished visitor runs go first, never a running
one; orphaned visitor folders go at start-up after the grace period; and the Studio's job start applies it."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path

import pytest

from dcgan_studio.app import disk_budget, train_tab
from dcgan_studio.app.disk_budget import MB, RunUsage
from dcgan_studio.app.settings import Limits
from dcgan_studio.app.studio import make_studio
from dcgan_studio.app.visitors import Visitor, visitor_key

FORM = dict(dataset="digits", zip_file=None, folder="", image_size="32", channels="1", nz=16, ngf=8, ndf=8,
            batch_size=64, lr=2e-4, beta1=0.5, epochs=50, max_steps=0, seed=0, log_every=5, sample_every=0)  # fmt: skip


def fake_run(root: Path, visitor: str, name: str, size: int, age_s: float) -> Path:
    """runs/public/<key>/<name>/ holding one sparse file of ``size`` bytes, last written ``age_s`` seconds ago."""
    run = root / "public" / visitor_key(visitor) / name
    (run / "checkpoints").mkdir(parents=True, exist_ok=True)
    blob = run / "checkpoints" / "step_0000001.safetensors"
    with open(blob, "wb") as f:
        f.truncate(size)
    stamp = time.time() - age_s
    for path in (blob, blob.parent, run, run.parent):
        os.utime(path, (stamp, stamp))
    return run


def test_oldest_finished_runs_go_first_and_never_a_running_one():
    runs = [
        RunUsage(Path("r/running"), 400_000, 100.0),  # the oldest, but live
        RunUsage(Path("r/old"), 300_000, 200.0),
        RunUsage(Path("r/mid"), 300_000, 300.0),
        RunUsage(Path("r/new"), 300_000, 400.0),
    ]
    keep = [Path("r/running")]
    assert disk_budget.to_remove(runs, MB, 0, keep) == [Path("r/old")]  # 1.3 MB -> 1.0 MB
    assert disk_budget.to_remove(runs, MB, 200_000, keep) == [Path("r/old"), Path("r/mid")]
    assert disk_budget.to_remove(runs, 2 * MB, 0, keep) == []
    assert disk_budget.to_remove(runs, 100_000, 0, keep) == [Path("r/old"), Path("r/mid"), Path("r/new")]


def test_make_room_on_disk_with_a_1_mb_budget(tmp_path):
    running = fake_run(tmp_path, "a", "app-1", 400_000, age_s=4000)
    old = fake_run(tmp_path, "b", "app-2", 300_000, age_s=3000)
    mid = fake_run(tmp_path, "a", "app-3", 300_000, age_s=2000)
    new = fake_run(tmp_path, "c", "app-4", 300_000, age_s=1000)
    room = disk_budget.make_room(tmp_path / "public", MB, 0, keep=[running])  # 1.3 MB of runs in a 1 MiB budget
    assert room.fits and room.removed == [old] and room.used_bytes == 1_000_000
    assert running.is_dir() and mid.is_dir() and new.is_dir() and not old.exists()
    # not enough even without every finished run: nothing is deleted, the caller refuses
    room = disk_budget.make_room(tmp_path / "public", MB, 700_000, keep=[running])
    assert not room.fits and room.removed == [] and mid.is_dir() and new.is_dir()


def test_orphaned_visitor_folders_go_after_the_grace_period(tmp_path):
    stale = fake_run(tmp_path, "gone", "app-1", 1000, age_s=30 * 3600).parent
    recent = fake_run(tmp_path, "back", "app-1", 1000, age_s=3600).parent
    limits = replace(Limits.for_mode(True, env={}), public_grace_hours=24)
    make_studio(None, tmp_path, tmp_path / "data", limits=limits)  # start-up
    assert not stale.exists() and recent.is_dir()
    make_studio(None, tmp_path, tmp_path / "data", limits=replace(limits, public_grace_hours=0.5))
    assert not recent.exists()
    local = tmp_path / "local-run"
    local.mkdir()
    make_studio(None, tmp_path, tmp_path / "data", limits=Limits.for_mode(False, env={}))
    assert local.is_dir()  # a local Studio removes nothing


def test_the_studios_job_start_makes_room_and_never_removes_a_live_run(tmp_path):
    limits = replace(Limits.for_mode(True, env={}), public_disk_mb=64, max_jobs=3)
    studio = make_studio(None, tmp_path, tmp_path / "data", limits=limits)
    old1 = fake_run(tmp_path, "x", "app-old1", 8 * MB, age_s=3000)
    old2 = fake_run(tmp_path, "x", "app-old2", 8 * MB, age_s=2000)
    new3 = fake_run(tmp_path, "y", "app-new3", 8 * MB, age_s=1000)
    try:
        # 24 MB of runs + the 32 MB kept for a new run fit 64 MB: nothing goes
        train_tab.start(studio, Visitor("visitor-a"), **FORM)
        assert old1.is_dir() and old2.is_dir() and new3.is_dir()
        run_a = studio.jobs.current(Visitor("visitor-a")).run_dir
        run_a.mkdir(parents=True, exist_ok=True)  # the trainer's thread may not have made it yet
        with open(run_a / "big.bin", "wb") as f:  # A's live run grows to 20 MB
            f.truncate(20 * MB)
        os.utime(run_a / "big.bin", (time.time() - 9000,) * 2)
        # 24 + 20 + 32 > 64: the two oldest finished runs go, A's never
        train_tab.start(studio, Visitor("visitor-b"), **(FORM | dict(seed=1)))
        assert not old1.exists() and not old2.exists() and new3.is_dir() and run_a.is_dir()
        run_b = studio.jobs.current(Visitor("visitor-b")).run_dir
        run_b.mkdir(parents=True, exist_ok=True)
        with open(run_b / "big.bin", "wb") as f:
            f.truncate(30 * MB)
        with pytest.raises(ValueError, match="disk budget for visitors is full"):  # 8 + 20 + 30 + 32 > 64 without new3
            train_tab.start(studio, Visitor("visitor-c"), **(FORM | dict(seed=2)))
        assert new3.is_dir() and run_a.is_dir() and run_b.is_dir()  # refused: nothing deleted
    finally:
        studio.jobs.stop_and_wait()
