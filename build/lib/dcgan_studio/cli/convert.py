"""``export`` (a training checkpoint's generator as a small file) and ``import-pth`` (pytorch/examples weights)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .command import checkpoint_file
from .hub import hub_export_args, run_hub_export


def export_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "checkpoint", help="training checkpoint (.safetensors), or a Hub repo user/name[@revision], to export"
    )
    p.add_argument(
        "out", nargs="?", default=None, help="generator-only .safetensors to write (the small file to share)"
    )
    p.add_argument(
        "--with-discriminator",
        action="store_true",
        help="keep D's weights too (no optimiser state), so D can be inspected and probed",
    )
    hub_export_args(p)


def run_export(args: argparse.Namespace) -> int:
    from ..checkpoint import load_discriminator, load_generator, save_generator, save_models

    if args.out is None and args.hub_dir is None:
        raise ValueError("give the file to write (OUT), or --hub-dir DIR for a Hugging Face Hub folder, or both")
    checkpoint = checkpoint_file(args.checkpoint)
    if args.hub_dir is not None:
        run_hub_export(args, checkpoint)
    if args.out is None:
        return 0
    generator = load_generator(checkpoint)
    meta = {"extra.exported_from": Path(args.checkpoint).name}
    if args.with_discriminator:
        path = save_models(args.out, generator, load_discriminator(checkpoint), meta)
    else:
        path = save_generator(args.out, generator, meta)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


def import_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("pth", help="generator saved by pytorch/examples dcgan/main.py (netG_epoch_*.pth)")
    p.add_argument("out", help=".safetensors to write")


def run_import_pth(args: argparse.Namespace) -> int:
    from ..checkpoint import import_pth, read_metadata

    path = import_pth(args.pth, args.out)
    print(f"wrote {path}: {json.dumps(read_metadata(path)['model_config'], sort_keys=True)}")
    return 0
