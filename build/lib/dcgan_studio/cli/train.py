"""``train``: flags -> ``TrainConfig`` -> a ``Trainer`` in a thread, with a progress bar; Ctrl-C stops and saves."""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from typing import Any

from ..config import AUGMENT_POLICIES, AugmentConfig, EmaConfig, ModelConfig, SpeedConfig, StabilityConfig, TrainConfig
from ..data import DATASET_NAMES

# the flat TrainConfig fields that have a flag of the same name (dashes for underscores)
FLAT_FLAGS = (
    "dataset", "data_path", "download", "num_workers", "batch_size", "epochs", "max_steps", "lr", "lr_g", "lr_d",
    "beta1", "beta2", "lr_decay", "lr_floor", "seed", "device", "log_every", "sample_every", "checkpoint_every",
    "keep_checkpoints", "n_fixed",
)  # fmt: skip
TYPED_PARTS = {
    "stability": StabilityConfig,
    "speed": SpeedConfig,
    "augment": AugmentConfig,
    "ema": EmaConfig,
}  # their flags default to None: "not typed"


def add_arguments(p: argparse.ArgumentParser) -> None:
    _data_and_model_args(p)
    _optimisation_args(p)
    _run_folder_args(p)
    _quality_args(p)
    speed = p.add_argument_group("speed (defaults per device: dcgan_studio.step.SPEED_DEFAULTS; see bench/README.md)")
    speed.add_argument(
        "--amp",
        choices=("off", "bf16", "auto"),
        default=None,
        help="bf16 autocast (default: auto = bf16 on CUDA and on CPUs with native bf16, off elsewhere)",
    )
    speed.add_argument(
        "--channels-last", action=argparse.BooleanOptionalAction, default=None, help="NHWC memory format"
    )
    speed.add_argument(
        "--fused-adam", action=argparse.BooleanOptionalAction, default=None, help="one fused Adam kernel"
    )
    speed.add_argument(
        "--compile", action=argparse.BooleanOptionalAction, default=None, help="torch.compile G and D (dynamic=False)"
    )


def _data_and_model_args(p: argparse.ArgumentParser) -> None:
    m, t = ModelConfig(), TrainConfig()
    data = p.add_argument_group("data")
    data.add_argument(
        "--dataset", default=t.dataset, help=f"one of {', '.join(DATASET_NAMES)} (default: %(default)s, offline)"
    )
    data.add_argument(
        "--data-path",
        default=None,
        help="folder or .zip of images for folder/zip; root folder of a torchvision dataset (default: ./data)",
    )
    data.add_argument(
        "--num-workers",
        type=int,
        default=t.num_workers,
        help="DataLoader workers for a dataset too large for memory (default: %(default)s)",
    )
    data.add_argument(
        "--download", action="store_true", help="let torchvision download a missing dataset (needs network)"
    )
    model = p.add_argument_group("model")
    model.add_argument(
        "--image-size",
        type=int,
        default=m.image_size,
        choices=(32, 64, 128),
        help="image side in pixels (default: %(default)s)",
    )
    model.add_argument(
        "--channels", type=int, default=m.channels, choices=(1, 3), help="1 grayscale, 3 RGB (default: %(default)s)"
    )
    model.add_argument("--nz", type=int, default=m.nz, help="latent vector length (default: %(default)s)")
    model.add_argument("--ngf", type=int, default=m.ngf, help="generator width (default: %(default)s)")
    model.add_argument("--ndf", type=int, default=m.ndf, help="discriminator width (default: %(default)s)")


