"""Train tab: configure a run, start / pause / resume / stop it, watch it live.

The run lives in the core ``Trainer``'s thread (``studio.jobs``), never in a request: a ``gr.Timer`` polls
``Trainer.snapshot()`` about once a second, and ``demo.load`` does the same on every page load, so a reload or a
second tab re-attaches to the running job. The form is declared once, in ``train_form.FIELDS``; what the tab draws
comes from ``train_view``.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import TYPE_CHECKING

import gradio as gr

from .. import checkpoint as ckpt
from ..config import ModelConfig, TrainConfig
from ..dataset_names import native_channels
from ..presets import DEFAULT_PRESET, PRESETS
from ..safe_zip import ZipDatasetError
from ..train import RunDir  # the run folder's layout: no torch
from .common import DRAWN
from .dataset_picker import FOLDER_CHOICE, ZIP_CHOICE, dataset_choices
from .errors import StudioError
from .settings import Limits, check_float, check_int, zip_limits
from .studio import Studio
from .train_form import (
    ADVANCED,
    FIELD_NAMES,
    SHOWN,
    build_configs,
    build_fields,
    fit_preset,
    form_dict,
    form_signature,
    form_values,
    preset_values,
)
from .train_shipped import GRID_LABEL
from .train_view import (
    COLOR_MAP,
    D_KEYS,
    DEFAULT_SMOOTHING,
    ENDED,
    GRID_MIN_SIDE,
    LOSS_KEYS,
    MAX_SMOOTHING,
    current_key,
    curves,
    format_status,
    legend,
    view,
)
from .visitors import LOCAL_VISITOR, Visitor, in_folder

# torch and the core's torch code load inside the handlers that use them: the page is served first
if TYPE_CHECKING:
    from ..data import ImageTensorDataset


TITLE = "Train"

# ------------------------------------------------------------------------------------------------ pure handlers


def load_zip(path: str, image_size: int, channels: int, limits: Limits) -> tuple[ImageTensorDataset, list]:
    """The images of an uploaded zip, read in the request (not in the job) so refused members and a hopeless
    archive are reported at once: (dataset, skipped members, each with its name and rule id). Read under the
    Studio's one set of zip limits (``settings.zip_limits``), as the Evaluate tab reads its zip."""
    from ..data import load_image_zip  # deferred: torch loads after the first page

    skipped: list = []
    try:
        return load_image_zip(path, image_size, channels, skipped, zip_limits(limits)), skipped
    except ZipDatasetError as exc:
        raise StudioError(f"the zip cannot be used: {exc}") from None


def describe_skipped(skipped: list, n: int = 8) -> str:
    if not skipped:
        return ""
    lines = "".join(f"\n- `{str(s.name)[:120]}`: {s.detail} [{s.rule}]" for s in skipped[:n])
    more = f"\n- and {len(skipped) - n} more" if len(skipped) > n else ""
    return f"  \nskipped {len(skipped)} archive member(s):{lines}{more}"


def start(studio: Studio, visitor: Visitor, *form, **named) -> str:
    """Start a run for ``visitor`` from the form's values (``train_form.FIELDS`` order, or by name)."""
    model, train = build_configs(studio, *form, **named)
    studio.jobs.check_can_start(visitor)  # busy visitor, address or server: refused before any upload is decoded
    dataset, skipped = None, []
    if train.dataset == "zip":
        dataset, skipped = load_zip(train.data_path, model.image_size, model.channels, studio.limits)
    trainer = studio.jobs.start(visitor, model, train, studio.runs_for(visitor), dataset=dataset)
    images = f" on {len(dataset)} images" if dataset is not None else ""
    limit_s = studio.limits.max_job_seconds
    limit = f" (it stops and saves after {limit_s / 60:.0f} min)" if limit_s else ""
    return f"started {trainer.run_dir}{images}{limit}{describe_skipped(skipped)}"


