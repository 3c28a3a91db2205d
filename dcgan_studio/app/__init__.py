"""DCGAN Studio, the Gradio app: ``build_app()`` assembles the tabs; ``launch.py`` starts it.

Each tab is a module with ``TITLE`` and ``build(studio)``; ``TABS`` is the plain list the app walks, so adding a
tab is one import and one list entry. A tab gets a ``Studio`` (common.py): the model picker and the visitor's
sample pool every tab shares, the registries of server-made samples and of the training job, and paths.
"""
from pathlib import Path

import gradio as gr

from . import arithmetic_tab, evaluate_tab, features_tab, interpolate_tab, project_tab, sample_tab, settings, train_tab
from .common import Studio, make_studio, user_errors
from .state import StudioError

TABS = [
    train_tab,
    sample_tab,
    interpolate_tab,
    arithmetic_tab,
    project_tab,
    features_tab,
    evaluate_tab,
]

CSS = """
#sample-grid img, #train-grid img, #interp-strip img, #interp-gif img, #arith-result img, #arith-row img,
#project-recon img, #ablate-after img, #interp-gallery img, #arith-gallery img, #feat-gallery img, #feat-g img, #feat-d img,
#feat-filters img, .drop-slot img { image-rendering: pixelated; }
"""


def build_app(
    shipped: str | Path | None = settings.SHIPPED_CHECKPOINT,
    runs_dir: str | Path = settings.RUNS_DIR,
    data_dir: str | Path = settings.DATA_DIR,
    tabs: list | None = None,
) -> gr.Blocks:
    """The Studio's Blocks. ``shipped`` is the checkpoint preselected (``checkpoints/digits32.safetensors``)."""
    studio = make_studio(shipped, runs_dir, data_dir)
    with gr.Blocks(title="DCGAN Studio", delete_cache=settings.DELETE_CACHE) as demo:
        studio.blocks = demo
        gr.Markdown("# DCGAN Studio\nTrain a DCGAN (Radford et al., 2015), then walk its latent space: sample, "
                    "interpolate, do vector arithmetic by dragging samples, project your own image, look inside.")
        with gr.Row(equal_height=True):
            studio.model = gr.Dropdown(studio.models.choices(), value=studio.models.default(), label="Checkpoint",
                                       info="used by every tab but Train", allow_custom_value=True, scale=3, elem_id="model-picker")
            upload = gr.File(label="Upload a .safetensors checkpoint", file_types=[".safetensors"], type="filepath", scale=2, height=90)
            refresh = gr.Button("Refresh list", size="sm", scale=0, min_width=110)
        # allow_custom_value: API clients may name a checkpoint made after their page loaded; ModelStore.resolve
        # still accepts only checkpoints the Studio offers
        studio.pool = gr.State([])
        for tab in tabs if tabs is not None else TABS:
            with gr.Tab(tab.TITLE, id=tab.__name__.rsplit(".", 1)[-1]):
                tab.build(studio)

        def on_upload(path):
            if not path:
                return gr.skip()
            value = studio.models.register_upload(path, Path(path).name)
            return gr.update(choices=studio.models.choices(), value=value)

        upload.upload(user_errors(on_upload), upload, studio.model, api_visibility="private")
        refresh.click(lambda: gr.update(choices=studio.models.choices()), None, studio.model, api_visibility="private")
    demo.studio = studio
    return demo


def launch_options() -> dict:
    """Keyword arguments of ``launch()`` that the app needs wherever it runs (launch.py and tests)."""
    return {
        "enable_monitoring": False,
        "max_file_size": settings.MAX_FILE_SIZE,
        "show_error": True,
        "css": CSS,
        "footer_links": ["api", "gradio"],
    }


__all__ = ["TABS", "build_app", "launch_options", "Studio", "StudioError"]