def _optimisation_args(p: argparse.ArgumentParser) -> None:
    t, s = TrainConfig(), StabilityConfig()
    opt = p.add_argument_group("optimisation")
    opt.add_argument(
        "--batch-size", type=int, default=t.batch_size, help="minibatch size (default: %(default)s, as in the paper)"
    )
    opt.add_argument("--epochs", type=int, default=t.epochs, help="passes over the data (default: %(default)s)")
    opt.add_argument("--max-steps", type=int, default=None, help="stop after this many steps in total")
    opt.add_argument("--lr", type=float, default=t.lr, help="Adam learning rate for G and D (default: %(default)s)")
    opt.add_argument("--lr-g", type=float, default=None, help="separate learning rate for G (overrides --lr)")
    opt.add_argument("--lr-d", type=float, default=None, help="separate learning rate for D (overrides --lr)")
    opt.add_argument(
        "--label-smoothing",
        type=float,
        default=None,
        help="one-sided label smoothing: real targets 1 - s (e.g. 0.1; a remedy when D wins)",
    )
    opt.add_argument(
        "--instance-noise",
        type=float,
        default=None,
        help="std of Gaussian noise added to D's inputs (e.g. 0.1; a remedy when D wins)",
    )
    opt.add_argument(
        "--nan-policy",
        choices=("stop", "rollback"),
        default=None,
        help="on NaN/inf losses: stop (default), or roll back to the last good state with lower learning rates",
    )
    opt.add_argument(
        "--nan-max-rollbacks",
        type=int,
        default=None,
        help=f"rollbacks before giving up (default: {s.nan_max_rollbacks})",
    )
    opt.add_argument(
        "--nan-lr-factor",
        type=float,
        default=None,
        help=f"learning-rate factor per rollback (default: {s.nan_lr_factor})",
    )
    opt.add_argument(
        "--beta1", type=float, default=t.beta1, help="Adam beta1 (default: %(default)s, the paper's value)"
    )
    opt.add_argument("--beta2", type=float, default=t.beta2, help="Adam beta2 (default: %(default)s)")
    opt.add_argument(
        "--seed", type=int, default=t.seed, help="random seed; same seed and config give the same weights on the CPU"
    )
    opt.add_argument(
        "--device", default=t.device, help="auto (GPU if present), cpu, cuda, cuda:N or mps (default: %(default)s)"
    )


def _quality_args(p: argparse.ArgumentParser) -> None:
    t = TrainConfig()
    q = p.add_argument_group("quality per minute (checkpoints/README.md measures each)")
    q.add_argument(
        "--diffaugment",
        default=None,
        help=f"DiffAugment of D's inputs, real and fake: comma-separated from {', '.join(AUGMENT_POLICIES)} "
        "(color: RGB only), e.g. translation,cutout; '' = off (default)",
    )
    q.add_argument(
        "--augment-p", type=float, default=None, help="probability each transform is applied to an image (default: 1)"
    )
    q.add_argument(
        "--ema",
        dest="ema_decay",
        type=float,
        default=None,
        help="keep a moving average of G's weights with this decay (e.g. 0.999; 0 = off, the default); grids and "
        "exports use it",
    )
    q.add_argument(
        "--lr-decay",
        choices=("none", "linear", "cosine"),
        default=t.lr_decay,
        help="decay both learning rates over the run towards --lr-floor (default: %(default)s)",
    )
    q.add_argument(
        "--lr-floor",
        type=float,
        default=t.lr_floor,
        help="where --lr-decay ends, as a fraction of the starting rates (default: %(default)s)",
    )


def _run_folder_args(p: argparse.ArgumentParser) -> None:
    t = TrainConfig()
    run = p.add_argument_group("run folder")
    run.add_argument(
        "--out",
        default="runs/digits",
        help="run folder for config, metrics.csv, grids, plot, checkpoints (default: %(default)s)",
    )
    run.add_argument("--resume", default=None, help="training checkpoint (.safetensors) to continue from")
    run.add_argument(
        "--log-every", type=int, default=t.log_every, help="steps between log lines (default: %(default)s)"
    )
    run.add_argument(
        "--sample-every", type=int, default=t.sample_every, help="steps between fixed-noise grids; 0 = each epoch"
    )
    run.add_argument(
        "--checkpoint-every", type=int, default=t.checkpoint_every, help="steps between checkpoints; 0 = each epoch"
    )
    run.add_argument(
        "--keep-checkpoints",
        type=int,
        default=t.keep_checkpoints,
        help="step checkpoints to keep (default: %(default)s)",
    )
    run.add_argument(
        "--n-fixed", type=int, default=t.n_fixed, help="images in the fixed-noise progress grid (default: %(default)s)"
    )


