"""Evaluate tab: the ``eval`` report for the chosen checkpoint, in the page.

A thin layer over ``metrics.evaluate`` and ``metrics.report`` (the same calls as ``python -m dcgan_studio eval``):
the handler checks the form, runs the evaluation once per (checkpoint file, dataset, options) - results are cached,
so switching back to a checkpoint is instant - and shows the markdown report, its plots and the report files. An
uploaded zip is read here under the Studio's zip limits (``settings.zip_limits``, as the Train tab reads its zip),
never with the core's generous defaults.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import gradio as gr

from ..safe_zip import ZipDatasetError
from .dataset_picker import FOLDER_CHOICE, ZIP_CHOICE, build_dataset_picker, dataset_choices
from .errors import StudioError
from .settings import check_int, zip_limits
from .studio import Studio

# torch and the core's torch code load inside the handlers that use them: the page is served first
if TYPE_CHECKING:
    from ..data import ImageTensorDataset

TITLE = "Evaluate"
MAX_PROBE_REPEATS = 3  # draws of the labelled images per label count (each draw fits four SVMs)
PLOT_ORDER = ("samples", "class_histogram", "linear_probe", "nn_distances", "memorisation_pairs")
PLOT_CAPTIONS = {
    "samples": "generated samples",
    "class_histogram": "class coverage: generated vs held-out",
    "linear_probe": "linear probe: D features vs baselines",
    "nn_distances": "nearest-training-image distances",
    "memorisation_pairs": "closest pairs (top: generated, bottom: nearest training image)",
}


def shown_report(report):
    """The report as the page's JSON view (and API clients) get it: ``public(report)`` with each "path" entry turned
    into the file's name under "file". gradio_client takes any output dict holding a "path" string for a file to
    download, and the server refuses to serve its checkpoints folder (HTTP 403): "/evaluate" failed for every client."""
    if isinstance(report, dict):
        return {
            ("file" if k == "path" else k): (Path(v).name if k == "path" and isinstance(v, str) else shown_report(v))
            for k, v in report.items()
        }
    if isinstance(report, list):
        return [shown_report(v) for v in report]
    return report


def data_source(studio: Studio, dataset, zip_file, folder) -> tuple[str, str | None]:
    """(dataset name, data path) the evaluation reads its real images from."""
    if dataset not in dataset_choices(studio):
        raise StudioError(f"dataset must be one of {', '.join(dataset_choices(studio))}")
    data_path = None
    if dataset == ZIP_CHOICE:
        if not zip_file:
            raise StudioError("upload a .zip of the images the model was trained on first")
        dataset, data_path = "zip", str(zip_file)
    elif dataset == FOLDER_CHOICE:
        if not folder or not Path(folder).is_dir():
            raise StudioError(f"{folder!r} is not a folder on the server")
        dataset, data_path = "folder", str(folder)
    elif dataset != "digits":
        data_path = str(studio.data_dir)
    return dataset, data_path


def run_evaluation(
    studio: Studio, checkpoint, dataset, zip_file=None, folder=None, run_probe=True, repeats=1, seed=0, progress=None
) -> dict:
    """{'markdown', 'report' (JSON-ready), 'plots' [(path, caption)], 'files' [report.json, report.md]}; made once per
    (checkpoint file, data, options) and kept in ``studio.evaluations``: switching back to a checkpoint is instant."""
    path = studio.models.resolve(checkpoint)
    dataset, data_path = data_source(studio, dataset, zip_file, folder)
    repeats = check_int("probe repeats", repeats, 1, MAX_PROBE_REPEATS)
    seed = check_int("seed", seed, 0, studio.limits.max_seed)
    key = (str(Path(path).resolve()), Path(path).stat().st_mtime, dataset, data_path, bool(run_probe), repeats, seed)
    return studio.evaluations.get(
        key, lambda: evaluation(studio, path, dataset, data_path, run_probe, repeats, seed, progress)
    )


def read_zip(studio: Studio, checkpoint: Path, zip_path: str) -> tuple[ImageTensorDataset, list]:
    """The uploaded zip's images at the generator's size (read from the checkpoint's header, no tensor loaded),
    under the Studio's zip limits: (dataset, skipped members)."""
    from .. import checkpoint as ckpt
    from ..data import load_image_zip

    config = ckpt.read_info(checkpoint).model_config
    skipped: list = []
    try:
        real = load_image_zip(zip_path, config.image_size, config.channels, skipped, zip_limits(studio.limits))
    except ZipDatasetError as exc:
        raise StudioError(f"the zip cannot be used: {exc}") from None
    return real, skipped


def evaluation(studio: Studio, path, dataset, data_path, run_probe, repeats, seed, progress) -> dict:
    """``run_evaluation``'s result, made: the core's evaluate, the report files and what the page shows."""
    from ..metrics.evaluate import evaluate
    from ..metrics.report import markdown, public, write_report

    real, skipped = (None, []) if dataset != "zip" else read_zip(studio, path, data_path)
    report = evaluate(
        path,
        dataset,
        data_path,
        seed=seed,
        run_probe=bool(run_probe),
        probe_repeats=repeats,
        cifar10_root=studio.data_dir,
        progress=progress,
        dataset_obj=real,
    )
    out_dir = studio.out_path("report").parent
    paths = write_report(report, out_dir)
    text = "\n".join(
        line for line in markdown(report).splitlines() if not line.startswith("![")
    )  # plots go to the gallery
    if skipped:
        first = skipped[0]
        note = f"`{str(first.name)[:120]}`: {first.detail} [{first.rule}]"
        text = f"Skipped {len(skipped)} member(s) of the zip (the first, {note}).\n\n{text}"
    return {
        "markdown": text,
        "report": shown_report(public(report)),
        "plots": [(str(paths[name]), PLOT_CAPTIONS[name]) for name in PLOT_ORDER if name in paths],
        "files": [str(paths["json"]), str(paths["markdown"])],
    }


def build(studio: Studio) -> None:
    gr.Markdown(
        "Quality, diversity and memorisation of the checkpoint chosen above, each figure beside its **real-vs-real "
        "reference** (held-out real images against the training images), and the paper's test of D as a feature "
        "extractor. On the digits everything runs offline; on your own images the digit-classifier scores are "
        "skipped and the report says what it used instead. The same report as `python -m dcgan_studio eval`."
    )
    with gr.Row():
        with gr.Column(scale=1, min_width=280):
            dataset, zip_file, folder = build_dataset_picker(
                studio, label="Real images to compare with", elem_id="eval-dataset"
            )
            run_probe = gr.Checkbox(
                True, label="Linear probe on D's features (10/50/100 labels per class; the slowest part)"
            )
            repeats = gr.Slider(1, MAX_PROBE_REPEATS, value=1, step=1, label="Probe draws per label count")
            seed = gr.Number(
                0, label="Seed of the generated samples", precision=0, minimum=0, maximum=studio.limits.max_seed
            )
            go = gr.Button("Evaluate", variant="primary", elem_id="eval-go")
            files = gr.File(label="report.json / report.md", file_count="multiple", interactive=False)
        with gr.Column(scale=2):
            report_md = gr.Markdown(elem_id="eval-report")
            plots = gr.Gallery(label="Plots", columns=2, height=420, format="png", elem_id="eval-plots")
            with gr.Accordion("report.json", open=False):
                report_json = gr.JSON()

    def run(checkpoint, dataset, zip_file, folder, run_probe, repeats, seed, progress=gr.Progress()):  # noqa: B008 - Gradio's marker
        steps = iter(range(1, 100))
        result = run_evaluation(
            studio,
            checkpoint,
            dataset,
            zip_file,
            folder,
            run_probe,
            repeats,
            seed,
            progress=lambda msg: progress(min(next(steps) / 7, 0.95), desc=msg),
        )
        return result["markdown"], result["plots"], result["report"], result["files"]

    go.click(
        studio.handler(run),
        [studio.model, dataset, zip_file, folder, run_probe, repeats, seed],
        [report_md, plots, report_json, files],
        api_name="evaluate",
        concurrency_id="evaluation",
    )
