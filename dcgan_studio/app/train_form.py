"""The Train tab's form, declared once: ``FIELDS`` lists every field with its widget, its check and where its value
goes in the core's configs, and where it is shown from a config (a preset, a re-attached run).

The same list makes the widgets (``build_fields``), the ``/train_start`` endpoint's parameters (in this order: API
callers may pass them by position), the configs (``build_configs``), a reloaded page's values (``form_values``) and
a preset's values (``preset_values``). Adding an option is one ``Field``.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from ..config import ModelConfig, TrainConfig
from ..presets import DEFAULT_PRESET, PRESETS
from .dataset_picker import FOLDER_CHOICE, ZIP_CHOICE, build_dataset_picker, dataset_choices
from .errors import StudioError
from .settings import Limits, check_float, check_int
from .studio import Studio
from .visitors import safe_folder

N_FIXED = 64  # the fixed-noise grid of a Studio run: 8 x 8


@dataclass(frozen=True)
class Field:
    """One form field. ``part`` names the config it goes to ("model", "train"; None: read with the dataset),
    ``key`` its attribute there (default: ``name``); ``check(limits, value)`` turns what a client sent into that
    value; ``shown(model, train)`` is the widget's value for a config; ``make(studio, value)`` builds the widget."""

    name: str
    make: Callable[[Studio, Any], gr.components.Component] | None = None  # None: built by the dataset picker
    shown: Callable[[ModelConfig, TrainConfig], Any] | None = None  # None: never set from a config
    check: Callable[[Limits, Any], Any] | None = None
    part: str | None = None
    key: str | None = None
    section: str = ""  # "" (the form), or the title of the accordion it sits in
    row: int = 0  # fields with the same section and row sit side by side
    preset: bool = True  # a preset sets it (dataset, channels, seed and max steps stay as the user left them)


def _choice(name: str, choices: Callable[[Limits], tuple[int, ...]]) -> Callable[[Limits, Any], int]:
    """A whole-number choice sent as a string or a number ("32" and 32 alike), one of ``choices(limits)``."""

    def check(limits: Limits, value) -> int:
        allowed = choices(limits)
        number = check_int(name, value, min(allowed), max(allowed))
        if number not in allowed:
            raise StudioError(f"{name} must be one of {allowed}")
        return number

    return check


def _int(name: str, lo: Callable[[Limits], int], hi: Callable[[Limits], int]) -> Callable[[Limits, Any], int]:
    return lambda limits, value: check_int(name, value, lo(limits), hi(limits))


def _number(
    label: str, lo: Callable[[Limits], float], hi: Callable[[Limits], float], whole: bool = True, **extra
) -> Callable[[Studio, Any], gr.Number]:
    """A ``gr.Number`` bounded by the Studio's limits (a hint for the page; ``check`` is the guarantee)."""

    def make(studio: Studio, value) -> gr.Number:
        limits = studio.limits
        return gr.Number(
            value, label=label, precision=0 if whole else None, minimum=lo(limits), maximum=hi(limits), **extra
        )

    return make


def _max_steps(limits: Limits, value) -> int | None:
    return check_int("max steps", value or 0, 0, limits.max_steps) or None  # 0: no limit besides epochs


