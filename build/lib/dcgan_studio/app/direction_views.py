"""The Directions tab's pictures as HTML: the steered image and the strips inline as PNG data URIs (no file is
written and the browser makes no second request, so a slider move is one round trip)."""

from __future__ import annotations

import base64
import html
import io
from typing import TYPE_CHECKING

from .common import pil

if TYPE_CHECKING:
    import torch

IMAGE_SIDE = 256  # the steered image is enlarged to at least this side
STRIPS_CSS = """
.dir-strips { display: grid; grid-template-columns: repeat(auto-fill, minmax(480px, 1fr)); gap: 10px; }
.dir-strip img { image-rendering: pixelated; max-width: 100%; }
.dir-strip-name { font-weight: 600; margin-bottom: 2px; }
.dir-steered { image-rendering: pixelated; display: block; margin: 0 auto; }
"""


def png_uri(image) -> str:
    """A PIL image as a PNG data URI."""
    buf = io.BytesIO()
    image.save(buf, format="png")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def image_html(image: torch.Tensor, label: str) -> str:
    """The steered image inline (a data URI: no file written, no second request, so a slider move is one round
    trip), enlarged to ``IMAGE_SIDE``."""
    return f'<img class="dir-steered" src="{png_uri(pil(image, IMAGE_SIDE))}" alt="{html.escape(label)}">'


def strips_html(items: list[tuple[str, str]]) -> str:
    """The strips as a list: each direction's name over its strip (-3 on the left, +3 on the right)."""
    rows = "".join(
        f'<div class="dir-strip"><div class="dir-strip-name">{html.escape(name)}</div>'
        f'<img src="{uri}" alt="{html.escape(name)}"></div>'
        for name, uri in items
    )
    return f'<div class="dir-strips">{rows}</div>'
