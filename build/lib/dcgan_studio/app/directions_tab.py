"""Directions tab: steer a sample along directions in z with sliders, G(z + sum_i a_i * scale_i * d_i) redrawn live.

The directions (``dcgan_studio.directions``): the checkpoint's principal directions (GANSpace) and, on a 1-channel
32x32 checkpoint with the shipped digits classifier, its class directions ("towards a 7") and "thicker"; these are
made once per checkpoint file and kept in ``Studio.first_screens``. The visitor adds directions from two groups of
samples dragged into From / To (the paper's averaging), or loads a file; the set lives in the visitor's session.
Each direction is shown as a strip from -3 to +3 standard deviations (on seed 0's first samples); ``SLIDERS`` sliders
steer the directions picked for them. A slider move answers in a few ms of server time (``render`` with one thread).
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING

import gradio as gr

from .common import Studio, grid_pil, picked, pool_add, pool_gallery
from .direction_views import STRIPS_CSS, image_html, png_uri, strips_html
from .dropslot import DropSlot
from .dropslot import render as render_slot
from .errors import StudioError
from .sampling import fitting_sample, model_key
from .settings import check_float, check_text

# torch and the core's torch code load inside the handlers that use them: the page is served first
if TYPE_CHECKING:
    import torch

    from ..directions import Directions


TITLE = "Directions"
SLIDERS = 8  # slider widgets; each steers the direction picked for it
AMOUNT = 3.0  # sliders run from -AMOUNT to +AMOUNT standard deviations
STRIP_AMOUNTS = (-3, -2, -1, 0, 1, 2, 3)
STRIP_ROWS = 2  # samples per strip (seed 0's first z's)
STRIP_SCALE = 2  # strips are enlarged (nearest neighbour) by this factor
N_SAMPLES = 4096  # samples the directions are found from
K = 8  # principal directions
MAX_NAME = 60


def classifier_for(models):
    """The shipped digits classifier when it can label this generator's samples, else None."""
    from ..directions import suits_digits_classifier
    from ..metrics.classifier import DEFAULT_CLASSIFIER_PATH, load_classifier  # imported when first needed

    if not suits_digits_classifier(models.generator) or not DEFAULT_CLASSIFIER_PATH.is_file():
        return None
    return load_classifier()


def strips(studio: Studio, models, dirs: Directions) -> list[tuple[str, str]]:
    """(name, PNG as a data URI) of each direction's strip: seed 0's first samples moved from -3 to +3."""
    from ..directions import strip
    from ..latent import sample_z

    z = sample_z(STRIP_ROWS, models.config.nz, 0)
    with models.lock:
        images = [strip(models.generator, z, dirs, i, STRIP_AMOUNTS) for i in range(len(dirs))]
    out = []
    for name, im in zip(dirs.names, images, strict=True):
        out.append((name, png_uri(grid_pil(im, nrow=len(STRIP_AMOUNTS), scale=STRIP_SCALE))))
    return out


def base_directions(studio: Studio, checkpoint) -> tuple[Directions, list[tuple[str, str]]]:
    """(directions, strips) of a checkpoint: made on the first call for its file, the same ones afterwards."""
    models = studio.models.get(checkpoint)

    def make():
        from ..directions import standard_directions

        with models.lock:
            dirs = standard_directions(models.generator, min(K, models.config.nz), N_SAMPLES, 0, classifier_for(models))
        return dirs, strips(studio, models, dirs)

    return studio.first_screens.get(("directions", *model_key(studio, checkpoint)), make)


def current(studio: Studio, checkpoint, dirs: Directions | None) -> Directions:
    """The visitor's set, or the checkpoint's own when the session has none (or one for another latent size)."""
    from ..directions import Directions

    nz = studio.models.get(checkpoint).config.nz
    return dirs if isinstance(dirs, Directions) and dirs.nz == nz else base_directions(studio, checkpoint)[0]


def default_picks(dirs: Directions) -> list[int]:
    """What the sliders steer first: the leading principal directions, "thicker" and a few classes, in that order."""
    pcs = [i for i, n in enumerate(dirs.names) if n.startswith("PC ")]
    thicker = [i for i, n in enumerate(dirs.names) if n == "thicker"]
    classes = [i for i, n in enumerate(dirs.names) if n.startswith("towards ")]
    first = pcs[:4] + thicker + classes[:3] if thicker or classes else pcs
    rest = [i for i in range(len(dirs)) if i not in first]
    return (first + rest)[:SLIDERS]


