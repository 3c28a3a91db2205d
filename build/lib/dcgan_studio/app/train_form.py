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

from ..config import LR_DECAYS, NAN_POLICIES, ModelConfig, TrainConfig
from ..presets import DEFAULT_PRESET, PRESETS
from .dataset_picker import FOLDER_CHOICE, ZIP_CHOICE, build_dataset_picker, dataset_choices
from .errors import StudioError
from .settings import Limits, check_float, check_int
from .studio import Studio
from .visitors import safe_folder

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


Bound = Callable[[Limits], Any]  # a bound read from the Studio's limits


def number(
    name: str,
    label: str,
    lo: Bound,
    hi: Bound,
    what: str | None = None,
    whole: bool = True,
    hint_max: bool = True,
    **field,
) -> Field:
    """A ``gr.Number`` whose bounds (a hint for the page) and server-side check (the guarantee) are the same two
    limits; ``what`` names the field in error messages (default: the name with spaces); ``check=`` replaces the
    check."""
    what = what or name.replace("_", " ")

    def make(studio: Studio, value) -> gr.Number:
        return gr.Number(
            value,
            label=label,
            precision=0 if whole else None,
            minimum=lo(studio.limits),
            maximum=hi(studio.limits) if hint_max else None,
        )

    def check(limits: Limits, value):
        return (check_int if whole else check_float)(what, value, lo(limits), hi(limits))

    return Field(name, make, field.pop("check", check), bounds=lambda limits: (lo(limits), hi(limits)), **field)


def choice(name: str, label: str, choices: Callable[[Limits], tuple], radio: bool = False, **field) -> Field:
    """A dropdown (or radio) of whole numbers, sent as strings: gradio_client documents every choice as a string
    (Literal['32', ...]) and Gradio accepts only a listed value; the check reads "32" and 32 alike."""
    what = name.replace("_", " ")

    def make(studio: Studio, value) -> gr.components.Component:
        widget = gr.Radio if radio else gr.Dropdown
        return widget([str(c) for c in choices(studio.limits)], value=value, label=label)

    def check(limits: Limits, value) -> int:
        allowed = choices(limits)
        number = check_int(what, value, min(allowed), max(allowed))
        if number not in allowed:
            raise StudioError(f"{what} must be one of {allowed}")
        return number

    shown = (lambda m, t: str(getattr(m, name))) if field.get("part") == "model" else None
    return Field(name, make, check, shown=shown, choices=choices, **field)


def _int_check(what: str, lo: Bound, hi: Bound) -> Callable[[Limits, Any], int]:
    return lambda limits, value: check_int(what, value, lo(limits), hi(limits))


def _max_steps(limits: Limits, value) -> int | None:
    return check_int("max steps", value or 0, 0, limits.max_steps) or None  # 0: no limit besides epochs


def _dataset_shown(model: ModelConfig, train: TrainConfig) -> str:
    return {"zip": ZIP_CHOICE, "folder": FOLDER_CHOICE}.get(train.dataset, train.dataset)


def _batch_size(studio: Studio, value) -> gr.Slider:
    return gr.Slider(1, studio.limits.max_batch, value=value, step=1, label="Batch size")


def _fixed(value) -> Bound:
    return lambda limits: value


ADVANCED = "Advanced: stability and speed"
ADVANCED_FIELD = dict(section=ADVANCED, optional=True)  # in the Advanced accordion; API callers may leave it out
AMP_CHOICES = [("device default", "default"), ("off", "off"), ("bf16", "bf16"), ("auto", "auto")]


def choice_of(
    name: str, label: str, choices: Callable[[Limits], list[tuple[str, str]]], info: str = "", **field
) -> Field:
    """An optional radio of the Advanced section whose values are strings; the check accepts only those."""

    def make(studio: Studio, value) -> gr.Radio:
        return gr.Radio(choices(studio.limits), value=value, label=label, info=info)

    def check(limits: Limits, value) -> str:
        allowed = [v for _, v in choices(limits)]
        if value not in allowed:
            raise StudioError(f"{name.replace('_', ' ')} must be one of {', '.join(allowed)}")
        return value

    check = field.pop("check", check)
    return Field(name, make, check, **ADVANCED_FIELD, **field)


def _amp(limits: Limits, value) -> str | None:
    if value not in [v for _, v in AMP_CHOICES]:
        raise StudioError(f"amp must be one of {', '.join(v for _, v in AMP_CHOICES)}")
    return None if value == "default" else value  # None: the device's default (step.SPEED_DEFAULTS)


AUGMENT_CHOICES = [
    ("off", "off"),
    ("translation", "translation"),
    ("cutout", "cutout"),
    ("translation + cutout", "translation,cutout"),
    ("colour + translation + cutout", "color,translation,cutout"),
]


def _augment(limits: Limits, value) -> str:
    if value not in [v for _, v in AUGMENT_CHOICES]:
        raise StudioError(f"diffaugment must be one of {', '.join(v for _, v in AUGMENT_CHOICES)}")
    return "" if value == "off" else value


def _ema(limits: Limits, value) -> float:
    decay = check_float("EMA decay", value or 0.0, 0.0, 0.9999)
    if 0 < decay < 0.5:
        raise StudioError("EMA decay must be 0 (off) or between 0.5 and 0.9999, e.g. 0.999")
    return decay


def _amp_shown(model: ModelConfig, train: TrainConfig) -> str:
    return train.speed.amp or "default"


