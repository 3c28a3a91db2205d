"""The checkpoints a visitor may pick (the shipped file, runs' checkpoints, uploads the server registered) and a
small cache of loaded models. A dropdown value is client-controlled, so it is checked against that list before a
file is opened. In public mode a visitor sees the shipped file, the runs under their own run folder and their own
uploads only; locally everyone sees every run and upload."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import checkpoint as ckpt
from ..config import ModelConfig
from ..train import RunDir
from .errors import StudioError
from .settings import CHECKPOINT_SUFFIX
from .visitors import current_visitor, in_folder, visitor_key

MAX_RUNS_LISTED = 50  # the newest runs whose checkpoints the picker offers


@dataclass
class LoadedModels:
    path: Path
    mtime: float
    generator: Any
    discriminator: Any | None
    config: ModelConfig
    lock: threading.RLock = field(default_factory=threading.RLock)  # held while hooks are attached / G is in use


def run_checkpoints(run: RunDir) -> list[tuple[str, str]]:
    """(label, path) of one run folder's exported generator and its training checkpoints, newest first."""
    name = run.path.name
    out = [(f"{name}: generator", str(run.generator_path))] if run.generator_path.is_file() else []
    return out + [(f"{name}: {step.stem}", str(step)) for step in reversed(run.training_checkpoints())]


class ModelStore:
    """Which checkpoints may be opened (per visitor in public mode), and an LRU cache of loaded (G, D) pairs."""

    def __init__(self, shipped: Path | None, runs_dir: Path, max_cached: int = 4, public: bool = False):
        self.shipped = Path(shipped) if shipped else None
        self.runs_dir = Path(runs_dir)
        self.public = public
        self._uploads: dict[str, tuple[str, str]] = {}  # path -> (label, visitor who uploaded it)
        self._cache: OrderedDict[str, LoadedModels] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[str, threading.Lock] = {}  # key -> held while that file loads
        self.max_cached = max_cached

    def visitor_runs(self, visitor: str | None = None) -> Path:
        """The folder the visitor's runs go to: runs/ locally, runs/public/<key>/ in public mode."""
        visitor = visitor or current_visitor()
        return self.runs_dir / "public" / visitor_key(visitor) if self.public else self.runs_dir

    def choices(self) -> list[tuple[str, str]]:
        """(label, path) of every checkpoint this visitor may pick: the shipped one first, then runs, then uploads."""
        visitor = current_visitor()
        out: list[tuple[str, str]] = []
        if self.shipped is not None and self.shipped.is_file():
            out.append((f"shipped: {self.shipped.name}", str(self.shipped)))
        runs_dir = self.visitor_runs(visitor)
        if runs_dir.is_dir():
            runs = (p for p in runs_dir.iterdir() if p.is_dir() and not p.is_symlink() and p.name != "public")
            for run in sorted(runs, key=lambda p: p.stat().st_mtime, reverse=True)[:MAX_RUNS_LISTED]:
                out += run_checkpoints(RunDir(run))
        with self._lock:
            out += [
                (label, path)
                for path, (label, owner) in self._uploads.items()
                if (not self.public or owner == visitor) and Path(path).is_file()
            ]
        return out

    def training_checkpoints(self) -> list[tuple[str, str]]:
        """The step checkpoints of this visitor's runs (what a run can be resumed from)."""
        runs = str(self.visitor_runs())
        return [
            (label, path)
            for label, path in self.choices()
            if RunDir.of_checkpoint(path) is not None and path.startswith(runs)
        ]

    def default(self) -> str | None:
        choices = self.choices()
        return choices[0][1] if choices else None

    def register_upload(self, path: str | Path, name: str | None = None, kind: str = "upload") -> str:
        """Accept an uploaded (or downloaded: ``kind`` "hub") checkpoint after validating it; returns the path to use
        as a dropdown value."""
        path = Path(path)
        shown = str(name or path.name)[:100]
        if path.suffix.lower() != CHECKPOINT_SUFFIX:
            raise StudioError(
                "upload a .safetensors checkpoint written by DCGAN Studio (convert .pth files with `import-pth`)"
            )
        try:
            info = ckpt.read_info(path)  # the header alone first: a lying or oversized header is refused here
            ckpt.load_generator(info)  # then every tensor, checked against the architecture (no pickle ever runs)
        except ckpt.CheckpointError as exc:
            raise StudioError(f"{shown}: {exc}") from None
        except (ValueError, OSError, RuntimeError) as exc:
            raise StudioError(f"{shown} is not a usable checkpoint ({exc})") from None
        with self._lock:
            self._uploads[str(path)] = (f"{kind}: {shown}", current_visitor())
        return str(path)

    def upload_bytes(self) -> int:
        """Bytes of the uploads and Hub downloads registered that are still on disk (they count in the budget)."""
        with self._lock:
            paths = [Path(p) for p in self._uploads]
        return sum(p.stat().st_size for p in paths if p.is_file())

    def resolve(self, value: str | None) -> Path:
        """The checkpoint path for a dropdown value, only if it is one this server offers."""
        if not value:
            value = self.default()
            if value is None:
                raise StudioError("no checkpoint yet: train one in the Train tab or upload a .safetensors file")
        allowed = {path for _, path in self.choices()}
        if not isinstance(value, str) or value not in allowed:
            raise StudioError(f"{str(value)[:200]!r} is not one of the checkpoints this Studio offers")
        path = Path(value)
        if self.shipped is not None and value == str(self.shipped):
            return path
        with self._lock:
            uploaded = value in self._uploads
        if not uploaded and not in_folder(path, self.runs_dir):  # a symlink in runs/ must not lead elsewhere
            raise StudioError(f"{value[:200]!r} leads outside the runs folder")
        return path

    def get(self, value: str | None) -> LoadedModels:
        """The loaded (G, D) of a checkpoint the visitor may pick, loaded once: a caller asking while another loads the
        same file (the warm-up and a page's first-screen handlers, say) waits for that load instead of repeating it."""
        path = self.resolve(value)
        key, mtime = str(path.resolve()), path.stat().st_mtime
        with self._lock:
            hit = self._cached(key, mtime)
            loading = self._loading.setdefault(key, threading.Lock()) if hit is None else None
        if hit is not None:
            return hit
        with loading:  # one load per file: who asks while it loads waits, then finds it cached
            try:
                with self._lock:
                    hit = self._cached(key, mtime)
                return hit or self._load(key, path, mtime)
            finally:
                with self._lock:
                    self._loading.pop(key, None)

    def _load(self, key: str, path: Path, mtime: float) -> LoadedModels:
        try:
            networks = ckpt.load_networks(path)  # one parse of the header for G and D
        except ckpt.CheckpointError as exc:
            raise StudioError(str(exc)) from None
        loaded = LoadedModels(path, mtime, networks.generator, networks.discriminator, networks.generator.config)
        with self._lock:
            self._cache[key] = loaded
            while len(self._cache) > self.max_cached:
                self._cache.popitem(last=False)
        return loaded

    def _cached(self, key: str, mtime: float) -> LoadedModels | None:
        """The cached models of ``key`` if its file has not changed since they were loaded (hold ``_lock``)."""
        hit = self._cache.get(key)
        if hit is None or hit.mtime != mtime:
            return None
        self._cache.move_to_end(key)
        return hit
