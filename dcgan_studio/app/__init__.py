"""DCGAN Studio, the Gradio app: ``build_app()`` assembles the tabs; ``launch.py`` starts it.

Each tab is a module with ``TITLE`` and ``build(studio)``; ``TABS`` is the plain list the app walks, so adding a
tab is one import and one list entry. A tab gets a ``Studio`` (studio.py): the app's ``Limits``, the model picker
and the visitor's sample pool every tab shares, the registries of server-made samples and of the training jobs,
paths, and ``studio.handler`` to wrap its listeners. No tab imports another; what two tabs share lives in
``common``, ``sampling``, ``dataset_picker`` or ``dropslot``.
"""

from pathlib import Path

import gradio as gr

from . import (
    arithmetic_tab,
    directions_tab,
    evaluate_tab,
    features_tab,
    interpolate_tab,
    project_tab,
    runs_tab,
    sample_tab,
    settings,
    train_tab,
)
from .errors import StudioError
from .settings import Limits
from .studio import Studio, make_studio
from .visitors import LOCAL_VISITOR, VISITOR_ID_RE, Visitor, new_visitor_id

TABS = [
    train_tab,
    sample_tab,
    interpolate_tab,
    arithmetic_tab,
    directions_tab,
    project_tab,
    features_tab,
    evaluate_tab,
    runs_tab,
]

CSS = """
#sample-grid img, #train-grid img, #interp-strip img, #interp-gif img, #arith-result img, #arith-row img,
#project-recon img, #ablate-after img, #interp-gallery img, #arith-gallery img, #feat-gallery img, #feat-g img,
#feat-d img, #feat-filters img, #feat-drawn img, #ablate-before img, #project-target img, #dir-image img,
#dir-gallery img, #dir-strips img, #runs-grids img, #runs-timelapses img,
.drop-slot img { image-rendering: pixelated; }
#train-grid img { width: 100%; height: 100%; object-fit: contain; }
#runs-grids .grid-wrap, #runs-timelapses .grid-wrap, #runs-figures .grid-wrap { max-height: none; overflow-y: visible; }
#runs-grids .grid-container, #runs-timelapses .grid-container, #runs-figures .grid-container {
  grid-template-columns: repeat(var(--grid-cols), minmax(100px, 420px)); }
"""


def build_app(
    shipped: str | Path | None = settings.SHIPPED_CHECKPOINT,
    runs_dir: str | Path = settings.RUNS_DIR,
    data_dir: str | Path = settings.DATA_DIR,
    tabs: list | None = None,
    public: bool | None = None,
    limits: Limits | None = None,
) -> gr.Blocks:
    """The Studio's Blocks. ``shipped`` is the checkpoint preselected (``checkpoints/digits32.safetensors``); the
    mode and limits are ``limits``, else ``Limits.for_mode(public)``, else what the environment asks for."""
    studio = make_studio(shipped, runs_dir, data_dir, public=public, limits=limits)
    with gr.Blocks(title="DCGAN Studio", delete_cache=settings.DELETE_CACHE) as demo:
        studio.blocks = demo
        build_visitor_id(studio)
        gr.Markdown(
            "# DCGAN Studio\nTrain a DCGAN (Radford et al., 2015), then walk its latent space: sample, "
            "interpolate, do vector arithmetic by dragging samples, project your own image, look inside."
        )
        picker = build_model_picker(studio)
        studio.pool = gr.State([])
        for tab in tabs if tabs is not None else TABS:
            with gr.Tab(tab.TITLE, id=tab.__name__.rsplit(".", 1)[-1]):
                tab.build(studio)
        wire_model_picker(studio, *picker)
    demo.studio = studio
    return demo


