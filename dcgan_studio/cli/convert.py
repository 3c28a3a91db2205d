"""``export`` (a training checkpoint's generator as a small file) and ``import-pth`` (pytorch/examples weights)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def export_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", help="training checkpoint (.safetensors) to take the generator from")
    p.add_argument("out", help="generator-only .safetensors to write (the small file to share)")
    p.add_argument(
        "--with-discriminator",
        action="store_true",
        help="keep D's weights too (no optimiser state), so D can be inspected and probed",
    )


def run_export(args: argparse.Namespace) -> int:
    from ..checkpoint import load_discriminator, load_generator, save_generator, save_models

    generator = load_generator(args.checkpoint)
    meta = {"extra.exported_from": Path(args.checkpoint).name}
    if args.with_discriminator:
        path = save_models(args.out, generator, load_discriminator(args.checkpoint), meta)
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
