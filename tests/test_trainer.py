"""The background Trainer: events, pause/resume/stop from another thread, determinism, the run folder."""

import sys
import time

import torch
from support import TINY

from dcgan_studio.config import ModelConfig, TrainConfig
from dcgan_studio.data import load_digits
from dcgan_studio.train import Trainer, format_log_line, latest_checkpoint


def _cfg(**kw):
    base = dict(batch_size=32, epochs=1, log_every=1, device="cpu", n_fixed=4)
    return TrainConfig(**{**base, **kw})


def test_log_line_matches_pytorch_examples():
    m = dict(loss_d=0.127, loss_g=6.99891, d_x=0.9127, d_g_z1=0.0117, d_g_z2=0.0036)
    assert format_log_line(9, 10, 2800, 3166, m) == (
        "[9/10][2800/3166]\tLoss_D: 0.1270\tLoss_G: 6.9989\tD(x): 0.9127\tD(G(z)): 0.0117 / 0.0036"
    )


def test_run_folder_and_events(tmp_path):
    events = []
    t = Trainer(ModelConfig(**TINY), _cfg(epochs=2, batch_size=512, log_every=2), run_dir=tmp_path)
    t.subscribe(events.append)
    t.run()
    kinds = [e.kind for e in events]
    assert kinds[0] == "started" and kinds[-1] == "finished"
    assert {"metrics", "samples", "checkpoint"} <= set(kinds)
    snap = t.snapshot()
    assert snap["state"] == "finished" and snap["step"] == 6 == snap["total_steps"]  # 2 epochs x 3 batches of 512
    assert [h["step"] for h in snap["history"]] == list(range(1, 7))
    assert snap["latest_grid"].shape == (4, 1, 32, 32) and snap["latest_grid"].dtype == torch.uint8
    for name in (
        "config.json",
        "metrics.csv",
        "training.png",
        "generator.safetensors",
        "samples/epoch_001.png",
        "samples/epoch_002.png",
    ):
        assert (tmp_path / name).is_file(), name
    assert len((tmp_path / "metrics.csv").read_text().strip().splitlines()) == 7
    assert latest_checkpoint(tmp_path).name == "step_0000006.safetensors"
    assert all(line.startswith("[") and "Loss_D" in line for line in snap["log"])


