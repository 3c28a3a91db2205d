"""``python -m dcgan_studio``: the command line, a thin layer over the core.

Every subcommand turns flags into one core call. Bad input (unknown dataset, missing file, wrong size, corrupt
checkpoint) ends with one line on stderr and exit code 2, never a traceback.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Callable, Sequence

from .checkpoint import CheckpointError
from .config import ConfigError, ModelConfig, TrainConfig
from .data import DATASET_NAMES, DatasetError
from .safe_zip import ZipDatasetError

logger = logging.getLogger("dcgan_studio")

USER_ERRORS = (CheckpointError, ConfigError, DatasetError, ZipDatasetError, FileNotFoundError, ValueError)

# Subcommands register here: name -> (add_arguments, run). Other modules (eval, ...) add theirs with ``command``.
COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]] = {}


def command(name: str, help_text: str, add_arguments: Callable[[argparse.ArgumentParser], None]):
    def register(run: Callable[[argparse.Namespace], int]):
        COMMANDS[name] = (help_text, add_arguments, run)
        return run

    return register


# ----------------------------------------------------------------------------------------------------------- train


def _train_args(p: argparse.ArgumentParser) -> None:
    m, t = ModelConfig(), TrainConfig()
    data = p.add_argument_group("data")
    data.add_argument("--dataset", default=t.dataset, help=f"one of {', '.join(DATASET_NAMES)} (default: %(default)s, offline)")
    data.add_argument("--data-path", default=None, help="folder or .zip of images for folder/zip; root folder of a torchvision dataset (default: ./data)")
    data.add_argument("--num-workers", type=int, default=t.num_workers, help="DataLoader workers for a dataset too large for memory (default: %(default)s)")
    data.add_argument("--download", action="store_true", help="let torchvision download a missing dataset (needs network)")
    model = p.add_argument_group("model")
    model.add_argument("--image-size", type=int, default=m.image_size, choices=(32, 64, 128), help="image side in pixels (default: %(default)s)")
    model.add_argument("--channels", type=int, default=m.channels, choices=(1, 3), help="1 grayscale, 3 RGB (default: %(default)s)")
    model.add_argument("--nz", type=int, default=m.nz, help="latent vector length (default: %(default)s)")
    model.add_argument("--ngf", type=int, default=m.ngf, help="generator width (default: %(default)s)")
    model.add_argument("--ndf", type=int, default=m.ndf, help="discriminator width (default: %(default)s)")
    opt = p.add_argument_group("optimisation")
    opt.add_argument("--batch-size", type=int, default=t.batch_size, help="minibatch size (default: %(default)s, as in the paper)")
    opt.add_argument("--epochs", type=int, default=t.epochs, help="passes over the data (default: %(default)s)")
    opt.add_argument("--max-steps", type=int, default=None, help="stop after this many steps in total")
    opt.add_argument("--lr", type=float, default=t.lr, help="Adam learning rate for G and D (default: %(default)s)")
    opt.add_argument("--lr-g", type=float, default=None, help="separate learning rate for G (overrides --lr)")
    opt.add_argument("--lr-d", type=float, default=None, help="separate learning rate for D (overrides --lr)")
    opt.add_argument("--label-smoothing", type=float, default=None, help="one-sided label smoothing: real targets 1 - s (e.g. 0.1; a remedy when D wins)")
    opt.add_argument("--instance-noise", type=float, default=None, help="std of Gaussian noise added to D's inputs (e.g. 0.1; a remedy when D wins)")
    opt.add_argument("--nan-policy", choices=("stop", "rollback"), default=None, help="on NaN/inf losses: stop (default), or roll back to the last good state with lower learning rates")
    opt.add_argument("--nan-max-rollbacks", type=int, default=None, help="rollbacks before giving up (default: 3)")
    opt.add_argument("--nan-lr-factor", type=float, default=None, help="learning-rate factor per rollback (default: 0.5)")
    opt.add_argument("--beta1", type=float, default=t.beta1, help="Adam beta1 (default: %(default)s, the paper's value)")
    opt.add_argument("--beta2", type=float, default=t.beta2, help="Adam beta2 (default: %(default)s)")
    opt.add_argument("--seed", type=int, default=t.seed, help="random seed; same seed and config give the same weights on the CPU")
    opt.add_argument("--device", default=t.device, help="auto (GPU if present), cpu, cuda, cuda:N or mps (default: %(default)s)")
    run = p.add_argument_group("run folder")
    run.add_argument("--out", default="runs/digits", help="run folder for config, metrics.csv, grids, plot, checkpoints (default: %(default)s)")
    run.add_argument("--resume", default=None, help="training checkpoint (.safetensors) to continue from")
    run.add_argument("--log-every", type=int, default=t.log_every, help="steps between log lines (default: %(default)s)")
    run.add_argument("--sample-every", type=int, default=t.sample_every, help="steps between fixed-noise grids; 0 = each epoch")
    run.add_argument("--checkpoint-every", type=int, default=t.checkpoint_every, help="steps between checkpoints; 0 = each epoch")
    run.add_argument("--keep-checkpoints", type=int, default=t.keep_checkpoints, help="step checkpoints to keep (default: %(default)s)")
    speed = p.add_argument_group("speed (defaults per device: dcgan_studio.step.SPEED_DEFAULTS; see bench/README.md)")
    speed.add_argument("--amp", choices=("off", "bf16", "auto"), default=None, help="bf16 autocast (default: auto = bf16 on CUDA and on CPUs with native bf16, off elsewhere)")
    speed.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None, help="NHWC memory format")
    speed.add_argument("--fused-adam", action=argparse.BooleanOptionalAction, default=None, help="one fused Adam kernel")
    speed.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None, help="torch.compile G and D (dynamic=False)")


def configs_from_args(args: argparse.Namespace) -> tuple[ModelConfig, TrainConfig]:
    model = ModelConfig(image_size=args.image_size, channels=args.channels, nz=args.nz, ngf=args.ngf, ndf=args.ndf)
    train = TrainConfig(
        dataset=args.dataset, data_path=args.data_path, download=args.download, batch_size=args.batch_size,
        epochs=args.epochs, max_steps=args.max_steps, lr=args.lr, lr_g=args.lr_g, lr_d=args.lr_d, beta1=args.beta1,
        beta2=args.beta2, seed=args.seed, device=args.device, log_every=args.log_every, sample_every=args.sample_every,
        checkpoint_every=args.checkpoint_every, keep_checkpoints=args.keep_checkpoints,
        num_workers=args.num_workers,
        extra={k: getattr(args, k) for k in ("label_smoothing", "instance_noise", "nan_policy", "nan_max_rollbacks", "nan_lr_factor", "amp", "channels_last", "fused_adam", "compile") if getattr(args, k, None) is not None},
    )
    return model, train


def _resumed_train_config(args: argparse.Namespace, given: TrainConfig) -> TrainConfig:
    """Resuming continues the checkpoint's own run: its train config, except the options typed on this command
    line (those that differ from their defaults, e.g. a larger --epochs or another --device)."""
    from .checkpoint import load_training_state

    saved = load_training_state(args.resume).train_config.to_dict()
    defaults = TrainConfig().to_dict()
    changed = {k: v for k, v in given.to_dict().items() if k not in ("stability", "speed") and v != defaults.get(k)}
    nested = {part: {**saved[part], **{k: getattr(args, k) for k in saved[part] if getattr(args, k, None) is not None}}
              for part in ("stability", "speed")}
    return TrainConfig.from_dict({**saved, **changed, **nested})


@command("train", "train a DCGAN and write a run folder", _train_args)
def cmd_train(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .train import Trainer

    model_cfg, train_cfg = configs_from_args(args)
    if args.resume:
        train_cfg = _resumed_train_config(args, train_cfg)
    trainer = Trainer(model_cfg, train_cfg, run_dir=args.out, resume_from=args.resume)
    is_main = trainer.dist.is_main  # under torchrun only rank 0 talks (and writes)
    bar = tqdm(unit="img", unit_scale=True, dynamic_ncols=True, disable=None if is_main else True)

    def on_event(event) -> None:
        if not is_main:
            return
        if event.kind == "started":
            bar.reset(total=event.data["total_steps"] * train_cfg.batch_size)
            bar.update(event.step * train_cfg.batch_size)
        elif event.kind == "metrics":
            bar.update(len(event.data["rows"]) * train_cfg.batch_size)
            bar.write(event.data["line"])
        elif event.kind == "warning":
            bar.write(f"WARNING: {event.data['message']}")

    trainer.subscribe(on_event)
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
        from .distributed import cleanup

        cleanup()
    snap = trainer.snapshot()
    if snap["state"] == "failed":
        print(f"error: {snap['error']}", file=sys.stderr)
        return 2
    if is_main:
        print(f"{snap['state']} at step {snap['step']}: checkpoint {snap['latest_checkpoint']}, generator {snap['generator_path']}"
              + (f", timelapse {snap['timelapse_path']}" if snap.get("timelapse_path") else ""))
    return 0


# ---------------------------------------------------------------------------------------------- sample / interpolate


def _sample_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True, help="generator or training checkpoint (.safetensors)")
    p.add_argument("--out", default="samples.png", help="grid PNG to write (default: %(default)s)")
    p.add_argument("--n", type=int, default=64, help="number of images, 1..1024 (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="seed of the z vectors (default: %(default)s)")
    p.add_argument("--truncation", type=float, default=None, help="redraw z coordinates beyond this magnitude (e.g. 1.5)")
    p.add_argument("--nrow", type=int, default=None, help="images per row (default: square)")
    p.add_argument("--save-z", default=None, help="also write the z vectors to this .safetensors file")


@command("sample", "write a grid of samples from a checkpoint and a seed", _sample_args)
def cmd_sample(args: argparse.Namespace) -> int:
    from .checkpoint import load_generator
    from .latent import generate, sample_z
    from .plots import save_grid

    if not 1 <= args.n <= 1024:
        raise ValueError(f"--n must be in 1..1024, got {args.n}")
    generator = load_generator(args.checkpoint)
    z = sample_z(args.n, generator.config.nz, args.seed, args.truncation)
    path = save_grid(generate(generator, z), args.out, args.nrow)
    if args.save_z:
        from safetensors.torch import save_file

        save_file({"z": z}, args.save_z, metadata={"seed": str(args.seed)})
    print(f"wrote {path}")
    return 0


def _interp_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True, help="generator or training checkpoint (.safetensors)")
    p.add_argument("--out", default="interpolation.png", help="PNG strip to write; a .gif path writes an animation")
    p.add_argument("--seed-a", type=int, default=0, help="seed of the start z (default: %(default)s)")
    p.add_argument("--seed-b", type=int, default=1, help="seed of the end z (default: %(default)s)")
    p.add_argument("--steps", type=int, default=10, help="images from start to end, 2..64 (default: %(default)s)")
    p.add_argument("--mode", choices=("slerp", "linear"), default="slerp", help="spherical or linear (default: %(default)s)")
    p.add_argument("--rows", type=int, default=1, help="independent walks, one per row, seeds counting up (default: %(default)s)")


@command("interpolate", "walk the latent space between two seeds", _interp_args)
def cmd_interpolate(args: argparse.Namespace) -> int:
    import torch

    from .checkpoint import load_generator
    from .latent import generate, interpolate, sample_z
    from .plots import grid_uint8, save_gif, save_grid

    if not 2 <= args.steps <= 64:
        raise ValueError(f"--steps must be in 2..64, got {args.steps}")
    if not 1 <= args.rows <= 16:
        raise ValueError(f"--rows must be in 1..16, got {args.rows}")
    generator = load_generator(args.checkpoint)
    nz = generator.config.nz
    walks = [
        interpolate(sample_z(1, nz, args.seed_a + r)[0], sample_z(1, nz, args.seed_b + r)[0], args.steps, args.mode)
        for r in range(args.rows)
    ]
    images = generate(generator, torch.cat(walks))
    out = Path(args.out)
    if out.suffix.lower() == ".gif":  # frame i: step i of every walk, one walk per row
        save_gif(torch.stack([grid_uint8(images[i :: args.steps], nrow=1) for i in range(args.steps)]), out)
    else:
        save_grid(images, out, nrow=args.steps)
    print(f"wrote {out}")
    return 0


# ----------------------------------------------------------------------------------------------- export / import-pth


def _export_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", help="training checkpoint (.safetensors) to take the generator from")
    p.add_argument("out", help="generator-only .safetensors to write (the small file to share)")
    p.add_argument("--with-discriminator", action="store_true", help="keep D's weights too (no optimiser state), so D can be inspected and probed")


@command("export", "write the generator of a training checkpoint as a small shareable file", _export_args)
def cmd_export(args: argparse.Namespace) -> int:
    from .checkpoint import load_discriminator, load_generator, save_generator, save_models

    generator = load_generator(args.checkpoint)
    meta = {"extra.exported_from": Path(args.checkpoint).name}
    if args.with_discriminator:
        path = save_models(args.out, generator, load_discriminator(args.checkpoint), meta)
    else:
        path = save_generator(args.out, generator, meta)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


def _import_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("pth", help="generator saved by pytorch/examples dcgan/main.py (netG_epoch_*.pth)")
    p.add_argument("out", help=".safetensors to write")


@command("import-pth", "convert a pytorch/examples netG_epoch_*.pth to safetensors", _import_args)
def cmd_import_pth(args: argparse.Namespace) -> int:
    from .checkpoint import import_pth, read_metadata

    path = import_pth(args.pth, args.out)
    print(f"wrote {path}: {json.dumps(read_metadata(path)['model_config'], sort_keys=True)}")
    return 0


# ------------------------------------------------------------------------------------------------------------ main


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Show a default once: not when the help already names it, nor for options that are off or unset."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if "default:" in text or "%(default)" in text or any(action.default is v for v in (None, False, argparse.SUPPRESS)):
            return text
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    _load_plugins()
    parser = argparse.ArgumentParser(
        prog="python -m dcgan_studio",
        description="Train, sample and take apart the DCGAN of Radford, Metz & Chintala (2015).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (help_text, add_arguments, run) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text, formatter_class=_HelpFormatter)
        add_arguments(p)
        p.set_defaults(run=run)
    return parser


def _load_plugins() -> None:
    """Import modules that register more subcommands (kept optional so the core CLI never depends on them)."""
    import importlib

    for module in ("dcgan_studio.metrics.cli",):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name is None or not module.startswith(exc.name):
                raise


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.run(args)
    except USER_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
