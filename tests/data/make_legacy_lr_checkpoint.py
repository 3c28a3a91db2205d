"""Writes ``legacy_lr_checkpoint*.safetensors`` (see README.md): run once with the code of commit a3edd0b, before
the learning rate moved to ``torch.optim.lr_scheduler``, and kept so newer code is tested against them.

    python tests/data/make_legacy_lr_checkpoint.py
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from dcgan_studio.config import ModelConfig, TrainConfig  # noqa: E402
from dcgan_studio.data import load_digits  # noqa: E402
from dcgan_studio.train import Trainer  # noqa: E402

MODEL = ModelConfig(image_size=32, channels=1, nz=8, ngf=4, ndf=4)
TRAIN = dict(
    batch_size=64, epochs=2, max_steps=4, checkpoint_every=2, keep_checkpoints=5, device="cpu", n_fixed=4, seed=3
)


def main() -> None:
    """4 steps of a linear decay to 0.1 over 2 epochs of 28 batches; the checkpoints of steps 2 and 4."""
    cfg = TrainConfig(**TRAIN, lr=3e-4, lr_d=1e-4, lr_decay="linear", lr_floor=0.1)
    with tempfile.TemporaryDirectory() as tmp:
        Trainer(MODEL, cfg, run_dir=tmp, dataset=load_digits(32, 1)).run()
        for step, name in ((2, "legacy_lr_checkpoint.safetensors"), (4, "legacy_lr_checkpoint_step4.safetensors")):
            shutil.copyfile(Path(tmp) / "checkpoints" / f"step_{step:07d}.safetensors", HERE / name)


if __name__ == "__main__":
    main()
