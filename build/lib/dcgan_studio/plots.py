"""Pictures of a run: sample grids (torchvision's ``make_grid``) and the loss / D-output curves (matplotlib)."""

from __future__ import annotations

import io
import logging
import math
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

logger = logging.getLogger(__name__)

# A timelapse keeps at most this many grids (every k-th, plus the last), whatever the run's length. A 64-image grid
# enlarged to >= 512 px compresses to about 150-175 KB a GIF frame (measured: the shipped digits generator's samples
# 173 KB, 64 px colour photo crops 145 KB), so 60 frames stay near 10 MB, play in 9 s at 150 ms a frame (enough to
# watch the samples take shape), and bound the memory the GIF writer holds (every frame, one byte a pixel).
TIMELAPSE_MAX_FRAMES = 60
TIMELAPSE_MIN_WIDTH = 512  # small grids (32 px digits) are enlarged, nearest neighbour, to at least this width
GRID_STEP_KEY = "dcgan_studio.step"  # PNG text chunk of a run's grid: the training step it shows


def grid_uint8(images: torch.Tensor, nrow: int | None = None, padding: int = 2) -> torch.Tensor:
    """A uint8 (N, C, H, W) batch as one uint8 (3, H', W') grid, ``nrow`` images per row (default: square)."""
    if images.dtype != torch.uint8:
        raise TypeError("grid_uint8 expects uint8 images; convert with data.to_uint8 first")
    nrow = nrow or max(1, math.ceil(math.sqrt(len(images))))
    images = images.cpu()
    if images.shape[1] == 1:
        images = images.expand(-1, 3, -1, -1)
    from torchvision.utils import make_grid  # torchvision imports torch._dynamo: 1.5 s a page need not wait for

    return make_grid(images, nrow=nrow, padding=padding, pad_value=0)


def upscale(images: torch.Tensor, factor: int) -> torch.Tensor:
    """Nearest-neighbour enlargement of the last two dimensions (H, W) of any (..., H, W) tensor by a whole
    ``factor``: each pixel becomes a factor x factor block, so small images stay sharp. A factor of 1 or less
    returns ``images`` unchanged."""
    factor = int(factor)
    if factor <= 1:
        return images
    return images.repeat_interleave(factor, -1).repeat_interleave(factor, -2)


