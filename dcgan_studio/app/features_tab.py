"""Feature maps tab: the activations of every layer of G and D for one sample (or D on an uploaded image), D's
first-layer filters, and "forgetting": switching off chosen G channels in one layer and drawing the same z again."""
import gradio as gr
import torch
from PIL import Image

from ..data import square_crop_resize
from ..features import activation_grid, discriminator_activations, first_layer_filters, layer_activations
from ..latent import ablate_channels, generate, generator_stages, sample_z
from . import settings
from .common import Studio, gallery_items, open_upload_image, pil, pool_samples, user_errors
from .state import StudioError

TITLE = "Feature maps"


def source_z(studio: Studio, sample_id: str | None, seed, nz: int) -> tuple[torch.Tensor, str]:
    sample_id = settings.check_text("sample id", sample_id, 64).strip() if sample_id else None
    if sample_id:
        s = studio.samples.require(sample_id)
        if s.nz != nz:
            raise StudioError(f"sample {s.label!r} has nz={s.nz} but this generator takes nz={nz}")
        return s.z[None], s.label
    seed = settings.check_int("seed", seed, 0, settings.MAX_SEED)
    return sample_z(1, nz, seed), f"seed {seed}"


def feature_maps(studio: Studio, checkpoint, sample_id, seed, image: Image.Image | None = None) -> dict:
    """Layer grids of G for the z and of D for G(z) (or for ``image`` when given), and D's first-layer filters."""
    models = studio.models.get(checkpoint)
    cfg = models.config
    z, label = source_z(studio, sample_id, seed, cfg.nz)
    image = open_upload_image(image)  # a path from the upload (or a PIL image): formats and pixel count checked
    with models.lock:
        drawn = generate(models.generator, z)
        g_layers = layer_activations(models.generator, z)
        d_input = square_crop_resize(image, cfg.image_size, cfg.channels)[None] if image is not None else drawn
        d_layers = discriminator_activations(models.discriminator, d_input) if models.discriminator is not None else []
        filters = first_layer_filters(models.discriminator) if models.discriminator is not None else None

    def items(layers, prefix):
        return [(activation_grid(act[0], settings.MAX_FEATURE_CHANNELS), f"{prefix} {name}: {tuple(act.shape[1:])}") for name, act in layers]

    return {
        "label": label,
        "image": drawn[0],
        "d_input": d_input[0],
        "g_layers": items(g_layers, "G"),
        "d_layers": items(d_layers, "D"),
        "filters": filters,
        "has_discriminator": models.discriminator is not None,
    }


def parse_channels(text: str | None) -> list[int]:
    """'0-3, 7' -> [0, 1, 2, 3, 7]; empty -> []."""
    out: set[int] = set()
    for part in str(text or "").replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "-" in part:
                lo, hi = (int(x) for x in part.split("-", 1))
                if hi < lo or hi - lo >= settings.MAX_ABLATE_CHANNELS:
                    raise ValueError
                out.update(range(lo, hi + 1))
            else:
                out.add(int(part))
        except ValueError:
            raise StudioError(f"channels must look like '0-3, 7'; cannot read {part!r}") from None
        if len(out) > settings.MAX_ABLATE_CHANNELS:
            raise StudioError(f"at most {settings.MAX_ABLATE_CHANNELS} channels at once")
    return sorted(out)


def ablate(studio: Studio, checkpoint, sample_id, seed, stage, channels) -> tuple[torch.Tensor, torch.Tensor, str]:
    """(G(z), G(z) drawn with ``channels`` of hidden stage ``stage`` switched off, a caption)."""
    models = studio.models.get(checkpoint)
    n_stages = len(generator_stages(models.generator))
    stage = settings.check_int("layer", stage, 0, n_stages - 1)
    if isinstance(channels, list):
        if len(channels) > settings.MAX_ABLATE_CHANNELS:
            raise StudioError(f"at most {settings.MAX_ABLATE_CHANNELS} channels at once")
        chans = sorted({settings.check_int("channel", c, 0, settings.MAX_ABLATE_CHANNELS - 1) for c in channels})
    else:
        chans = parse_channels(settings.check_text("channels", channels))
    width = models.generator.main[int(generator_stages(models.generator)[stage][0].split(".")[1]) - 1].num_features
    if chans and chans[-1] >= width:
        raise StudioError(f"G layer {stage} has {width} channels (0-{width - 1}); channel {chans[-1]} does not exist")
    z, label = source_z(studio, sample_id, seed, models.config.nz)
    with models.lock:
        before = generate(models.generator, z)
        with ablate_channels(models.generator, stage, chans):
            after = generate(models.generator, z)
    changed = float((before.float() - after.float()).abs().mean())
    return before[0], after[0], f"{label}: {len(chans)} channel(s) of G layer {stage} off; mean pixel change {changed:.2f}/255"


