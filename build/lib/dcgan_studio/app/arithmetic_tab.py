"""Latent arithmetic tab, the paper's experiment: drag samples into slots A, B and C (several per slot, each slot's
z's averaged as the paper does with three exemplars), then show G(mean A − mean B + mean C) and a row of
neighbours with small noise added. The result is kept as a sample, so it can go into a slot or an interpolation."""

from __future__ import annotations

from typing import TYPE_CHECKING

import gradio as gr

from .common import DRAWN, Studio, grid_pil, parse_ids, picked, pil, pool_add, pool_gallery
from .dropslot import DropSlot, add, render, slot_samples
from .errors import StudioError
from .samples import Sample
from .sampling import fitting_sample, sample
from .settings import check_float, check_int

# torch and the core's torch code load inside the handlers that use them: the page is served first
if TYPE_CHECKING:
    import torch


TITLE = "Latent arithmetic"
ARITH_BATCH = 24  # samples one press of "Add samples" puts in the gallery
SLOTS = "ABC"


def slot_zs(studio: Studio, ids: list[str], name: str, nz: int) -> list[torch.Tensor]:
    if not ids:
        raise StudioError(f"slot {name} is empty: drag at least one sample into it")
    if len(ids) > studio.limits.max_slot_items:
        raise StudioError(f"slot {name} holds at most {studio.limits.max_slot_items} samples")
    return [fitting_sample(studio, sid, nz).z for sid in ids]


def compute(
    studio: Studio, checkpoint, a_ids, b_ids, c_ids, n_neighbours, scale, seed
) -> tuple[torch.Tensor, torch.Tensor, Sample]:
    """(z result (nz,), images (n, C, H, W): the result then its neighbours, the result kept as a sample)."""
    from ..latent import arithmetic, generate, neighbours

    limits = studio.limits
    n = check_int("neighbours", n_neighbours, 1, limits.max_neighbours)
    scale = check_float("noise scale", scale, 0.0, limits.max_noise_scale)
    seed = check_int("seed", seed, 0, limits.max_seed)
    models = studio.models.get(checkpoint)
    nz = models.config.nz
    a, b, c = (slot_zs(studio, parse_ids(ids), name, nz) for ids, name in ((a_ids, "A"), (b_ids, "B"), (c_ids, "C")))
    z = arithmetic(a, b, c)
    zs = neighbours(z, n, scale, seed)
    with models.lock:
        images = generate(models.generator, zs)
    result = studio.samples.add(z, images[0], f"A−B+C ({len(a)}/{len(b)}/{len(c)})")
    return z, images, result


def add_picked(studio: Studio, ids, sid, name: str):
    """A "Picked → A" press: the sample last clicked in the gallery goes into slot ``name``."""
    if not sid:
        raise StudioError("click a sample in the gallery first")
    new = add(studio, ids, sid, studio.limits.max_slot_items)
    return new, render(name, slot_samples(studio, new))


# ------------------------------------------------------------------------------------------------ the widgets


def build_gallery(studio: Studio, selected: gr.State) -> None:
    """The visitor's samples, a button that adds more, and a click that picks one for the slots."""
    gallery = pool_gallery(studio, label="Your samples (newest first)", columns=5, height=360, elem_id="arith-gallery")
    with gr.Row():
        # seed 0 is in the gallery from the page load on (the Sample tab's first samples)
        more_seed = gr.Number(
            1, label="Seed", precision=0, minimum=0, maximum=studio.limits.max_seed, scale=1, min_width=80
        )
        more = gr.Button(f"Add {ARITH_BATCH} samples to the gallery", size="sm", scale=2, elem_id="arith-more")
    note = gr.Markdown("Nothing picked: click a sample to pick it, or drag it.", elem_id="arith-picked")

    def on_select(pool, evt: gr.SelectData):
        s = picked(studio, pool, evt)
        if s is None:
            return None, gr.skip()
        return s.id, f"Picked **{s.label}**: click slot A, B or C (or a *Picked →* button) to add it."

    gallery.select(studio.handler(on_select), studio.pool, [selected, note], api_visibility="private")

    def add_samples(checkpoint, seed, pool):
        """Fill the gallery without leaving the tab (the same samples the Sample tab makes for this seed)."""
        samples, *_ = sample(studio, checkpoint, seed, ARITH_BATCH, 0.0)
        return pool_add(pool, [s.id for s in samples]), int(seed) + 1

    more.click(
        studio.handler(add_samples),
        [studio.model, more_seed, studio.pool],
        [studio.pool, more_seed],
        api_visibility="private",
        concurrency_id="generator",
    )


