"""Your own image in latent space: find the z whose G(z) is closest to an uploaded image (gradient descent on z,
from the best of several random starts), show the reconstruction, and keep that z as a sample for the slots and
interpolations."""
import gradio as gr
import torch
from PIL import Image

from ..data import square_crop_resize
from ..latent import project_image
from ..checkpoint import load_generator
from . import settings
from .common import Studio, open_upload_image, pil, pool_add, user_errors
from .state import Sample

TITLE = "Your image in latent space"


def target_tensor(image, image_size: int, channels: int) -> torch.Tensor:
    if image is None:
        raise ValueError("upload an image first")
    image = open_upload_image(image)  # a path from the upload (or a PIL image): formats and pixel count checked
    if image.width * image.height > settings.MAX_PROJECT_PIXELS:
        raise ValueError(f"the image is too large ({image.width}x{image.height})")
    return square_crop_resize(image, image_size, channels)


def project(studio: Studio, checkpoint, image: Image.Image, steps, restarts, seed, progress=None) -> tuple[torch.Tensor, Sample, list[float]]:
    """(target uint8 (C, H, W), the projected sample, losses). Works on a private copy of G: the optimisation
    changes requires_grad, and other visitors keep sampling meanwhile."""
    steps = settings.check_int("steps", steps, 1, settings.MAX_PROJECT_STEPS)
    restarts = settings.check_int("restarts", restarts, 1, settings.MAX_RESTARTS)
    seed = settings.check_int("seed", seed, 0, settings.MAX_SEED)
    models = studio.models.get(checkpoint)
    cfg = models.config
    target = target_tensor(image, cfg.image_size, cfg.channels)
    generator = load_generator(models.path)
    result = project_image(generator, target, steps=steps, seed=seed, restarts=restarts, progress=progress)
    sample = studio.samples.add(result.z[0], result.reconstruction[0], f"projected (mse {result.losses[-1]:.3f})")
    return target, sample, result.losses


def build(studio: Studio) -> None:
    gr.Markdown("Upload an image (it is centre-cropped and resized to the generator's size). The app searches for the "
                "z whose image is closest to it; the result joins your samples, so you can drop it into a slot or use "
                "it as an interpolation end.")
    with gr.Row():
        with gr.Column(scale=1, min_width=260):
            upload = gr.Image(label="Your image", type="filepath", sources=["upload", "clipboard"], image_mode=None,
                              height=260, elem_id="project-upload")
            steps = gr.Slider(10, settings.MAX_PROJECT_STEPS, value=150, step=10, label="Optimisation steps")
            restarts = gr.Slider(1, settings.MAX_RESTARTS, value=4, step=1, label="Random starts")
            seed = gr.Number(0, label="Seed", precision=0, minimum=0, maximum=settings.MAX_SEED)
            go = gr.Button("Find its z", variant="primary", elem_id="project-go")
        with gr.Column(scale=2):
            with gr.Row():
                target = gr.Image(label="Target (as the model sees it)", format="png", type="pil", interactive=False, height=260,
                                  elem_id="project-target")
                recon = gr.Image(label="Reconstruction G(z*)", format="png", type="pil", interactive=False, height=260, elem_id="project-recon")
            info = gr.Markdown(elem_id="project-info")
            sample_id = gr.Textbox(label="Sample id of z*", interactive=False, elem_id="project-id")

    def run(checkpoint, image, steps, restarts, seed, pool, request: gr.Request, progress=gr.Progress()):
        progress(0, desc="optimising z")

        def report(i, total, loss):
            if i == 1 or i % 5 == 0 or i == total:
                progress((i, total), desc=f"optimising z · mse {loss:.4f}")

        with studio.visit(request):
            tgt, sample, losses = project(studio, checkpoint, image, steps, restarts, seed, progress=report)
        text = f"MSE went from {losses[0]:.4f} to {losses[-1]:.4f} in {len(losses)} steps. z* is now in your samples."
        return pil(tgt, 256), pil(sample.image, 256), text, sample.id, pool_add(pool, [sample.id])

    go.click(user_errors(run), [studio.model, upload, steps, restarts, seed, studio.pool],
             [target, recon, info, sample_id, studio.pool], api_name="project", concurrency_id="projection")
