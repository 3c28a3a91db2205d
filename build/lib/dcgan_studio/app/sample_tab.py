"""Sample tab: a grid of G(z) for a seed, a count and a truncation of z; the z's are kept (server-side, by id) so
the other tabs can use the samples, and can be downloaded as a safetensors file.

The tab never opens empty: on every page load (``first_screen``) it shows ``FIRST_COUNT`` samples of seed 0 from
the preselected checkpoint and puts them in the visitor's pool, so the galleries of the other tabs start full.
Those samples are made once per checkpoint file and reused by every later page load (``Studio.first_screens``)."""

from pathlib import Path

import gradio as gr

from .common import Studio, ids_text, pool_add
from .samples import Sample
from .sampling import grid_columns, model_key, sample

TITLE = "Sample"
FIRST_SEED = 0  # what a page load shows (the form's defaults, so pressing Sample redraws the same grid)
FIRST_COUNT = 24


def first_samples(studio: Studio, checkpoint) -> tuple[list[Sample], str, str]:
    """(samples, grid png path, z file path): ``FIRST_COUNT`` samples of seed ``FIRST_SEED``, made on the first
    call for this checkpoint file and the same ones afterwards (as long as the registry still holds them)."""

    def valid(hit) -> bool:
        samples, grid_path, z_path = hit
        kept = all(studio.samples.get(s.id) is s for s in samples)
        return kept and Path(grid_path).is_file() and Path(z_path).is_file()

    def make():
        # seed 0 is anyone's to draw: every visitor's pool gets the same samples
        samples, _, grid_path, z_path = sample(studio, checkpoint, FIRST_SEED, FIRST_COUNT, 0.0, shared=True)
        return samples, grid_path, z_path

    return studio.first_screens.get(("samples", *model_key(studio, checkpoint)), make, valid)


def first_screen(studio: Studio, checkpoint, pool) -> tuple[str, list[str], str, list[str]]:
    """The page-load handler's values: (grid path, downloads, ids text, pool with the first samples in it)."""
    samples, grid_path, z_path = first_samples(studio, checkpoint)
    ids = [s.id for s in samples]
    return grid_path, [grid_path, z_path], ids_text(ids), pool_add(pool, ids)


def build(studio: Studio) -> None:
    limits = studio.limits
    with gr.Row():
        with gr.Column(scale=1, min_width=260):
            seed = gr.Number(
                FIRST_SEED, label="Seed", precision=0, minimum=0, maximum=limits.max_seed, elem_id="sample-seed"
            )
            count = gr.Slider(1, limits.max_samples, value=FIRST_COUNT, step=1, label="Count", elem_id="sample-count")
            truncation = gr.Slider(
                0.0,
                limits.max_truncation,
                value=0.0,
                step=0.1,
                label="Truncation of z (0 = off)",
                info="coordinates with |z| above this are redrawn: fewer, more typical samples",
            )
            go = gr.Button("Sample", variant="primary", elem_id="sample-go")
            files = gr.File(label="Downloads: grid and z vectors", file_count="multiple", interactive=False)
            ids = gr.Textbox(label="Sample ids (for the API)", interactive=False, max_lines=2, elem_id="sample-ids")
        with gr.Column(scale=2):
            grid = gr.Image(
                label="Samples", format="png", type="filepath", interactive=False, elem_id="sample-grid", height=520
            )

    def run(checkpoint, seed, count, truncation, pool):
        samples, _, grid_path, z_path = sample(studio, checkpoint, seed, count, truncation)
        new_ids = [s.id for s in samples]
        return grid_path, [grid_path, z_path], ids_text(new_ids), pool_add(pool, new_ids)

    outputs = [grid, files, ids, studio.pool]
    go.click(
        studio.handler(run),
        [studio.model, seed, count, truncation, studio.pool],
        outputs,
        api_name="sample",
        concurrency_id="generator",
    )

    def on_load(checkpoint, pool, browser_id):
        """No empty first screen: the grid of seed 0, and the same samples in the pool (so every gallery fills)."""
        return first_screen(studio, checkpoint, pool)

    # no usable checkpoint yet (none shipped, nothing trained): the page opens empty. Not queued behind other
    # visitors' sampling: after the first page load it only returns cached paths
    studio.blocks.load(
        studio.handler(on_load, fallback=[gr.skip()] * 4),
        [studio.model, studio.pool, studio.browser_id],
        outputs,
        api_visibility="private",
        show_progress="hidden",
        **studio.light,
    )


__all__ = ["FIRST_COUNT", "FIRST_SEED", "build", "first_samples", "first_screen", "grid_columns", "sample"]
