"""safetensors checkpoints: full training state for exact resume, and generator-only exports to share.

Layout of a file (all tensors in one flat safetensors dict, the configs as JSON in its string metadata):
  * ``format``: ``dcgan_studio.train`` (G, D, both Adam states, RNG states, step, epoch, fixed noise),
    ``dcgan_studio.generator`` (G's weights only, the small file people share) or ``dcgan_studio.models``
    (G and D weights, no optimiser state: the shipped file, so the app can show D's features too);
  * ``format_version``, ``model_config`` (JSON of ``ModelConfig``), and for training files ``train_config``,
    ``step``, ``epoch``, ``batch_in_epoch`` and the optimisers' hyper-parameters.
Tensor names: ``G.<state-dict key>``, ``D.<key>``, ``optim.G.<param index>.<exp_avg|exp_avg_sq|step>``,
``optim.D....``, ``rng.cpu``, ``rng.cuda``, ``rng.noise``, ``fixed_noise``.

Writes are atomic (temporary file in the same folder, fsync, rename, fsync of the folder), so a crash mid-write
leaves the previous file intact. Loading checks the format, the config and every tensor's name and shape against
the architecture the config describes, and fails with one ``CheckpointError`` that says what was wrong; safetensors
never runs code, so a hostile file can at worst be refused.
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as st_save

from .config import ConfigError, ModelConfig, TrainConfig
from .models import Discriminator, Generator

logger = logging.getLogger(__name__)

FORMAT_TRAIN = "dcgan_studio.train"
FORMAT_GENERATOR = "dcgan_studio.generator"
FORMAT_MODELS = "dcgan_studio.models"  # G and D weights without optimiser state: what the app needs to inspect D
FORMAT_VERSION = "1"
MAX_HEADER_BYTES = 16 * 1024**2  # a real header is a few KB; refuse absurd ones before parsing them


class CheckpointError(ValueError):
    """A checkpoint cannot be used; the message names the file and the problem."""


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


# ----------------------------------------------------------------------------------------------------- writing


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass
    return path


def _save(path: str | Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> Path:
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    return atomic_write_bytes(path, st_save(tensors, metadata=metadata))


def _optim_to_flat(prefix: str, state_dict: dict[str, Any]) -> tuple[dict[str, torch.Tensor], str]:
    tensors = {}
    for idx, state in state_dict["state"].items():
        for name, value in state.items():
            tensors[f"{prefix}.{idx}.{name}"] = torch.as_tensor(value)
    return tensors, json.dumps(state_dict["param_groups"])


def _optim_from_flat(prefix: str, tensors: dict[str, torch.Tensor], groups_json: str) -> dict[str, Any]:
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith(prefix + "."):
            idx, name = key[len(prefix) + 1 :].split(".", 1)
            state.setdefault(int(idx), {})[name] = value
    return {"state": state, "param_groups": json.loads(groups_json)}


def save_training_state(path: str | Path, state: TrainingState) -> Path:
    """Write a full training checkpoint (atomic)."""
    tensors: dict[str, torch.Tensor] = {}
    tensors.update({f"G.{k}": v for k, v in state.generator.items()})
    tensors.update({f"D.{k}": v for k, v in state.discriminator.items()})
    opt_g, groups_g = _optim_to_flat("optim.G", state.optim_g)
    opt_d, groups_d = _optim_to_flat("optim.D", state.optim_d)
    tensors.update(opt_g)
    tensors.update(opt_d)
    tensors.update({f"rng.{k}": v for k, v in state.rng.items()})
    tensors["fixed_noise"] = state.fixed_noise
    metadata = {
        **state.extra_meta,
        "format": FORMAT_TRAIN,
        "format_version": FORMAT_VERSION,
        "model_config": state.model_config.to_json(),
        "train_config": state.train_config.to_json(),
        "step": str(state.step),
        "epoch": str(state.epoch),
        "batch_in_epoch": str(state.batch_in_epoch),
        "optim_g_groups": groups_g,
        "optim_d_groups": groups_d,
    }
    return _save(path, tensors, metadata)


def save_generator(path: str | Path, generator: Generator, extra_meta: dict[str, str] | None = None) -> Path:
    """Write the small generator-only file people share (atomic)."""
    metadata = {
        **(extra_meta or {}),
        "format": FORMAT_GENERATOR,
        "format_version": FORMAT_VERSION,
        "model_config": generator.config.to_json(),
    }
    return _save(path, dict(generator.state_dict()), metadata)


def save_models(path: str | Path, generator: Generator, discriminator: Discriminator, extra_meta: dict[str, str] | None = None) -> Path:
    """Write G and D weights without optimiser state (atomic): small, yet enough to inspect or probe D."""
    metadata = {
        **(extra_meta or {}),
        "format": FORMAT_MODELS,
        "format_version": FORMAT_VERSION,
        "model_config": generator.config.to_json(),
    }
    tensors = {f"G.{k}": v for k, v in generator.state_dict().items()}
    tensors.update({f"D.{k}": v for k, v in discriminator.state_dict().items()})
    return _save(path, tensors, metadata)


# ----------------------------------------------------------------------------------------------------- reading


def read_file(path: str | Path) -> tuple[dict[str, str], dict[str, torch.Tensor]]:
    """(metadata, tensors) of a safetensors file, or a ``CheckpointError`` saying why it is not one."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    size = path.stat().st_size
    if size < 8:
        raise CheckpointError(f"{path.name} is not a safetensors file (only {size} bytes)")
    with open(path, "rb") as fh:
        head = fh.read(8)
    header_len = int.from_bytes(head, "little")
    if header_len > MAX_HEADER_BYTES or header_len + 8 > size:
        raise CheckpointError(
            f"{path.name} is not a valid safetensors file (header length {header_len} does not fit a {size}-byte "
            "file); it may be truncated, or a pickle/.pth file renamed. Convert .pth generators with `import-pth`."
        )
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            metadata = dict(f.metadata() or {})
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{path.name} is not a readable safetensors file ({exc})") from None
    return metadata, tensors


