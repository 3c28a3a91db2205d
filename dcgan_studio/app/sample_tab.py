"""Sample tab: a grid of G(z) for a seed, a count and a truncation of z; the z's are kept (server-side, by id) so
the other tabs can use the samples, and can be downloaded as a safetensors file."""
import torch
import gradio as gr
from safetensors.torch import save_file

from ..latent import generate, sample_z
from . import settings
from .common import Studio, gallery_items, grid_pil, ids_text, pool_add, user_errors
from .state import Sample

TITLE = "Sample"


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
    grid_pil(images, min_side=512).save(grid_path)
    z_path = studio.out_path(f"z_seed{seed}_n{count}.safetensors")
    save_file({"z": z.contiguous()}, str(z_path), metadata={
        "seed": str(seed), "truncation": str(truncation), "checkpoint": str(models.path.name),
        "ids": ",".join(s.id for s in samples),
    })
    return samples, images, str(grid_path), str(z_path)


def build(studio: Studio) -> None:
    with gr.Row():
        with gr.Column(scale=1, min_width=260):
            seed = gr.Number(0, label="Seed", precision=0, minimum=0, maximum=settings.MAX_SEED, elem_id="sample-seed")
            count = gr.Slider(1, settings.MAX_SAMPLES, value=settings.DEFAULT_SAMPLES, step=1, label="Count", elem_id="sample-count")
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


__all__ = ["sample", "build", "gallery_items"]
