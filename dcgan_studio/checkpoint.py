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

from . import limits as L
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
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and not exc.filename:
            exc.filename = str(path)  # fsync/write errors carry no name: say which file could not be written
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


def remove_stale_temporaries(folder: str | Path) -> list[Path]:
    """Delete the ``.<name>.<random>.tmp`` files that ``atomic_write_bytes`` leaves when its process is killed
    mid-write (loaders and listings never look at them). Call it only from the folder's single writer."""
    removed = []
    for tmp in Path(folder).glob(".*.tmp"):
        if tmp.is_file():
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


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


# safetensors dtype names of the tensors this format holds
_ST_DTYPES = {torch.float32: "F32", torch.int64: "I64", torch.uint8: "U8", torch.float64: "F64", torch.float16: "F16",
              torch.bfloat16: "BF16", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.bool: "BOOL"}
_DTYPE_BYTES = {"F64": 8, "I64": 8, "U64": 8, "F32": 4, "I32": 4, "U32": 4, "F16": 2, "BF16": 2, "I16": 2, "U16": 2,
                "I8": 1, "U8": 1, "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1}

Spec = tuple[str, tuple[int, ...]]  # (safetensors dtype, shape) of one tensor, read from the header


def read_header(path: str | Path) -> tuple[dict[str, str], dict[str, Spec]]:
    """(metadata, {name: (dtype, shape)}) from a safetensors header alone, checked for consistency with the file's
    size (so a truncated or padded file is caught here), without reading or allocating any tensor."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    size = path.stat().st_size
    if size < 8:
        raise CheckpointError(f"{path.name} is not a safetensors file (only {size} bytes)")
    with open(path, "rb") as fh:
        header_len = int.from_bytes(fh.read(8), "little")
        if header_len > MAX_HEADER_BYTES or header_len + 8 > size:
            raise CheckpointError(
                f"{path.name} is not a valid safetensors file (header length {header_len} does not fit a {size}-byte "
                "file); it may be truncated, or a pickle/.pth file renamed. Convert .pth generators with `import-pth`."
            )
        raw = fh.read(header_len)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise CheckpointError(f"{path.name} is not a safetensors file (its header is not JSON: {exc})") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path.name} is not a safetensors file (its header is not a JSON object)")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise CheckpointError(f"{path.name}: the safetensors metadata must map strings to strings")
    specs: dict[str, Spec] = {}
    spans = []
    for name, entry in header.items():
        try:
            dtype, shape, (begin, end) = entry["dtype"], entry["shape"], entry["data_offsets"]
            ok = (dtype in _DTYPE_BYTES and isinstance(shape, list) and len(shape) <= 8
                  and all(type(d) is int and 0 <= d < 2**40 for d in shape) and type(begin) is int and type(end) is int)
        except (TypeError, KeyError, ValueError):
            ok = False
        if not ok:
            raise CheckpointError(f"{path.name}: tensor {name[:80]!r} has a malformed header entry")
        numel = 1
        for d in shape:
            numel *= d
        if not 0 <= begin <= end or end - begin != numel * _DTYPE_BYTES[dtype]:
            raise CheckpointError(f"{path.name}: tensor {name[:80]!r} declares shape {shape} ({dtype}) that does not match its {end - begin} bytes")
        specs[name] = (dtype, tuple(shape))
        spans.append((begin, end))
    covered = 0
    for begin, end in sorted(spans):
        if begin != covered:
            raise CheckpointError(f"{path.name}: the tensors' data overlap or leave gaps; the file is damaged")
        covered = end
    if covered != size - 8 - header_len:
        raise CheckpointError(
            f"{path.name} holds {size - 8 - header_len} bytes of tensor data but its header describes {covered}; "
            "it is truncated or damaged (an interrupted copy?)"
        )
    return metadata, specs


def verify_file(path: str | Path) -> str | None:
    """None if ``path`` looks like a complete safetensors checkpoint of ours (header only, cheap), else why not."""
    try:
        metadata, _ = read_header(path)
        _model_config(metadata, Path(path))
    except CheckpointError as exc:
        return str(exc)
    except OSError as exc:
        return f"{Path(path).name} cannot be read ({exc})"
    return None


def _load_tensors(path: Path, names) -> dict[str, torch.Tensor]:
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            return {k: f.get_tensor(k) for k in names}
    except (SafetensorError, OSError, ValueError, RuntimeError, TypeError) as exc:
        raise CheckpointError(f"{path.name} is not a readable safetensors file ({exc})") from None


def read_file(path: str | Path) -> tuple[dict[str, str], dict[str, torch.Tensor]]:
    """(metadata, tensors) of a safetensors file, or a ``CheckpointError`` saying why it is not one."""
    path = Path(path)
    metadata, specs = read_header(path)
    return metadata, _load_tensors(path, specs)


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
        raw = json.loads(metadata.get("model_config", ""))
        if not isinstance(raw, dict) or any(type(v) is not int for v in raw.values()):
            raise ConfigError(f"every field must be a whole number, got {str(raw)[:200]}")
        return ModelConfig.from_dict(raw)
    except (ConfigError, TypeError, ValueError, RecursionError) as exc:
        raise CheckpointError(f"{path.name} has an invalid model_config in its metadata: {exc}") from None


def _expected(model_cls, config: ModelConfig) -> dict[str, Spec]:
    """Names, dtypes and shapes of a network's state, from a model built on the meta device (no memory used)."""
    with torch.device("meta"):
        model = model_cls(config)
    return {k: (_ST_DTYPES[v.dtype], tuple(v.shape)) for k, v in model.state_dict().items()}


def _spec(value) -> Spec:
    if isinstance(value, torch.Tensor):
        return _ST_DTYPES.get(value.dtype, str(value.dtype)), tuple(value.shape)
    return value


def _check_state(what: str, path: Path, expected: dict, found: dict) -> None:
    """Names, shapes and dtypes found (tensors or header specs) must be exactly those the architecture expects."""
    expected = {k: _spec(v) for k, v in expected.items()}
    found = {k: _spec(v) for k, v in found.items()}
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    common = sorted(set(expected) & set(found))
    wrong = [f"{k}: expected {expected[k][1]}, found {found[k][1]}" for k in common if expected[k][1] != found[k][1]]
    dtypes = [f"{k}: expected {expected[k][0]}, found {found[k][0]}" for k in common
              if expected[k][1] == found[k][1] and expected[k][0] != found[k][0]]
    if missing or unexpected or wrong or dtypes:
        parts = []
        if missing:
            parts.append(f"missing {missing[:4]}{' ...' if len(missing) > 4 else ''}")
        if unexpected:
            parts.append(f"unexpected {[u[:80] for u in unexpected[:4]]}{' ...' if len(unexpected) > 4 else ''}")
        if wrong:
            parts.append("wrong shapes " + "; ".join(wrong[:4]))
        if dtypes:
            parts.append("wrong dtypes " + "; ".join(dtypes[:4]))
        raise CheckpointError(
            f"{path.name}: the {what} weights do not match the architecture in its metadata ({', '.join(parts)}); "
            "the file is damaged or its metadata does not describe it"
        )


def _check_finite(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    """Refuse NaN/inf weights: a generator that draws nothing, and a resume that can never recover (NaN spreads
    through Adam). The trainer never writes such a file, so one comes from a diverged run elsewhere or tampering."""
    bad = [k for k, v in tensors.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        raise CheckpointError(
            f"{path.name} holds NaN/inf values in {bad[:4]}{' ...' if len(bad) > 4 else ''}: the run had diverged when "
            "it was written; use an earlier checkpoint"
        )


def _split(prefix: str, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    n = len(prefix)
    return {k[n:]: v for k, v in tensors.items() if k.startswith(prefix)}


def _load_network(path: Path, model_cls, what: str, prefix: str):
    """Validate a network's entries from the header (before allocating anything), then load and build it."""
    metadata, specs = read_header(path)
    config = _model_config(metadata, path)
    names = {k: k[len(prefix):] for k in specs if k.startswith(prefix)}
    _check_state(what, path, _expected(model_cls, config), {short: specs[full] for full, short in names.items()})
    tensors = _load_tensors(path, names)
    weights = {names[k]: v for k, v in tensors.items()}
    _check_finite(path, weights)
    model = model_cls(config)
    model.load_state_dict(weights)
    return model


def load_generator(path: str | Path, device: str | torch.device = "cpu") -> Generator:
    """A ready generator (eval mode) from any DCGAN Studio file, its architecture taken from the metadata."""
    path = Path(path)
    metadata, _ = read_header(path)
    _model_config(metadata, path)
    prefix = "" if metadata["format"] == FORMAT_GENERATOR else "G."
    return _load_network(path, Generator, "generator", prefix).to(device).eval()


def load_discriminator(path: str | Path, device: str | torch.device = "cpu") -> Discriminator:
    """The discriminator of a training or models checkpoint (eval mode); generator-only files have none."""
    path = Path(path)
    metadata, _ = read_header(path)
    _model_config(metadata, path)
    if metadata["format"] == FORMAT_GENERATOR:
        raise CheckpointError(
            f"{path.name} is a generator-only export and holds no discriminator; use a training checkpoint or an "
            "export made with --with-discriminator"
        )
    return _load_network(path, Discriminator, "discriminator", "D.").to(device).eval()


def _cpu_rng_bytes() -> int:
    return torch.get_rng_state().numel()


def _expected_training_specs(config: ModelConfig, metadata: dict[str, str], specs: dict[str, Spec]) -> dict[str, Spec]:
    """Every tensor a training checkpoint of ``config`` must hold, with its dtype and shape."""
    expected: dict[str, Spec] = {}
    for prefix, cls in (("G.", Generator), ("D.", Discriminator)):
        expected.update({prefix + k: v for k, v in _expected(cls, config).items()})
        with torch.device("meta"):
            params = [tuple(p.shape) for p in cls(config).parameters()]
        opt = f"optim.{prefix[0]}."
        if any(k.startswith(opt) for k in specs):  # optimiser state exists once a step has been taken
            for i, shape in enumerate(params):
                expected[f"{opt}{i}.exp_avg"] = ("F32", shape)
                expected[f"{opt}{i}.exp_avg_sq"] = ("F32", shape)
                expected[f"{opt}{i}.step"] = ("F32", ())
    n_fixed = specs.get("fixed_noise", ("F32", (0,)))[1][:1] or (0,)
    expected["fixed_noise"] = ("F32", (min(max(n_fixed[0], 1), L.MAX_N_FIXED), config.nz, 1, 1))
    for key in ("cpu", "noise", "cuda"):  # RNG states: byte vectors of the sizes torch's generators use
        if f"rng.{key}" in specs:
            allowed = {"cpu": (_cpu_rng_bytes(),), "noise": (_cpu_rng_bytes(), 16), "cuda": (16,)}[key]
            shape = specs[f"rng.{key}"][1]
            expected[f"rng.{key}"] = ("U8", shape if len(shape) == 1 and shape[0] in allowed else (allowed[0],))
    return expected


def _check_param_groups(path: Path, which: str, text: str, n_params: int) -> list[dict[str, Any]]:
    try:
        groups = json.loads(text)
        if not (isinstance(groups, list) and len(groups) == 1 and isinstance(groups[0], dict)):
            raise ValueError("expected one parameter group")
        g = groups[0]
        if g.get("params") != list(range(n_params)):
            raise ValueError(f"'params' must list 0..{n_params - 1}")
        lr, betas, eps, wd = g["lr"], g["betas"], g["eps"], g.get("weight_decay", 0)
        if not (isinstance(lr, (int, float)) and 0 < lr < 1):
            raise ValueError(f"lr {lr!r} is not in (0, 1)")
        if not (isinstance(betas, list) and len(betas) == 2 and all(isinstance(b, (int, float)) and 0 <= b < 1 for b in betas)):
            raise ValueError(f"betas {betas!r} are not two numbers in [0, 1)")
        if not (isinstance(eps, (int, float)) and 0 < eps < 1) or not (isinstance(wd, (int, float)) and 0 <= wd < 1):
            raise ValueError("eps or weight_decay out of range")
        for flag in ("amsgrad", "maximize", "capturable", "differentiable"):
            if g.get(flag, False):
                raise ValueError(f"{flag}=True is not how this trainer's Adam runs")
        for key, value in g.items():
            if not isinstance(value, (bool, int, float, list, type(None))):
                raise ValueError(f"{key} has a {type(value).__name__} value")
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise CheckpointError(f"{path.name}: the {which} optimiser settings are invalid ({exc})") from None
    return groups


def load_training_state(path: str | Path) -> TrainingState:
    """A full training checkpoint, validated (names, dtypes, shapes, optimiser settings, RNG states, finiteness)
    before it is used, on the CPU."""
    path = Path(path)
    metadata, specs = read_header(path)
    config = _model_config(metadata, path)
    if metadata["format"] != FORMAT_TRAIN:
        raise CheckpointError(f"{path.name} holds weights only and cannot resume training; use a training checkpoint from a run's checkpoints/ folder")
    try:
        train_config = TrainConfig.from_json(metadata["train_config"])
        step, epoch, batch = int(metadata["step"]), int(metadata["epoch"]), int(metadata["batch_in_epoch"])
        if not (0 <= step <= L.MAX_STEPS and 0 <= epoch <= L.MAX_EPOCHS and 0 <= batch <= L.MAX_STEPS):
            raise ValueError(f"step {step}, epoch {epoch} or batch {batch} out of range")
        with torch.device("meta"):
            n_g, n_d = len(list(Generator(config).parameters())), len(list(Discriminator(config).parameters()))
        groups_g = _check_param_groups(path, "generator", metadata["optim_g_groups"], n_g)
        groups_d = _check_param_groups(path, "discriminator", metadata["optim_d_groups"], n_d)
    except (KeyError, ValueError, TypeError, ConfigError, RecursionError) as exc:
        raise CheckpointError(f"{path.name} has incomplete or invalid training metadata ({exc})") from None
    _check_state("training-state", path, _expected_training_specs(config, metadata, specs), specs)
    tensors = _load_tensors(path, specs)
    _check_finite(path, tensors)
    optim_g = {"state": _optim_state("optim.G", tensors), "param_groups": groups_g}
    optim_d = {"state": _optim_state("optim.D", tensors), "param_groups": groups_d}
    return TrainingState(
        model_config=config,
        train_config=train_config,
        generator=_split("G.", tensors),
        discriminator=_split("D.", tensors),
        optim_g=optim_g,
        optim_d=optim_d,
        step=step,
        epoch=epoch,
        batch_in_epoch=batch,
        fixed_noise=tensors["fixed_noise"],
        rng=_split("rng.", tensors),
        extra_meta={k: v for k, v in metadata.items() if k.startswith("extra.")},
    )


def _optim_state(prefix: str, tensors: dict[str, torch.Tensor]) -> dict[int, dict[str, torch.Tensor]]:
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith(prefix + "."):
            idx, name = key[len(prefix) + 1 :].split(".", 1)
            state.setdefault(int(idx), {})[name] = value
    return state


def read_metadata(path: str | Path) -> dict[str, Any]:
    """A checkpoint's metadata with the configs parsed (for listings and the UI), from the header alone."""
    path = Path(path)
    metadata, specs = read_header(path)
    config = _model_config(metadata, path)
    info: dict[str, Any] = {
        "format": metadata["format"],
        "model_config": config.to_dict(),
        "has_discriminator": metadata["format"] != FORMAT_GENERATOR,
    }
    try:
        for key in ("step", "epoch"):
            if key in metadata:
                info[key] = int(metadata[key])
        if "train_config" in metadata:
            info["train_config"] = TrainConfig.from_json(metadata["train_config"]).to_dict()
    except (ValueError, TypeError, ConfigError, RecursionError) as exc:
        raise CheckpointError(f"{path.name} has invalid training metadata ({exc})") from None
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
    if not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise CheckpointError(f"{src.name} is not a state dict of named tensors")
    state = {k.removeprefix("module."): v for k, v in state.items()}
    try:
        convs = sorted((int(k.split(".")[1]), v) for k, v in state.items() if k.endswith(".weight") and v.dim() == 4)
        first, last = convs[0][1], convs[-1][1]
        nz, ngf, channels = first.shape[0], last.shape[0], last.shape[1]
        image_size = 2 ** (len(convs) + 1)
        config = ModelConfig(image_size=image_size, channels=channels, nz=nz, ngf=ngf, ndf=ngf)
    except (ConfigError, IndexError, ValueError) as exc:
        raise CheckpointError(f"{src.name}: the architecture cannot be inferred or is not supported ({exc})") from None
    _check_state("generator", src, _expected(Generator, config), state)
    _check_finite(src, state)
    generator = Generator(config)
    generator.load_state_dict(state)
    return save_generator(dst, generator, {"extra.imported_from": src.name})