def _model_config(metadata: dict[str, str], path: Path) -> ModelConfig:
    fmt = metadata.get("format")
    if fmt not in (FORMAT_TRAIN, FORMAT_GENERATOR, FORMAT_MODELS):
        raise CheckpointError(
            f"{path.name} was not written by DCGAN Studio (metadata 'format' is {fmt!r}); "
            "for a pytorch/examples netG_*.pth use `python -m dcgan_studio import-pth`"
        )
    if metadata.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{path.name} has format version {metadata.get('format_version')!r}; this build reads {FORMAT_VERSION}")
    try:
        return ModelConfig.from_json(metadata.get("model_config", ""))
    except (ConfigError, TypeError) as exc:
        raise CheckpointError(f"{path.name} has an invalid model_config in its metadata: {exc}") from None


def _check_state(what: str, path: Path, expected: dict[str, torch.Tensor], found: dict[str, torch.Tensor]) -> None:
    """Names and shapes found must be exactly those the config's architecture expects."""
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    wrong = [
        f"{k}: expected {tuple(expected[k].shape)}, found {tuple(found[k].shape)}"
        for k in sorted(set(expected) & set(found))
        if expected[k].shape != found[k].shape or expected[k].dtype.is_floating_point != found[k].dtype.is_floating_point
    ]
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"missing {missing[:4]}{' ...' if len(missing) > 4 else ''}")
        if unexpected:
            parts.append(f"unexpected {unexpected[:4]}{' ...' if len(unexpected) > 4 else ''}")
        if wrong:
            parts.append("wrong shapes " + "; ".join(wrong[:4]))
        raise CheckpointError(
            f"{path.name}: the {what} weights do not match the architecture in its metadata ({', '.join(parts)}); "
            "the file is damaged or its metadata does not describe it"
        )


