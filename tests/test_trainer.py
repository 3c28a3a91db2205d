"""The background Trainer: events, pause/resume/stop from another thread, determinism, the run folder."""
import time

import torch

from dcgan_studio.config import ModelConfig, TrainConfig
from dcgan_studio.data import load_digits
from dcgan_studio.train import Trainer, format_log_line, latest_checkpoint

from conftest import TINY


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
    for name in ("config.json", "metrics.csv", "training.png", "generator.safetensors", "samples/epoch_001.png", "samples/epoch_002.png"):
        assert (tmp_path / name).is_file(), name
    assert len((tmp_path / "metrics.csv").read_text().strip().splitlines()) == 7
    assert latest_checkpoint(tmp_path).name == "step_0000006.safetensors"
    assert all(l.startswith("[") and "Loss_D" in l for l in snap["log"])


def test_pause_resume_stop_from_another_thread(tmp_path):
    t = Trainer(ModelConfig(**TINY), _cfg(epochs=1000, checkpoint_every=0), run_dir=tmp_path).start()
    deadline = time.time() + 60
    while t.snapshot()["step"] < 3 and time.time() < deadline:
        time.sleep(0.05)
    t.pause()
    while t.snapshot()["state"] != "paused" and time.time() < deadline:
        time.sleep(0.05)
    paused_at = t.snapshot()["step"]
    time.sleep(0.5)
    assert t.snapshot()["step"] == paused_at and t.snapshot()["state"] == "paused"
    t.resume()
    while t.snapshot()["step"] < paused_at + 2 and time.time() < deadline:
        time.sleep(0.05)
    assert t.snapshot()["state"] == "running"
    t.stop()
    assert t.join(60)
    snap = t.snapshot()
    assert snap["state"] == "stopped"
    assert snap["latest_checkpoint"].endswith(f"step_{snap['step']:07d}.safetensors")  # stopping saved a checkpoint
    assert (tmp_path / "generator.safetensors").is_file()


def test_stop_while_paused_ends_the_run(tmp_path):
    t = Trainer(ModelConfig(**TINY), _cfg(epochs=1000), run_dir=tmp_path).start()
    t.pause()
    time.sleep(0.3)
    t.stop()
    assert t.join(60) and t.snapshot()["state"] == "stopped"


def test_pause_after_stop_cannot_hang_the_run(tmp_path):
    t = Trainer(ModelConfig(**TINY), _cfg(epochs=1000), run_dir=tmp_path).start()
    while t.snapshot()["state"] != "running":
        time.sleep(0.05)
    t.stop()
    t.pause()  # pressed in another tab just after Stop
    assert t.join(60) and t.snapshot()["state"] == "stopped"


def test_same_seed_same_weights_different_seed_different_weights():
    data = load_digits(32, 1)

    def train(seed):
        t = Trainer(ModelConfig(**TINY), _cfg(max_steps=4, seed=seed), dataset=data).run()
        return torch.cat([p.detach().flatten() for p in t.G.parameters()])

    a, b, c = train(0), train(0), train(1)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_failure_is_reported_not_raised_in_the_thread(tmp_path):
    t = Trainer(ModelConfig(**TINY), _cfg(dataset="folder", data_path=str(tmp_path / "missing")), run_dir=tmp_path).start()
    assert t.join(30)
    snap = t.snapshot()
    assert snap["state"] == "failed" and "does not exist" in snap["error"]


def test_nan_losses_stop_training_without_a_poisoned_checkpoint(tmp_path):
    t = Trainer(ModelConfig(**TINY), _cfg(max_steps=50, log_every=1, checkpoint_every=1), run_dir=tmp_path)
    original_setup = t._setup

    def setup_then_poison():
        original_setup()
        t.save_checkpoint()  # a good checkpoint at step 0
        with torch.no_grad():
            t.G.main[0].weight.fill_(float("nan"))

    t._setup = setup_then_poison
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
        cfg = _cfg(max_steps=3, extra={"num_workers": 0})
        t = Trainer(ModelConfig(**TINY), cfg, dataset=dataset).run()
        return torch.cat([p.detach().flatten() for p in t.G.parameters()])

    assert torch.equal(train(data), train(Streamed()))