def check_picks(dirs: Directions, picks) -> list[int]:
    picks = [int(p) for p in (picks or [])]
    if len(picks) > SLIDERS or any(not 0 <= p < len(dirs) for p in picks):
        raise StudioError(f"pick at most {SLIDERS} of the {len(dirs)} directions for the sliders")
    return picks


def amounts_for(dirs: Directions, picks, values) -> torch.Tensor:
    """One amount per direction (k,): slider i's value on direction ``picks[i]``, 0 elsewhere."""
    import torch

    picks = check_picks(dirs, picks)
    values = [check_float("slider", v, -AMOUNT, AMOUNT) for v in list(values)[:SLIDERS]]  # every slider, used or not
    amounts = torch.zeros(len(dirs))
    for index, value in zip(picks, values[: len(picks)], strict=True):
        amounts[index] += value
    return amounts


def start_z(studio: Studio, sample_ids, nz: int) -> tuple[torch.Tensor, str]:
    """The z being steered: the sample in the slot, else seed 0's first sample (what the strips show)."""
    from ..latent import sample_z

    ids = [i for i in (sample_ids or []) if studio.samples.get(i) is not None]
    if ids:
        s = fitting_sample(studio, ids[-1], nz)
        return s.z, s.label
    return sample_z(1, nz, 0)[0], "seed 0 #0"


def steered(studio: Studio, checkpoint, sample_ids, dirs, picks, values) -> tuple[torch.Tensor, torch.Tensor, str]:
    """(moved z (nz,), uint8 image (C, H, W), label): what a slider move draws."""
    from ..directions import render, steer

    models = studio.models.get(checkpoint)
    dirs = current(studio, checkpoint, dirs)
    z, label = start_z(studio, sample_ids, models.config.nz)
    amounts = amounts_for(dirs, picks, values)
    with models.lock:
        image = render(models.generator, z, dirs, amounts, threads=1)[0]
    moves = ", ".join(f"{dirs.names[i]} {float(amounts[i]):+.1f}" for i in range(len(dirs)) if amounts[i])
    return steer(z, dirs, amounts), image, f"{label}, {moves}" if moves else label


def keep(studio: Studio, checkpoint, sample_ids, dirs, picks, values):
    """The steered result as a server sample (it can go into a slot or an interpolation end)."""
    z, image, label = steered(studio, checkpoint, sample_ids, dirs, picks, values)
    return studio.samples.add(z, image, f"steered: {label}"[:120])


def add_group(studio: Studio, checkpoint, dirs, from_ids, to_ids, name) -> Directions:
    """The visitor's set plus mean(To) - mean(From), named ``name``."""
    from ..directions import combine, group_direction, model_info

    name = check_text("direction name", name or "", MAX_NAME).strip()
    if not name:
        raise StudioError("name the direction first (e.g. 'smiling' or 'with a loop')")
    models = studio.models.get(checkpoint)
    nz = models.config.nz
    groups = []
    for ids, slot in ((from_ids, "From"), (to_ids, "To")):
        if not ids:
            raise StudioError(f"slot {slot} is empty: drag at least one sample into it")
        groups.append([fitting_sample(studio, sid, nz).z for sid in ids])
    with models.lock:
        model = model_info(models.generator, models.path)
    return combine(current(studio, checkpoint, dirs), group_direction(*groups, name=name, model=model))


def load_upload(studio: Studio, checkpoint, path) -> Directions:
    from ..directions import load_directions

    if not path:
        raise StudioError("upload a directions .safetensors file (made here or by `directions` on the command line)")
    return load_directions(path, expected_nz=studio.models.get(checkpoint).config.nz)


# ------------------------------------------------------------------------------------------------ page outputs


def with_amounts(fn, before: list[str], after: tuple[str, ...] | list[str] = ()):
    """``fn(..., values=[...], ...)`` as a listener with one named parameter per slider (``amount_0`` ...), which
    ``Studio.handler`` and the API see; the sliders' values reach ``fn`` as one list."""
    names = [f"amount_{j}" for j in range(SLIDERS)]

    def call(**kw):
        return fn(values=[kw.pop(n) for n in names], **kw)

    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    call.__signature__ = inspect.Signature([inspect.Parameter(n, kind) for n in [*before, *names, *after]])
    call.__name__ = fn.__name__
    return call


