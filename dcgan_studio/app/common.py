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
from .state import JOBS, SAMPLES, JobRegistry, ModelStore, Sample, SampleRegistry, StudioError


def _temporary_folder(prefix: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, folder, True)
    return folder


@dataclass
class Studio:
    """The core API a tab works with, plus the components every tab shares (set while the Blocks are built)."""

    models: ModelStore
    samples: SampleRegistry = field(default_factory=lambda: SAMPLES)
    jobs: JobRegistry = field(default_factory=lambda: JOBS)
    runs_dir: Path = settings.RUNS_DIR
    data_dir: Path = settings.DATA_DIR
    work_dir: Path = field(default_factory=lambda: _temporary_folder("dcgan_studio_out_"))
    # shared components, filled in by build_app
    model: Any = None  # gr.Dropdown: the checkpoint the generator tabs use
    pool: Any = None  # gr.State: ids of this visitor's samples, newest first

    def out_path(self, name: str) -> Path:
        """A fresh file path for an output (grid, GIF, z file) that Gradio then serves from its cache."""
        folder = Path(tempfile.mkdtemp(prefix="o_", dir=self.work_dir))
        return folder / name


def make_studio(shipped: str | Path | None = settings.SHIPPED_CHECKPOINT, runs_dir: str | Path = settings.RUNS_DIR,
                data_dir: str | Path = settings.DATA_DIR) -> Studio:
    return Studio(models=ModelStore(Path(shipped) if shipped else None, Path(runs_dir)), runs_dir=Path(runs_dir), data_dir=Path(data_dir))


USER_ERRORS = (StudioError, CheckpointError, ConfigError, DatasetError, ValueError, FileNotFoundError)


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
    parts = text if isinstance(text, list) else str(text).replace(";", ",").replace(" ", ",").split(",")
    return [p.strip() for p in parts if str(p).strip()]
