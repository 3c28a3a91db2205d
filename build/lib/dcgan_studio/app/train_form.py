"""The Train tab's form, declared once: ``FIELDS`` lists every field with its widget, its check and where its value
goes in the core's configs, and where it is shown from a config (a preset, a re-attached run).

The same list makes the widgets (``build_fields``), the ``/train_start`` endpoint's parameters (in this order: API
callers may pass them by position), the configs (``build_configs``), a reloaded page's values (``form_values``) and
a preset's values (``preset_values``). The fields of config options are not written here: each is built from its
``options.Option`` (``option_field``: label, widget, section, row and API place from its ``Widget``, bounds from
``Limits.bounds``), so adding an option to the form is adding a ``Widget`` to its field in config.py.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from ..config import ADVANCED, TYPED_PARTS, ModelConfig, TrainConfig
from ..dataset_names import OFFLINE_DATASETS
from ..options import Option, Widget, options_of
from ..options import check as check_option
from ..presets import DEFAULT_PRESET, PRESETS
from .dataset_picker import FOLDER_CHOICE, ZIP_CHOICE, build_dataset_picker, dataset_choices
from .errors import StudioError
from .settings import Limits, check_int
from .studio import Studio
from .visitors import Visitor, safe_folder

N_FIXED = 64  # the fixed-noise grid of a Studio run: 8 x 8


@dataclass(frozen=True)
class Field:
    """One form field. ``part`` names the config its value goes to ("model", "train", or a part of the train config
    such as "stability"; None: read with the dataset, see ``data_source``) and ``key`` its attribute there
    (default: ``name``); ``check(limits, value)`` turns what a client sent into that value; ``make(studio, value)``
    builds the widget; ``shown(model, train)`` is the widget's value for a config (default: the attribute)."""

    name: str
    make: Callable[[Studio, Any], gr.components.Component] | None = None  # None: built by the dataset picker
    check: Callable[[Limits, Any], Any] | None = None
    part: str | None = None
    key: str | None = None
    shown: Callable[[ModelConfig, TrainConfig], Any] | None = None
    section: str = ""  # "" (the form), or the title of the accordion it sits in
    row: int = 0  # fields with the same section and row sit side by side
    preset: bool = True  # a preset sets it (dataset, channels, seed and max steps stay as the user left them)
    optional: bool = False  # API callers may leave it out (fields added after the first 16): the default preset's
    bounds: Callable[[Limits], tuple[Any, Any]] | None = None  # (lo, hi) of a number in this Studio
    choices: Callable[[Limits], tuple] | None = None  # the whole numbers a choice offers in this Studio

    def value_of(self, model: ModelConfig, train: TrainConfig) -> Any:
        """The widget's value for these configs (a preset's, a re-attached run's)."""
        if self.shown is not None:
            return self.shown(model, train)
        config = model if self.part == "model" else train if self.part == "train" else getattr(train, self.part)
        return getattr(config, self.key or self.name)


def _dataset_shown(model: ModelConfig, train: TrainConfig) -> str:
    return {"zip": ZIP_CHOICE, "folder": FOLDER_CHOICE}.get(train.dataset, train.dataset)


FIRST_ADDED_POS = 27  # fields from this API place on came later (the tracker, ...): callers may leave them out


def option_field(part: str, key: str, default: Any, opt: Option) -> Field:
    """The form field of a config option, from its ``Option``: the widget its ``Widget`` names, bounded by
    ``Limits.bounds`` (the config's bounds narrowed for this Studio), and checked by ``options.check`` against
    those same bounds on the server."""
    w = opt.widget
    name = w.name or key
    what = w.what or name.replace("_", " ")
    optional = w.section == ADVANCED or w.pos >= FIRST_ADDED_POS
    common = dict(part=part, key=key, section=w.section, row=w.row, preset=w.preset, optional=optional)
    if opt.kind == "choice" and not isinstance(opt.choices[0], str):
        return _whole_choice(name, what, w, opt, common)
    if w.kind in ("radio", "dropdown"):
        return _text_choice(name, what, w, opt, default, common)
    whole = opt.kind == "int"

    def bounds(limits: Limits) -> tuple[Any, Any]:
        lo, hi = limits.bounds(opt)
        return (0 if w.zero_is_none else opt.off if opt.off is not None else lo), hi

    def make(studio: Studio, value) -> gr.components.Component:
        lo, hi = bounds(studio.limits)
        if w.kind == "slider":
            return gr.Slider(lo, hi, value=value, step=1, label=w.label)
        maximum = hi if w.hint_max else None
        return gr.Number(value, label=w.label, precision=0 if whole else None, minimum=lo, maximum=maximum)

    def check(limits: Limits, value) -> Any:
        if w.zero_is_none and (value is None or value == 0):
            return None  # 0: no limit besides epochs, or the shared learning rate
        if value is None and opt.off is not None:
            value = opt.off
        lo, hi = limits.bounds(opt)
        return check_option(what, value, opt, lo=lo, hi=hi)

    shown = (lambda m, t: getattr(t, key) or (0 if whole else 0.0)) if w.zero_is_none else None
    return Field(name, make, check, shown=shown, bounds=bounds, **common)


