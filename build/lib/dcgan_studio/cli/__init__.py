"""``python -m dcgan_studio`` (and the ``dcgan-studio`` script): the command line, a thin layer over the core.

Every subcommand turns flags into one core call; ``COMMANDS`` lists them all, one module per group. Bad input
(unknown dataset, missing file, wrong size, corrupt checkpoint) ends with one line on stderr and exit code 2, never a
traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from ..errors import USER_ERRORS
from . import convert, directions, evaluate, hub, sample, train
from .command import Command
from .train import configs_from_args

logger = logging.getLogger("dcgan_studio")

COMMANDS = [
    Command("train", "train a DCGAN and write a run folder", train.add_arguments, train.run),
    Command("sample", "write a grid of samples from a checkpoint and a seed", sample.sample_args, sample.run_sample),
    Command("interpolate", "walk the latent space between two seeds", sample.interpolate_args, sample.run_interpolate),
    Command(
        "export",
        "write the generator of a training checkpoint as a small shareable file",
        convert.export_args,
        convert.run_export,
    ),
    Command(
        "import-pth",
        "convert a pytorch/examples netG_epoch_*.pth to safetensors",
        convert.import_args,
        convert.run_import_pth,
    ),
    Command("push", "upload a Hub folder written by `export --hub-dir` to a Hub repo", hub.push_args, hub.run_push),
    Command(
        "eval",
        "evaluate a checkpoint: sample quality, diversity, memorisation, D's features; writes a report",
        evaluate.eval_args,
        evaluate.run_eval,
    ),
    Command(
        "train-classifier",
        "train the small digits classifier used by eval's offline scores",
        evaluate.classifier_args,
        evaluate.run_train_classifier,
    ),
    Command(
        "directions",
        "find steerable latent directions (PCA, digit labels) and write them with a strip PNG each",
        directions.directions_args,
        directions.run_directions,
    ),
]


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Show a default once: not when the help already names it, nor for options that are off or unset."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        unset = any(action.default is v for v in (None, False, argparse.SUPPRESS))
        if "default:" in text or "%(default)" in text or unset:
            return text
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dcgan_studio",
        description="Train, sample and take apart the DCGAN of Radford, Metz & Chintala (2015).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        p = sub.add_parser(command.name, help=command.help, description=command.help, formatter_class=_HelpFormatter)
        command.add_arguments(p)
        p.set_defaults(run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.run(args)
    except USER_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


__all__ = ["COMMANDS", "USER_ERRORS", "Command", "build_parser", "configs_from_args", "main"]
