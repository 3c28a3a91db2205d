"""Interpolate tab: walk from one z to another, linearly or along the sphere, and show the strip and a GIF.

The ends are server samples (dragged from the gallery into the Start / End slots, or clicked then the slot), or
seeds when a slot is empty. A page load shows the walk the form's defaults describe (seed 0 to seed 1), made once
per checkpoint file; the gallery fills from the pool (the Sample tab's first samples)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import gradio as gr

from .common import Studio, grid_pil, parse_ids, picked, pool_gallery
from .dropslot import DropSlot
from .sampling import fitting_sample, model_key
from .settings import check_int

# torch and the core's torch code load inside the handlers that use them: the page is served first
if TYPE_CHECKING:
    import torch


TITLE = "Interpolate"
MODES = {"spherical (slerp)": "slerp", "linear": "linear"}
# the form's defaults, and the walk a page load shows
FIRST_SEEDS = (0, 1)
FIRST_MODE = "spherical (slerp)"
FIRST_STEPS = 10
STRIP_SIDE = 96  # each frame of the strip is enlarged (nearest neighbour, integer factor) to about this many pixels
GIF_SIDE = 192


def end_z(studio: Studio, sample_id: str | None, seed, nz: int) -> tuple[torch.Tensor, str]:
    """An end of the walk: a server sample by id, else the first z of ``seed``."""
    from ..latent import sample_z

    if sample_id:
        s = fitting_sample(studio, sample_id, nz)
        return s.z, s.label
    seed = check_int("seed", seed, 0, studio.limits.max_seed)
    return sample_z(1, nz, seed)[0], f"seed {seed}"


def walk(
    studio: Studio, checkpoint, start_id, end_id, seed_a, seed_b, mode, steps
) -> tuple[torch.Tensor, str, str, str]:
    """(frames uint8 (steps, C, H, W), strip png path, gif path, caption)."""
    from ..latent import generate, interpolate
    from ..plots import save_gif

    steps = check_int("steps", steps, studio.limits.min_interp_steps, studio.limits.max_interp_steps)
    mode = MODES.get(mode, mode) if isinstance(mode, str) else mode
    if mode not in MODES.values():
        raise ValueError(f"mode must be one of {', '.join(MODES.values())}")
    models = studio.models.get(checkpoint)
    nz = models.config.nz
    z0, label0 = end_z(studio, start_id, seed_a, nz)
    z1, label1 = end_z(studio, end_id, seed_b, nz)
    zs = interpolate(z0, z1, steps, mode)
    with models.lock:
        frames = generate(models.generator, zs)
    strip = studio.out_path(f"interpolation_{mode}_{steps}.png")
    grid_pil(frames, nrow=steps, scale=max(1, STRIP_SIDE // frames.shape[-1])).save(strip)
    gif = save_gif(
        frames, studio.out_path(f"interpolation_{mode}_{steps}.gif"), scale=max(1, GIF_SIDE // frames.shape[-1])
    )
    return frames, str(strip), str(gif), f"{label0} → {label1}, {steps} steps, {mode}"


def first_walk(studio: Studio, checkpoint) -> tuple[str, str, str]:
    """(strip path, gif path, caption) of the default walk, made once per checkpoint file (page loads reuse it)."""

    def make():
        _, strip, gif, caption = walk(studio, checkpoint, None, None, *FIRST_SEEDS, FIRST_MODE, FIRST_STEPS)
        return strip, gif, caption

    return studio.first_screens.get(
        ("walk", *model_key(studio, checkpoint)), make, lambda hit: Path(hit[0]).is_file() and Path(hit[1]).is_file()
    )


def build_walk_form(studio: Studio, selected: gr.State) -> dict:
    """The ends (drop slots, seeds when empty), the path and the number of steps, and the buttons."""
    limits = studio.limits
    w = {}
    with gr.Row():
        w["start"] = DropSlot(studio, "Start", 1, selected, "interp-start")
        w["end"] = DropSlot(studio, "End", 1, selected, "interp-end")
    seed = dict(precision=0, minimum=0, maximum=limits.max_seed)
    with gr.Row():
        w["seed_a"] = gr.Number(FIRST_SEEDS[0], label="Start seed (if empty)", **seed)
        w["seed_b"] = gr.Number(FIRST_SEEDS[1], label="End seed (if empty)", **seed)
    with gr.Row():
        w["mode"] = gr.Radio(list(MODES), value=FIRST_MODE, label="Path")
        w["steps"] = gr.Slider(
            limits.min_interp_steps,
            limits.max_interp_steps,
            value=FIRST_STEPS,
            step=1,
            label="Steps",
            elem_id="interp-steps",
        )
    with gr.Row():
        w["clear"] = gr.Button("Clear ends", size="sm")
        w["go"] = gr.Button("Interpolate", variant="primary", elem_id="interp-go")
    return w


def build(studio: Studio) -> None:
    selected = gr.State(None)
    gr.Markdown(
        "Drag two samples from the gallery into **Start** and **End** (or click a sample, then a slot). "
        "An empty slot uses its seed instead."
    )
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            gallery = pool_gallery(
                studio, label="Your samples (newest first)", columns=5, height=300, elem_id="interp-gallery"
            )
        with gr.Column(scale=1, min_width=300):
            w = build_walk_form(studio, selected)
    caption = gr.Markdown(elem_id="interp-caption")
    strip = gr.Image(label="Strip", format="png", type="filepath", interactive=False, elem_id="interp-strip")
    gif = gr.Image(label="Animation", type="filepath", interactive=False, elem_id="interp-gif", height=220)
    start, end = w["start"], w["end"]

    def on_select(pool, evt: gr.SelectData):
        sample = picked(studio, pool, evt)
        return sample.id if sample is not None else None

    gallery.select(studio.handler(on_select), studio.pool, selected, api_visibility="private")
    w["clear"].click(
        lambda: [*start.clear(), *end.clear()],
        None,
        [start.ids, start.html, end.ids, end.html],
        api_visibility="private",
    )

    def run(checkpoint, start_id, end_id, seed_start, seed_end, mode, steps):
        a_ids, b_ids = parse_ids(start_id), parse_ids(end_id)
        first, last = (a_ids[0] if a_ids else None), (b_ids[0] if b_ids else None)
        _, strip_path, gif_path, text = walk(studio, checkpoint, first, last, seed_start, seed_end, mode, steps)
        return strip_path, gif_path, text

    # the named API endpoint takes the ends as sample ids; the page passes the slots' server-side state directly
    start_id, end_id = gr.Textbox(visible=False), gr.Textbox(visible=False)
    options, outputs = [w["seed_a"], w["seed_b"], w["mode"], w["steps"]], [strip, gif, caption]
    generator = dict(concurrency_id="generator")
    w["go"].click(
        studio.handler(run),
        [studio.model, start.ids, end.ids, *options],
        outputs,
        api_visibility="private",
        **generator,
    )
    gr.Button(visible=False).click(
        studio.handler(run), [studio.model, start_id, end_id, *options], outputs, api_name="interpolate", **generator
    )

    wire_first_walk(studio, outputs)


def wire_first_walk(studio: Studio, outputs: list) -> None:
    def on_load(checkpoint, browser_id):
        """No empty first screen: the walk from seed 0 to seed 1 (cached: a reload makes nothing new)."""
        return first_walk(studio, checkpoint)

    # no usable checkpoint yet: the page opens empty
    studio.blocks.load(
        studio.handler(on_load, fallback=[gr.skip()] * 3),
        [studio.model, studio.browser_id],
        outputs,
        api_visibility="private",
        show_progress="hidden",
        **studio.light,
    )