def resume_from(studio: Studio, visitor: Visitor, checkpoint: str | None, epochs, max_steps) -> str:
    """Continue a run from one of its training checkpoints, in the same run folder, with new epochs / max steps."""
    limits = studio.limits
    allowed = {path for _, path in studio.models.training_checkpoints(visitor)}
    if not checkpoint or not isinstance(checkpoint, str) or checkpoint not in allowed:
        raise StudioError("pick a training checkpoint of a run (runs/<run>/checkpoints/step_*.safetensors)")
    if not in_folder(Path(checkpoint), studio.runs_for(visitor)):  # a symlinked run folder must not lead elsewhere
        raise StudioError("that checkpoint lies outside the runs folder")
    info = ckpt.read_metadata(checkpoint)
    train = TrainConfig.from_dict(info["train_config"])
    train.epochs = check_int("epochs", epochs, 1, limits.max_epochs)
    train.max_steps = check_int("max steps", max_steps or 0, 0, limits.max_steps) or None
    model = ModelConfig.from_dict(info["model_config"])
    if (
        model.image_size not in limits.image_sizes
        or not limits.min_width <= max(model.ngf, model.ndf) <= limits.max_width
        or train.batch_size > limits.max_batch
    ):
        raise StudioError("that run is larger than this server allows (image size, width or batch size)")
    run_dir = RunDir.of_checkpoint(checkpoint)  # training_checkpoints() offers only files in <run>/checkpoints/
    trainer = studio.jobs.start(
        visitor, model, train, studio.runs_for(visitor), resume_from=checkpoint, run_dir=run_dir.path
    )
    return f"resumed {trainer.run_dir} from step {info.get('step')}"


def control(studio: Studio, visitor: Visitor, action: str) -> str:
    """Pause / resume / stop the visitor's job (serialised in the registry: presses from several tabs are safe)."""
    return studio.jobs.control(visitor, action)


# ------------------------------------------------------------------------------------------------ the widgets


def preset_note(studio: Studio, name: str) -> str:
    """Why the form differs from the preset's recipe on this server ("" when it does not)."""
    notes = fit_preset(name, studio.limits).notes
    return f"Preset adapted to this server: {'; '.join(notes)}." if notes else ""


def build_form(studio: Studio) -> dict:
    """The left column: preset, the declared fields, the run buttons, resuming from a checkpoint, the message."""
    w = {
        "preset": gr.Dropdown(
            [(p.label + (" (adapted here)" if preset_note(studio, name) else ""), name) for name, p in PRESETS.items()],
            value=DEFAULT_PRESET,
            label="Preset",
            info="fills the form; change any field after",
            elem_id="train-preset",
        )
    }
    w |= build_fields(studio)
    with gr.Accordion("Logging", open=False):
        w |= build_fields(studio, "Logging")
    with gr.Accordion(ADVANCED, open=False, elem_id="train-advanced"):
        w |= build_fields(studio, ADVANCED)
    with gr.Row():
        w["start"] = gr.Button("Start", variant="primary", elem_id="train-start")
        # pressable only when they apply (the live view turns them on and off: ``control_states``)
        w["pause"] = gr.Button("Pause", elem_id="train-pause", interactive=False)
        w["resume"] = gr.Button("Resume", elem_id="train-resume", interactive=False)
        w["stop"] = gr.Button("Stop", variant="stop", elem_id="train-stop", interactive=False)
    with gr.Accordion("Resume from checkpoint", open=False):
        w["resume_ckpt"] = gr.Dropdown(
            studio.models.training_checkpoints(LOCAL_VISITOR),  # a page load fills in the visitor's own
            label="Training checkpoint",
            allow_custom_value=True,
            elem_id="train-resume-ckpt",
        )
        with gr.Row():
            w["refresh"] = gr.Button("Refresh list", size="sm")
            w["resume_from"] = gr.Button("Resume from checkpoint", size="sm", elem_id="train-resume-from")
    w["message"] = gr.Markdown(preset_note(studio, DEFAULT_PRESET), elem_id="train-message")
    return w


