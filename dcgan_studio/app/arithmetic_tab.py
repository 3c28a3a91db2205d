"""Latent arithmetic tab, the paper's experiment: drag samples into slots A, B and C (several per slot, each slot's
z's averaged as the paper does with three exemplars), then show G(mean A − mean B + mean C) and a row of
neighbours with small noise added. The result is kept as a sample, so it can go into a slot or an interpolation."""
import gradio as gr
import torch

from ..latent import arithmetic, generate, neighbours
from . import settings
from .common import Studio, gallery_items, grid_pil, parse_ids, pil, pool_add, pool_samples, user_errors
from .dropslot import DropSlot
from .state import Sample, StudioError

TITLE = "Latent arithmetic"
ARITH_BATCH = 24  # samples one press of "Add samples" puts in the gallery


def slot_zs(studio: Studio, ids: list[str], name: str, nz: int) -> list[torch.Tensor]:
    if not ids:
        raise StudioError(f"slot {name} is empty: drag at least one sample into it")
    if len(ids) > settings.MAX_SLOT_ITEMS:
        raise StudioError(f"slot {name} holds at most {settings.MAX_SLOT_ITEMS} samples")
    zs = []
    for sid in ids:
        s = studio.samples.require(sid)
        if s.nz != nz:
            raise StudioError(f"sample {s.label!r} has nz={s.nz} but this generator takes nz={nz}")
        zs.append(s.z)
    return zs


def compute(studio: Studio, checkpoint, a_ids, b_ids, c_ids, n_neighbours, scale, seed) -> tuple[torch.Tensor, torch.Tensor, Sample]:
    """(z result (nz,), images (n, C, H, W): the result then its neighbours, the result kept as a sample)."""
    n = settings.check_int("neighbours", n_neighbours, 1, settings.MAX_NEIGHBOURS)
    scale = settings.check_float("noise scale", scale, 0.0, settings.MAX_NOISE_SCALE)
    seed = settings.check_int("seed", seed, 0, settings.MAX_SEED)
    models = studio.models.get(checkpoint)
    nz = models.config.nz
    a, b, c = (slot_zs(studio, parse_ids(ids), name, nz) for ids, name in ((a_ids, "A"), (b_ids, "B"), (c_ids, "C")))
    z = arithmetic(a, b, c)
    zs = neighbours(z, n, scale, seed)
    with models.lock:
        images = generate(models.generator, zs)
    result = studio.samples.add(z, images[0], f"A−B+C ({len(a)}/{len(b)}/{len(c)})")
    return z, images, result


