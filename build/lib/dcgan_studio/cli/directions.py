"""``directions``: steerable directions of a generator (GANSpace PCA, and on the digits the classifier's labels)
written as a safetensors file, with one strip PNG per direction (-3 to +3 standard deviations) beside it."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from .command import CHECKPOINT_HELP, checkpoint_file

STRIP_AMOUNTS = (-3, -2, -1, 0, 1, 2, 3)
STRIP_ROWS = 4  # samples per strip, one per row (seeds' first z's)


def directions_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", default=None, help=CHECKPOINT_HELP)
    p.add_argument("--out", required=True, help="directions file to write (.safetensors); strips go beside it")
    p.add_argument("--k", type=int, default=8, help="principal directions, 1..64 (default: %(default)s)")
    p.add_argument(
        "--samples", type=int, default=4096, help="samples to find them from, 64..65536 (default: %(default)s)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of those samples and of the strips (default: %(default)s)")
    p.add_argument(
        "--labels",
        action="store_true",
        help="add class directions ('towards a 7', 'thicker') from the shipped digits classifier (1-channel 32x32)",
    )


def slug(name: str) -> str:
    """A direction's name as a file-name part: 'towards a 7' -> 'towards_a_7'."""
    return re.sub(r"[^0-9A-Za-z]+", "_", name).strip("_").lower() or "direction"


def run_directions(args: argparse.Namespace) -> int:
    from ..checkpoint import load_generator
    from ..directions import save_directions, standard_directions, strip, suits_digits_classifier
    from ..latent import sample_z
    from ..plots import save_grid

    out = Path(args.out)
    if out.suffix.lower() != ".safetensors":
        raise ValueError(f"--out must end in .safetensors, got {out.name!r}")
    if not 1 <= args.k <= 64:
        raise ValueError(f"--k must be in 1..64, got {args.k}")
    if not 64 <= args.samples <= 65536:
        raise ValueError(f"--samples must be in 64..65536, got {args.samples}")
    generator = load_generator(checkpoint_file(args.checkpoint))
    classifier = None
    if args.labels:
        if not suits_digits_classifier(generator):
            raise ValueError(
                "--labels needs a 1-channel 32x32 generator (the digits classifier's input); drop --labels"
            )
        from ..metrics.classifier import load_classifier

        classifier = load_classifier()
    k = min(args.k, generator.config.nz)
    dirs = standard_directions(generator, k, args.samples, args.seed, classifier, args.checkpoint)
    out.parent.mkdir(parents=True, exist_ok=True)
    print(f"wrote {save_directions(out, dirs)} ({len(dirs)} directions, nz {dirs.nz})")
    z = sample_z(STRIP_ROWS, generator.config.nz, args.seed)
    for i, name in enumerate(dirs.names):
        path = out.with_name(f"{out.stem}_{i:02d}_{slug(name)}.png")
        save_grid(strip(generator, z, dirs, i, STRIP_AMOUNTS), path, nrow=len(STRIP_AMOUNTS))
        print(f"wrote {path} ({name})")
    return 0