def enlarge_factor(side: int, min_side: int) -> int:
    """The smallest whole factor (at least 1) that makes ``side`` pixels at least ``min_side``."""
    return max(1, -(-int(min_side) // max(1, int(side))))


def enlarge_to(image: torch.Tensor, min_side: int) -> torch.Tensor:
    """``image`` (..., H, W) enlarged (nearest neighbour) by the smallest whole factor that makes its longer side
    at least ``min_side``; unchanged when it already is."""
    return upscale(image, enlarge_factor(max(image.shape[-1], image.shape[-2]), min_side))


def to_pil(image: torch.Tensor) -> Image.Image:
    """uint8 (C, H, W) -> PIL image (grayscale stays grayscale)."""
    arr = image.cpu().permute(1, 2, 0).numpy()
    return Image.fromarray(arr[:, :, 0] if arr.shape[2] == 1 else arr)


def save_grid(images: torch.Tensor, path: str | Path, nrow: int | None = None, step: int | None = None) -> Path:
    """Write the grid of ``images`` as a PNG; ``step`` (a run's sample grids) is kept in a text chunk, so a
    timelapse can put grids in training order whatever their names (see ``grid_step``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    info = None
    if step is not None:
        from PIL.PngImagePlugin import PngInfo

        info = PngInfo()
        info.add_text(GRID_STEP_KEY, str(int(step)))
    to_pil(grid_uint8(images, nrow)).save(path, pnginfo=info)
    return path


def grid_step(path: str | Path) -> int | None:
    """The training step a grid PNG written by ``save_grid(..., step=)`` shows; None when it does not say."""
    try:
        with Image.open(path) as im:  # text chunks before the pixels are in ``info`` without decoding the image
            value = im.info.get(GRID_STEP_KEY)
        return int(value) if value is not None else None
    except (OSError, ValueError, SyntaxError):
        return None


def smooth_ema(values: Sequence[float], weight: float) -> list[float]:
    """TensorBoard's smoothing: an exponential moving average with weight ``weight`` in [0, 1), debiased so the
    first points are not pulled towards zero (the running average is divided by 1 - weight**n). 0 returns a copy."""
    if not 0 <= weight < 1:
        raise ValueError(f"smoothing weight must be in [0, 1), got {weight}")
    out, last, n = [], 0.0, 0
    for v in values:
        n += 1
        last = weight * last + (1 - weight) * float(v)
        out.append(last / (1 - weight**n))
    return out


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


def save_gif(
    frames: torch.Tensor, path: str | Path, duration_ms: int = 120, scale: int = 1, bounce: bool = True
) -> Path:
    """An animated GIF of uint8 frames (N, C, H, W), each enlarged ``scale`` times (nearest neighbour); with
    ``bounce`` the animation plays forward then back, so an interpolation loops without a jump."""
    if frames.dtype != torch.uint8 or frames.dim() != 4 or len(frames) == 0:
        raise ValueError("save_gif expects a non-empty uint8 (N, C, H, W) tensor")
    images = [to_pil(f) for f in upscale(frames, scale)]
    if bounce and len(images) > 2:
        images = images + images[-2:0:-1]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    images[0].save(path, save_all=True, append_images=images[1:], duration=duration_ms, loop=0, optimize=False)
    return path


def select_every_kth(n: int, max_frames: int = TIMELAPSE_MAX_FRAMES) -> list[int]:
    """Indices of the frames a capped timelapse keeps of ``n``: every k-th from the first, k = ceil(n / max_frames),
    and always the last (it replaces the last kept one when that would pass the cap). In order, at most
    ``max_frames`` (from 2 on, the first and the last are both kept); all of them when ``n <= max_frames``."""
    if n <= 0:
        return []
    max_frames = max(1, int(max_frames))
    if max_frames == 1:
        return [n - 1]
    k = math.ceil(n / max_frames)
    keep = list(range(0, n, k))
    if keep[-1] != n - 1:
        if len(keep) < max_frames:
            keep.append(n - 1)
        else:
            keep[-1] = n - 1
    return keep


def save_timelapse(
    grid_paths: Sequence[str | Path],
    path: str | Path,
    max_frames: int = TIMELAPSE_MAX_FRAMES,
    frame_ms: int = 150,
    last_frame_ms: int = 2000,
    min_width: int = TIMELAPSE_MIN_WIDTH,
) -> Path | None:
    """An animated GIF of a run's grid PNGs, given in training order: every k-th grid and the last
    (``select_every_kth``), played forward once per loop (no bounce: time goes one way), the last frame held for
    ``last_frame_ms``. Every frame has the size of the last grid enlarged by the whole factor (nearest neighbour) that
    makes it at least ``min_width`` wide. Unreadable grids are skipped. Written atomically (a temporary file, then
    ``os.replace``): a crash never leaves a half-written GIF. Returns None (and writes nothing) when no grid could be
    read."""
    paths = [Path(p) for p in grid_paths]
    images = []
    for i in select_every_kth(len(paths), max_frames):
        try:
            with Image.open(paths[i]) as im:
                images.append(_gif_frame(im))
        except (OSError, ValueError, SyntaxError) as exc:  # a grid cut short by a crash or a full disk
            logger.warning("timelapse: skipping the unreadable grid %s (%s)", paths[i], exc)
    if not images:
        return None
    width, height = images[-1].size
    scale = enlarge_factor(width, min_width)
    size = (width * scale, height * scale)
    frames = [im if im.size == size else im.resize(size, Image.Resampling.NEAREST) for im in images]
    durations = [frame_ms] * (len(frames) - 1) + [last_frame_ms]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        frames[0].save(tmp, format="GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _gif_frame(im: Image.Image) -> Image.Image:
    """A grid as a GIF frame of one byte a pixel: grayscale grids (1-channel runs, saved as RGB) stay exact gray
    levels; colour ones get a 256-colour palette by fast octree (median cut, Pillow's default, takes about 0.2 s a
    frame for a 64-image grid: 20 s for a capped timelapse on 2 cores)."""
    rgb = im.convert("RGB")
    r, g, b = rgb.split()
    if r.tobytes() == g.tobytes() == b.tobytes():
        return r
    return rgb.quantize(256, method=Image.Quantize.FASTOCTREE)
