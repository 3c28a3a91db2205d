"""Small conversions every tab shares: core tensors to what Gradio shows, the visitor's sample pool, uploaded
images read safely. No training or latent logic here: that is the core's."""

from __future__ import annotations

from typing import TYPE_CHECKING

import gradio as gr
from PIL import Image

from ..safe_zip import PIL_FORMATS as IMAGE_FORMATS  # one list of the formats Pillow may open
from .errors import USER_ERRORS, StudioError, user_errors
from .samples import Sample
from .settings import Limits, check_text
from .studio import Studio, make_studio

if TYPE_CHECKING:
    import torch

# ------------------------------------------------------------------------------------------------ pixels

# a gr.Image of pixels the server drew: lossless PNG (Gradio's default is lossy webp), not editable
DRAWN = dict(format="png", type="pil", interactive=False)


def pil(image: torch.Tensor, min_side: int = 0) -> Image.Image:
    """uint8 (C, H, W) as a PIL image, enlarged (nearest neighbour, whole factor) to at least ``min_side``."""
    from ..plots import enlarge_to, to_pil  # torch loads with the first image drawn, not with the page

    return to_pil(enlarge_to(image, min_side) if min_side else image)


def grid_pil(images: torch.Tensor, nrow: int | None = None, min_side: int = 0, scale: int = 1) -> Image.Image:
    """A grid as a PIL image, enlarged (nearest neighbour) to ``min_side`` or by ``scale``, whichever is larger."""
    from ..plots import grid_uint8, upscale

    return pil(upscale(grid_uint8(images, nrow=nrow), scale), min_side)


# ------------------------------------------------------------------------------------------------ the sample pool


def pool_add(pool: list[str] | None, ids: list[str], max_pool: int = Limits.max_pool) -> list[str]:
    """New ids first, no duplicates, at most ``max_pool``."""
    return list(dict.fromkeys([*ids, *(pool or [])]))[:max_pool]


def pool_samples(studio: Studio, pool: list[str] | None) -> list[Sample]:
    return [s for s in (studio.samples.get(sid) for sid in (pool or [])) if s is not None]


def gallery_items(samples: list[Sample]) -> list[tuple[str, str]]:
    """Gallery value: each thumbnail file is ``s_<id>.png``, the name a drop sends back."""
    return [(str(s.thumb), s.label) for s in samples]


def pool_gallery(studio: Studio, **gallery) -> gr.Gallery:
    """A gallery of the visitor's samples (newest first) that follows the pool; clicking picks one (``picked``)."""
    shown = gr.Gallery(allow_preview=False, object_fit="contain", format="png", **gallery)

    def show(pool: list[str] | None) -> list[tuple[str, str]]:
        return gallery_items(pool_samples(studio, pool))

    # as the visitor behind the request (the registry shows each visitor their own samples only)
    studio.pool.change(studio.handler(show), studio.pool, shown, api_visibility="private")
    return shown


def picked(studio: Studio, pool: list[str] | None, evt: gr.SelectData) -> Sample | None:
    """The sample a click in a ``pool_gallery`` picked (None when the click is stale)."""
    samples = pool_samples(studio, pool)
    return samples[evt.index] if evt.index is not None and 0 <= evt.index < len(samples) else None


def ids_text(ids: list[str]) -> str:
    return ",".join(ids)


def parse_ids(text: str | list | None, max_items: int = Limits.max_slot_items) -> list[str]:
    """Sample ids from an API call: a list, or text separated by commas, semicolons or spaces."""
    if text is None:
        return []
    if isinstance(text, list):
        if len(text) > max_items * 4:
            raise StudioError(f"too many sample ids ({len(text)})")
        parts = [check_text("sample id", str(p), 64) for p in text]
    else:
        parts = check_text("sample ids", str(text)).replace(";", ",").replace(" ", ",").split(",")
    return [p.strip() for p in parts if str(p).strip()]


# ------------------------------------------------------------------------------------------------ uploaded images


def open_upload_image(path, max_pixels: int = Limits.max_project_pixels) -> Image.Image | None:
    """An uploaded image file decoded safely: only common formats, the pixel count read from the header and
    checked before decoding (decompression bombs), any decode failure a clear error. None stays None."""
    if path is None:
        return None
    if isinstance(path, Image.Image):  # direct callers (tests, notebooks) may pass a PIL image
        img = path
    else:
        try:
            img = Image.open(str(path), formats=IMAGE_FORMATS)
        except Exception:  # noqa: BLE001 - whatever Pillow says, it is not an image we read
            raise StudioError("the upload is not a readable PNG/JPEG/BMP/GIF/WEBP/TIFF image") from None
    if img.width * img.height > max_pixels:
        raise StudioError(f"the image is too large ({img.width}x{img.height}; at most {max_pixels} pixels)")
    try:
        img.load()
    except Exception:  # noqa: BLE001
        raise StudioError("the uploaded image is damaged (it cannot be decoded)") from None
    return img


# re-exported for callers of the old paths (tests' conftest imports make_studio from here)
__all__ = [
    "DRAWN",
    "USER_ERRORS",
    "Studio",
    "StudioError",
    "gallery_items",
    "grid_pil",
    "ids_text",
    "make_studio",
    "open_upload_image",
    "parse_ids",
    "pil",
    "pool_add",
    "pool_samples",
    "user_errors",
]