def shown(studio: Studio, checkpoint, dirs: Directions, picks: list[int], sample_ids):
    """The values of ``set_outputs``: the set, its strips, the picks, the sliders (at 0) and the image."""
    base, base_strips = base_directions(studio, checkpoint)
    models = studio.models.get(checkpoint)
    drawn = base_strips if dirs is base else strips(studio, models, dirs)
    choices = [(f"{i}: {n}", i) for i, n in enumerate(dirs.names)]
    sliders = [
        gr.update(label=dirs.names[p], value=0, visible=True) if j < len(picks) else gr.update(value=0, visible=False)
        for j, p in enumerate(picks + [None] * (SLIDERS - len(picks)))
    ]
    _, image, label = steered(studio, checkpoint, sample_ids, dirs, picks, [0.0] * len(picks))
    return [
        dirs,
        strips_html(drawn),
        gr.update(choices=choices, value=picks),
        *sliders,
        image_html(image, label),
        label,
    ]


def build_steer(studio: Studio, selected: gr.State) -> dict:
    """The slot of the sample being steered, the picks, the sliders, the image and the keep button."""
    w = {}
    w["picks"] = gr.Dropdown(
        [], value=[], multiselect=True, max_choices=SLIDERS, label=f"Directions on the sliders (at most {SLIDERS})"
    )
    w["sliders"] = [
        gr.Slider(-AMOUNT, AMOUNT, value=0, step=0.1, label=f"direction {j}", elem_id=f"dir-slider-{j}")
        for j in range(SLIDERS)
    ]
    with gr.Row():
        w["keep"] = gr.Button("Add the result to the gallery", size="sm", elem_id="dir-keep")
        w["reset"] = gr.Button("Sliders to 0", size="sm", elem_id="dir-zero")
    return w


def build_groups(studio: Studio, selected: gr.State) -> dict:
    """From / To slots, a name and the button that adds mean(To) - mean(From) to the list."""
    cap = studio.limits.max_slot_items
    with gr.Row():
        w = {
            "from": DropSlot(studio, "From", cap, selected, "dir-from"),
            "to": DropSlot(studio, "To", cap, selected, "dir-to"),
        }
    with gr.Row():
        w["name"] = gr.Textbox(label="Name", placeholder="e.g. with a loop", max_lines=1, scale=2, elem_id="dir-name")
        w["add"] = gr.Button("Add direction (To − From)", size="sm", scale=1, elem_id="dir-add")
    with gr.Row():
        for slot in (w["from"], w["to"]):
            gr.Button(f"Clear {slot.title}", size="sm").click(
                slot.clear, None, [slot.ids, slot.html], api_visibility="private"
            )
    return w


def build_files(studio: Studio) -> dict:
    with gr.Row():
        w = {"save": gr.Button("Save the directions", size="sm", elem_id="dir-save")}
        w["file"] = gr.File(label="Directions file", interactive=False, height=90, elem_id="dir-file")
        w["upload"] = gr.File(
            label="Load a directions file", file_types=[".safetensors"], type="filepath", height=90, elem_id="dir-load"
        )
    return w


def build_gallery(studio: Studio, selected: gr.State, slot: DropSlot) -> None:
    """The visitor's samples; a click picks one for the slots and steers it at once."""
    gallery = pool_gallery(studio, label="Your samples (newest first)", columns=4, height=330, elem_id="dir-gallery")

    def on_select(pool, evt: gr.SelectData):
        s = picked(studio, pool, evt)
        if s is None:
            return gr.skip(), gr.skip(), gr.skip()
        return s.id, [s.id], render_slot(slot.title, [s])

    gallery.select(studio.handler(on_select), studio.pool, [selected, slot.ids, slot.html], api_visibility="private")


def build(studio: Studio) -> None:
    selected, dirs = gr.State(None), gr.State(None)
    gr.Markdown(
        "Steer a sample along directions in z: the checkpoint's **principal directions** (GANSpace), on the digits "
        "the classifier's **class directions** and *thicker*, and your own from two groups of samples. Drag (or "
        "click) a sample, then move the sliders (standard deviations); each strip shows a direction from −3 to +3."
    )
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            slot = DropSlot(studio, "Sample to steer", 1, selected, "dir-steer-slot")
            build_gallery(studio, selected, slot)
            groups = build_groups(studio, selected)
        with gr.Column(scale=1, min_width=300):
            image = gr.HTML(css_template=STRIPS_CSS, elem_id="dir-image", padding=False)
            caption = gr.Markdown(elem_id="dir-caption")
            steer_w = build_steer(studio, selected)
            steer_w["slot"] = slot
    files = build_files(studio)
    strips_view = gr.HTML(css_template=STRIPS_CSS, elem_id="dir-strips", padding=False)
    sliders, picks, slot = steer_w["sliders"], steer_w["picks"], steer_w["slot"]
    set_outputs = [dirs, strips_view, picks, *sliders, image, caption]
    wire_set(studio, dirs, slot, picks, groups, files, set_outputs)
    wire_steer(studio, dirs, slot, picks, steer_w, image, caption)