def _whole_choice(name: str, what: str, w: Widget, opt: Option, common: dict) -> Field:
    """A dropdown (or radio) of whole numbers, sent as strings: gradio_client documents every choice as a string
    (Literal['32', ...]) and Gradio accepts only a listed value; the check reads "32" and 32 alike."""

    def make(studio: Studio, value) -> gr.components.Component:
        widget = gr.Radio if w.kind == "radio" else gr.Dropdown
        return widget([str(c) for c in studio.limits.choices(opt)], value=value, label=w.label)

    def check(limits: Limits, value) -> int:
        allowed = limits.choices(opt)
        number = check_int(what, value, min(allowed), max(allowed))
        if number not in allowed:
            raise StudioError(f"{what} must be one of {allowed}")
        return number

    config = (lambda m, t: m) if common["part"] == "model" else (lambda m, t: t)
    shown = lambda m, t: str(getattr(config(m, t), common["key"]))  # noqa: E731
    return Field(name, make, check, shown=shown, choices=lambda limits: limits.choices(opt), **common)


def _text_choice(name: str, what: str, w: Widget, opt: Option, default: Any, common: dict) -> Field:
    """A radio of strings; ``Widget.blank`` is the value that stands for the config's unset one (None or "")."""
    choices = list(w.choices or [(c, c) for c in opt.choices])
    allowed = [v for _, v in choices]

    def make(studio: Studio, value) -> gr.Radio:
        return gr.Radio(choices, value=value, label=w.label, info=w.info)

    def check(limits: Limits, value) -> Any:
        if value not in allowed:
            raise StudioError(f"{what} must be one of {', '.join(allowed)}")
        return default if w.blank and value == w.blank else value

    shown = None
    if w.blank:
        key, part = common["key"], common["part"]
        shown = lambda m, t: getattr(getattr(t, part), key) or w.blank  # noqa: E731
    return Field(name, make, check, shown=shown, **common)


def config_fields() -> list[Field]:
    """The form fields of every config option that has a ``Widget``, in their API order (``Widget.pos``)."""
    found = []
    parts = {"model": ModelConfig, "train": TrainConfig, **TYPED_PARTS}
    for part, cls in parts.items():
        for f, opt in options_of(cls):
            if opt.widget is not None:
                found.append((opt.widget.pos, option_field(part, f.name, f.default, opt)))
    found.sort(key=lambda pair: pair[0])
    assert [pos for pos, _ in found] == list(range(3, 3 + len(found))), "Widget.pos must run 3, 4, ... without gaps"
    return [field for _, field in found]


FIELDS: list[Field] = [
    # the data, read together by data_source; the dataset picker builds their widgets
    Field("dataset", shown=_dataset_shown, preset=False),
    Field("zip_file"),
    Field("folder"),
    # the networks, the optimiser, the length of the run, logging; then (after the first 16, so API calls that pass
    # those by position still work) the Advanced section: stability, speed, quality per minute
    *config_fields(),
]
FIELD_NAMES = [f.name for f in FIELDS]
# the fields a config sets: the initial values, a preset, a reloaded page
SHOWN = [f for f in FIELDS if f.shown is not None or f.part is not None]
PRESET_FIELDS = [f for f in SHOWN if f.preset]


def form_signature(limits: Limits) -> inspect.Signature:
    """``(dataset, zip_file, folder, image_size, ...)``: the parameters of ``/train_start``, in ``FIELDS`` order;
    optional fields default to the default preset's values as this Studio shows them."""
    initial = initial_values(limits)
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    return inspect.Signature(
        [
            inspect.Parameter(f.name, kind, default=initial[f.name]) if f.optional else inspect.Parameter(f.name, kind)
            for f in FIELDS
        ]
    )


def form_dict(limits: Limits, args: tuple, kwargs: dict) -> dict[str, Any]:
    """The form's values by name, from positional and keyword values in ``FIELDS`` order."""
    bound = form_signature(limits).bind(*args, **kwargs)
    bound.apply_defaults()
    return dict(bound.arguments)


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
    return dataset, (None if dataset in OFFLINE_DATASETS else str(studio.data_dir))


