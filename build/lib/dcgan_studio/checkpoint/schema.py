"""What a DCGAN Studio checkpoint holds: full training state for exact resume, and weights-only exports to share.

Layout of a file (all tensors in one flat safetensors dict, the configs as JSON in its string metadata):
  * ``format``: ``dcgan_studio.train`` (G, D, both Adam states, RNG states, step, epoch, fixed noise),
    ``dcgan_studio.generator`` (G's weights only, the small file people share) or ``dcgan_studio.models``
    (G and D weights, no optimiser state: the shipped file, so the app can show D's features too);
  * ``format_version``, ``model_config`` (JSON of ``ModelConfig``), and for training files ``train_config``,
    ``step``, ``epoch``, ``batch_in_epoch`` and the optimisers' hyper-parameters.
Tensor names: ``G.<state-dict key>``, ``D.<key>``, ``optim.G.<param index>.<exp_avg|exp_avg_sq|step>``,
``optim.D....``, ``rng.cpu``, ``rng.cuda``, ``rng.noise``, ``fixed_noise``, and with ``--ema`` ``EMA.<key>`` (the
moving average of G, which ``load_generator`` and so ``export`` take from a training checkpoint).

Files are written atomically and their headers validated before anything is read (``io.py``). Loading parses the
header once (``read_info``), checks the format, the config and every tensor's name and shape against the
architecture the config describes (``validate.py``), and fails with one ``CheckpointError`` that says what was
wrong.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .. import limits as L
from ..config import ConfigError, ModelConfig, TrainConfig
from ..models import Discriminator, Generator
from .info import (
    FORMAT_GENERATOR,
    FORMAT_MODELS,
    FORMAT_TRAIN,
    FORMAT_VERSION,
    CheckpointInfo,
    extra_metadata,
    read_info,
)
from .io import CheckpointError, load_tensors, save_tensors
from .validate import (
    check_finite,
    check_param_groups,
    check_state,
    expected_network,
    expected_training_specs,
    parameter_shapes,
)


@dataclass
class TrainingState:
    """Everything needed to continue a run exactly where it stopped."""

    model_config: ModelConfig
    train_config: TrainConfig
    generator: dict[str, torch.Tensor]
    discriminator: dict[str, torch.Tensor]
    optim_g: dict[str, Any]
    optim_d: dict[str, Any]
    step: int
    epoch: int
    batch_in_epoch: int
    fixed_noise: torch.Tensor
    rng: dict[str, torch.Tensor] = field(default_factory=dict)
    extra_meta: dict[str, str] = field(default_factory=dict)
    ema: dict[str, torch.Tensor] | None = None  # the moving average of G (``--ema``): what grids and exports show


@dataclass
class Networks:
    """The networks of one file, loaded from one header parse: D is None for a generator-only export."""

    generator: Generator
    discriminator: Discriminator | None
    info: CheckpointInfo


# ----------------------------------------------------------------------------------------------------- writing


def _optim_to_flat(prefix: str, state_dict: dict[str, Any]) -> tuple[dict[str, torch.Tensor], str]:
    tensors = {}
    for idx, state in state_dict["state"].items():
        for name, value in state.items():
            tensors[f"{prefix}.{idx}.{name}"] = torch.as_tensor(value)
    return tensors, json.dumps(state_dict["param_groups"])


def _optim_state(prefix: str, tensors: dict[str, torch.Tensor]) -> dict[int, dict[str, torch.Tensor]]:
    """The inverse of ``_optim_to_flat``'s tensors: {param index: {name: tensor}}."""
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith(prefix + "."):
            idx, name = key[len(prefix) + 1 :].split(".", 1)
            state.setdefault(int(idx), {})[name] = value
    return state


def _header(fmt: str, config: ModelConfig, extra_meta: dict[str, str] | None) -> dict[str, str]:
    return {**(extra_meta or {}), "format": fmt, "format_version": FORMAT_VERSION, "model_config": config.to_json()}


def save_training_state(path: str | Path, state: TrainingState) -> Path:
    """Write a full training checkpoint (atomic)."""
    tensors: dict[str, torch.Tensor] = {}
    tensors.update({f"G.{k}": v for k, v in state.generator.items()})
    tensors.update({f"D.{k}": v for k, v in state.discriminator.items()})
    tensors.update({f"EMA.{k}": v for k, v in (state.ema or {}).items()})
    opt_g, groups_g = _optim_to_flat("optim.G", state.optim_g)
    opt_d, groups_d = _optim_to_flat("optim.D", state.optim_d)
    tensors.update(opt_g)
    tensors.update(opt_d)
    tensors.update({f"rng.{k}": v for k, v in state.rng.items()})
    tensors["fixed_noise"] = state.fixed_noise
    metadata = {
        **_header(FORMAT_TRAIN, state.model_config, state.extra_meta),
        "train_config": state.train_config.to_json(),
        "step": str(state.step),
        "epoch": str(state.epoch),
        "batch_in_epoch": str(state.batch_in_epoch),
        "optim_g_groups": groups_g,
        "optim_d_groups": groups_d,
    }
    return save_tensors(path, tensors, metadata)


def save_generator(path: str | Path, generator: Generator, extra_meta: dict[str, str] | None = None) -> Path:
    """Write the small generator-only file people share (atomic)."""
    return save_tensors(path, dict(generator.state_dict()), _header(FORMAT_GENERATOR, generator.config, extra_meta))