def build_slots(studio: Studio, selected: gr.State) -> dict[str, DropSlot]:
    """Slots A, B and C, each with a Clear button, and the "Picked →" buttons."""
    slots = {}
    with gr.Row():
        for name in SLOTS:
            with gr.Column(min_width=110):
                slot = slots[name] = DropSlot(
                    studio, name, studio.limits.max_slot_items, selected, f"slot-{name.lower()}"
                )
                gr.Button(f"Clear {name}", size="sm", elem_id=f"clear-{name.lower()}").click(
                    slot.clear, None, [slot.ids, slot.html], api_visibility="private"
                )

    def picker(name: str):
        def pick(ids, sid):
            return add_picked(studio, ids, sid, name)

        return studio.handler(pick)

    with gr.Row():
        for name, slot in slots.items():
            gr.Button(f"Picked → {name}", size="sm", elem_id=f"add-{name.lower()}").click(
                picker(name), [slot.ids, selected], [slot.ids, slot.html], api_visibility="private"
            )
    return slots


def build(studio: Studio) -> None:
    limits = studio.limits
    selected = gr.State(None)
    gr.Markdown(
        "Drag samples from the gallery into **A**, **B** and **C** (or click a sample, then a slot). "
        "Each slot's z's are averaged; the result is G(A − B + C). Try *digit with a loop* − *its plain "
        "twin* + *another plain digit*."
    )
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            build_gallery(studio, selected)
        with gr.Column(scale=1, min_width=300):
            slots = build_slots(studio, selected)
            with gr.Row():
                n_neighbours = gr.Slider(1, limits.max_neighbours, value=8, step=1, label="Result + neighbours")
                scale = gr.Slider(0.0, limits.max_noise_scale, value=0.25, step=0.05, label="Neighbour noise")
                seed = gr.Number(0, label="Noise seed", precision=0, minimum=0, maximum=limits.max_seed)
            go = gr.Button("Compute A − B + C", variant="primary", elem_id="arith-go")
    with gr.Row():
        result = gr.Image(label="A − B + C", elem_id="arith-result", height=260, scale=1, **DRAWN)
        row = gr.Image(label="Result and neighbours", elem_id="arith-row", scale=3, **DRAWN)

    def run(checkpoint, a_ids, b_ids, c_ids, neighbours, noise_scale, seed, pool):
        _, images, res = compute(studio, checkpoint, a_ids, b_ids, c_ids, neighbours, noise_scale, seed)
        row_scale = max(1, 96 // images.shape[-1])
        return pil(images[0], 256), grid_pil(images, nrow=len(images), scale=row_scale), pool_add(pool, [res.id])

    # the named API endpoint takes comma-separated sample ids; the page passes the slots' server-side state directly
    ids_a, ids_b, ids_c = (gr.Textbox(visible=False) for _ in range(3))
    options, outputs = [n_neighbours, scale, seed, studio.pool], [result, row, studio.pool]
    go.click(
        studio.handler(run),
        [studio.model, *(slots[n].ids for n in SLOTS), *options],
        outputs,
        api_visibility="private",
        concurrency_id="generator",
    )
    gr.Button(visible=False).click(
        studio.handler(run),
        [studio.model, ids_a, ids_b, ids_c, *options],
        outputs,
        api_name="arithmetic",
        concurrency_id="generator",
    )
