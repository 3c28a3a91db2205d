"""Your own image in latent space: find the z whose G(z) is closest to an uploaded image (gradient descent on z,
from the best of several random starts), show the reconstruction, and keep that z as a sample for the slots and
interpolations."""

from __future__ import annotations

from typing import TYPE_CHECKING

import gradio as gr
from PIL import Image

from .common import DRAWN, Studio, open_upload_image, pil, pool_add
from .samples import Sample
from .settings import check_int

# torch and the core's torch code load inside the handlers that use them: the page is served first
if TYPE_CHECKING:
    import torch


TITLE = "Your image in latent space"


def target_tensor(image, image_size: int, channels: int, max_pixels: int) -> torch.Tensor:
    from ..data import square_crop_resize

    if image is None:
        raise ValueError("upload an image first")
    image = open_upload_image(image, max_pixels)  # a path (or a PIL image): formats and pixel count checked
    return square_crop_resize(image, image_size, channels)


def project(
    studio: Studio, checkpoint, image: Image.Image, steps, restarts, seed, progress=None
) -> tuple[torch.Tensor, Sample, list[float]]:
    """(target uint8 (C, H, W), the projected sample, losses). Works on a private copy of G: the optimisation
    changes requires_grad, and other visitors keep sampling meanwhile."""
    from ..checkpoint import load_generator
    from ..latent import project_image

    limits = studio.limits
    steps = check_int("steps", steps, 1, limits.max_project_steps)
    restarts = check_int("restarts", restarts, 1, limits.max_restarts)
    seed = check_int("seed", seed, 0, limits.max_seed)
    models = studio.models.get(checkpoint)
    cfg = models.config
    target = target_tensor(image, cfg.image_size, cfg.channels, limits.max_project_pixels)
    generator = load_generator(models.path)
    result = project_image(generator, target, steps=steps, seed=seed, restarts=restarts, progress=progress)
    sample = studio.samples.add(result.z[0], result.reconstruction[0], f"projected (mse {result.losses[-1]:.3f})")
    return target, sample, result.losses


def build(studio: Studio) -> None:
    limits = studio.limits
    gr.Markdown(
        "Upload an image (it is centre-cropped and resized to the generator's size). The app searches for the "
        "z whose image is closest to it; the result joins your samples, so you can drop it into a slot or use "
        "it as an interpolation end."
    )
    with gr.Row():
        with gr.Column(scale=1, min_width=260):
            upload = gr.Image(
                label="Your image",
                type="filepath",
                sources=["upload", "clipboard"],
                image_mode=None,
                height=260,
                elem_id="project-upload",
            )
            steps = gr.Slider(10, limits.max_project_steps, value=150, step=10, label="Optimisation steps")
            restarts = gr.Slider(1, limits.max_restarts, value=4, step=1, label="Random starts")
            seed = gr.Number(0, label="Seed", precision=0, minimum=0, maximum=limits.max_seed)
            go = gr.Button("Find its z", variant="primary", elem_id="project-go")
        with gr.Column(scale=2):
            with gr.Row():
                target = gr.Image(label="Target (as the model sees it)", height=260, elem_id="project-target", **DRAWN)
                recon = gr.Image(label="Reconstruction G(z*)", height=260, elem_id="project-recon", **DRAWN)
            info = gr.Markdown(elem_id="project-info")
            sample_id = gr.Textbox(label="Sample id of z*", interactive=False, elem_id="project-id")

    def run(checkpoint, image, steps, restarts, seed, pool, progress=gr.Progress()):  # noqa: B008 - Gradio's marker
        progress(0, desc="optimising z")

        def report(i, total, loss):
            if i == 1 or i % 5 == 0 or i == total:
                progress((i, total), desc=f"optimising z · mse {loss:.4f}")

        tgt, sample, losses = project(studio, checkpoint, image, steps, restarts, seed, progress=report)
        text = f"MSE went from {losses[0]:.4f} to {losses[-1]:.4f} in {len(losses)} steps. z* is now in your samples."
        return pil(tgt, 256), pil(sample.image, 256), text, sample.id, pool_add(pool, [sample.id])

    go.click(
        studio.handler(run),
        [studio.model, upload, steps, restarts, seed, studio.pool],
        [target, recon, info, sample_id, studio.pool],
        api_name="project",
        concurrency_id="projection",
    )