def build_live() -> dict:
    """The right column: status, the two plots, smoothing, the grid, the log tail and the run's files."""
    w = {"status": gr.Markdown(format_status(None), elem_id="train-status")}
    plot = dict(x="step", y="value", color="series", color_map=COLOR_MAP, height=280)
    with gr.Row():
        w["losses"] = gr.LinePlot(
            curves([], LOSS_KEYS),
            title="Losses",
            y_title="loss",
            colors_in_legend=legend(LOSS_KEYS),
            elem_id="loss-plot",
            **plot,
        )
        w["d_outputs"] = gr.LinePlot(
            curves([], D_KEYS),
            title="Discriminator outputs",
            y_title="mean D output",
            y_lim=[0, 1],
            colors_in_legend=legend(D_KEYS),
            elem_id="d-plot",
            **plot,
        )
    w["smoothing"] = gr.Slider(
        0,
        MAX_SMOOTHING,
        value=DEFAULT_SMOOTHING,
        step=0.01,
        label="Smoothing",
        info="exponential moving average, as in TensorBoard; the raw values stay pale behind",
        elem_id="train-smoothing",
    )
    side = GRID_MIN_SIDE + 40
    w["grid"] = gr.Image(label=GRID_LABEL, elem_id="train-grid", height=side, width=side, **DRAWN)
    w["log"] = gr.Textbox(label="Log (tail)", lines=8, max_lines=8, autoscroll=True, elem_id="train-log")
    w["files"] = gr.File(label="Run outputs", file_count="multiple", interactive=False, elem_id="train-files")
    return w


def control_states(state: str) -> tuple[bool, bool, bool]:
    """Which of Pause, Resume, Stop apply: Pause while running, Resume while paused, Stop while running or paused."""
    return state == "running", state == "paused", state in ("running", "paused")


def wire_live(studio: Studio, w: dict) -> None:
    """The timer, page loads and the smoothing slider redraw from the job's snapshot (skipped when unchanged)."""
    last_key = gr.State(None)
    live = [w[k] for k in ("status", "losses", "d_outputs", "grid", "log", "files")]
    live += [w["pause"], w["resume"], w["stop"], studio.model, w["resume_ckpt"], last_key]

    def refresh(visitor: Visitor, last, smooth):
        smooth = check_float("smoothing", smooth, 0.0, MAX_SMOOTHING)
        key = current_key(studio, visitor)
        if last is not None and key is not None and [*key, smooth] == list(last):
            return [gr.skip()] * len(live)
        v = view(studio, visitor, smooth)
        ended = v["state"] in ENDED
        model_update = gr.update(choices=studio.models.choices(visitor)) if ended else gr.skip()
        ckpt_update = gr.update(choices=studio.models.training_checkpoints(visitor)) if ended else gr.skip()
        key = [*v["key"], smooth] if v["key"] is not None else None
        return [
            v["status"],
            v["losses"],
            v["d_outputs"],
            gr.update(value=v["grid"], label=v["grid_label"]),  # whose grid: the shipped run's or the visitor's
            v["log"],
            v["files"],
            *(gr.update(interactive=on) for on in control_states(v["state"])),
            model_update,
            ckpt_update,
            key,
        ]

    def redraw(visitor: Visitor, smooth):  # on page load and when the smoothing moves
        return refresh(visitor, None, smooth)

    timer = gr.Timer(studio.limits.timer_interval_s, active=True)
    timer.tick(
        studio.handler(refresh, browser=True),
        [last_key, w["smoothing"], studio.browser_id],
        live,
        api_visibility="private",
        concurrency_limit=None,
        show_progress="hidden",
    )
    drawn = [w["smoothing"], studio.browser_id]
    studio.blocks.load(
        studio.handler(redraw, browser=True), drawn, live, api_visibility="private", show_progress="hidden"
    )
    w["smoothing"].input(
        studio.handler(redraw, browser=True),
        drawn,
        live,
        api_visibility="private",
        show_progress="hidden",
        trigger_mode="always_last",
    )