def wait_for(predicate, what: str, timeout: float = 120):
    """Poll ``predicate()`` until it holds; the timeout only ends a wait that would otherwise hang."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"not {what} within {timeout} s"
        time.sleep(0.01)


def parked_in_pause(t: Trainer) -> bool:
    """The training thread is blocked inside ``wait_if_paused`` (on the event only resume() and stop() set)."""
    frame = sys._current_frames().get(t._thread.ident)
    while frame is not None:
        if frame.f_code.co_name == "wait_if_paused" and frame.f_code.co_filename.endswith("runner.py"):
            return True
        frame = frame.f_back
    return False


def test_pause_resume_stop_from_another_thread(tmp_path):
    t = Trainer(ModelConfig(**TINY), _cfg(epochs=1000, checkpoint_every=0), run_dir=tmp_path).start()
    events = []
    t.subscribe(lambda e: events.append(e.kind))
    wait_for(lambda: t.snapshot()["step"] >= 3, "at step 3")
    t.pause()
    wait_for(lambda: t.snapshot()["state"] == "paused", "paused")
    # the thread is parked on the pause event: it cannot take a step until resume() or stop()
    wait_for(lambda: parked_in_pause(t), "parked in wait_if_paused")
    paused_at = t.snapshot()["step"]
    assert events[-1] == "paused"  # the last thing the run did was to report the pause (no metrics after it)
    for _ in range(20):  # twenty polls of the trainer's status, as the Studio polls it: nothing moves
        snap = t.snapshot()
        assert (snap["step"], snap["state"]) == (paused_at, "paused")
        assert parked_in_pause(t) and t.is_alive
    assert events[-1] == "paused"
    t.resume()
    wait_for(lambda: t.snapshot()["step"] >= paused_at + 2, "two steps past the pause")
    assert t.snapshot()["state"] == "running"
    assert events[events.index("paused") + 1] == "resumed"
    t.stop()
    assert t.join(60)
    snap = t.snapshot()
    assert snap["state"] == "stopped"
    assert snap["latest_checkpoint"].endswith(f"step_{snap['step']:07d}.safetensors")  # stopping saved a checkpoint
    assert (tmp_path / "generator.safetensors").is_file()


def test_stop_while_paused_ends_the_run(tmp_path):
    t = Trainer(ModelConfig(**TINY), _cfg(epochs=1000), run_dir=tmp_path).start()
    wait_for(lambda: t.snapshot()["state"] == "running", "running")  # pause() does nothing before the run starts
    t.pause()
    wait_for(lambda: t.snapshot()["state"] == "paused", "paused")
    wait_for(lambda: parked_in_pause(t), "parked in wait_if_paused")
    paused_at = t.snapshot()["step"]
    t.stop()
    assert t.join(60)
    snap = t.snapshot()
    assert snap["state"] == "stopped" and snap["step"] == paused_at  # stopped where it was paused, not one step more


def test_pause_after_stop_cannot_hang_the_run(tmp_path):
    t = Trainer(ModelConfig(**TINY), _cfg(epochs=1000), run_dir=tmp_path).start()
    wait_for(lambda: t.snapshot()["state"] == "running", "running")
    t.stop()
    t.pause()  # pressed in another tab just after Stop
    assert t.join(60) and t.snapshot()["state"] == "stopped"


def test_same_seed_same_weights_different_seed_different_weights():
    data = load_digits(32, 1)

    def train(seed):
        t = Trainer(ModelConfig(**TINY), _cfg(max_steps=4, seed=seed), dataset=data).run()
        return torch.cat([p.detach().flatten() for p in t.loop.models.G.parameters()])

    a, b, c = train(0), train(0), train(1)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_failure_is_reported_not_raised_in_the_thread(tmp_path):
    t = Trainer(
        ModelConfig(**TINY), _cfg(dataset="folder", data_path=str(tmp_path / "missing")), run_dir=tmp_path
    ).start()
    assert t.join(30)
    snap = t.snapshot()
    assert snap["state"] == "failed" and "does not exist" in snap["error"]


def test_nan_losses_stop_training_without_a_poisoned_checkpoint(tmp_path):
    t = Trainer(ModelConfig(**TINY), _cfg(max_steps=50, log_every=1, checkpoint_every=1), run_dir=tmp_path)
    original_setup = t.loop.setup

    def setup_then_poison():
        original_setup()
        t.save_checkpoint()  # a good checkpoint at step 0
        with torch.no_grad():
            t.loop.models.G.main[0].weight.fill_(float("nan"))

    t.loop.setup = setup_then_poison
    t.start()
    assert t.join(60)
    snap = t.snapshot()
    assert snap["state"] == "failed" and "NaN" in snap["error"]
    names = sorted(p.name for p in (tmp_path / "checkpoints").glob("*.safetensors"))
    assert names == ["step_0000000.safetensors"]  # nothing written after the losses went bad


def test_streamed_dataset_trains_exactly_like_the_in_memory_one():
    """A dataset too large for memory goes through a DataLoader in the same order: the same weights result."""
    data = load_digits(32, 1)

    class Streamed(torch.utils.data.Dataset):
        def __len__(self):
            return len(data)

        def __getitem__(self, i):
            return data.images[i]

    def train(dataset):
        cfg = _cfg(max_steps=3, num_workers=0)
        t = Trainer(ModelConfig(**TINY), cfg, dataset=dataset).run()
        return torch.cat([p.detach().flatten() for p in t.loop.models.G.parameters()])

    assert torch.equal(train(data), train(Streamed()))


# ------------------------------------------------------------------------------------------------ the timelapse


def _gif_frames(path):
    """The GIF's frames as grayscale arrays, and each frame's duration (ms)."""
    import numpy as np
    from PIL import Image, ImageSequence

    with Image.open(path) as im:
        frames = [(np.asarray(f.convert("L")).copy(), f.info.get("duration")) for f in ImageSequence.Iterator(im)]
        assert im.n_frames == len(frames)
    return [f for f, _ in frames], [d for _, d in frames]


def _grid_enlarged(path, size):
    import numpy as np
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("L").resize(size, Image.Resampling.NEAREST))


def test_timelapse_has_one_enlarged_frame_per_grid_in_step_order(tmp_path):
    t = Trainer(ModelConfig(**TINY), _cfg(max_steps=6, sample_every=2, log_every=2), run_dir=tmp_path).run()
    grids = sorted((tmp_path / "samples").glob("*.png"))
    assert [g.name for g in grids] == ["step_0000002.png", "step_0000004.png", "step_0000006.png"]
    gif = tmp_path / "timelapse.gif"
    assert t.snapshot()["timelapse_path"] == str(gif)
    frames, durations = _gif_frames(gif)
    # 4 digits of 32 px in a 2x2 grid with 2 px padding: 70 px, enlarged 8x (nearest) to pass 512 px
    assert len(frames) == len(grids) == 3 and frames[0].shape == (560, 560)
    for frame, grid in zip(
        frames, grids, strict=True
    ):  # each frame is its grid, in step order (gray levels kept exactly)
        assert (frame == _grid_enlarged(grid, (560, 560))).all()
    assert durations[-1] > durations[0]  # the end is held
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left behind


def test_timelapse_takes_epoch_grids_at_their_step(tmp_path):
    """Epoch grids and step grids interleave by step; the same step drawn twice (end of an epoch) is one frame."""
    from dcgan_studio.data import ImageTensorDataset

    data = ImageTensorDataset(load_digits(32, 1).images[:64])  # 2 batches of 32 an epoch
    Trainer(ModelConfig(**TINY), _cfg(epochs=3, sample_every=3), run_dir=tmp_path, dataset=data).run()
    names = sorted(p.name for p in (tmp_path / "samples").glob("*.png"))
    assert names == ["epoch_001.png", "epoch_002.png", "epoch_003.png", "step_0000003.png", "step_0000006.png"]
    frames, _ = _gif_frames(tmp_path / "timelapse.gif")
    order = ["epoch_001.png", "step_0000003.png", "epoch_002.png", "epoch_003.png"]  # steps 2, 3, 4, 6
    assert len(frames) == len(order)
    for frame, name in zip(frames, order, strict=True):
        assert (frame == _grid_enlarged(tmp_path / "samples" / name, frame.shape[::-1])).all()


def test_select_every_kth_keeps_at_most_the_cap_first_and_last_in_order():
    from dcgan_studio.plots import TIMELAPSE_MAX_FRAMES, select_every_kth

    assert select_every_kth(250, 100) == list(range(0, 250, 3))  # k = 3; 249 is both a 3rd and the last
    assert select_every_kth(251, 100) == [*range(0, 251, 3), 250]  # every 3rd, then the last
    assert select_every_kth(200, 100) == [*range(0, 198, 2), 199]  # the last replaces the 100th to stay at the cap
    assert select_every_kth(5, 100) == [0, 1, 2, 3, 4] and select_every_kth(0, 100) == []
    for cap in (2, 3, 7, TIMELAPSE_MAX_FRAMES):
        for n in range(1, 400):
            keep = select_every_kth(n, cap)
            assert len(keep) <= cap and keep[0] == 0 and keep[-1] == n - 1
            assert keep == sorted(set(keep))
            assert len(keep) == n if n <= cap else len(keep) > cap // 2  # all, or thinned but not starved


def test_timelapse_is_capped(tmp_path):
    from dcgan_studio.plots import save_grid, save_timelapse, select_every_kth

    images = torch.zeros(1, 1, 8, 8, dtype=torch.uint8)
    paths = []
    for i in range(25):
        images[0, 0, i // 8 % 8, i % 8] = 255  # each grid differs from the last (identical GIF frames would merge)
        paths.append(save_grid(images.clone(), tmp_path / f"step_{i:07d}.png", step=i))
    gif = save_timelapse(paths, tmp_path / "t.gif", max_frames=10)
    frames, _ = _gif_frames(gif)
    keep = select_every_kth(25, 10)
    assert len(frames) == len(keep) <= 10
    for frame, i in zip(frames, keep, strict=True):
        assert (frame == _grid_enlarged(paths[i], frame.shape[::-1])).all()


def test_resumed_run_timelapse_includes_the_grids_from_before_the_resume(tmp_path):
    first = tmp_path / "run"
    Trainer(ModelConfig(**TINY), _cfg(max_steps=4, sample_every=2, log_every=2), run_dir=first).run()
    checkpoint = latest_checkpoint(first)
    assert checkpoint.name == "step_0000004.safetensors"
    assert len(_gif_frames(first / "timelapse.gif")[0]) == 2
    # into the same run folder (as the Studio resumes) and into a new one (the CLI's --out)
    for run_dir in (first, tmp_path / "elsewhere"):
        cfg = _cfg(max_steps=8, sample_every=2, log_every=2)
        t = Trainer(ModelConfig(**TINY), cfg, run_dir=run_dir, resume_from=checkpoint).run()
        assert t.snapshot()["step"] == 8
        frames, _ = _gif_frames(run_dir / "timelapse.gif")
        expected = [
            first / "samples" / "step_0000002.png",
            first / "samples" / "step_0000004.png",
            run_dir / "samples" / "step_0000006.png",
            run_dir / "samples" / "step_0000008.png",
        ]
        assert len(frames) == 4
        for frame, grid in zip(frames, expected, strict=True):
            assert (frame == _grid_enlarged(grid, frame.shape[::-1])).all()


def test_failed_run_with_grids_still_writes_its_timelapse(tmp_path):
    t = Trainer(ModelConfig(**TINY), _cfg(max_steps=50, sample_every=1), run_dir=tmp_path)
    draw = t.loop.sample_grid

    def draw_then_fail(epoch):
        draw(epoch)
        if t.loop.step == 3:
            raise RuntimeError("boom")

    t.loop.sample_grid = draw_then_fail
    t.start()
    assert t.join(60)
    snap = t.snapshot()
    assert snap["state"] == "failed" and "boom" in snap["error"]
    assert len(_gif_frames(tmp_path / "timelapse.gif")[0]) == 3 and snap["timelapse_path"]


def test_bad_device_and_dataset_are_typed_user_errors():
    import pytest

    from dcgan_studio.config import ConfigError
    from dcgan_studio.data import DatasetError
    from dcgan_studio.train import resolve_device

    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="CUDA is not available"):
            resolve_device("cuda")
    rgb = ModelConfig(**{**TINY, "channels": 3})
    with pytest.raises(DatasetError, match="dataset images are"):
        Trainer(rgb, _cfg(max_steps=1), dataset=load_digits(32, 1)).loop.setup()
    t = Trainer(rgb, _cfg(max_steps=1), dataset=load_digits(32, 1)).start()
    assert t.join(60)
    assert t.snapshot()["state"] == "failed" and t.snapshot()["error"].startswith("dataset images are")


def test_snapshots_are_immutable_and_the_switch_keeps_a_stop():
    import dataclasses

    import pytest

    from dcgan_studio.train import RunSwitch

    t = Trainer(ModelConfig(**TINY), _cfg(max_steps=3, log_every=1), dataset=load_digits(32, 1)).run()
    snap = t.latest
    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.step = 0
    assert (snap.state, snap.step, [r["step"] for r in snap.history]) == ("finished", 3, [1, 2, 3])
    switch = RunSwitch()
    switch.pause()
    assert switch.mode == "pause"
    switch.stop()
    switch.pause()  # after a stop a pause does nothing
    switch.resume()
    assert switch.mode == "stop" and switch.wait_while_paused() is False


def test_reading_metrics_never_writes_and_a_resume_cuts_them_explicitly(tmp_path):
    from dcgan_studio.step import METRIC_NAMES
    from dcgan_studio.train import RunDir

    run = RunDir(tmp_path)
    run.append_metrics([{"step": s, "epoch": 0, **dict.fromkeys(METRIC_NAMES, 0.5)} for s in range(1, 6)])
    with open(run.metrics_path, "a") as fh:
        fh.write("6,0,0.5,cut sho")  # a row a crash cut short
    before = run.metrics_path.read_bytes()
    assert [r["step"] for r in run.read_metrics(up_to_step=3)] == [1, 2, 3]
    assert [r["step"] for r in run.read_metrics()] == [1, 2, 3, 4, 5]
    assert run.metrics_path.read_bytes() == before  # reading left the file as it was
    assert [r["step"] for r in run.continue_metrics(from_step=3)] == [1, 2, 3]
    assert [int(line.split(",")[0]) for line in run.metrics_path.read_text().splitlines()[1:]] == [1, 2, 3]
