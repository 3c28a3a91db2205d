"""``train``: flags -> ``TrainConfig`` -> a ``Trainer`` in a thread, with a progress bar; Ctrl-C stops and saves."""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from typing import Any

from tqdm import tqdm

from ..checkpoint import load_training_state
from ..config import TYPED_PARTS, ModelConfig, TrainConfig
from ..distributed import cleanup, exit_worker
from ..options import Option, flag_of, options_of
from ..train import Trainer

# the argument groups of ``train --help``, in order; each option names its own (options.Option.group)
GROUPS = {
    "data": "data",
    "model": "model",
    "optimisation": "optimisation",
    "run folder": "run folder",
    "quality": "quality per minute (checkpoints/README.md measures each)",
    "speed": "speed (defaults per device: dcgan_studio.step.SPEED_DEFAULTS; see bench/README.md)",
}
# the configs whose options are flags: the flat ones default to the config's value, the typed parts' to None ("not
# typed": a resumed run keeps its own value)
FLAT_CONFIGS = (ModelConfig, TrainConfig)
FLAT_FLAGS = tuple(f.name for f, opt in options_of(TrainConfig) if flag_of(f.name, opt))


def add_arguments(p: argparse.ArgumentParser) -> None:
    groups = {key: p.add_argument_group(title) for key, title in GROUPS.items()}
    run = groups["run folder"]
    run.add_argument(
        "--out",
        default="runs/digits",
        help="run folder for config, metrics.csv, grids, plot, checkpoints (default: %(default)s)",
    )
    run.add_argument("--resume", default=None, help="training checkpoint (.safetensors) to continue from")
    for cls in (*FLAT_CONFIGS, *TYPED_PARTS.values()):
        for f, opt in options_of(cls):
            if flag_of(f.name, opt):
                _add_flag(groups[opt.group], f.name, opt, f.default, typed_part=cls not in FLAT_CONFIGS)


def _add_flag(group, name: str, opt: Option, default: Any, typed_part: bool) -> None:
    """One option as a flag: its type, choices and help from the option; the default the config's (None for a
    typed part, whose help then shows the config's default)."""
    kw: dict[str, Any] = {"dest": name, "help": opt.help, "default": None if typed_part else default}
    if typed_part and default is not None:
        kw["help"] = opt.help.replace("%(default)s", str(default))
    if opt.kind == "bool":
        kw["action"] = argparse.BooleanOptionalAction if default is None else "store_true"
    elif opt.kind == "choice":
        kw["choices"] = opt.choices
        if not isinstance(opt.choices[0], str):
            kw["type"] = type(opt.choices[0])
    elif opt.kind in ("int", "float"):
        kw["type"] = int if opt.kind == "int" else float
    group.add_argument(flag_of(name, opt), *opt.aliases, **kw)


def train_options(args: argparse.Namespace) -> dict[str, Any]:
    """The train config's fields from the flags: every flat field, and of the typed parts only the flags that were
    typed (a resumed run keeps its own value of the others)."""
    typed = {
        part: {f.name: getattr(args, f.name) for f in fields(cls) if getattr(args, f.name) is not None}
        for part, cls in TYPED_PARTS.items()
    }
    return {**{name: getattr(args, name) for name in FLAT_FLAGS}, **typed}


def configs_from_args(args: argparse.Namespace) -> tuple[ModelConfig, TrainConfig]:
    model = ModelConfig(**{f.name: getattr(args, f.name) for f in fields(ModelConfig)})
    return model, TrainConfig.from_dict(train_options(args))


def resumed_train_config(saved: TrainConfig, options: dict[str, Any]) -> TrainConfig:
    """Resuming continues the checkpoint's own run: its train config (``saved``), except the options typed on this
    command line (flat ones that differ from their defaults, e.g. a larger --epochs or another --device; any
    stability or speed flag)."""
    saved_options = saved.to_dict()
    defaults = TrainConfig().to_dict()
    changed = {k: v for k, v in options.items() if k not in TYPED_PARTS and v != defaults[k]}
    typed = {part: {**saved_options[part], **options[part]} for part in TYPED_PARTS}
    return TrainConfig.from_dict({**saved_options, **changed, **typed})


def run(args: argparse.Namespace) -> int:
    model_cfg, train_cfg = configs_from_args(args)
    resume_state = None
    if args.resume:  # read once: its config here, its state for the trainer
        resume_state = load_training_state(args.resume)
        train_cfg = resumed_train_config(resume_state.train_config, train_options(args))
    trainer = Trainer(model_cfg, train_cfg, run_dir=args.out, resume_from=args.resume, resume_state=resume_state)
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