def wire_set(studio: Studio, dirs, slot, picks, groups, files, set_outputs) -> None:
    """What changes the list of directions: a page load or another checkpoint, a group direction, a loaded file."""

    def reset(checkpoint, sample_ids):
        base = base_directions(studio, checkpoint)[0]
        return shown(studio, checkpoint, base, default_picks(base), sample_ids)

    studio.blocks.load(
        studio.handler(reset, fallback=[gr.skip()] * len(set_outputs)),
        [studio.model, slot.ids],
        set_outputs,
        api_visibility="private",
        show_progress="hidden",
        **studio.light,
    )
    studio.model.change(studio.handler(reset), [studio.model, slot.ids], set_outputs, api_name="directions")

    def on_add(checkpoint, dirs_value, from_ids, to_ids, name, chosen, sample_ids):
        new = add_group(studio, checkpoint, dirs_value, from_ids, to_ids, name)
        chosen = check_picks(new, chosen)[: SLIDERS - 1] + [len(new) - 1]
        return shown(studio, checkpoint, new, chosen, sample_ids)

    f, t = groups["from"], groups["to"]
    groups["add"].click(
        studio.handler(on_add),
        [studio.model, dirs, f.ids, t.ids, groups["name"], picks, slot.ids],
        set_outputs,
        api_visibility="private",  # the From / To slots are filled by drops on the page
    )

    def on_load_file(checkpoint, path, sample_ids):
        loaded = load_upload(studio, checkpoint, path)
        return shown(studio, checkpoint, loaded, default_picks(loaded), sample_ids)

    files["upload"].upload(
        studio.handler(on_load_file), [studio.model, files["upload"], slot.ids], set_outputs, api_name="directions_load"
    )

    def on_save(checkpoint, dirs_value):
        from ..directions import save_directions

        return str(save_directions(studio.out_path("directions.safetensors"), current(studio, checkpoint, dirs_value)))

    files["save"].click(studio.handler(on_save), [studio.model, dirs], files["file"], api_name="directions_save")


def wire_steer(studio: Studio, dirs, slot, picks, steer_w, image, caption) -> None:
    """Slider moves (live), another sample or other picks (sliders back to 0), and keeping the result."""
    sliders = steer_w["sliders"]
    inputs = [studio.model, slot.ids, dirs, picks, *sliders]

    def move(checkpoint, sample_ids, dirs_value, chosen, values):
        _, im, label = steered(studio, checkpoint, sample_ids, dirs_value, chosen, values)
        return image_html(im, label), label

    move = with_amounts(move, ["checkpoint", "sample_ids", "dirs_value", "chosen"])

    gr.on(
        [s.input for s in sliders],
        studio.handler(move),
        inputs,
        [image, caption],
        api_name="steer",
        trigger_mode="always_last",
        show_progress="hidden",
        **studio.light,
    )
    slot.ids.change(studio.handler(move), inputs, [image, caption], api_visibility="private", show_progress="hidden")

    def zero(checkpoint, sample_ids, dirs_value, chosen):
        d = current(studio, checkpoint, dirs_value)
        chosen = check_picks(d, chosen)
        out = shown(studio, checkpoint, d, chosen, sample_ids)
        return out[3:]

    zero_outputs = [*sliders, image, caption]
    picks.input(studio.handler(zero), inputs[:4], zero_outputs, api_visibility="private", show_progress="hidden")
    steer_w["reset"].click(studio.handler(zero), inputs[:4], zero_outputs, api_visibility="private")

    def on_keep(checkpoint, sample_ids, dirs_value, chosen, values, pool):
        kept = keep(studio, checkpoint, sample_ids, dirs_value, chosen, values)
        return pool_add(pool, [kept.id]), f"Added **{kept.label}** to your samples."

    on_keep = with_amounts(on_keep, ["checkpoint", "sample_ids", "dirs_value", "chosen"], ["pool"])
    steer_w["keep"].click(
        studio.handler(on_keep), [*inputs, studio.pool], [studio.pool, caption], api_name="steer_keep"
    )