FIELDS: list[Field] = [
    # the data: dataset, zip_file and folder are read together (data_source); the picker builds the three widgets
    Field(
        "dataset",
        shown=lambda m, t: {"zip": ZIP_CHOICE, "folder": FOLDER_CHOICE}.get(t.dataset, t.dataset),
        preset=False,
    ),
    Field("zip_file"),
    Field("folder"),
    # string choices: gradio_client documents every choice as a string (Literal['32', ...]) and Gradio accepts only a
    # listed value; the check reads "32" and 32 alike
    Field(
        "image_size",
        lambda studio, v: gr.Dropdown([str(s) for s in studio.limits.image_sizes], value=v, label="Image size"),
        shown=lambda m, t: str(m.image_size),
        check=_choice("image size", lambda lim: lim.image_sizes),
        part="model",
        row=1,
    ),
    Field(
        "channels",
        lambda studio, v: gr.Radio([str(c) for c in studio.limits.channels], value=v, label="Channels"),
        shown=lambda m, t: str(m.channels),
        check=_choice("channels", lambda lim: lim.channels),
        part="model",
        row=1,
        preset=False,
    ),
    Field(
        "nz",
        _number("nz", lambda lim: lim.min_nz, lambda lim: lim.max_nz),
        shown=lambda m, t: m.nz,
        check=_int("nz", lambda lim: lim.min_nz, lambda lim: lim.max_nz),
        part="model",
        row=2,
    ),
    Field(
        "ngf",
        _number("ngf (G width)", lambda lim: lim.min_width, lambda lim: lim.max_width),
        shown=lambda m, t: m.ngf,
        check=_int("ngf", lambda lim: lim.min_width, lambda lim: lim.max_width),
        part="model",
        row=2,
    ),
    Field(
        "ndf",
        _number("ndf (D width)", lambda lim: lim.min_width, lambda lim: lim.max_width),
        shown=lambda m, t: m.ndf,
        check=_int("ndf", lambda lim: lim.min_width, lambda lim: lim.max_width),
        part="model",
        row=2,
    ),
    Field(
        "batch_size",
        lambda studio, v: gr.Slider(1, studio.limits.max_batch, value=v, step=1, label="Batch size"),
        shown=lambda m, t: t.batch_size,
        check=_int("batch size", lambda lim: 1, lambda lim: lim.max_batch),
        part="train",
        row=3,
    ),
    Field(
        "lr",
        _number("Learning rate", lambda lim: lim.min_lr, lambda lim: lim.max_lr, whole=False),
        shown=lambda m, t: t.lr,
        check=lambda lim, v: check_float("learning rate", v, lim.min_lr, lim.max_lr),
        part="train",
        row=4,
    ),
    Field(
        "beta1",
        _number("Adam beta1", lambda lim: 0, lambda lim: 0.999, whole=False),
        shown=lambda m, t: t.beta1,
        check=lambda lim, v: check_float("beta1", v, 0.0, 0.999),
        part="train",
        row=4,
    ),
    Field(
        "epochs",
        _number("Epochs", lambda lim: 1, lambda lim: lim.max_epochs),
        shown=lambda m, t: t.epochs,
        check=_int("epochs", lambda lim: 1, lambda lim: lim.max_epochs),
        part="train",
        row=5,
    ),
    Field(
        "max_steps",
        _number("Max steps (0 = all)", lambda lim: 0, lambda lim: lim.max_steps),
        shown=lambda m, t: t.max_steps or 0,
        check=_max_steps,
        part="train",
        row=5,
        preset=False,
    ),
    Field(
        "seed",
        _number("Seed", lambda lim: 0, lambda lim: lim.max_seed),
        shown=lambda m, t: t.seed,
        check=_int("seed", lambda lim: 0, lambda lim: lim.max_seed),
        part="train",
        row=5,
        preset=False,
    ),
    Field(
        "log_every",
        _number("Log every (steps)", lambda lim: 1, lambda lim: None),
        shown=lambda m, t: t.log_every,
        check=_int("log every", lambda lim: 1, lambda lim: lim.max_log_every),
        part="train",
        section="Logging",
    ),
    Field(
        "sample_every",
        _number("Grid every (steps, 0 = each epoch)", lambda lim: 0, lambda lim: None),
        shown=lambda m, t: t.sample_every,
        check=_int("grid every", lambda lim: 0, lambda lim: lim.max_sample_every),
        part="train",
        section="Logging",
        row=1,
    ),
]
FIELD_NAMES = [f.name for f in FIELDS]
SHOWN = [f for f in FIELDS if f.shown is not None]  # the fields a config sets (a reload, the initial values)
PRESET_FIELDS = [f for f in SHOWN if f.preset]