def save_models(
    path: str | Path, generator: Generator, discriminator: Discriminator, extra_meta: dict[str, str] | None = None
) -> Path:
    """Write G and D weights without optimiser state (atomic): small, yet enough to inspect or probe D."""
    tensors = {f"G.{k}": v for k, v in generator.state_dict().items()}
    tensors.update({f"D.{k}": v for k, v in discriminator.state_dict().items()})
    return save_tensors(path, tensors, _header(FORMAT_MODELS, generator.config, extra_meta))


# ----------------------------------------------------------------------------------------------------- reading


def _load_network(info: CheckpointInfo, model_cls, what: str, prefix: str):
    """Validate a network's entries from the header (before allocating anything), then load and build it."""
    names = {k: k[len(prefix) :] for k in info.specs if k.startswith(prefix)}
    found = {short: info.specs[full] for full, short in names.items()}
    check_state(what, info.path, expected_network(model_cls, info.model_config), found)
    weights = {names[k]: v for k, v in load_tensors(info.path, names).items()}
    check_finite(info.path, weights)
    model = model_cls(info.model_config)
    model.load_state_dict(weights)
    return model


def load_generator(path: str | Path | CheckpointInfo, device: str | torch.device = "cpu") -> Generator:
    """A ready generator (eval mode) from any DCGAN Studio file, its architecture taken from the metadata: of a
    training checkpoint that keeps a moving average of G (``--ema``), the average."""
    info = read_info(path)
    prefix = "" if info.format == FORMAT_GENERATOR else "EMA." if info.has_ema else "G."
    return _load_network(info, Generator, "generator", prefix).to(device).eval()


def load_discriminator(path: str | Path | CheckpointInfo, device: str | torch.device = "cpu") -> Discriminator:
    """The discriminator of a training or models checkpoint (eval mode); generator-only files have none."""
    info = read_info(path)
    if not info.has_discriminator:
        raise CheckpointError(
            f"{info.path.name} is a generator-only export and holds no discriminator; use a training checkpoint or an "
            "export made with --with-discriminator"
        )
    return _load_network(info, Discriminator, "discriminator", "D.").to(device).eval()


def load_networks(path: str | Path | CheckpointInfo, device: str | torch.device = "cpu") -> Networks:
    """G and, when the file holds one, D (both eval mode), from one parse of the header."""
    info = read_info(path)
    generator = load_generator(info, device)  # G first, then D: building them draws from torch's global RNG
    discriminator = load_discriminator(info, device) if info.has_discriminator else None
    return Networks(generator, discriminator, info)


@dataclass(frozen=True)
class _TrainingMeta:
    train_config: TrainConfig
    step: int
    epoch: int
    batch_in_epoch: int
    groups_g: list[dict[str, Any]]
    groups_d: list[dict[str, Any]]


def _training_meta(info: CheckpointInfo) -> _TrainingMeta:
    """The training metadata of a training checkpoint, parsed and range-checked."""
    metadata, path = info.metadata, info.path
    try:
        train_config = TrainConfig.from_json(metadata["train_config"])
        step, epoch, batch = int(metadata["step"]), int(metadata["epoch"]), int(metadata["batch_in_epoch"])
        if not (0 <= step <= L.MAX_STEPS and 0 <= epoch <= L.MAX_EPOCHS and 0 <= batch <= L.MAX_STEPS):
            raise ValueError(f"step {step}, epoch {epoch} or batch {batch} out of range")
        n_g = len(parameter_shapes(Generator, info.model_config))
        n_d = len(parameter_shapes(Discriminator, info.model_config))
        groups_g = check_param_groups(path, "generator", metadata["optim_g_groups"], n_g)
        groups_d = check_param_groups(path, "discriminator", metadata["optim_d_groups"], n_d)
    except (KeyError, ValueError, TypeError, ConfigError, RecursionError) as exc:
        raise CheckpointError(f"{path.name} has incomplete or invalid training metadata ({exc})") from None
    return _TrainingMeta(train_config, step, epoch, batch, groups_g, groups_d)


def _split(prefix: str, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    n = len(prefix)
    return {k[n:]: v for k, v in tensors.items() if k.startswith(prefix)}


def load_training_state(path: str | Path | CheckpointInfo) -> TrainingState:
    """A full training checkpoint, validated (names, dtypes, shapes, optimiser settings, RNG states, finiteness)
    before it is used, on the CPU."""
    info = read_info(path)
    if not info.is_training_state:
        raise CheckpointError(
            f"{info.path.name} holds weights only and cannot resume training; use a training checkpoint from a run's "
            "checkpoints/ folder"
        )
    meta = _training_meta(info)
    check_state("training-state", info.path, expected_training_specs(info.model_config, info.specs), info.specs)
    tensors = load_tensors(info.path, info.specs)
    check_finite(info.path, tensors)
    return TrainingState(
        model_config=info.model_config,
        train_config=meta.train_config,
        generator=_split("G.", tensors),
        discriminator=_split("D.", tensors),
        optim_g={"state": _optim_state("optim.G", tensors), "param_groups": meta.groups_g},
        optim_d={"state": _optim_state("optim.D", tensors), "param_groups": meta.groups_d},
        step=meta.step,
        epoch=meta.epoch,
        batch_in_epoch=meta.batch_in_epoch,
        fixed_noise=tensors["fixed_noise"],
        rng=_split("rng.", tensors),
        extra_meta=extra_metadata(metadata=info.metadata),
        ema=_split("EMA.", tensors) or None,
    )
