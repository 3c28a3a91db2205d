"""Every latent vector the server made (sampled, projected, computed), keyed by an opaque random id.

A gallery thumbnail is written as ``s_<id>.png``, so what a browser drop sends (the thumbnail's URL) maps back to a
server sample; anything else is refused. z vectors never come from the client.

A sample belongs to the visitor who made it (``visitors.current_visitor()`` when it is registered): a lookup by
anyone else answers exactly as for an unknown id, so a leaked id (a thumbnail's name) gives another visitor nothing.
Samples registered ``shared`` (a page load's seed-0 grid, the same for everyone) are everyone's. A local Studio has
one visitor, so there nothing changes.
"""

from __future__ import annotations

import atexit
import re
import secrets
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import StudioError
from .settings import Limits
from .visitors import current_visitor

if TYPE_CHECKING:
    import torch

SAMPLE_ID_RE = re.compile(r"s_([0-9a-f]{16})\.png")


@dataclass
class Sample:
    id: str
    z: torch.Tensor  # (nz,) float32 on the CPU
    image: torch.Tensor  # uint8 (C, H, W) as the generator drew it when the sample was made
    label: str
    thumb: Path  # s_<id>.png, what galleries show and what a drop sends back
    created: float = field(default_factory=time.time)
    owner: str | None = None  # the visitor who made it; None: every visitor's (shared)

    @property
    def nz(self) -> int:
        return int(self.z.numel())


class SampleRegistry:
    """Bounded, thread-safe map id -> Sample; the oldest samples are forgotten (and their files deleted) first.
    Every lookup sees only the current visitor's samples and the shared ones."""

    def __init__(
        self, folder: Path | None = None, max_items: int = Limits.max_registry, thumb_scale: int = Limits.thumb_scale
    ):
        self.folder = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="dcgan_studio_samples_"))
        self.folder.mkdir(parents=True, exist_ok=True)
        if folder is None:  # our own temporary folder: remove it when the process ends
            atexit.register(shutil.rmtree, self.folder, True)
        self.max_items = max_items
        self.thumb_scale = thumb_scale
        self._items: OrderedDict[str, Sample] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, z: torch.Tensor, image: torch.Tensor, label: str, shared: bool = False) -> Sample:
        """Register a sample for the current visitor (``shared``: for every visitor, only for what anyone could
        make the same way, like a page load's seed-0 grid)."""
        from ..plots import to_pil, upscale

        sid = secrets.token_hex(8)
        thumb = self.folder / f"s_{sid}.png"
        to_pil(upscale(image, self.thumb_scale)).save(thumb)
        owner = None if shared else current_visitor()
        sample = Sample(sid, z.detach().flatten().float().cpu().clone(), image.cpu(), label, thumb, owner=owner)
        with self._lock:
            self._items[sid] = sample
            while len(self._items) > self.max_items:
                _, old = self._items.popitem(last=False)
                old.thumb.unlink(missing_ok=True)
        return sample

    def add_batch(self, z: torch.Tensor, images: torch.Tensor, labels: list[str], shared: bool = False) -> list[Sample]:
        return [self.add(zi, im, lab, shared) for zi, im, lab in zip(z, images, labels, strict=True)]

    def get(self, sid: str) -> Sample | None:
        """The sample ``sid`` if the current visitor may use it (theirs or shared); another visitor's is None, as an
        unknown id is, so callers cannot tell the two apart."""
        with self._lock:
            sample = self._items.get(str(sid))
        if sample is None or sample.owner not in (None, current_visitor()):
            return None
        return sample

    def require(self, sid: str) -> Sample:
        sample = self.get(sid)
        if sample is None:
            raise StudioError(
                f"unknown sample {str(sid)[:40]!r}: only samples this server made can be used (sample again)"
            )
        return sample

    def resolve_drop(self, payload: Any) -> Sample:
        """The sample a drop payload (the dragged thumbnail's URL, or a bare id) points at; refuse anything else."""
        text = payload if isinstance(payload, str) else ""
        if isinstance(payload, dict):
            text = str(payload.get("url") or payload.get("id") or "")
        text = text.strip()[:2048]
        match = SAMPLE_ID_RE.search(text.rsplit("/", 1)[-1].split("?", 1)[0]) if text else None
        sid = match.group(1) if match else (text if re.fullmatch(r"[0-9a-f]{16}", text) else None)
        sample = self.get(sid) if sid else None
        if sample is None:
            raise StudioError("that drop is not a sample made by this server; drag a thumbnail from the gallery")
        return sample

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
