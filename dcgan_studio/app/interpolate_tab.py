"""Interpolate tab: walk from one z to another, linearly or along the sphere, and show the strip and a GIF.

The ends are server samples (dragged from the gallery into the Start / End slots, or clicked then the slot), or
seeds when a slot is empty. A page load shows the walk the form's defaults describe (seed 0 to seed 1), made once
per checkpoint file; the gallery fills from the pool (the Sample tab's first samples)."""
from pathlib import Path

import gradio as gr
import torch

from ..latent import generate, interpolate, sample_z
from ..plots import save_gif
from . import settings
from .common import USER_ERRORS, Studio, gallery_items, grid_pil, parse_ids, pool_samples, user_errors
from .dropslot import DropSlot
from .sample_tab import first_screen_cache, model_key

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
    if sample_id:
        s = studio.samples.require(sample_id)
        if s.nz != nz:
            raise ValueError(f"sample {s.label!r} has nz={s.nz} but this generator takes nz={nz}")
        return s.z, s.label
    seed = settings.check_int("seed", seed, 0, settings.MAX_SEED)
    return sample_z(1, nz, seed)[0], f"seed {seed}"


def walk(studio: Studio, checkpoint, start_id, end_id, seed_a, seed_b, mode, steps) -> tuple[torch.Tensor, str, str, str]:
    """(frames uint8 (steps, C, H, W), strip png path, gif path, caption)."""
    steps = settings.check_int("steps", steps, settings.MIN_INTERP_STEPS, settings.MAX_INTERP_STEPS)
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
    gif = save_gif(frames, studio.out_path(f"interpolation_{mode}_{steps}.gif"), scale=max(1, GIF_SIDE // frames.shape[-1]))
    return frames, str(strip), str(gif), f"{label0} → {label1}, {steps} steps, {mode}"


def first_walk(studio: Studio, checkpoint) -> tuple[str, str, str]:
    """(strip path, gif path, caption) of the default walk, made once per checkpoint file (page loads reuse it)."""
    def make():
        _, strip, gif, caption = walk(studio, checkpoint, None, None, *FIRST_SEEDS, FIRST_MODE, FIRST_STEPS)
        return strip, gif, caption

    return first_screen_cache(studio).get(("walk", *model_key(studio, checkpoint)), make,
                                          lambda hit: Path(hit[0]).is_file() and Path(hit[1]).is_file())


def build(studio: Studio) -> None:
    selected = gr.State(None)
    gr.Markdown("Drag two samples from the gallery into **Start** and **End** (or click a sample, then a slot). "
                "An empty slot uses its seed instead.")
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            gallery = gr.Gallery(label="Your samples (newest first)", columns=5, height=300, allow_preview=False, object_fit="contain",
                                 format="png", elem_id="interp-gallery")
        with gr.Column(scale=1, min_width=300):
            with gr.Row():
                start = DropSlot(studio, "Start", 1, selected, "interp-start")
                end = DropSlot(studio, "End", 1, selected, "interp-end")
            with gr.Row():
                seed_a = gr.Number(FIRST_SEEDS[0], label="Start seed (if empty)", precision=0, minimum=0, maximum=settings.MAX_SEED)
                seed_b = gr.Number(FIRST_SEEDS[1], label="End seed (if empty)", precision=0, minimum=0, maximum=settings.MAX_SEED)
            with gr.Row():
                mode = gr.Radio(list(MODES), value=FIRST_MODE, label="Path")
                steps = gr.Slider(settings.MIN_INTERP_STEPS, settings.MAX_INTERP_STEPS, value=FIRST_STEPS, step=1, label="Steps", elem_id="interp-steps")
            with gr.Row():
                clear = gr.Button("Clear ends", size="sm")
                go = gr.Button("Interpolate", variant="primary", elem_id="interp-go")
    caption = gr.Markdown(elem_id="interp-caption")
    strip = gr.Image(label="Strip", format="png", type="filepath", interactive=False, elem_id="interp-strip")
    gif = gr.Image(label="Animation", type="filepath", interactive=False, elem_id="interp-gif", height=220)
    # the named API endpoint takes the ends as sample ids; the page passes the slots' server-side state directly
    start_id, end_id = gr.Textbox(visible=False), gr.Textbox(visible=False)
    api_button = gr.Button(visible=False)

    studio.pool.change(lambda pool: gallery_items(pool_samples(studio, pool)), studio.pool, gallery, api_visibility="private")

    def on_select(pool, evt: gr.SelectData):
        samples = pool_samples(studio, pool)
        return samples[evt.index].id if evt.index is not None and 0 <= evt.index < len(samples) else None

    gallery.select(on_select, studio.pool, selected, api_visibility="private")
    clear.click(lambda: [*start.clear(), *end.clear()], None, [start.ids, start.html, end.ids, end.html], api_visibility="private")

    def run(checkpoint, start_id, end_id, seed_start, seed_end, mode, steps, request: gr.Request):
        a_ids, b_ids = parse_ids(start_id), parse_ids(end_id)
        with studio.visit(request):
            _, strip_path, gif_path, text = walk(studio, checkpoint, a_ids[0] if a_ids else None, b_ids[0] if b_ids else None,
                                                 seed_start, seed_end, mode, steps)
        return strip_path, gif_path, text

    outputs = [strip, gif, caption]
    go.click(user_errors(run), [studio.model, start.ids, end.ids, seed_a, seed_b, mode, steps], outputs,
             api_visibility="private", concurrency_id="generator")
    api_button.click(user_errors(run), [studio.model, start_id, end_id, seed_a, seed_b, mode, steps], outputs,
                     api_name="interpolate", concurrency_id="generator")

    def on_load(checkpoint, browser_id, request: gr.Request):
        """No empty first screen: the walk from seed 0 to seed 1 (cached: a reload makes nothing new)."""
        try:
            with studio.visit(request, browser_id):
                return first_walk(studio, checkpoint)
        except USER_ERRORS:  # no usable checkpoint yet
            return gr.skip(), gr.skip(), gr.skip()

    studio.blocks.load(on_load, [studio.model, studio.browser_id], outputs, api_visibility="private",
                       show_progress="hidden", concurrency_limit=None)