def wire_status(studio: Studio) -> None:
    """/train_status: the state, step and text the page shows, for API clients."""

    def poll(visitor: Visitor):
        v = view(studio, visitor)
        return {"state": v["state"], "step": v["step"], "status": v["status"], "log": v["log"]}

    status_json = gr.JSON(visible=False)
    gr.Button(visible=False).click(studio.handler(poll, visitor=True), None, status_json, api_name="train_status")


def wire_form(studio: Studio, w: dict) -> None:
    """A page load shows the re-attached job's settings; a preset fills the form."""
    shown = [w[f.name] for f in SHOWN]

    def show_job_settings(visitor: Visitor):
        values = form_values(studio, visitor)
        return [gr.skip()] * len(shown) if values is None else [values[f.name] for f in SHOWN]

    studio.blocks.load(
        studio.handler(show_job_settings, browser=True),
        studio.browser_id,
        shown,
        api_visibility="private",
        show_progress="hidden",
    )

    def apply_preset(name):
        values = preset_values(name, studio.limits)
        return [values.get(f.name, gr.skip()) for f in SHOWN] + [preset_note(studio, name)]

    w["preset"].change(
        studio.handler(apply_preset), w["preset"], [*shown, w["message"]], api_visibility="private", queue=False
    )

    def follow_dataset(name):  # photos in colour, digits in grey: a user who picks photos wants its colours
        channels = native_channels(name)
        return gr.skip() if channels is None else str(channels)  # the Channels radio's choices are strings

    w["dataset"].change(follow_dataset, w["dataset"], w["channels"], api_visibility="private", queue=False)


def wire_controls(studio: Studio, w: dict) -> None:
    """Start (the whole form, in ``FIELDS`` order), Pause / Resume / Stop, and resuming from a checkpoint."""

    def start_run(visitor: Visitor, *args, **kwargs):
        return start(studio, visitor, **form_dict(studio.limits, args, kwargs))

    # /train_start's parameters are the form's field names (after the visitor, which the handler passes)
    form = form_signature(studio.limits)
    visitor_param = inspect.Parameter("visitor", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    start_run.__signature__ = form.replace(parameters=[visitor_param, *form.parameters.values()])
    # a start reads an upload and builds the networks: a few at a time, whatever the number of clients (the job
    # registry refuses a busy server before any of that)
    starting = dict(concurrency_id="train-start", concurrency_limit=studio.limits.start_concurrency)
    w["start"].click(
        studio.handler(start_run, visitor=True),
        [w[name] for name in FIELD_NAMES],
        w["message"],
        api_name="train_start",
        **starting,
    )

    def press(action: str):
        def handler(visitor: Visitor):
            return control(studio, visitor, action)

        return studio.handler(handler, visitor=True)

    for action in ("pause", "resume", "stop"):
        w[action].click(press(action), None, w["message"], api_name=f"train_{action}", concurrency_limit=None)

    def resume_run(visitor: Visitor, checkpoint, epochs, max_steps):
        return resume_from(studio, visitor, checkpoint, epochs, max_steps)

    w["resume_from"].click(
        studio.handler(resume_run, visitor=True),
        [w["resume_ckpt"], w["epochs"], w["max_steps"]],
        w["message"],
        api_name="train_resume_from",
        **starting,
    )

    def refresh_list(visitor: Visitor):
        return gr.update(choices=studio.models.training_checkpoints(visitor))

    w["refresh"].click(studio.handler(refresh_list, visitor=True), None, w["resume_ckpt"], api_visibility="private")


def build(studio: Studio) -> None:
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            widgets = build_form(studio)
        with gr.Column(scale=2):
            widgets |= build_live()
    wire_live(studio, widgets)
    wire_status(studio)
    wire_form(studio, widgets)
    wire_controls(studio, widgets)


# the names the tests and callers of this tab use
__all__ = [
    "FOLDER_CHOICE",
    "ZIP_CHOICE",
    "D_KEYS",
    "LOSS_KEYS",
    "TITLE",
    "build",
    "build_configs",
    "control",
    "curves",
    "dataset_choices",
    "form_values",
    "preset_values",
    "resume_from",
    "start",
    "view",
]
