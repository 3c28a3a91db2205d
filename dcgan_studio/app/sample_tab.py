"""Sample tab: a grid of G(z) for a seed, a count and a truncation of z; the z's are kept (server-side, by id) so
the other tabs can use the samples, and can be downloaded as a safetensors file.

The tab never opens empty: on every page load (``first_screen``) it shows ``FIRST_COUNT`` samples of seed 0 from
the preselected checkpoint and puts them in the visitor's pool, so the galleries of the other tabs start full.
Those samples are made once per checkpoint file and reused by every later page load (``FirstScreenCache``)."""
import math
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable

import torch
import gradio as gr
from safetensors.torch import save_file

from ..latent import generate, sample_z
from . import settings
from .common import USER_ERRORS, Studio, gallery_items, grid_pil, ids_text, pool_add, user_errors
from .state import Sample

TITLE = "Sample"
FIRST_SEED = 0  # what a page load shows (the form's defaults, so pressing Sample redraws the same grid)
FIRST_COUNT = 24
GRID_MIN_SIDE = 512  # the grid is enlarged (nearest neighbour, integer factor) to at least this many pixels


def grid_columns(n: int) -> int:
    """Images per row of an ``n``-image grid: a divisor of ``n`` near its square root (24 -> 6x4, 16 -> 4x4), so
    the grid has no empty cells; else the square layout."""
    root = math.sqrt(n)
    for d in range(math.ceil(root), int(2 * root) + 1):
        if n % d == 0:
            return d
    return max(1, math.ceil(root))


def sample(studio: Studio, checkpoint: str | None, seed, count, truncation) -> tuple[list[Sample], torch.Tensor, str, str]:
    """(samples, uint8 images, grid png path, z file path): ``count`` images of the chosen checkpoint."""
    seed = settings.check_int("seed", seed, 0, settings.MAX_SEED)
    count = settings.check_int("count", count, 1, settings.MAX_SAMPLES)
    truncation = settings.check_float("truncation", truncation or 0.0, 0.0, settings.MAX_TRUNCATION)
    models = studio.models.get(checkpoint)
    z = sample_z(count, models.config.nz, seed, truncation or None)
    with models.lock:
        images = generate(models.generator, z)
    labels = [f"seed {seed} #{i}" for i in range(count)]
    samples = studio.samples.add_batch(z, images, labels)
    grid_path = studio.out_path(f"samples_seed{seed}_n{count}.png")
    grid_pil(images, nrow=grid_columns(count), min_side=GRID_MIN_SIDE).save(grid_path)
    z_path = studio.out_path(f"z_seed{seed}_n{count}.safetensors")
    save_file({"z": z.contiguous()}, str(z_path), metadata={
        "seed": str(seed), "truncation": str(truncation), "checkpoint": str(models.path.name),
        "ids": ",".join(s.id for s in samples),
    })
    return samples, images, str(grid_path), str(z_path)


class FirstScreenCache:
    """What page loads show, made once per checkpoint file and reused while still valid (a reload must not make
    new samples, files or work each time). One per Studio; thread-safe; keeps the last ``max_items`` entries."""

    def __init__(self, max_items: int = 8):
        self._items: OrderedDict[tuple, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.max_items = max_items

    def get(self, key: tuple, make: Callable[[], Any], valid: Callable[[Any], bool] = lambda _v: True) -> Any:
        with self._lock:  # one maker at a time: concurrent first loads wait for the one that makes it
            hit = self._items.get(key)
            if hit is not None and valid(hit):
                self._items.move_to_end(key)
                return hit
            value = make()
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)
            return value


def first_screen_cache(studio: Studio) -> FirstScreenCache:
    cache = getattr(studio, "_first_screen", None)
    if cache is None:
        cache = studio._first_screen = FirstScreenCache()
    return cache


def model_key(studio: Studio, checkpoint) -> tuple[str, float]:
    """Identifies a checkpoint file's contents for the first-screen cache: its resolved path and mtime."""
    models = studio.models.get(checkpoint)
    return str(models.path.resolve()), models.mtime


def first_samples(studio: Studio, checkpoint) -> tuple[list[Sample], str, str]:
    """(samples, grid png path, z file path): ``FIRST_COUNT`` samples of seed ``FIRST_SEED``, made on the first
    call for this checkpoint file and the same ones afterwards (as long as the registry still holds them)."""
    def valid(hit) -> bool:
        samples, grid_path, z_path = hit
        return all(studio.samples.get(s.id) is s for s in samples) and Path(grid_path).is_file() and Path(z_path).is_file()

    def make():
        samples, _, grid_path, z_path = sample(studio, checkpoint, FIRST_SEED, FIRST_COUNT, 0.0)
        return samples, grid_path, z_path

    return first_screen_cache(studio).get(("samples", *model_key(studio, checkpoint)), make, valid)


def first_screen(studio: Studio, checkpoint, pool) -> tuple[str, list[str], str, list[str]]:
    """The page-load handler's values: (grid path, downloads, ids text, pool with the first samples in it)."""
    samples, grid_path, z_path = first_samples(studio, checkpoint)
    ids = [s.id for s in samples]
    return grid_path, [grid_path, z_path], ids_text(ids), pool_add(pool, ids)


def build(studio: Studio) -> None:
    with gr.Row():
        with gr.Column(scale=1, min_width=260):
            seed = gr.Number(FIRST_SEED, label="Seed", precision=0, minimum=0, maximum=settings.MAX_SEED, elem_id="sample-seed")
            count = gr.Slider(1, settings.MAX_SAMPLES, value=FIRST_COUNT, step=1, label="Count", elem_id="sample-count")
            truncation = gr.Slider(0.0, settings.MAX_TRUNCATION, value=0.0, step=0.1, label="Truncation of z (0 = off)",
                                   info="coordinates with |z| above this are redrawn: fewer, more typical samples")
            go = gr.Button("Sample", variant="primary", elem_id="sample-go")
            files = gr.File(label="Downloads: grid and z vectors", file_count="multiple", interactive=False)
            ids = gr.Textbox(label="Sample ids (for the API)", interactive=False, max_lines=2, elem_id="sample-ids")
        with gr.Column(scale=2):
            grid = gr.Image(label="Samples", format="png", type="filepath", interactive=False, elem_id="sample-grid", height=520)

    def run(checkpoint, seed, count, truncation, pool, request: gr.Request):
        with studio.visit(request):
            samples, _, grid_path, z_path = sample(studio, checkpoint, seed, count, truncation)
        new_ids = [s.id for s in samples]
        return grid_path, [grid_path, z_path], ids_text(new_ids), pool_add(pool, new_ids)

    go.click(user_errors(run), [studio.model, seed, count, truncation, studio.pool], [grid, files, ids, studio.pool],
             api_name="sample", concurrency_id="generator")

    def on_load(checkpoint, pool, browser_id, request: gr.Request):
        """No empty first screen: the grid of seed 0, and the same samples in the pool (so every gallery fills)."""
        try:
            with studio.visit(request, browser_id):
                return first_screen(studio, checkpoint, pool)
        except USER_ERRORS:  # no usable checkpoint yet (none shipped, nothing trained): the page opens empty
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()

    # not queued behind other visitors' sampling: after the first page load it only returns cached paths
    studio.blocks.load(on_load, [studio.model, studio.pool, studio.browser_id], [grid, files, ids, studio.pool],
                       api_visibility="private", show_progress="hidden", concurrency_limit=None)


__all__ = ["sample", "first_screen", "first_samples", "build", "gallery_items"]
