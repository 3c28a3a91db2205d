"""Feature maps tab: the activations of every layer of G and D for one sample (or D on an uploaded image), D's
first-layer filters, and "forgetting": switching off chosen G channels in one layer and drawing the same z again.
A page load shows both for seed 0 (the form's defaults), computed once per checkpoint file."""

from __future__ import annotations

from typing import TYPE_CHECKING

import gradio as gr
from PIL import Image

from ..checkpoint import CheckpointError, read_info  # the header alone: no torch
from ..config import ModelConfig
from .common import DRAWN, Studio, open_upload_image, picked, pil, pool_gallery
from .errors import StudioError
from .sampling import fitting_sample, model_key
from .settings import Limits, check_int, check_text

# torch and the core's torch code load inside the handlers that use them: the page is served first
if TYPE_CHECKING:
    import torch


TITLE = "Feature maps"
FIRST_SEED = 0  # the form's defaults, and what a page load shows
FIRST_STAGE = 1  # a page load switches off the first half of this G layer's channels: a change one can see
FIRST_CHANNELS = "0-7"  # the channels box before a page load fills it in
DRAWN_SIDE = 180  # G(z) is enlarged (nearest neighbour) to at least this side
ABLATE_SIDE = 220
MAP_SIDE = 256  # each layer grid is enlarged to at least this side (the gallery preview shows it large)


def source_z(studio: Studio, sample_id: str | None, seed, nz: int) -> tuple[torch.Tensor, str]:
    from ..latent import sample_z

    sample_id = check_text("sample id", sample_id, 64).strip() if sample_id else None
    if sample_id:
        s = fitting_sample(studio, sample_id, nz)
        return s.z[None], s.label
    seed = check_int("seed", seed, 0, studio.limits.max_seed)
    return sample_z(1, nz, seed), f"seed {seed}"


def feature_maps(studio: Studio, checkpoint, sample_id, seed, image: Image.Image | None = None) -> dict:
    """Layer grids of G for the z and of D for G(z) (or for ``image`` when given), and D's first-layer filters."""
    from ..data import square_crop_resize
    from ..features import activation_grid, discriminator_activations, first_layer_filters, layer_activations
    from ..latent import generate

    models = studio.models.get(checkpoint)
    cfg = models.config
    z, label = source_z(studio, sample_id, seed, cfg.nz)
    image = open_upload_image(image, studio.limits.max_project_pixels)  # formats and pixel count checked
    with models.lock:
        drawn = generate(models.generator, z)
        g_layers = layer_activations(models.generator, z)
        d_input = square_crop_resize(image, cfg.image_size, cfg.channels)[None] if image is not None else drawn
        d_layers = discriminator_activations(models.discriminator, d_input) if models.discriminator is not None else []
        filters = first_layer_filters(models.discriminator) if models.discriminator is not None else None

    def items(layers, prefix):
        max_channels = studio.limits.max_feature_channels
        return [
            (activation_grid(act[0], max_channels), f"{prefix} {name}: {tuple(act.shape[1:])}") for name, act in layers
        ]

    return {
        "label": label,
        "image": drawn[0],
        "d_input": d_input[0],
        "g_layers": items(g_layers, "G"),
        "d_layers": items(d_layers, "D"),
        "filters": filters,
        "has_discriminator": models.discriminator is not None,
    }


def parse_channels(text: str | None, max_channels: int = Limits.max_ablate_channels) -> list[int]:
    """'0-3, 7' -> [0, 1, 2, 3, 7]; empty -> []."""
    out: set[int] = set()
    for part in str(text or "").replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "-" in part:
                lo, hi = (int(x) for x in part.split("-", 1))
                if hi < lo or hi - lo >= max_channels:
                    raise ValueError
                out.update(range(lo, hi + 1))
            else:
                out.add(int(part))
        except ValueError:
            raise StudioError(f"channels must look like '0-3, 7'; cannot read {part!r}") from None
        if len(out) > max_channels:
            raise StudioError(f"at most {max_channels} channels at once")
    return sorted(out)