def train_options(args: argparse.Namespace) -> dict[str, Any]:
    """The train config's fields from the flags: every flat field, and of ``stability`` and ``speed`` only the flags
    that were typed (a resumed run keeps its own value of the others)."""
    typed = {
        part: {f.name: getattr(args, f.name) for f in fields(cls) if getattr(args, f.name) is not None}
        for part, cls in TYPED_PARTS.items()
    }
    return {**{name: getattr(args, name) for name in FLAT_FLAGS}, **typed}


def configs_from_args(args: argparse.Namespace) -> tuple[ModelConfig, TrainConfig]:
    model = ModelConfig(image_size=args.image_size, channels=args.channels, nz=args.nz, ngf=args.ngf, ndf=args.ndf)
    return model, TrainConfig.from_dict(train_options(args))


def resumed_train_config(checkpoint: str, options: dict[str, Any]) -> TrainConfig:
    """Resuming continues the checkpoint's own run: its train config, except the options typed on this command
    line (flat ones that differ from their defaults, e.g. a larger --epochs or another --device; any stability or
    speed flag)."""
    from ..checkpoint import load_training_state

    saved = load_training_state(checkpoint).train_config.to_dict()
    defaults = TrainConfig().to_dict()
    changed = {k: v for k, v in options.items() if k not in TYPED_PARTS and v != defaults[k]}
    typed = {part: {**saved[part], **options[part]} for part in TYPED_PARTS}
    return TrainConfig.from_dict({**saved, **changed, **typed})


def run(args: argparse.Namespace) -> int:
    from ..distributed import cleanup, exit_worker
    from ..train import Trainer

    model_cfg, train_cfg = configs_from_args(args)
    if args.resume:
        train_cfg = resumed_train_config(args.resume, train_options(args))
    trainer = Trainer(model_cfg, train_cfg, run_dir=args.out, resume_from=args.resume)
    is_main = trainer.dist.is_main  # under torchrun only rank 0 talks (and writes)
    bar = _progress_bar(trainer, train_cfg.batch_size, is_main)
    try:
        trainer.start()
        while not trainer.join(0.5):
            pass
    except KeyboardInterrupt:
        bar.write("stopping: saving a checkpoint ...")
        trainer.stop()
        trainer.join()
    finally:
        bar.close()
        cleanup()
    code = _report(trainer.snapshot(), is_main)
    if trainer.dist.enabled:  # a torchrun worker of several: end before gloo's threads meet the interpreter's exit
        exit_worker(code)
    return code


def _report(snap: dict, is_main: bool) -> int:
    """Print how the run ended (rank 0, or the error on any rank) and return the exit code."""
    if snap["state"] == "failed":
        print(f"error: {snap['error']}", file=sys.stderr)
        return 2
    if is_main:
        timelapse = f", timelapse {snap['timelapse_path']}" if snap["timelapse_path"] else ""
        print(
            f"{snap['state']} at step {snap['step']}: checkpoint {snap['latest_checkpoint']}, "
            f"generator {snap['generator_path']}{timelapse}"
        )
    return 0


def _progress_bar(trainer, batch_size: int, is_main: bool):
    """A tqdm bar in images that prints the log lines and warnings of ``trainer``'s events (rank 0 only)."""
    from tqdm import tqdm

    bar = tqdm(unit="img", unit_scale=True, dynamic_ncols=True, disable=None if is_main else True)

    def on_event(event) -> None:
        if not is_main:
            return
        if event.kind == "started":
            bar.reset(total=event.data["total_steps"] * batch_size)
            bar.update(event.step * batch_size)
        elif event.kind == "metrics":
            bar.update(len(event.data["rows"]) * batch_size)
            bar.write(event.data["line"])
        elif event.kind == "warning":
            bar.write(f"WARNING: {event.data['message']}")

    trainer.subscribe(on_event)
    return bar
