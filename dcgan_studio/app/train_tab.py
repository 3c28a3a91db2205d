"""Train tab: configure a run, start / pause / resume / stop it, watch it live.

The run lives in the core ``Trainer``'s thread (``state.JOBS``), never in a request: a ``gr.Timer`` polls
``Trainer.snapshot()`` about once a second, and ``demo.load`` does the same on every page load, so a reload or a
second tab re-attaches to the running job.
"""
import math
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from .. import checkpoint as ckpt
from ..config import ModelConfig, TrainConfig
from ..data import ImageTensorDataset, available_torchvision, square_crop_resize
from ..plots import smooth_ema
from ..presets import DEFAULT_PRESET, PRESETS
from ..safe_zip import ZipDatasetError, ZipLimits, read_zip_images
from . import settings
from .common import Studio, grid_pil, user_errors
from .state import StudioError, in_folder, safe_folder

TITLE = "Train"
ZIP_CHOICE = "zip upload"
FOLDER_CHOICE = "folder path"
ENDED = ("finished", "stopped", "failed")
DEFAULT_SMOOTHING = 0.6  # TensorBoard's default weight
MAX_SMOOTHING = 0.99
GRID_MIN_SIDE = 512  # the fixed-noise grid is enlarged (nearest neighbour, whole factors) to at least this width


# ------------------------------------------------------------------------------------------------ pure handlers


def dataset_choices(studio: Studio) -> list[str]:
    """digits (offline), the torchvision sets whose files are under ./data, a zip upload, a server folder."""
    out = ["digits", *available_torchvision(studio.data_dir), ZIP_CHOICE]
    if settings.ALLOW_FOLDER_PATH:
        out.append(FOLDER_CHOICE)
    return out


def build_configs(
    studio: Studio, dataset: str, zip_file: str | None, folder: str | None, image_size, channels, nz, ngf, ndf,
    batch_size, lr, beta1, epochs, max_steps, seed, log_every, sample_every,
) -> tuple[ModelConfig, TrainConfig]:
    """Check every field against settings and turn the form into the core's configs."""
    if dataset not in dataset_choices(studio):
        raise StudioError(f"dataset must be one of {', '.join(dataset_choices(studio))}")
    data_path = None
    if dataset == ZIP_CHOICE:
        if not zip_file or not isinstance(zip_file, str):
            raise StudioError("upload a .zip of images first")
        if not zip_file.lower().endswith(".zip") or not Path(zip_file).is_file():
            raise StudioError("the dataset upload must be a .zip file")
        dataset, data_path = "zip", str(zip_file)
    elif dataset == FOLDER_CHOICE:
        roots = list(settings.FOLDER_ROOTS) or [studio.data_dir]
        dataset, data_path = "folder", str(safe_folder(folder, roots))
    elif dataset != "digits":
        data_path = str(studio.data_dir)
    image_size = settings.check_int("image size", image_size, min(settings.IMAGE_SIZES), max(settings.IMAGE_SIZES))
    if image_size not in settings.IMAGE_SIZES:
        raise StudioError(f"image size must be one of {settings.IMAGE_SIZES}")
    channels = settings.check_int("channels", channels, 1, 3)
    if channels not in settings.CHANNELS:
        raise StudioError(f"channels must be one of {settings.CHANNELS}")
    model = ModelConfig(
        image_size=image_size,
        channels=channels,
        nz=settings.check_int("nz", nz, settings.MIN_NZ, settings.MAX_NZ),
        ngf=settings.check_int("ngf", ngf, settings.MIN_WIDTH, settings.MAX_WIDTH),
        ndf=settings.check_int("ndf", ndf, settings.MIN_WIDTH, settings.MAX_WIDTH),
    )
    max_steps = settings.check_int("max steps", max_steps or 0, 0, settings.MAX_STEPS)
    train = TrainConfig(
        dataset=dataset,
        data_path=data_path,
        batch_size=settings.check_int("batch size", batch_size, 1, settings.MAX_BATCH),
        epochs=settings.check_int("epochs", epochs, 1, settings.MAX_EPOCHS),
        lr=settings.check_float("learning rate", lr, settings.MIN_LR, settings.MAX_LR),
        beta1=settings.check_float("beta1", beta1, 0.0, 0.999),
        seed=settings.check_int("seed", seed, 0, settings.MAX_SEED),
        max_steps=max_steps or None,
        log_every=settings.check_int("log every", log_every, 1, settings.MAX_LOG_EVERY),
        sample_every=settings.check_int("grid every", sample_every, 0, settings.MAX_SAMPLE_EVERY),
        n_fixed=64,
    )
    return model, train


