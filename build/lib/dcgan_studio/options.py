"""Options declared once: each option of a run is a field of a config dataclass, and its ``Option`` metadata says
what every face needs.

``option(default, help, ...)`` is a ``dataclasses.field`` whose metadata holds an ``Option``: the help text, the
bounds (checked here, by ``check``, whatever sets the value), the CLI flag (``--name-with-dashes`` unless given;
old spellings kept as ``aliases``), the argument group, how the Studio shows it (``Widget``: kind, label, section,
row, place among ``/train_start``'s parameters) and the ``Limits`` field that caps it in the Studio with that field's
public-mode value. ``cli/train.py`` builds its flags from it, ``app/train_form.py`` its fields, ``app/settings.py``
its public caps, and ``health.py`` names a remedy through it (``option_names.option_name``). Nothing here imports torch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError
from .limits import check_float, check_int

KINDS = ("int", "float", "choice", "bool", "text")


@dataclass(frozen=True)
class Widget:
    """How the Studio's Train form shows an option. ``pos`` is its place among ``/train_start``'s parameters (API
    callers may pass them by position, so a new option takes the next free place); ``lo`` / ``hi`` narrow the
    option's bounds for every Studio (``Option.limit`` narrows them per mode)."""

    label: str
    pos: int
    kind: str = "number"  # "number", "slider", "dropdown" or "radio"
    name: str = ""  # the form's (and the API's) name for it; default: the option's
    section: str = ""  # "" (the form), or the title of the accordion it sits in
    row: int = 0  # fields with the same section and row sit side by side
    info: str = ""
    preset: bool = True  # a preset sets it (channels, seed and max steps stay as the user left them)
    lo: float | None = None
    hi: float | None = None
    hint_max: bool = True  # the widget shows its maximum (the server checks it either way)
    what: str = ""  # the field's name in error messages (default: the form name with spaces)
    zero_is_none: bool = False  # the widget's 0 stands for the config's None ("no limit", "as above")
    choices: tuple[tuple[str, str], ...] = ()  # (label, value) of a radio of strings (default: the option's choices)
    blank: str = ""  # the radio value that stands for the config's unset value (None or "")


@dataclass(frozen=True)
class Option:
    """Everything the faces need to know about one config field (see the module docstring)."""

    help: str  # the CLI's help; "%(default)s" stands for the config's default
    kind: str = ""  # one of KINDS; "" = from the default's type
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    off: Any = None  # a value allowed outside [lo, hi] that turns the option off (the EMA decay's 0)
    choices: tuple = ()
    lower: bool = False  # a choice is read case-insensitively
    flag: str | None = None  # None: "--" + the name with dashes; "": no flag
    aliases: tuple[str, ...] = ()  # older spellings of the flag
    group: str = ""  # the CLI's argument group (cli/train.py: GROUPS)
    widget: Widget | None = None  # None: not in the Studio's Train form
    limit: str = ""  # the ``Limits`` field that caps it in the Studio (a maximum, or the choices allowed)
    limit_lo: str = ""  # the ``Limits`` field that is its minimum in the Studio
    public_cap: Any = None  # ``limit``'s value in public mode (None: the same as a local Studio's)


def option(default: Any = dataclasses.MISSING, help: str = "", *, default_factory: Any = dataclasses.MISSING, **kw):
    """A dataclass field carrying its ``Option``; the kind is the default's type unless given."""
    if "kind" not in kw:
        kw["kind"] = {bool: "bool", int: "int", float: "float", str: "text"}.get(type(default), "")
        if kw.get("choices"):
            kw["kind"] = "choice"
    meta = {"option": Option(help=help, **kw)}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def options_of(cls: type) -> Iterator[tuple[dataclasses.Field, Option]]:
    """The fields of a config class that are options, in declaration order."""
    for f in dataclasses.fields(cls):
        if "option" in f.metadata:
            yield f, f.metadata["option"]


def flag_of(name: str, opt: Option) -> str:
    """The option's CLI flag ("" when it has none)."""
    return ("--" + name.replace("_", "-")) if opt.flag is None else opt.flag


def check(name: str, value: Any, opt: Option, nullable: bool = False, lo=None, hi=None) -> Any:
    """``value`` checked against the option (``name`` in the message): the one validation of every option, for the
    configs and the Studio alike (which narrows ``lo`` / ``hi``). ``nullable``: None is allowed (the default)."""
    if value is None and nullable:
        return None
    if opt.kind == "choice":
        normal = str(value).lower() if opt.lower and value is not None else value
        if normal not in opt.choices:
            either = " or None (the device's default)" if nullable else ""
            raise ConfigError(f"{name} must be one of {opt.choices}{either}, got {value!r}")
        return normal
    if opt.kind == "bool":
        if value not in (True, False):
            either = ", false or None (the device's default)" if nullable else " or false"
            raise ConfigError(f"{name} must be true{either}, got {value!r}")
        return bool(value)
    if opt.kind == "text":
        return str(value)
    lo = opt.lo if lo is None else lo
    hi = opt.hi if hi is None else hi
    if opt.off is not None and value is not None and not isinstance(value, (bool, str)) and value == opt.off:
        return type(opt.off)(value)
    try:
        if opt.kind == "int":
            return check_int(name, value, lo, hi)
        return check_float(name, value, lo, hi, opt.lo_open and lo == opt.lo, opt.hi_open and hi == opt.hi)
    except ConfigError as exc:
        if opt.off is None:
            raise
        end = ")" if opt.hi_open and hi == opt.hi else "]"
        raise ConfigError(f"{name} must be {opt.off:g} (off) or in [{lo:g}, {hi:g}{end}, got {value!r}") from exc


def validate(config: Any, prefix: str = "") -> None:
    """Check every option of a config in place (frozen ones too), naming each ``prefix`` + its name."""
    for f, opt in options_of(type(config)):
        value = check(prefix + f.name, getattr(config, f.name), opt, nullable=f.default is None)
        object.__setattr__(config, f.name, value)
