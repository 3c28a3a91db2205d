"""Pictures of a run: sample grids (torchvision's ``make_grid``) and the loss / D-output curves (matplotlib)."""
from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image
from torchvision.utils import make_grid


def grid_uint8(images: torch.Tensor, nrow: int | None = None, padding: int = 2) -> torch.Tensor:
    """A uint8 (N, C, H, W) batch as one uint8 (3, H', W') grid, ``nrow`` images per row (default: square)."""
    if images.dtype != torch.uint8:
        raise TypeError("grid_uint8 expects uint8 images; convert with data.to_uint8 first")
    nrow = nrow or max(1, math.ceil(math.sqrt(len(images))))
    images = images.cpu()
    if images.shape[1] == 1:
        images = images.expand(-1, 3, -1, -1)
    return make_grid(images, nrow=nrow, padding=padding, pad_value=0)


def to_pil(image: torch.Tensor) -> Image.Image:
    """uint8 (C, H, W) -> PIL image (grayscale stays grayscale)."""
    arr = image.cpu().permute(1, 2, 0).numpy()
    return Image.fromarray(arr[:, :, 0] if arr.shape[2] == 1 else arr)


def save_grid(images: torch.Tensor, path: str | Path, nrow: int | None = None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    to_pil(grid_uint8(images, nrow)).save(path)
    return path


def plot_training(history: Sequence[dict], path: str | Path | None = None, title: str = ""):
    """Loss_D / Loss_G and D(x) / D(G(z)) against the step, as the seeds' reports plot them.

    Returns the matplotlib Figure; with ``path`` it is also written as a PNG (and closed)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_d) = plt.subplots(1, 2, figsize=(10, 3.6), dpi=100)
    steps = np.array([h["step"] for h in history]) if history else np.array([])
    for key, label in (("loss_d", "Loss_D"), ("loss_g", "Loss_G")):
        ax_loss.plot(steps, [h[key] for h in history], label=label, linewidth=1)
    for key, label in (("d_x", "D(x)"), ("d_g_z1", "D(G(z)) before D step"), ("d_g_z2", "D(G(z)) after D step")):
        ax_d.plot(steps, [h[key] for h in history], label=label, linewidth=1)
    ax_loss.set(xlabel="step", ylabel="loss", title="Losses")
    ax_d.set(xlabel="step", ylabel="mean D output", ylim=(-0.02, 1.02), title="Discriminator outputs")
    for ax in (ax_loss, ax_d):
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path)
        plt.close(fig)
    return fig


def figure_png_bytes(fig) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def save_gif(frames: torch.Tensor, path: str | Path, duration_ms: int = 120, scale: int = 1, bounce: bool = True) -> Path:
    """An animated GIF of uint8 frames (N, C, H, W), each enlarged ``scale`` times (nearest neighbour); with
    ``bounce`` the animation plays forward then back, so an interpolation loops without a jump."""
    if frames.dtype != torch.uint8 or frames.dim() != 4 or len(frames) == 0:
        raise ValueError("save_gif expects a non-empty uint8 (N, C, H, W) tensor")
    if scale > 1:
        frames = frames.repeat_interleave(scale, -1).repeat_interleave(scale, -2)
    images = [to_pil(f) for f in frames]
    if bounce and len(images) > 2:
        images = images + images[-2:0:-1]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    images[0].save(path, save_all=True, append_images=images[1:], duration=duration_ms, loop=0, optimize=False)
    return path