def _split(prefix: str, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    n = len(prefix)
    return {k[n:]: v for k, v in tensors.items() if k.startswith(prefix)}


def load_generator(path: str | Path, device: str | torch.device = "cpu") -> Generator:
    """A ready generator (eval mode) from any DCGAN Studio file, its architecture taken from the metadata."""
    path = Path(path)
    metadata, tensors = read_file(path)
    config = _model_config(metadata, path)
    weights = tensors if metadata["format"] == FORMAT_GENERATOR else _split("G.", tensors)
    generator = Generator(config)
    _check_state("generator", path, generator.state_dict(), weights)
    generator.load_state_dict(weights)
    return generator.to(device).eval()


def load_discriminator(path: str | Path, device: str | torch.device = "cpu") -> Discriminator:
    """The discriminator of a training or models checkpoint (eval mode); generator-only files have none."""
    path = Path(path)
    metadata, tensors = read_file(path)
    config = _model_config(metadata, path)
    if metadata["format"] == FORMAT_GENERATOR:
        raise CheckpointError(
            f"{path.name} is a generator-only export and holds no discriminator; use a training checkpoint or an "
            "export made with --with-discriminator"
        )
    weights = _split("D.", tensors)
    discriminator = Discriminator(config)
    _check_state("discriminator", path, discriminator.state_dict(), weights)
    discriminator.load_state_dict(weights)
    return discriminator.to(device).eval()


def load_training_state(path: str | Path) -> TrainingState:
    """A full training checkpoint, validated, on the CPU."""
    path = Path(path)
    metadata, tensors = read_file(path)
    config = _model_config(metadata, path)
    if metadata["format"] != FORMAT_TRAIN:
        raise CheckpointError(f"{path.name} holds weights only and cannot resume training; use a training checkpoint from a run's checkpoints/ folder")
    try:
        train_config = TrainConfig.from_json(metadata["train_config"])
        step, epoch, batch = int(metadata["step"]), int(metadata["epoch"]), int(metadata["batch_in_epoch"])
        optim_g = _optim_from_flat("optim.G", tensors, metadata["optim_g_groups"])
        optim_d = _optim_from_flat("optim.D", tensors, metadata["optim_d_groups"])
    except (KeyError, ValueError, TypeError, ConfigError) as exc:
        raise CheckpointError(f"{path.name} has incomplete or invalid training metadata ({exc})") from None
    g_state, d_state = _split("G.", tensors), _split("D.", tensors)
    generator, discriminator = Generator(config), Discriminator(config)
    _check_state("generator", path, generator.state_dict(), g_state)
    _check_state("discriminator", path, discriminator.state_dict(), d_state)
    fixed = tensors.get("fixed_noise")
    if fixed is None or fixed.dim() != 4 or fixed.shape[1:] != (config.nz, 1, 1):
        raise CheckpointError(f"{path.name}: fixed_noise is missing or not (N, {config.nz}, 1, 1)")
    return TrainingState(
        model_config=config,
        train_config=train_config,
        generator=g_state,
        discriminator=d_state,
        optim_g=optim_g,
        optim_d=optim_d,
        step=step,
        epoch=epoch,
        batch_in_epoch=batch,
        fixed_noise=fixed,
        rng=_split("rng.", tensors),
        extra_meta={k: v for k, v in metadata.items() if k.startswith("extra.")},
    )


def read_metadata(path: str | Path) -> dict[str, Any]:
    """A checkpoint's metadata with the configs parsed (for listings and the UI), validated like a load."""
    path = Path(path)
    metadata, _ = read_file(path)
    config = _model_config(metadata, path)
    info: dict[str, Any] = {
        "format": metadata["format"],
        "model_config": config.to_dict(),
        "has_discriminator": metadata["format"] != FORMAT_GENERATOR,
    }
    for key in ("step", "epoch"):
        if key in metadata:
            info[key] = int(metadata[key])
    if "train_config" in metadata:
        info["train_config"] = json.loads(metadata["train_config"])
    info.update({k: v for k, v in metadata.items() if k.startswith("extra.")})
    return info


# ------------------------------------------------------------------------------------ pytorch/examples import


def import_pth(src: str | Path, dst: str | Path) -> Path:
    """Convert a generator saved by pytorch/examples' ``dcgan/main.py`` (``netG_epoch_*.pth``) to our format.

    The file is read with ``torch.load(weights_only=True)``, so no pickled code runs. The architecture (nz, ngf,
    channels, image size) is inferred from the tensor shapes; the result produces the same image for the same z.
    """
    src = Path(src)
    if not src.is_file():
        raise CheckpointError(f"{src} does not exist")
    try:
        state = torch.load(src, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many types for bad pickles
        raise CheckpointError(f"{src.name} is not a PyTorch state dict that loads with weights_only=True ({exc})") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or "main.0.weight" not in state:
        raise CheckpointError(f"{src.name} is not a pytorch/examples DCGAN generator (no 'main.0.weight' key)")
    state = {k.removeprefix("module."): v for k, v in state.items()}
    convs = sorted((int(k.split(".")[1]), v) for k, v in state.items() if k.endswith(".weight") and v.dim() == 4)
    first, last = convs[0][1], convs[-1][1]
    nz, ngf, channels = first.shape[0], last.shape[0], last.shape[1]
    image_size = 2 ** (len(convs) + 1)
    try:
        config = ModelConfig(image_size=image_size, channels=channels, nz=nz, ngf=ngf, ndf=ngf)
    except ConfigError as exc:
        raise CheckpointError(f"{src.name}: the inferred architecture is not supported ({exc})") from None
    generator = Generator(config)
    _check_state("generator", src, generator.state_dict(), state)
    generator.load_state_dict(state)
    return save_generator(dst, generator, {"extra.imported_from": src.name})
