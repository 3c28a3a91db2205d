"""Server-side state of the Studio, shared by every visitor of one process.

* ``JOBS``: the one background training job. It lives in the Trainer's own thread, outside any request, so a
  page reload or a second tab re-attaches to it (``demo.load`` reads it) instead of starting or losing a run.
* ``SAMPLES``: every latent vector the server made (sampled, projected, computed), keyed by an opaque random id.
  A gallery thumbnail is written as ``s_<id>.png``, so what a browser drop sends (the thumbnail's URL) maps back to
  a server sample; anything else is refused. z vectors never come from the client.
* ``ModelStore``: the checkpoints a visitor may pick (the shipped file, runs' checkpoints, uploads the server
  registered) and a small cache of loaded models. A dropdown value is client-controlled too, so it is checked
  against that list before a file is opened.
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
from typing import Any

import torch

from .. import checkpoint as ckpt
from ..config import ModelConfig, TrainConfig
from ..plots import to_pil
from ..train import Trainer
from . import settings

SAMPLE_ID_RE = re.compile(r"s_([0-9a-f]{16})\.png")


class StudioError(ValueError):
    """A request the Studio refuses; the message is shown to the user as it is."""


# ---------------------------------------------------------------------------------------------------- samples


@dataclass
class Sample:
    id: str
    z: torch.Tensor  # (nz,) float32 on the CPU
    image: torch.Tensor  # uint8 (C, H, W) as the generator drew it when the sample was made
    label: str
    thumb: Path  # s_<id>.png, what galleries show and what a drop sends back
    created: float = field(default_factory=time.time)

    @property
    def nz(self) -> int:
        return int(self.z.numel())


class SampleRegistry:
    """Bounded, thread-safe map id -> Sample; the oldest samples are forgotten (and their files deleted) first."""

    def __init__(self, folder: Path | None = None, max_items: int = settings.MAX_REGISTRY):
        self.folder = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="dcgan_studio_samples_"))
        self.folder.mkdir(parents=True, exist_ok=True)
        if folder is None:  # our own temporary folder: remove it when the process ends
            atexit.register(shutil.rmtree, self.folder, True)
        self.max_items = max_items
        self._items: OrderedDict[str, Sample] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, z: torch.Tensor, image: torch.Tensor, label: str) -> Sample:
        sid = secrets.token_hex(8)
        thumb = self.folder / f"s_{sid}.png"
        shown = image
        if settings.THUMB_SCALE > 1:
            shown = image.repeat_interleave(settings.THUMB_SCALE, -1).repeat_interleave(settings.THUMB_SCALE, -2)
        to_pil(shown).save(thumb)
        sample = Sample(sid, z.detach().flatten().float().cpu().clone(), image.cpu(), label, thumb)
        with self._lock:
            self._items[sid] = sample
            while len(self._items) > self.max_items:
                _, old = self._items.popitem(last=False)
                old.thumb.unlink(missing_ok=True)
        return sample

    def add_batch(self, z: torch.Tensor, images: torch.Tensor, labels: list[str]) -> list[Sample]:
        return [self.add(zi, im, lab) for zi, im, lab in zip(z, images, labels)]

    def get(self, sid: str) -> Sample | None:
        with self._lock:
            return self._items.get(str(sid))

    def require(self, sid: str) -> Sample:
        sample = self.get(sid)
        if sample is None:
            raise StudioError(f"unknown sample {str(sid)[:40]!r}: only samples this server made can be used (sample again)")
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


# ---------------------------------------------------------------------------------------------------- models


@dataclass
class LoadedModels:
    path: Path
    mtime: float
    generator: Any
    discriminator: Any | None
    config: ModelConfig
    lock: threading.RLock = field(default_factory=threading.RLock)  # held while hooks are attached / G is in use


class ModelStore:
    """Which checkpoints may be opened, and a small LRU cache of loaded (G, D) pairs."""

    def __init__(self, shipped: Path | None, runs_dir: Path, max_cached: int = 4):
        self.shipped = Path(shipped) if shipped else None
        self.runs_dir = Path(runs_dir)
        self._uploads: dict[str, str] = {}  # resolved path -> label
        self._cache: OrderedDict[str, LoadedModels] = OrderedDict()
        self._lock = threading.Lock()
        self.max_cached = max_cached

    def choices(self) -> list[tuple[str, str]]:
        """(label, path) of every checkpoint a visitor may pick: the shipped one first, then runs, then uploads."""
        out: list[tuple[str, str]] = []
        if self.shipped is not None and self.shipped.is_file():
            out.append((f"shipped: {self.shipped.name}", str(self.shipped)))
        if self.runs_dir.is_dir():
            runs = sorted((p for p in self.runs_dir.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
            for run in runs[:50]:
                gen = run / "generator.safetensors"
                if gen.is_file():
                    out.append((f"{run.name}: generator", str(gen)))
                for step in sorted((run / "checkpoints").glob("step_*.safetensors"), reverse=True):
                    out.append((f"{run.name}: {step.stem}", str(step)))
        with self._lock:
            out += [(label, path) for path, label in self._uploads.items() if Path(path).is_file()]
        return out

    def training_checkpoints(self) -> list[tuple[str, str]]:
        return [(label, path) for label, path in self.choices() if "step_" in Path(path).name and path.startswith(str(self.runs_dir))]

    def default(self) -> str | None:
        choices = self.choices()
        return choices[0][1] if choices else None

    def register_upload(self, path: str | Path, name: str | None = None) -> str:
        """Accept an uploaded checkpoint after validating it; returns the path to use as a dropdown value."""
        path = Path(path)
        if path.suffix.lower() != settings.CHECKPOINT_SUFFIX:
            raise StudioError("upload a .safetensors checkpoint written by DCGAN Studio (convert .pth files with `import-pth`)")
        try:
            ckpt.read_metadata(path)
        except ckpt.CheckpointError as exc:
            raise StudioError(str(exc)) from None
        with self._lock:
            self._uploads[str(path)] = f"upload: {name or path.name}"
        return str(path)

    def resolve(self, value: str | None) -> Path:
        """The checkpoint path for a dropdown value, only if it is one this server offers."""
        if not value:
            value = self.default()
            if value is None:
                raise StudioError("no checkpoint yet: train one in the Train tab or upload a .safetensors file")
        allowed = {path for _, path in self.choices()}
        if str(value) not in allowed:
            raise StudioError(f"{str(value)[:200]!r} is not one of the checkpoints this Studio offers")
        return Path(value)

    def get(self, value: str | None) -> LoadedModels:
        path = self.resolve(value)
        key, mtime = str(path.resolve()), path.stat().st_mtime
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and hit.mtime == mtime:
                self._cache.move_to_end(key)
                return hit
        try:
            generator = ckpt.load_generator(path)
            has_d = ckpt.read_metadata(path)["has_discriminator"]
            discriminator = ckpt.load_discriminator(path) if has_d else None
        except ckpt.CheckpointError as exc:
            raise StudioError(str(exc)) from None
        loaded = LoadedModels(path, mtime, generator, discriminator, generator.config)
        with self._lock:
            self._cache[key] = loaded
            while len(self._cache) > self.max_cached:
                self._cache.popitem(last=False)
        return loaded


# ---------------------------------------------------------------------------------------------------- training job


class JobRegistry:
    """The process's one training job (a Studio on one machine trains one model at a time)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.trainer: Trainer | None = None
        self.started_at: float | None = None

    def current(self) -> Trainer | None:
        with self._lock:
            return self.trainer

    def active(self) -> bool:
        trainer = self.current()
        return trainer is not None and trainer.is_alive

    def start(
        self,
        model_config: ModelConfig,
        train_config: TrainConfig,
        runs_dir: Path,
        resume_from: str | Path | None = None,
        run_dir: Path | None = None,
    ) -> Trainer:
        with self._lock:
            if self.trainer is not None and self.trainer.is_alive:
                raise StudioError("a training run is already in progress: stop it first (the page shows it after a reload too)")
            if run_dir is None:
                run_dir = unique_run_dir(Path(runs_dir))
            trainer = Trainer(model_config, train_config, run_dir=run_dir, resume_from=resume_from)
            trainer.start()
            self.trainer, self.started_at = trainer, time.time()
            return trainer

    def stop_and_wait(self, timeout: float = 30.0) -> None:
        trainer = self.current()
        if trainer is not None:
            trainer.stop()
            trainer.join(timeout)


def unique_run_dir(runs_dir: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    run_dir = runs_dir / f"app-{stamp}"
    n = 1
    while run_dir.exists():
        n += 1
        run_dir = runs_dir / f"app-{stamp}-{n}"
    return run_dir


JOBS = JobRegistry()
SAMPLES = SampleRegistry()


def clear_folder(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