def build(studio: Studio) -> None:
    selected = gr.State(None)
    gr.Markdown("Drag samples from the gallery into **A**, **B** and **C** (or click a sample, then a slot). "
                "Each slot's z's are averaged; the result is G(A − B + C). Try *digit with a loop* − *its plain "
                "twin* + *another plain digit*.")
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            gallery = gr.Gallery(label="Your samples (newest first)", columns=5, height=360, allow_preview=False, object_fit="contain",
                                 format="png", elem_id="arith-gallery")
            with gr.Row():
                # seed 0 is in the gallery from the page load on (the Sample tab's first samples)
                more_seed = gr.Number(1, label="Seed", precision=0, minimum=0, maximum=settings.MAX_SEED, scale=1, min_width=80)
                more = gr.Button(f"Add {ARITH_BATCH} samples to the gallery", size="sm", scale=2, elem_id="arith-more")
            picked = gr.Markdown("Nothing picked: click a sample to pick it, or drag it.", elem_id="arith-picked")
        with gr.Column(scale=1, min_width=300):
            slots = {}
            with gr.Row():
                for name in "ABC":
                    with gr.Column(min_width=110):
                        slots[name] = DropSlot(studio, name, settings.MAX_SLOT_ITEMS, selected, f"slot-{name.lower()}")
                        gr.Button(f"Clear {name}", size="sm", elem_id=f"clear-{name.lower()}").click(
                            slots[name].clear, None, [slots[name].ids, slots[name].html], api_visibility="private")
            with gr.Row():
                for name in "ABC":
                    gr.Button(f"Picked → {name}", size="sm", elem_id=f"add-{name.lower()}").click(
                        lambda ids, sid, _n=name: _add_picked(studio, ids, sid, _n), [slots[name].ids, selected],
                        [slots[name].ids, slots[name].html], api_visibility="private")
            with gr.Row():
                n_neighbours = gr.Slider(1, settings.MAX_NEIGHBOURS, value=8, step=1, label="Result + neighbours")
                scale = gr.Slider(0.0, settings.MAX_NOISE_SCALE, value=0.25, step=0.05, label="Neighbour noise")
                seed = gr.Number(0, label="Noise seed", precision=0, minimum=0, maximum=settings.MAX_SEED)
            go = gr.Button("Compute A − B + C", variant="primary", elem_id="arith-go")
    with gr.Row():
        result = gr.Image(label="A − B + C", format="png", type="pil", interactive=False, elem_id="arith-result", height=260, scale=1)
        row = gr.Image(label="Result and neighbours", format="png", type="pil", interactive=False, elem_id="arith-row", scale=3)
    # the named API endpoint takes comma-separated sample ids; the page passes the slots' server-side state directly
    ids_a, ids_b, ids_c = (gr.Textbox(visible=False) for _ in range(3))
    api_button = gr.Button(visible=False)

    studio.pool.change(lambda pool: gallery_items(pool_samples(studio, pool)), studio.pool, gallery, api_visibility="private")

    def on_select(pool, evt: gr.SelectData):
        samples = pool_samples(studio, pool)
        if evt.index is None or not 0 <= evt.index < len(samples):
            return None, gr.skip()
        s = samples[evt.index]
        return s.id, f"Picked **{s.label}**: click slot A, B or C (or a *Picked →* button) to add it."

    gallery.select(on_select, studio.pool, [selected, picked], api_visibility="private")

    def add_samples(checkpoint, seed, pool, request: gr.Request):
        """Fill the gallery without leaving the tab (the same samples the Sample tab makes for this seed)."""
        from .sample_tab import sample

        with studio.visit(request):
            samples, *_ = sample(studio, checkpoint, seed, ARITH_BATCH, 0.0)
        return pool_add(pool, [s.id for s in samples]), int(seed) + 1

    more.click(user_errors(add_samples), [studio.model, more_seed, studio.pool], [studio.pool, more_seed],
               api_visibility="private", concurrency_id="generator")

    def run(checkpoint, a_ids, b_ids, c_ids, neighbours, noise_scale, seed, pool, request: gr.Request):
        with studio.visit(request):
            _, images, res = compute(studio, checkpoint, a_ids, b_ids, c_ids, neighbours, noise_scale, seed)
        return pil(images[0], 256), grid_pil(images, nrow=len(images), scale=max(1, 96 // images.shape[-1])), pool_add(pool, [res.id])

    outputs = [result, row, studio.pool]
    go.click(user_errors(run), [studio.model, slots["A"].ids, slots["B"].ids, slots["C"].ids, n_neighbours, scale, seed,
                                studio.pool], outputs, api_visibility="private", concurrency_id="generator")
    api_button.click(user_errors(run), [studio.model, ids_a, ids_b, ids_c, n_neighbours, scale, seed, studio.pool],
                     outputs, api_name="arithmetic", concurrency_id="generator")


def _add_picked(studio: Studio, ids, sid, name):
    from .dropslot import add, render, slot_samples

    if not sid:
        raise gr.Error("click a sample in the gallery first")
    try:
        new = add(studio, ids, sid, settings.MAX_SLOT_ITEMS)
    except StudioError as exc:
        raise gr.Error(str(exc)) from None
    return new, render(name, slot_samples(studio, new))
