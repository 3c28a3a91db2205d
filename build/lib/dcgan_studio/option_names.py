"""How each face names an option: the CLI by its flag, the Studio by its field's label.

Health advice and a run's warnings name options by their path in the configs ("stability.instance_noise"); this
turns them into what the reader can act on. It sits above ``config.py`` (it looks options up in the configs), while
``options.py`` sits below it, so no import goes round a circle.
"""

from __future__ import annotations

import dataclasses
import re

from .config import TYPED_PARTS, ModelConfig, TrainConfig
from .options import Option, flag_of, options_of


def find(path: str) -> tuple[str, Option]:
    """("part", Option) of an option by its path in a train config ("lr", "stability.nan_policy") or a model
    config ("model.nz")."""
    part, _, name = path.rpartition(".")
    cls = ModelConfig if part == "model" else TrainConfig
    if part and part != "model":
        cls = next(f.default_factory for f in dataclasses.fields(TrainConfig) if f.name == part)
    for f, opt in options_of(cls):
        if f.name == name:
            return part or "train", opt
    raise KeyError(path)


def option_name(path: str, face: str = "cli") -> str:
    """How a face names an option: the CLI its flag (``--lr-d``), the Studio its field's label in quotes."""
    name = path.rpartition(".")[2]
    _, opt = find(path)
    if face == "studio" and opt.widget is not None:
        return f"“{opt.widget.label}”"
    return flag_of(name, opt) or name


_ADVICE = re.compile(r"\{([\w.]+)(?:=([^}]*))?\}")


def render_advice(text: str, face: str = "cli") -> str:
    """Advice that names options as "{path}" or "{path=value}" (e.g. "{stability.instance_noise=0.1}"), as a face
    says it: ``--instance-noise 0.1`` on the command line, ``“Instance noise (…)” = 0.1`` in the Studio."""

    def name(match: re.Match) -> str:
        said, value = option_name(match.group(1), face), match.group(2)
        if value is None:
            return said
        return f"{said} = {value}" if face == "studio" else f"{said} {value}"

    return _ADVICE.sub(name, text)


_FLAG_SAID = re.compile(r"(--[a-z0-9][a-z0-9-]*)(?: ([-+]?\d[\w.+-]*))?")


def retell(text: str, face: str = "studio") -> str:
    """Text written for the command line (a run's warnings, as the core keeps them) as ``face`` says it: each flag of a
    config option, with its number if one follows, becomes what ``render_advice`` writes for that face."""
    if face == "cli":
        return text
    paths = {}
    for part, cls in _configs().items():
        for f, opt in options_of(cls):
            for flag in (flag_of(f.name, opt), *opt.aliases):
                paths[flag] = f"{part}.{f.name}" if part else f.name

    def said(match: re.Match) -> str:
        flag, value = match.groups()
        if flag not in paths or find(paths[flag])[1].widget is None:
            return match.group(0)
        return render_advice("{" + paths[flag] + ("" if value is None else f"={value}") + "}", face)

    return _FLAG_SAID.sub(said, text)


def _configs() -> dict[str, type]:
    return {"model": ModelConfig, "": TrainConfig, **TYPED_PARTS}