def ablate(studio: Studio, checkpoint, sample_id, seed, stage, channels) -> tuple[torch.Tensor, torch.Tensor, str]:
    """(G(z), G(z) drawn with ``channels`` of hidden stage ``stage`` switched off, a caption)."""
    from ..latent import ablate_channels, generate, generator_stages

    models = studio.models.get(checkpoint)
    n_stages = len(generator_stages(models.generator))
    stage = check_int("layer", stage, 0, n_stages - 1)
    max_channels = studio.limits.max_ablate_channels
    if isinstance(channels, list):
        if len(channels) > max_channels:
            raise StudioError(f"at most {max_channels} channels at once")
        chans = sorted({check_int("channel", c, 0, max_channels - 1) for c in channels})
    else:
        chans = parse_channels(check_text("channels", channels), max_channels)
    width = stage_widths(models.generator)[stage]
    if chans and chans[-1] >= width:
        raise StudioError(f"G layer {stage} has {width} channels (0-{width - 1}); channel {chans[-1]} does not exist")
    z, label = source_z(studio, sample_id, seed, models.config.nz)
    with models.lock:
        before = generate(models.generator, z)
        with ablate_channels(models.generator, stage, chans):
            after = generate(models.generator, z)
    changed = float((before.float() - after.float()).abs().mean())
    return (
        before[0],
        after[0],
        f"{label}: {len(chans)} channel(s) of G layer {stage} off; mean pixel change {changed:.2f}/255",
    )


def stage_widths(generator) -> list[int]:
    """The channel count of each hidden G layer ``ablate_channels`` can switch channels off in (its BatchNorm)."""
    from ..latent import generator_stages

    return [generator.main[int(name.split(".")[1]) - 1].num_features for name, _ in generator_stages(generator)]


def first_ablation(studio: Studio, checkpoint) -> tuple[int, str]:
    """(layer, channels) a page load shows: the first half of the channels of G layer FIRST_STAGE (or of the last
    hidden layer when G has fewer), e.g. layer 1, "0-31" for the shipped generator: a visible change."""
    models = studio.models.get(checkpoint)
    widths = stage_widths(models.generator)
    stage = min(FIRST_STAGE, len(widths) - 1)
    width = widths[stage]
    return stage, f"0-{max(0, width // 2 - 1)}"


def config_stage_widths(config: ModelConfig) -> list[int]:
    """``stage_widths`` from the architecture alone (G halves its width from ngf * 2^(stages - 1) down to ngf), so
    listing the layers needs the checkpoint's header, not its weights: building the page stays quick."""
    return [config.ngf * 2 ** (config.n_stages - 1 - i) for i in range(config.n_stages)]


def stage_choices(studio: Studio, checkpoint) -> list[tuple[str, str]]:
    """(label, layer number as a string): gradio_client documents choices as strings, and Gradio accepts only those."""
    try:
        config = read_info(studio.models.resolve(checkpoint)).model_config
    except (StudioError, CheckpointError, OSError):
        return [("layer 0", "0")]
    return [(f"layer {i} ({width} channels)", str(i)) for i, width in enumerate(config_stage_widths(config))]


def build_inputs(studio: Studio) -> dict:
    """The gallery, sample id, seed and upload of the left column."""
    gallery = pool_gallery(studio, label="Your samples", columns=3, height=240, elem_id="feat-gallery")
    sample_id = gr.Textbox(label="Sample id (empty: use the seed)", elem_id="feat-sample-id")
    seed = gr.Number(FIRST_SEED, label="Seed", precision=0, minimum=0, maximum=studio.limits.max_seed)
    upload = gr.Image(label="Image for D (optional)", type="filepath", image_mode=None, sources=["upload"], height=160)

    def on_select(pool, evt: gr.SelectData):
        sample = picked(studio, pool, evt)
        return sample.id if sample is not None else gr.skip()

    gallery.select(studio.handler(on_select), studio.pool, sample_id, api_visibility="private")
    return {"sample_id": sample_id, "seed": seed, "upload": upload}


def build_maps() -> list:
    """The right column: caption, G(z), D's filters, G's and D's layer galleries (the feature maps' outputs)."""
    caption = gr.Markdown(elem_id="feat-caption")
    with gr.Row():
        drawn = gr.Image(label="G(z)", height=180, elem_id="feat-drawn", **DRAWN)
        filters = gr.Image(label="D first-layer filters", height=180, elem_id="feat-filters", **DRAWN)
    layers = dict(columns=4, fit_columns=False, height=250, object_fit="contain", format="png")
    g_maps = gr.Gallery(label="Generator layers", elem_id="feat-g", **layers)
    d_maps = gr.Gallery(label="Discriminator layers", elem_id="feat-d", **layers)
    return [caption, drawn, filters, g_maps, d_maps]