def _own_lr(name: str) -> Callable[[Limits, Any], float | None]:
    """G's or D's own learning rate: 0 means the shared one (None in the config)."""

    def check(limits: Limits, value) -> float | None:
        rate = check_float(name, value or 0.0, 0.0, limits.max_lr)
        return check_float(name, rate, limits.min_lr, limits.max_lr) if rate else None

    return check


# fmt: off
FIELDS: list[Field] = [
    # the data, read together by data_source; the dataset picker builds their widgets
    Field("dataset", shown=_dataset_shown, preset=False),
    Field("zip_file"),
    Field("folder"),
    # the networks
    choice("image_size", "Image size", lambda lim: lim.image_sizes, part="model", row=1),
    choice("channels", "Channels", lambda lim: lim.channels, radio=True, part="model", row=1, preset=False),
    number("nz", "nz", lambda lim: lim.min_nz, lambda lim: lim.max_nz, part="model", row=2),
    number("ngf", "ngf (G width)", lambda lim: lim.min_width, lambda lim: lim.max_width, part="model", row=2),
    number("ndf", "ndf (D width)", lambda lim: lim.min_width, lambda lim: lim.max_width, part="model", row=2),
    # the optimiser and the length of the run
    Field("batch_size", _batch_size, _int_check("batch size", _fixed(1), lambda lim: lim.max_batch), part="train",
          row=3, bounds=lambda lim: (1, lim.max_batch)),
    number("lr", "Learning rate", lambda lim: lim.min_lr, lambda lim: lim.max_lr, what="learning rate", whole=False,
           part="train", row=4),
    number("beta1", "Adam beta1", _fixed(0.0), _fixed(0.999), whole=False, part="train", row=4),
    number("epochs", "Epochs", _fixed(1), lambda lim: lim.max_epochs, part="train", row=5),
    number("max_steps", "Max steps (0 = all)", _fixed(0), lambda lim: lim.max_steps, check=_max_steps, part="train",
           shown=lambda m, t: t.max_steps or 0, row=5, preset=False),
    number("seed", "Seed", _fixed(0), lambda lim: lim.max_seed, part="train", row=5, preset=False),
    # logging
    number("log_every", "Log every (steps)", _fixed(1), lambda lim: lim.max_log_every, hint_max=False, part="train",
           section="Logging"),
    number("sample_every", "Grid every (steps, 0 = each epoch)", _fixed(0), lambda lim: lim.max_sample_every,
           what="grid every", hint_max=False, part="train", section="Logging", row=1),
    # stability and speed (after the first 16, so API calls that pass those by position still work)
    choice_of("nan_policy", "On NaN/inf losses", lambda lim: [(p, p) for p in NAN_POLICIES], part="stability",
              info="stop the run, or roll back to the last good state with lower learning rates"),
    choice_of("amp", "Mixed precision", lambda lim: AMP_CHOICES, part="speed", shown=_amp_shown, check=_amp,
              info="bf16 autocast; the device default is bf16 where it is fast"),
    number("label_smoothing", "Label smoothing (D's real target 1 - s)", _fixed(0.0),
           lambda lim: lim.max_label_smoothing, whole=False, part="stability", row=1, **ADVANCED_FIELD),
    number("instance_noise", "Instance noise (std on D's inputs)", _fixed(0.0), lambda lim: lim.max_instance_noise,
           whole=False, part="stability", row=1, **ADVANCED_FIELD),
    number("lr_g", "G learning rate (0 = as above)", _fixed(0.0), lambda lim: lim.max_lr, check=_own_lr("lr_g"),
           whole=False, shown=lambda m, t: t.lr_g or 0.0, part="train", row=2, **ADVANCED_FIELD),
    number("lr_d", "D learning rate (0 = as above)", _fixed(0.0), lambda lim: lim.max_lr, check=_own_lr("lr_d"),
           whole=False, shown=lambda m, t: t.lr_d or 0.0, part="train", row=2, **ADVANCED_FIELD),
    # quality per minute (issue 12; checkpoints/README.md measures each)
    choice_of("diffaugment", "DiffAugment of D's inputs (real and fake)", lambda lim: AUGMENT_CHOICES, part="augment",
              check=_augment, shown=lambda m, t: t.augment.diffaugment or "off", row=3,
              info="the same random transforms on real and fake images before D; colour acts on RGB only"),
    number("augment_p", "Augment probability", _fixed(0.01), _fixed(1.0), whole=False, part="augment", row=4,
           **ADVANCED_FIELD),
    number("ema", "EMA decay of G (0 = off)", _fixed(0.0), _fixed(0.9999), check=_ema, whole=False, part="ema",
           key="ema_decay", row=4, **ADVANCED_FIELD),
    choice_of("lr_decay", "Learning-rate decay", lambda lim: [(d, d) for d in LR_DECAYS], part="train", row=5,
              info="both rates fall towards the floor over the run"),
    number("lr_floor", "Decay floor (fraction of the rates)", _fixed(0.0), _fixed(0.99), whole=False, part="train",
           row=5, **ADVANCED_FIELD),
]
# fmt: on
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
    return dataset, (None if dataset == "digits" else str(studio.data_dir))


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


def form_values(studio: Studio) -> dict[str, Any] | None:
    """The current job's settings, so a reloaded page shows the run it re-attached to (None when there is none)."""
    trainer = studio.jobs.current()
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