def build_visitor_id(studio: Studio) -> None:
    """Public mode: a random visitor id kept in the browser (encrypted by Gradio), so a reload re-attaches to the
    visitor's own job; bound to each new session on page load (before any other handler needs it)."""
    studio.browser_id = gr.BrowserState("", storage_key="dcgan_studio_visitor")

    def identify(browser_id, request: gr.Request):
        if not studio.public:
            return gr.skip()
        known = isinstance(browser_id, str) and VISITOR_ID_RE.fullmatch(browser_id)
        vid = browser_id if known else new_visitor_id()
        studio.visitor_for(request, vid)
        return vid

    studio.blocks.load(identify, studio.browser_id, studio.browser_id, api_visibility="private", show_progress="hidden")


def build_model_picker(studio: Studio) -> tuple[gr.File, gr.Button, gr.Textbox, gr.Button]:
    """The checkpoint every tab but Train uses, an upload for more, a Hub repo to load, and a refresh of the list."""
    with gr.Row(equal_height=True):
        # allow_custom_value: API clients may name a checkpoint made after their page loaded; ModelStore.resolve
        # still accepts only checkpoints the Studio offers
        studio.model = gr.Dropdown(
            studio.models.choices(LOCAL_VISITOR),  # the shipped checkpoint: page loads show the visitor's own
            value=studio.models.default(LOCAL_VISITOR),
            label="Checkpoint",
            info="used by every tab but Train",
            allow_custom_value=True,
            scale=3,
            elem_id="model-picker",
        )
        upload = gr.File(
            label="Upload a .safetensors checkpoint", file_types=[".safetensors"], type="filepath", scale=2, height=90
        )
        with gr.Column(scale=2, min_width=200):
            hub_repo = gr.Textbox(
                label="Load from the Hub",
                placeholder="user/name or user/name@revision",
                max_lines=1,
                elem_id="hub-repo",
            )
            hub_load = gr.Button("Load from the Hub", size="sm", elem_id="hub-load")
        refresh = gr.Button("Refresh list", size="sm", scale=0, min_width=110)
    return upload, refresh, hub_repo, hub_load


def wire_model_picker(studio: Studio, upload: gr.File, refresh: gr.Button, hub_repo, hub_load) -> None:
    def on_upload(visitor: Visitor, path):
        if not path:
            return gr.skip()
        value = studio.register_checkpoint(visitor, path, Path(path).name)
        return gr.update(choices=studio.models.choices(visitor), value=value)

    def load_from_hub(visitor: Visitor, repo: str):
        value = studio.load_from_hub(visitor, repo)
        return gr.update(choices=studio.models.choices(visitor), value=value)

    def refresh_models(visitor: Visitor):
        return gr.update(choices=studio.models.choices(visitor))

    # also a named endpoint: API clients upload a checkpoint with handle_file() and get the value to pass on
    upload.upload(studio.handler(on_upload, visitor=True), upload, studio.model, api_name="upload_checkpoint")
    refresh.click(studio.handler(refresh_models, visitor=True), None, studio.model, api_visibility="private")
    # also a named endpoint: API clients load user/name[@revision] and get the value to pass on
    load = studio.handler(load_from_hub, visitor=True)
    hub_load.click(load, hub_repo, studio.model, api_name="load_from_hub")
    hub_repo.submit(load, hub_repo, studio.model, api_visibility="private")


def launch_options(limits: Limits | None = None) -> dict:
    """Keyword arguments of ``launch()`` that the app needs wherever it runs (launch.py and tests); pass the app's
    ``demo.studio.limits`` (default: the environment's)."""
    limits = limits or Limits.from_env()
    return {
        "enable_monitoring": False,  # no /monitoring dashboard
        "max_file_size": limits.max_file_size,  # bigger uploads get HTTP 413 (lower in public mode)
        "allowed_paths": [],  # no folder is served wholesale: only Gradio's cache (uploads, files handlers return)
        "show_error": True,
        "css": CSS,
        "footer_links": ["api", "gradio"],
    }


__all__ = ["TABS", "Limits", "Studio", "StudioError", "build_app", "launch_options"]
