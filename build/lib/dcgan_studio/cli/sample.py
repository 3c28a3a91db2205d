"""``sample`` (a grid from a checkpoint and a seed) and ``interpolate`` (walks through the latent space)."""

from __future__ import annotations

import argparse
from pathlib import Path

from .command import CHECKPOINT_HELP, checkpoint_file


def sample_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", default=None, help=CHECKPOINT_HELP)
    p.add_argument("--out", default="samples.png", help="grid PNG to write (default: %(default)s)")
    p.add_argument("--n", type=int, default=64, help="number of images, 1..1024 (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="seed of the z vectors (default: %(default)s)")
    p.add_argument(
        "--truncation", type=float, default=None, help="redraw z coordinates beyond this magnitude (e.g. 1.5)"
    )
    p.add_argument("--nrow", type=int, default=None, help="images per row (default: square)")
    p.add_argument("--save-z", default=None, help="also write the z vectors to this .safetensors file")


def run_sample(args: argparse.Namespace) -> int:
    from ..checkpoint import load_generator
    from ..latent import generate, sample_z
    from ..plots import save_grid

    if not 1 <= args.n <= 1024:
        raise ValueError(f"--n must be in 1..1024, got {args.n}")
    generator = load_generator(checkpoint_file(args.checkpoint))
    z = sample_z(args.n, generator.config.nz, args.seed, args.truncation)
    path = save_grid(generate(generator, z), args.out, args.nrow)
    if args.save_z:
        from safetensors.torch import save_file

        save_file({"z": z}, args.save_z, metadata={"seed": str(args.seed)})
    print(f"wrote {path}")
    return 0


def interpolate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", default=None, help=CHECKPOINT_HELP)
    p.add_argument("--out", default="interpolation.png", help="PNG strip to write; a .gif path writes an animation")
    p.add_argument("--seed-a", type=int, default=0, help="seed of the start z (default: %(default)s)")
    p.add_argument("--seed-b", type=int, default=1, help="seed of the end z (default: %(default)s)")
    p.add_argument("--steps", type=int, default=10, help="images from start to end, 2..64 (default: %(default)s)")
    p.add_argument(
        "--mode", choices=("slerp", "linear"), default="slerp", help="spherical or linear (default: %(default)s)"
    )
    p.add_argument(
        "--rows", type=int, default=1, help="independent walks, one per row, seeds counting up (default: %(default)s)"
    )


def run_interpolate(args: argparse.Namespace) -> int:
    import torch

    from ..checkpoint import load_generator
    from ..latent import generate, interpolate, sample_z
    from ..plots import grid_uint8, save_gif, save_grid

    if not 2 <= args.steps <= 64:
        raise ValueError(f"--steps must be in 2..64, got {args.steps}")
    if not 1 <= args.rows <= 16:
        raise ValueError(f"--rows must be in 1..16, got {args.rows}")
    generator = load_generator(checkpoint_file(args.checkpoint))
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