def zip_limits() -> ZipLimits:
    """The core's zip-bomb limits, tighter in public mode."""
    if settings.PUBLIC:
        return ZipLimits(max_members=10_000, max_member_bytes=16 * 1024**2, max_total_bytes=256 * 1024**2)
    return ZipLimits()


def load_zip(path: str, image_size: int, channels: int) -> tuple[ImageTensorDataset, list]:
    """The images of an uploaded zip, read in the request (not in the job) so refused members and a hopeless
    archive are reported at once: (dataset, skipped members, each with its name and rule id)."""
    skipped: list = []
    try:
        images = [square_crop_resize(img, image_size, channels) for _, img in read_zip_images(path, zip_limits(), skipped)]
    except ZipDatasetError as exc:
        raise StudioError(f"the zip cannot be used: {exc}") from None
    import torch

    return ImageTensorDataset(torch.stack(images), None, Path(path).stem), skipped


def describe_skipped(skipped: list, n: int = 8) -> str:
    if not skipped:
        return ""
    lines = "".join(f"\n- `{str(s.name)[:120]}`: {s.detail} [{s.rule}]" for s in skipped[:n])
    more = f"\n- and {len(skipped) - n} more" if len(skipped) > n else ""
    return f"  \nskipped {len(skipped)} archive member(s):{lines}{more}"


def start(studio: Studio, *form) -> str:
    model, train = build_configs(studio, *form)
    if studio.jobs.active():  # refuse early, before reading a zip (start() checks again under its lock)
        raise StudioError("a training run is already in progress: stop it first (the page shows it after a reload too)")
    dataset, skipped = None, []
    if train.dataset == "zip":
        dataset, skipped = load_zip(train.data_path, model.image_size, model.channels)
    trainer = studio.jobs.start(model, train, studio.runs_for(), time_limit_s=settings.MAX_JOB_SECONDS, dataset=dataset)
    images = f" on {len(dataset)} images" if dataset is not None else ""
    limit = f" (it stops and saves after {settings.MAX_JOB_SECONDS / 60:.0f} min)" if settings.MAX_JOB_SECONDS else ""
    return f"started {trainer.run_dir}{images}{limit}{describe_skipped(skipped)}"


def resume_from(studio: Studio, checkpoint: str | None, epochs, max_steps) -> str:
    """Continue a run from one of its training checkpoints, in the same run folder, with new epochs / max steps."""
    allowed = {path for _, path in studio.models.training_checkpoints()}
    if not checkpoint or not isinstance(checkpoint, str) or checkpoint not in allowed:
        raise StudioError("pick a training checkpoint of a run (runs/<run>/checkpoints/step_*.safetensors)")
    if not in_folder(Path(checkpoint), studio.runs_for()):  # a symlinked run folder must not lead elsewhere
        raise StudioError("that checkpoint lies outside the runs folder")
    info = ckpt.read_metadata(checkpoint)
    train = TrainConfig.from_dict(info["train_config"])
    train.epochs = settings.check_int("epochs", epochs, 1, settings.MAX_EPOCHS)
    max_steps = settings.check_int("max steps", max_steps or 0, 0, settings.MAX_STEPS)
    train.max_steps = max_steps or None
    model = ModelConfig.from_dict(info["model_config"])
    if model.image_size not in settings.IMAGE_SIZES or not settings.MIN_WIDTH <= max(model.ngf, model.ndf) <= settings.MAX_WIDTH \
            or train.batch_size > settings.MAX_BATCH:
        raise StudioError("that run is larger than this server allows (image size, width or batch size)")
    run_dir = Path(checkpoint).parent.parent
    trainer = studio.jobs.start(model, train, studio.runs_for(), resume_from=checkpoint, run_dir=run_dir,
                                time_limit_s=settings.MAX_JOB_SECONDS)
    return f"resumed {trainer.run_dir} from step {info.get('step')}"


def control(studio: Studio, action: str) -> str:
    """Pause / resume / stop the visitor's job (serialised in the registry: presses from several tabs are safe)."""
    return studio.jobs.control(action)


