"""What a DCGAN Studio file must hold, compared with what its header declares before any tensor is read.

The expected names, dtypes and shapes come from the networks themselves, built on the meta device (no memory
used), so the checks follow the architecture without a hand-written table.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from .. import limits as L
from ..config import ModelConfig
from ..finite import nonfinite
from ..models import Discriminator, Generator
from .io import CheckpointError, Spec, spec_of, st_dtypes

ADAM_FLAGS_REFUSED = ("amsgrad", "maximize", "capturable", "differentiable")  # not how this trainer's Adam runs


def expected_network(model_cls, config: ModelConfig) -> dict[str, Spec]:
    """Names, dtypes and shapes of a network's state dict, from a model built on the meta device."""
    with torch.device("meta"):
        model = model_cls(config)
    return {k: (st_dtypes()[v.dtype], tuple(v.shape)) for k, v in model.state_dict().items()}


def parameter_shapes(model_cls, config: ModelConfig) -> list[tuple[int, ...]]:
    """The shapes of a network's parameters in optimiser order (Adam's state is indexed by this order)."""
    with torch.device("meta"):
        return [tuple(p.shape) for p in model_cls(config).parameters()]


def _cpu_rng_bytes() -> int:
    return torch.get_rng_state().numel()


def expected_training_specs(config: ModelConfig, specs: dict[str, Spec]) -> dict[str, Spec]:
    """Every tensor a training checkpoint of ``config`` must hold, with its dtype and shape."""
    expected: dict[str, Spec] = {}
    for prefix, cls in (("G.", Generator), ("D.", Discriminator)):
        expected.update({prefix + k: v for k, v in expected_network(cls, config).items()})
        if prefix == "G." and any(k.startswith("EMA.") for k in specs):  # the moving average of G (--ema)
            expected.update({"EMA." + k: v for k, v in expected_network(cls, config).items()})
        opt = f"optim.{prefix[0]}."
        if any(k.startswith(opt) for k in specs):  # optimiser state exists once a step has been taken
            for i, shape in enumerate(parameter_shapes(cls, config)):
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


def _listed(names: list[str], most: int = 4) -> str:
    return f"{names[:most]}{' ...' if len(names) > most else ''}"


def check_state(what: str, path: Path, expected: dict, found: dict) -> None:
    """Names, shapes and dtypes found (tensors or header specs) must be exactly those the architecture expects."""
    expected = {k: spec_of(v) for k, v in expected.items()}
    found = {k: spec_of(v) for k, v in found.items()}
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    common = sorted(set(expected) & set(found))
    wrong = [f"{k}: expected {expected[k][1]}, found {found[k][1]}" for k in common if expected[k][1] != found[k][1]]
    dtypes = [
        f"{k}: expected {expected[k][0]}, found {found[k][0]}"
        for k in common
        if expected[k][1] == found[k][1] and expected[k][0] != found[k][0]
    ]
    parts = []
    if missing:
        parts.append(f"missing {_listed(missing)}")
    if unexpected:
        parts.append(f"unexpected {_listed([u[:80] for u in unexpected])}")
    if wrong:
        parts.append("wrong shapes " + "; ".join(wrong[:4]))
    if dtypes:
        parts.append("wrong dtypes " + "; ".join(dtypes[:4]))
    if parts:
        raise CheckpointError(
            f"{path.name}: the {what} weights do not match the architecture in its metadata ({', '.join(parts)}); "
            "the file is damaged or its metadata does not describe it"
        )


def check_finite(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    """Refuse NaN/inf weights: a generator that draws nothing, and a resume that can never recover (NaN spreads
    through Adam). The trainer never writes such a file, so one comes from a diverged run elsewhere or tampering."""
    bad = nonfinite(tensors)
    if bad:
        raise CheckpointError(
            f"{path.name} holds NaN/inf values in {_listed(bad)}: the run had diverged when it was written; use an "
            "earlier checkpoint"
        )


def _is_number(x) -> bool:
    return isinstance(x, (int, float))


def _check_adam_group(g: dict[str, Any], n_params: int) -> None:
    """One Adam parameter group as this trainer writes it; a ValueError says which setting is off."""
    if g.get("params") != list(range(n_params)):
        raise ValueError(f"'params' must list 0..{n_params - 1}")
    lr, betas, eps, wd = g["lr"], g["betas"], g["eps"], g.get("weight_decay", 0)
    if not (_is_number(lr) and 0 < lr < 1):
        raise ValueError(f"lr {lr!r} is not in (0, 1)")
    if not (isinstance(betas, list) and len(betas) == 2 and all(_is_number(b) and 0 <= b < 1 for b in betas)):
        raise ValueError(f"betas {betas!r} are not two numbers in [0, 1)")
    if not (_is_number(eps) and 0 < eps < 1) or not (_is_number(wd) and 0 <= wd < 1):
        raise ValueError("eps or weight_decay out of range")
    for flag in ADAM_FLAGS_REFUSED:
        if g.get(flag, False):
            raise ValueError(f"{flag}=True is not how this trainer's Adam runs")
    for key, value in g.items():
        if not isinstance(value, (bool, int, float, list, type(None))):
            raise ValueError(f"{key} has a {type(value).__name__} value")


def check_param_groups(path: Path, which: str, text: str, n_params: int) -> list[dict[str, Any]]:
    """The optimiser's parameter groups from their JSON: one Adam group over all ``n_params`` parameters."""
    try:
        groups = json.loads(text)
        if not (isinstance(groups, list) and len(groups) == 1 and isinstance(groups[0], dict)):
            raise ValueError("expected one parameter group")
        _check_adam_group(groups[0], n_params)
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise CheckpointError(f"{path.name}: the {which} optimiser settings are invalid ({exc})") from None
    return groups