def build_configs(studio: Studio, *args, **kwargs) -> tuple[ModelConfig, TrainConfig]:
    """Check every field against the Studio's limits and turn the form (``FIELDS`` order or by name) into the
    core's configs."""
    values = form_dict(studio.limits, args, kwargs)
    dataset, data_path = data_source(studio, values["dataset"], values["zip_file"], values["folder"])
    parts: dict[str, dict[str, Any]] = {"model": {}, "train": {}}
    for f in FIELDS:
        if f.part is not None:
            parts.setdefault(f.part, {})[f.key or f.name] = f.check(studio.limits, values[f.name])
    model = ModelConfig(**parts.pop("model"))
    # the typed parts of the train config ("stability", "speed") as dicts: TrainConfig builds them
    train = TrainConfig(dataset=dataset, data_path=data_path, n_fixed=N_FIXED, **parts.pop("train"), **parts)
    return model, train


def shown_values(model: ModelConfig, train: TrainConfig, fields: list[Field] = SHOWN) -> dict[str, Any]:
    return {f.name: f.value_of(model, train) for f in fields}


def form_values(studio: Studio, visitor: Visitor) -> dict[str, Any] | None:
    """The visitor's job's settings, so a reloaded page shows the run it re-attached to (None when there is none)."""
    trainer = studio.jobs.current(visitor)
    return None if trainer is None else shown_values(trainer.model_config, trainer.config)


@dataclass(frozen=True)
class FittedPreset:
    """A preset as one Studio shows it: its form values within that Studio's limits, and a note for each value
    that had to be lowered (shown beside the preset, so a visitor knows why the form differs from the recipe)."""

    values: dict[str, Any]
    notes: tuple[str, ...] = ()


TIME_SHARE = 0.5  # a public job's steps must fit in half its time limit: two jobs share the Space's two cores


def fit_preset(name: str, limits: Limits) -> FittedPreset:
    """The preset's form fields (architecture, batch, optimiser, epochs, logging; dataset, channels, seed and max
    steps stay as the user left them), each brought within ``limits``: a number to its bounds, a choice to the
    largest allowed value not above it, and, where jobs have a time limit, the epochs to what the preset's measured
    seconds per step on a 2-core CPU finish in ``TIME_SHARE`` of it. Every preset therefore starts unedited in
    either mode, whatever the limits say."""
    if name not in PRESETS:
        raise StudioError(f"preset must be one of {', '.join(PRESETS)}")
    preset = PRESETS[name]
    values = shown_values(*preset.configs(), PRESET_FIELDS)
    notes: list[str] = []
    for f in PRESET_FIELDS:
        value = values[f.name]
        if f.choices is not None:
            allowed = sorted(f.choices(limits))
            fitted = str(max([c for c in allowed if c <= int(value)] or allowed[:1]))
        elif f.bounds is not None and isinstance(value, (int, float)) and not isinstance(value, bool):
            lo, hi = f.bounds(limits)
            fitted = type(value)(min(max(value, lo), hi))
        else:
            continue
        if fitted != value:
            values[f.name] = fitted
            notes.append(f"{f.name.replace('_', ' ')} {value} → {fitted} (this server's limit)")
    if limits.max_job_seconds and preset.cpu_seconds_per_step:
        budget_steps = int(TIME_SHARE * limits.max_job_seconds / preset.cpu_seconds_per_step)
        epochs = max(1, budget_steps // preset.steps_per_epoch(int(values["batch_size"])))
        if epochs < values["epochs"]:
            notes.append(
                f"epochs {values['epochs']} → {epochs} (jobs here stop after {limits.max_job_seconds / 60:.0f} min)"
            )
            values["epochs"] = epochs
    return FittedPreset(values, tuple(notes))


def preset_values(name: str, limits: Limits) -> dict[str, Any]:
    """The form fields a preset sets, as a Studio with ``limits`` shows them (see ``fit_preset``)."""
    return fit_preset(name, limits).values


def initial_values(limits: Limits) -> dict[str, Any]:
    """What the form shows before anything else: the default preset's values, within ``limits``."""
    return shown_values(*PRESETS[DEFAULT_PRESET].configs()) | preset_values(DEFAULT_PRESET, limits)


def build_fields(studio: Studio, section: str = "") -> dict[str, Any]:
    """The widgets of one section, valued from the default preset; fields sharing a row sit side by side. The main
    section starts with the dataset picker (dataset, zip upload, folder box)."""
    initial = initial_values(studio.limits)
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