def format_status(snap: dict[str, Any] | None) -> str:
    if snap is None:
        return "No training run yet. Pick a dataset and press **Start**."
    parts = [f"**{snap['state']}**", f"step {snap['step']}/{snap['total_steps'] or '?'}"]
    parts.append(f"epoch {snap['epoch'] + (1 if snap['batches'] else 0)}/{snap['epochs']} (batch {snap['batch']}/{snap['batches']})")
    if snap["img_per_s"]:
        parts.append(f"{snap['img_per_s']:.0f} img/s")
    if snap["eta_s"] is not None and snap["state"] in ("running", "paused"):
        parts.append(f"ETA {_duration(snap['eta_s'])}")
    text = " · ".join(parts)
    if snap["run_dir"]:
        text += f"  \nrun folder `{snap['run_dir']}`"
    if snap["error"]:
        text += f"  \n**error:** {snap['error']}"
    for w in snap["warnings"][-3:]:
        text += f"  \n⚠ {w}"
    return text


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"


def curves(history: list[dict], keys: tuple[tuple[str, str], ...], smoothing: float = 0.0) -> pd.DataFrame:
    """Long-format frame (step, value, series) for gr.LinePlot, thinned to PLOT_MAX_POINTS steps.

    gr.LinePlot builds its chart once, from the first frame it gets, and later frames only swap the data: the axis
    scales come from the first frame's dtypes (an untyped empty frame makes both axes nominal for good: every step
    its own tick label, no line) and the colour domain from its series. So the columns are always typed (int step,
    float value, str series) and every frame opens with one empty (NaN, not drawn) row per series the plot can ever
    show. With ``smoothing`` in (0, 1) each series is drawn as TensorBoard draws it: its debiased exponential moving
    average under the series' name over its raw values, pale, as "<name> (raw)"; smoothing runs over every step,
    before thinning."""
    stride = max(1, -(-len(history) // settings.PLOT_MAX_POINTS))
    keep = list(range(0, len(history), stride))
    if history and keep[-1] != len(history) - 1:
        keep.append(len(history) - 1)
    steps = [int(history[i]["step"]) for i in keep]
    first = steps[0] if steps else 0
    names = [n for _, label in keys for n in (label, f"{label} (raw)")]
    columns: dict[str, list] = {"step": [first] * len(names), "value": [math.nan] * len(names), "series": names}
    for key, label in keys:
        raw = [float(h[key]) for h in history]
        drawn = [(label, smooth_ema(raw, smoothing)), (f"{label} (raw)", raw)] if smoothing > 0 else [(label, raw)]
        for name, values in drawn:
            columns["step"] += steps
            columns["value"] += [values[i] for i in keep]
            columns["series"] += [name] * len(keep)
    return pd.DataFrame({
        "step": pd.Series(columns["step"], dtype="int64"),
        "value": pd.Series(columns["value"], dtype="float64"),
        "series": pd.Series(columns["series"], dtype="str"),
    })


LOSS_KEYS = (("loss_d", "Loss_D"), ("loss_g", "Loss_G"))
D_KEYS = (("d_x", "D(x)"), ("d_g_z1", "D(G(z)) before D step"), ("d_g_z2", "D(G(z)) after D step"))
# strong colours for the (smoothed) series, pale ones for the raw values behind them
_COLOURS = {"Loss_D": ("#1f77b4", "#aec7e8"), "Loss_G": ("#ff7f0e", "#ffbb78"), "D(x)": ("#2ca02c", "#98df8a"),
            "D(G(z)) before D step": ("#d62728", "#ff9896"), "D(G(z)) after D step": ("#9467bd", "#c5b0d5")}
def legend(keys: tuple[tuple[str, str], ...]) -> list[str]:
    return [label for _, label in keys]  # the pale raw lines need no entry of their own


COLOR_MAP = {k: v for name, (strong, pale) in _COLOURS.items() for k, v in ((name, strong), (f"{name} (raw)", pale))}


def view(studio: Studio, smoothing: float = DEFAULT_SMOOTHING) -> dict[str, Any]:
    """Everything the tab draws, from one snapshot of the job (or of nothing)."""
    job = studio.jobs.job()
    trainer = job.trainer if job is not None else None
    snap = trainer.snapshot() if trainer is not None else None
    if snap is not None and job.timed_out:
        snap["warnings"] = [*snap["warnings"], f"stopped by the public demo's time limit ({settings.MAX_JOB_SECONDS / 60:.0f} min); "
                            "the checkpoint was saved: resume from it to continue"]
    history = snap["history"] if snap else []
    files = []
    if snap and snap["state"] in ENDED:
        for key in ("generator_path", "latest_checkpoint", "timelapse_path"):
            if snap.get(key) and Path(snap[key]).is_file():
                files.append(snap[key])
        plot = Path(snap["run_dir"] or "") / "training.png"
        if snap["run_dir"] and plot.is_file():
            files.append(str(plot))
    grid = snap["latest_grid"] if snap else None
    return {
        "state": snap["state"] if snap else "idle",
        "step": snap["step"] if snap else 0,
        "status": format_status(snap),
        "losses": curves(history, LOSS_KEYS, smoothing),
        "d_outputs": curves(history, D_KEYS, smoothing),
        "grid": grid_pil(grid, nrow=8, min_side=GRID_MIN_SIDE) if grid is not None else None,
        "log": "\n".join(snap["log"][-settings.LOG_TAIL_LINES:]) if snap else "",
        "files": files or None,
        "key": _key(trainer, snap),
    }


def preset_values(name: str) -> dict[str, Any]:
    """The form fields a preset sets (architecture, batch, optimiser, epochs, logging); dataset, channels, seed and
    max steps stay as the user left them."""
    if name not in PRESETS:
        raise StudioError(f"preset must be one of {', '.join(PRESETS)}")
    recipe = PRESETS[name].form()
    fields = ("image_size", "nz", "ngf", "ndf", "batch_size", "lr", "beta1", "epochs", "log_every", "sample_every")
    values = {f: recipe[f] for f in fields}
    values["image_size"] = str(values["image_size"])  # the widget's choices are strings, as the API documents them
    return values


def form_values(studio: Studio) -> dict[str, Any] | None:
    """The current job's settings, so a reloaded page shows the run it re-attached to (None when there is none)."""
    trainer = studio.jobs.current()
    if trainer is None:
        return None
    m, t = trainer.model_config, trainer.config
    dataset = {"zip": ZIP_CHOICE, "folder": FOLDER_CHOICE}.get(t.dataset, t.dataset)
    return {
        "dataset": dataset, "image_size": str(m.image_size), "channels": str(m.channels), "nz": m.nz, "ngf": m.ngf, "ndf": m.ndf,
        "batch_size": t.batch_size, "lr": t.lr, "beta1": t.beta1, "epochs": t.epochs, "max_steps": t.max_steps or 0,
        "seed": t.seed, "log_every": t.log_every, "sample_every": t.sample_every,
    }


def _key(trainer, snap) -> tuple | None:
    if snap is None:
        return None
    grid = snap["latest_grid"]
    return (id(trainer), snap["state"], snap["step"], len(snap["history"]), id(grid), snap["latest_checkpoint"], snap["error"])


def current_key(studio: Studio) -> tuple | None:
    trainer = studio.jobs.current()
    return _key(trainer, trainer.snapshot()) if trainer is not None else None


# ------------------------------------------------------------------------------------------------ the widgets


def build(studio: Studio) -> None:
    choices = dataset_choices(studio)
    recipe = PRESETS[DEFAULT_PRESET].form()
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            preset = gr.Dropdown([(p.label, name) for name, p in PRESETS.items()], value=DEFAULT_PRESET, label="Preset",
                                 info="fills the form; change any field after", elem_id="train-preset")
            dataset = gr.Dropdown(choices, value="digits", label="Dataset", info="digits ship with scikit-learn (offline)")
            zip_file = gr.File(label="Zip of images", file_types=[".zip"], type="filepath", visible=False)
            folder = gr.Textbox(label="Folder of images on the server", visible=False)
            with gr.Row():
                # string values: gradio_client documents every choice as a string (Literal['32', ...]) and Gradio
                # accepts only a listed value; build_configs reads "32" and 32 alike
                image_size = gr.Dropdown([str(s) for s in settings.IMAGE_SIZES], value="32", label="Image size")
                channels = gr.Radio([str(c) for c in settings.CHANNELS], value="1", label="Channels")
            with gr.Row():
                nz = gr.Number(recipe["nz"], label="nz", precision=0, minimum=settings.MIN_NZ, maximum=settings.MAX_NZ)
                ngf = gr.Number(recipe["ngf"], label="ngf (G width)", precision=0, minimum=settings.MIN_WIDTH, maximum=settings.MAX_WIDTH)
                ndf = gr.Number(recipe["ndf"], label="ndf (D width)", precision=0, minimum=settings.MIN_WIDTH, maximum=settings.MAX_WIDTH)
            batch_size = gr.Slider(1, settings.MAX_BATCH, value=recipe["batch_size"], step=1, label="Batch size")
            with gr.Row():
                lr = gr.Number(recipe["lr"], label="Learning rate", minimum=settings.MIN_LR, maximum=settings.MAX_LR)
                beta1 = gr.Number(recipe["beta1"], label="Adam beta1", minimum=0, maximum=0.999)
            with gr.Row():
                epochs = gr.Number(recipe["epochs"], label="Epochs", precision=0, minimum=1, maximum=settings.MAX_EPOCHS)
                max_steps = gr.Number(0, label="Max steps (0 = all)", precision=0, minimum=0, maximum=settings.MAX_STEPS)
                seed = gr.Number(0, label="Seed", precision=0, minimum=0, maximum=settings.MAX_SEED)
            with gr.Accordion("Logging", open=False):
                log_every = gr.Number(recipe["log_every"], label="Log every (steps)", precision=0, minimum=1)
                sample_every = gr.Number(recipe["sample_every"], label="Grid every (steps, 0 = each epoch)", precision=0,
                                         minimum=0)
            with gr.Row():
                start_btn = gr.Button("Start", variant="primary", elem_id="train-start")
                pause_btn = gr.Button("Pause", elem_id="train-pause")
                resume_btn = gr.Button("Resume", elem_id="train-resume")
                stop_btn = gr.Button("Stop", variant="stop", elem_id="train-stop")
            with gr.Accordion("Resume from checkpoint", open=False):
                resume_ckpt = gr.Dropdown(studio.models.training_checkpoints(), label="Training checkpoint", allow_custom_value=True,
                                          elem_id="train-resume-ckpt")
                with gr.Row():
                    refresh_btn = gr.Button("Refresh list", size="sm")
                    resume_from_btn = gr.Button("Resume from checkpoint", size="sm", elem_id="train-resume-from")
            message = gr.Markdown(elem_id="train-message")
        with gr.Column(scale=2):
            status = gr.Markdown(format_status(None), elem_id="train-status")
            with gr.Row():
                loss_plot = gr.LinePlot(curves([], LOSS_KEYS), x="step", y="value", color="series", title="Losses",
                                        y_title="loss", color_map=COLOR_MAP, colors_in_legend=legend(LOSS_KEYS),
                                        height=280, elem_id="loss-plot")
                d_plot = gr.LinePlot(curves([], D_KEYS), x="step", y="value", color="series", title="Discriminator outputs",
                                     y_title="mean D output", y_lim=[0, 1], color_map=COLOR_MAP,
                                     colors_in_legend=legend(D_KEYS), height=280, elem_id="d-plot")
            smoothing = gr.Slider(0, 0.99, value=DEFAULT_SMOOTHING, step=0.01, label="Smoothing",
                                  info="exponential moving average, as in TensorBoard; the raw values stay pale behind",
                                  elem_id="train-smoothing")
            grid = gr.Image(label="Fixed-noise grid (latest)", format="png", type="pil", interactive=False,
                            elem_id="train-grid", height=GRID_MIN_SIDE + 40, width=GRID_MIN_SIDE + 40)
            log = gr.Textbox(label="Log (tail)", lines=8, max_lines=8, autoscroll=True, elem_id="train-log")
            files = gr.File(label="Run outputs", file_count="multiple", interactive=False, elem_id="train-files")
    last_key = gr.State(None)
    timer = gr.Timer(settings.TIMER_INTERVAL_S, active=True)

    form = [dataset, zip_file, folder, image_size, channels, nz, ngf, ndf, batch_size, lr, beta1, epochs, max_steps, seed, log_every, sample_every]
    live = [status, loss_plot, d_plot, grid, log, files, studio.model, resume_ckpt, last_key]
    polled = [last_key, smoothing, studio.browser_id]

    def show_source(choice):
        return gr.update(visible=choice == ZIP_CHOICE), gr.update(visible=choice == FOLDER_CHOICE)

    dataset.change(show_source, dataset, [zip_file, folder], api_visibility="private", queue=False)

    def refresh(last, smooth, browser_id, request: gr.Request):
        with studio.visit(request, browser_id):
            return _refresh(last, smooth)

    def _refresh(last, smooth):
        smooth = settings.check_float("smoothing", smooth, 0.0, MAX_SMOOTHING)
        key = current_key(studio)
        if last is not None and key is not None and [*key, smooth] == list(last):
            return [gr.skip()] * len(live)
        v = view(studio, smooth)
        ended = v["state"] in ENDED
        model_update = gr.update(choices=studio.models.choices()) if ended else gr.skip()
        ckpt_update = gr.update(choices=studio.models.training_checkpoints()) if ended else gr.skip()
        key = [*v["key"], smooth] if v["key"] is not None else None
        return [v["status"], v["losses"], v["d_outputs"], v["grid"], v["log"], v["files"], model_update, ckpt_update, key]

    def poll(request: gr.Request):
        """Status for API clients: state, step and the text the page shows."""
        with studio.visit(request):
            v = view(studio)
        return {"state": v["state"], "step": v["step"], "status": v["status"], "log": v["log"]}

    timer.tick(refresh, polled, live, api_visibility="private", concurrency_limit=None, show_progress="hidden")

    def redraw(smooth, browser_id, request: gr.Request):  # on page load and when the smoothing moves
        return refresh(None, smooth, browser_id, request)

    studio.blocks.load(redraw, polled[1:], live, api_visibility="private", show_progress="hidden")
    smoothing.input(user_errors(redraw), polled[1:], live, api_visibility="private", show_progress="hidden",
                    trigger_mode="always_last")
    shown = {"dataset": dataset, "image_size": image_size, "channels": channels, "nz": nz, "ngf": ngf, "ndf": ndf,
             "batch_size": batch_size, "lr": lr, "beta1": beta1, "epochs": epochs, "max_steps": max_steps, "seed": seed,
             "log_every": log_every, "sample_every": sample_every}

    def show_job_settings(browser_id, request: gr.Request):
        with studio.visit(request, browser_id):
            values = form_values(studio)
        if values is None:
            return [gr.skip()] * len(shown)
        return [values[name] for name in shown]

    studio.blocks.load(show_job_settings, studio.browser_id, list(shown.values()), api_visibility="private", show_progress="hidden")

    def apply_preset(name):
        values = preset_values(name)
        return [values.get(field, gr.skip()) for field in shown]

    preset.change(user_errors(apply_preset), preset, list(shown.values()), api_visibility="private", queue=False)

    status_json = gr.JSON(visible=False)
    gr.Button(visible=False).click(poll, None, status_json, api_name="train_status")

    def start_run(dataset, zip_file, folder, image_size, channels, nz, ngf, ndf, batch_size, lr, beta1, epochs, max_steps,
                  seed, log_every, sample_every, request: gr.Request):
        with studio.visit(request):
            return start(studio, dataset, zip_file, folder, image_size, channels, nz, ngf, ndf, batch_size, lr, beta1, epochs,
                         max_steps, seed, log_every, sample_every)

    def resume_run(checkpoint, epochs, max_steps, request: gr.Request):
        with studio.visit(request):
            return resume_from(studio, checkpoint, epochs, max_steps)

    def press(action):
        def handler(request: gr.Request):
            with studio.visit(request):
                return control(studio, action)
        return handler

    start_btn.click(user_errors(start_run), form, message, api_name="train_start", concurrency_limit=None)
    pause_btn.click(user_errors(press("pause")), None, message, api_name="train_pause", concurrency_limit=None)
    resume_btn.click(user_errors(press("resume")), None, message, api_name="train_resume", concurrency_limit=None)
    stop_btn.click(user_errors(press("stop")), None, message, api_name="train_stop", concurrency_limit=None)
    resume_from_btn.click(user_errors(resume_run), [resume_ckpt, epochs, max_steps], message,
                          api_name="train_resume_from", concurrency_limit=None)
    def refresh_list(request: gr.Request):
        with studio.visit(request):
            return gr.update(choices=studio.models.training_checkpoints())

    refresh_btn.click(refresh_list, None, resume_ckpt, api_visibility="private")
