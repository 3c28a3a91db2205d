"""What a subcommand is: a name, a help line, the flags it takes and the function that runs it."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

CHECKPOINT_HELP = (
    "generator or training checkpoint (.safetensors), or a Hub repo user/name[@revision] "
    "(default: the shipped digits generator)"
)


@dataclass(frozen=True)
class Command:
    name: str
    help: str  # one line, shown in ``--help`` and as the subcommand's description
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]  # the exit code


def checkpoint_file(spec: str | None) -> Path:
    """What every ``--checkpoint`` takes: a checkpoint file (as it is), a Hub folder, or a Hub repo id
    ``user/name[@revision]`` downloaded through huggingface_hub's cache; none: the shipped generator (a checkout's
    checkpoints/ or the installed package's copy). A ``HubError`` is a user error (exit 2)."""
    from ..hub import resolve_checkpoint
    from ..shipped import shipped_generator

    return resolve_checkpoint(spec) if spec else shipped_generator()