def stage_choices(studio: Studio, checkpoint) -> list[tuple[str, int]]:
    try:
        models = studio.models.get(checkpoint)
    except (StudioError, OSError):
        return [("layer 0", 0)]
    out = []
    for i, (name, _module) in enumerate(generator_stages(models.generator)):
        width = models.generator.main[int(name.split(".")[1]) - 1].num_features
        out.append((f"layer {i} ({width} channels)", i))
    return out


def build(studio: Studio) -> None:
    gr.Markdown("Pick a sample in the gallery (or use a seed). G's layers are shown for its z, D's for the image G drew "
                "from it, or for an image you upload.")
    with gr.Row():
        with gr.Column(scale=1, min_width=280):
            gallery = gr.Gallery(label="Your samples", columns=6, height=240, allow_preview=False, object_fit="contain", format="png", elem_id="feat-gallery")
            sample_id = gr.Textbox(label="Sample id (empty: use the seed)", elem_id="feat-sample-id")
            seed = gr.Number(0, label="Seed", precision=0, minimum=0, maximum=settings.MAX_SEED)
            upload = gr.Image(label="Image for D (optional)", type="filepath", image_mode=None, sources=["upload"], height=160)
            go = gr.Button("Show feature maps", variant="primary", elem_id="feat-go")
        with gr.Column(scale=2):
            caption = gr.Markdown(elem_id="feat-caption")
            with gr.Row():
                drawn = gr.Image(label="G(z)", format="png", type="pil", interactive=False, height=180)
                filters = gr.Image(label="D first-layer filters", format="png", type="pil", interactive=False, height=180, elem_id="feat-filters")
            g_maps = gr.Gallery(label="Generator layers", columns=3, height=320, format="png", elem_id="feat-g")
            d_maps = gr.Gallery(label="Discriminator layers", columns=3, height=320, format="png", elem_id="feat-d")
    gr.Markdown("### Forgetting: switch off generator channels")
    with gr.Row():
        stage = gr.Dropdown(stage_choices(studio, studio.models.default()), value=0, label="Generator layer", elem_id="ablate-stage")
        channels = gr.Textbox("0-7", label="Channels to switch off", info="e.g. 0-7, 12", elem_id="ablate-channels")
        ablate_btn = gr.Button("Redraw without them", elem_id="ablate-go")
    ablate_text = gr.Markdown(elem_id="ablate-caption")
    with gr.Row():
        before = gr.Image(label="Before", format="png", type="pil", interactive=False, height=220)
        after = gr.Image(label="After", format="png", type="pil", interactive=False, height=220, elem_id="ablate-after")

    studio.pool.change(lambda pool: gallery_items(pool_samples(studio, pool)), studio.pool, gallery, api_visibility="private")

    def on_select(pool, evt: gr.SelectData):
        samples = pool_samples(studio, pool)
        return samples[evt.index].id if evt.index is not None and 0 <= evt.index < len(samples) else gr.skip()

    gallery.select(on_select, studio.pool, sample_id, api_visibility="private")
    studio.model.change(lambda c: gr.update(choices=stage_choices(studio, c), value=0), studio.model, stage, api_visibility="private")

    def run(checkpoint, sample_id, seed, image, request: gr.Request):
        with studio.visit(request):
            out = feature_maps(studio, checkpoint, sample_id, seed, image)
        note = f"**{out['label']}**" + ("" if out["has_discriminator"] else " · this checkpoint holds no discriminator")
        g_items = [(pil(grid), cap) for grid, cap in out["g_layers"]]
        d_items = [(pil(grid), cap) for grid, cap in out["d_layers"]]
        return note, pil(out["image"], 180), pil(out["filters"]) if out["filters"] is not None else None, g_items, d_items

    go.click(user_errors(run), [studio.model, sample_id, seed, upload], [caption, drawn, filters, g_maps, d_maps],
             api_name="features", concurrency_id="generator")

    def run_ablate(checkpoint, sample_id, seed, layer, channels, request: gr.Request):
        with studio.visit(request):
            b, a, text = ablate(studio, checkpoint, sample_id, seed, layer, channels)
        return pil(b, 220), pil(a, 220), text

    ablate_btn.click(user_errors(run_ablate), [studio.model, sample_id, seed, stage, channels], [before, after, ablate_text],
                     api_name="ablate", concurrency_id="generator")
