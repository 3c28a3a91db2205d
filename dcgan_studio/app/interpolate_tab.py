"""Interpolate tab: walk from one z to another, linearly or along the sphere, and show the strip and a GIF.

The ends are server samples (dragged from the gallery into the Start / End slots, or clicked then the slot), or
seeds when a slot is empty."""
import gradio as gr
import torch

from ..latent import generate, interpolate, sample_z
from ..plots import save_gif
from . import settings
from .common import Studio, gallery_items, grid_pil, parse_ids, pool_samples, user_errors
from .dropslot import DropSlot

TITLE = "Interpolate"
MODES = {"spherical (slerp)": "slerp", "linear": "linear"}


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
    grid_pil(frames, nrow=steps, scale=max(1, 96 // frames.shape[-1])).save(strip)
    gif = save_gif(frames, studio.out_path(f"interpolation_{mode}_{steps}.gif"), scale=max(1, 192 // frames.shape[-1]))
    return frames, str(strip), str(gif), f"{label0} → {label1}, {steps} steps, {mode}"


def build(studio: Studio) -> None:
    selected = gr.State(None)
    gr.Markdown("Drag two samples from the gallery into **Start** and **End** (or click a sample, then a slot). "
                "An empty slot uses its seed instead.")
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            gallery = gr.Gallery(label="Your samples (newest first)", columns=6, height=300, allow_preview=False, object_fit="contain",
                                 format="png", elem_id="interp-gallery")
        with gr.Column(scale=1, min_width=300):
            with gr.Row():
                start = DropSlot(studio, "Start", 1, selected, "interp-start")
                end = DropSlot(studio, "End", 1, selected, "interp-end")
            with gr.Row():
                seed_a = gr.Number(0, label="Start seed (if empty)", precision=0, minimum=0, maximum=settings.MAX_SEED)
                seed_b = gr.Number(1, label="End seed (if empty)", precision=0, minimum=0, maximum=settings.MAX_SEED)
            with gr.Row():
                mode = gr.Radio(list(MODES), value="spherical (slerp)", label="Path")
                steps = gr.Slider(settings.MIN_INTERP_STEPS, settings.MAX_INTERP_STEPS, value=10, step=1, label="Steps")
            with gr.Row():
                clear = gr.Button("Clear ends", size="sm")
                go = gr.Button("Interpolate", variant="primary", elem_id="interp-go")
    caption = gr.Markdown()
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