def form_signature() -> inspect.Signature:
    """``(dataset, zip_file, folder, image_size, ...)``: the parameters of ``/train_start``, in ``FIELDS`` order."""
    return inspect.Signature([inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in FIELD_NAMES])


def form_dict(args: tuple, kwargs: dict) -> dict[str, Any]:
    """The form's values by name, from positional and keyword values in ``FIELDS`` order."""
    return dict(form_signature().bind(*args, **kwargs).arguments)


def data_source(studio: Studio, dataset, zip_file, folder) -> tuple[str, str | None]:
    """(TrainConfig.dataset, data_path) for the dataset picker's values; a folder must lie inside the allowed roots."""
    if dataset not in dataset_choices(studio):
        raise StudioError(f"dataset must be one of {', '.join(dataset_choices(studio))}")
    if dataset == ZIP_CHOICE:
        if not zip_file or not isinstance(zip_file, str):
            raise StudioError("upload a .zip of images first")
        if not zip_file.lower().endswith(".zip") or not Path(zip_file).is_file():
            raise StudioError("the dataset upload must be a .zip file")
        return "zip", str(zip_file)
    if dataset == FOLDER_CHOICE:
        roots = list(studio.limits.folder_roots) or [studio.data_dir]
        return "folder", str(safe_folder(folder, roots))
    return dataset, (None if dataset == "digits" else str(studio.data_dir))


def build_configs(studio: Studio, *args, **kwargs) -> tuple[ModelConfig, TrainConfig]:
    """Check every field against the Studio's limits and turn the form (``FIELDS`` order or by name) into the
    core's configs."""
    values = form_dict(args, kwargs)
    dataset, data_path = data_source(studio, values["dataset"], values["zip_file"], values["folder"])
    parts: dict[str, dict[str, Any]] = {"model": {}, "train": {}}
    for f in FIELDS:
        if f.part is not None:
            parts[f.part][f.key or f.name] = f.check(studio.limits, values[f.name])
    model = ModelConfig(**parts["model"])
    train = TrainConfig(dataset=dataset, data_path=data_path, n_fixed=N_FIXED, **parts["train"])
    return model, train


def shown_values(model: ModelConfig, train: TrainConfig, fields: list[Field] = SHOWN) -> dict[str, Any]:
    return {f.name: f.shown(model, train) for f in fields}


def form_values(studio: Studio) -> dict[str, Any] | None:
    """The current job's settings, so a reloaded page shows the run it re-attached to (None when there is none)."""
    trainer = studio.jobs.current()
    return None if trainer is None else shown_values(trainer.model_config, trainer.config)


def preset_values(name: str) -> dict[str, Any]:
    """The form fields a preset sets (architecture, batch, optimiser, epochs, logging); dataset, channels, seed and
    max steps stay as the user left them."""
    if name not in PRESETS:
        raise StudioError(f"preset must be one of {', '.join(PRESETS)}")
    return shown_values(*PRESETS[name].configs(), PRESET_FIELDS)


def build_fields(studio: Studio, section: str = "") -> dict[str, Any]:
    """The widgets of one section, valued from the default preset; fields sharing a row sit side by side. The main
    section starts with the dataset picker (dataset, zip upload, folder box)."""
    initial = shown_values(*PRESETS[DEFAULT_PRESET].configs())
    widgets: dict[str, Any] = {}
    if not section:
        info = "digits ship with scikit-learn (offline)"
        widgets["dataset"], widgets["zip_file"], widgets["folder"] = build_dataset_picker(
            studio, label="Dataset", info=info
        )
    fields = [f for f in FIELDS if f.section == section and f.name not in widgets]
    for row in dict.fromkeys(f.row for f in fields):
        in_row = [f for f in fields if f.row == row]
        with gr.Row() if len(in_row) > 1 else contextlib.nullcontext():
            for f in in_row:
                widgets[f.name] = f.make(studio, initial.get(f.name))
    return widgets