def build_ablation(studio: Studio) -> tuple[gr.Dropdown, gr.Textbox, gr.Button, list]:
    """ "Forgetting": the layer, the channels, the button and its outputs (before, after, caption)."""
    gr.Markdown("### Forgetting: switch off generator channels")
    with gr.Row():
        stage = gr.Dropdown(
            stage_choices(studio, studio.models.default()), value="0", label="Generator layer", elem_id="ablate-stage"
        )
        channels = gr.Textbox(
            FIRST_CHANNELS, label="Channels to switch off", info="e.g. 0-7, 12", elem_id="ablate-channels"
        )
        ablate_btn = gr.Button("Redraw without them", elem_id="ablate-go")
    ablate_text = gr.Markdown(elem_id="ablate-caption")
    with gr.Row():
        before = gr.Image(label="Before", elem_id="ablate-before", height=220, **DRAWN)
        after = gr.Image(label="After", elem_id="ablate-after", height=220, **DRAWN)

    def on_model(checkpoint):
        return gr.update(choices=stage_choices(studio, checkpoint), value="0")

    # As the visitor: in public mode an uploaded checkpoint resolves only for the visitor who owns it.
    studio.model.change(studio.handler(on_model), studio.model, stage, api_visibility="private")
    return stage, channels, ablate_btn, [before, after, ablate_text]


def build(studio: Studio) -> None:
    gr.Markdown(
        "Pick a sample in the gallery (or use a seed). G's layers are shown for its z, D's for the image G "
        "drew from it, or for an image you upload."
    )
    with gr.Row():
        with gr.Column(scale=1, min_width=280):
            inputs = build_inputs(studio)
            go = gr.Button("Show feature maps", variant="primary", elem_id="feat-go")
        with gr.Column(scale=2):
            maps = build_maps()
    stage, channels, ablate_btn, ablation = build_ablation(studio)
    sample_id, seed = inputs["sample_id"], inputs["seed"]

    def run(checkpoint, sample_id, seed, image):
        return shown_maps(studio, checkpoint, sample_id, seed, image)

    go.click(
        studio.handler(run),
        [studio.model, sample_id, seed, inputs["upload"]],
        maps,
        api_name="features",
        concurrency_id="generator",
    )

    def run_ablate(checkpoint, sample_id, seed, layer, channels):
        return shown_ablation(studio, checkpoint, sample_id, seed, layer, channels)

    ablate_btn.click(
        studio.handler(run_ablate),
        [studio.model, sample_id, seed, stage, channels],
        ablation,
        api_name="ablate",
        concurrency_id="generator",
    )

    def on_load(checkpoint, browser_id):
        """No empty first screen: seed 0's feature maps and the default ablation (cached: reloads redo nothing)."""
        return first_maps(studio, checkpoint)

    # the ablation's layer and channels too, so that pressing "Redraw" with the seed redraws what the page shows;
    # no usable checkpoint yet: the page opens empty
    studio.blocks.load(
        studio.handler(on_load, fallback=[gr.skip()] * 10),
        [studio.model, studio.browser_id],
        [*maps, *ablation, stage, channels],
        api_visibility="private",
        show_progress="hidden",
        **studio.light,
    )


def shown_maps(studio: Studio, checkpoint, sample_id, seed, image=None) -> tuple:
    """What the "Show feature maps" button shows: (caption, G(z), D's filters, G layer items, D layer items)."""
    out = feature_maps(studio, checkpoint, sample_id, seed, image)
    note = f"**{out['label']}**" + ("" if out["has_discriminator"] else " · this checkpoint holds no discriminator")
    g_items = [(pil(grid, MAP_SIDE), cap) for grid, cap in out["g_layers"]]
    d_items = [(pil(grid, MAP_SIDE), cap) for grid, cap in out["d_layers"]]
    shown_filters = pil(out["filters"], MAP_SIDE) if out["filters"] is not None else None
    return note, pil(out["image"], DRAWN_SIDE), shown_filters, g_items, d_items


def shown_ablation(studio: Studio, checkpoint, sample_id, seed, layer, channels) -> tuple:
    """What the "Redraw without them" button shows: (before, after, caption)."""
    b, a, text = ablate(studio, checkpoint, sample_id, seed, layer, channels)
    return pil(b, ABLATE_SIDE), pil(a, ABLATE_SIDE), text


def first_maps(studio: Studio, checkpoint) -> tuple:
    """The page load's values, computed once per checkpoint file: seed 0's maps (as ``shown_maps``), its ablation
    (as ``shown_ablation``) with the layer and channels of ``first_ablation``, then that layer and channels."""

    def make():
        stage, chans = first_ablation(studio, checkpoint)
        return (
            *shown_maps(studio, checkpoint, None, FIRST_SEED),
            *shown_ablation(studio, checkpoint, None, FIRST_SEED, stage, chans),
            stage_choices(studio, checkpoint)[stage][1],
            chans,
        )  # the layer as the dropdown's choice value

    return studio.first_screens.get(("features", *model_key(studio, checkpoint)), make)
