"""What every tab shares: the ``Studio`` context handed to each tab's ``build``, error translation, and the small
conversions from core tensors to what Gradio shows. No training or latent logic here: that is the core's."""
from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import gradio as gr
import torch
from PIL import Image

from ..checkpoint import CheckpointError
from ..config import ConfigError
from ..data import DatasetError
from ..plots import grid_uint8, to_pil
from . import settings
from .state import (LOCAL, VISITOR_ID_RE, JobRegistry, ModelStore, Sample, SampleRegistry, SessionMap,
                    StudioError, visiting)


def _temporary_folder(prefix: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, folder, True)
    return folder


@dataclass
class Studio:
    """The core API a tab works with, plus the components every tab shares (set while the Blocks are built)."""

    models: ModelStore
    # each Studio (one per app, so one per process under launch.py) owns its job and samples: two apps in one
    # process (tests) never see each other's runs
    samples: SampleRegistry = field(default_factory=SampleRegistry)
    jobs: JobRegistry = field(default_factory=JobRegistry)
    runs_dir: Path = settings.RUNS_DIR
    data_dir: Path = settings.DATA_DIR
    work_dir: Path = field(default_factory=lambda: _temporary_folder("dcgan_studio_out_"))
    public: bool = False  # public-demo mode: per-visitor jobs, runs and uploads (settings.PUBLIC when built)
    sessions: SessionMap = field(default_factory=SessionMap)
    # shared components, filled in by build_app
    model: Any = None  # gr.Dropdown: the checkpoint the generator tabs use
    pool: Any = None  # gr.State: ids of this visitor's samples, newest first
    browser_id: Any = None  # gr.BrowserState: the visitor's random id (public mode), kept across reloads

    def visitor_for(self, request=None, browser_id=None) -> str:
        """Who is asking: LOCAL in local mode; in public mode the browser's id (bound to its session), else the
        visitor its session was bound to on page load, else the session itself (a gradio_client is one visitor)."""
        if not self.public:
            return LOCAL
        session = getattr(request, "session_hash", None)
        if isinstance(browser_id, str) and VISITOR_ID_RE.fullmatch(browser_id):
            if session:
                self.sessions.bind(session, browser_id)
            return browser_id
        return self.sessions.get(session) or f"api-{str(session or 'anonymous')[:64]}"

    def visit(self, request=None, browser_id=None):
        """``with studio.visit(request):`` runs a handler as the visitor behind ``request``."""
        return visiting(self.visitor_for(request, browser_id))

    def runs_for(self) -> Path:
        """Where the current visitor's runs go (runs/ locally, runs/public/<key>/ in public mode)."""
        return self.models.visitor_runs()

    def out_path(self, name: str) -> Path:
        """A fresh file path for an output (grid, GIF, z file) that Gradio then serves from its cache."""
        folder = Path(tempfile.mkdtemp(prefix="o_", dir=self.work_dir))
        return folder / name


def make_studio(shipped: str | Path | None = settings.SHIPPED_CHECKPOINT, runs_dir: str | Path = settings.RUNS_DIR,
                data_dir: str | Path = settings.DATA_DIR, public: bool | None = None) -> Studio:
    public = settings.PUBLIC if public is None else bool(public)
    models = ModelStore(Path(shipped) if shipped else None, Path(runs_dir), public=public)
    return Studio(models=models, runs_dir=Path(runs_dir), data_dir=Path(data_dir), public=public)


USER_ERRORS = (StudioError, CheckpointError, ConfigError, DatasetError, ValueError, FileNotFoundError, OverflowError)


def user_errors(fn: Callable) -> Callable:
    """Turn the core's user errors into a ``gr.Error`` (a toast in the page, an AppError for API clients)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except USER_ERRORS as exc:
            raise gr.Error(str(exc)) from None

    return wrapper


# ------------------------------------------------------------------------------------------------ pixels


def enlarge(image: torch.Tensor, min_side: int = settings.DISPLAY_MIN_SIDE) -> torch.Tensor:
    """uint8 (C, H, W) enlarged by an integer factor (nearest neighbour) so small images stay sharp on screen."""
    factor = max(1, -(-min_side // max(image.shape[-1], image.shape[-2])))  # ceil: at least min_side
    if factor > 1:
        image = image.repeat_interleave(factor, -1).repeat_interleave(factor, -2)
    return image


def pil(image: torch.Tensor, min_side: int = 0) -> Image.Image:
    return to_pil(enlarge(image, min_side) if min_side else image)


def grid_pil(images: torch.Tensor, nrow: int | None = None, min_side: int = 0, scale: int = 1) -> Image.Image:
    """A grid as a PIL image, enlarged (nearest neighbour) to ``min_side`` or by ``scale``, whichever is larger."""
    grid = grid_uint8(images, nrow=nrow)
    if scale > 1:
        grid = grid.repeat_interleave(scale, -1).repeat_interleave(scale, -2)
    return pil(grid, min_side)


# ------------------------------------------------------------------------------------------------ the sample pool


def pool_add(pool: list[str] | None, ids: list[str]) -> list[str]:
    """New ids first, no duplicates, at most MAX_POOL."""
    seen: set[str] = set()
    out = []
    for sid in list(ids) + list(pool or []):
        if sid not in seen:
            seen.add(sid)
            out.append(sid)
    return out[: settings.MAX_POOL]


def pool_samples(studio: Studio, pool: list[str] | None) -> list[Sample]:
    return [s for s in (studio.samples.get(sid) for sid in (pool or [])) if s is not None]


def gallery_items(samples: list[Sample]) -> list[tuple[str, str]]:
    """Gallery value: each thumbnail file is ``s_<id>.png``, the name a drop sends back."""
    return [(str(s.thumb), s.label) for s in samples]


def ids_text(ids: list[str]) -> str:
    return ",".join(ids)


def parse_ids(text: str | list | None) -> list[str]:
    if text is None:
        return []
    if isinstance(text, list):
        if len(text) > settings.MAX_SLOT_ITEMS * 4:
            raise StudioError(f"too many sample ids ({len(text)})")
        parts = [settings.check_text("sample id", str(p), 64) for p in text]
    else:
        parts = settings.check_text("sample ids", str(text)).replace(";", ",").replace(" ", ",").split(",")
    return [p.strip() for p in parts if str(p).strip()]


# ------------------------------------------------------------------------------------------------ uploaded images

from ..safe_zip import PIL_FORMATS as IMAGE_FORMATS  # noqa: E402  one list of the formats Pillow may open


def open_upload_image(path) -> Image.Image | None:
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
    if img.width * img.height > settings.MAX_PROJECT_PIXELS:
        raise StudioError(f"the image is too large ({img.width}x{img.height}; at most {settings.MAX_PROJECT_PIXELS} pixels)")
    try:
        img.load()
    except Exception:  # noqa: BLE001
        raise StudioError("the uploaded image is damaged (it cannot be decoded)") from None
    return img
