"""Server-side state of the Studio, shared by every visitor of one app (a ``Studio`` holds one of each).

* ``JobRegistry``: the background training job(s). It lives in the Trainer's own thread, outside any request, so a
  page reload or a second tab re-attaches to it (``demo.load`` reads it) instead of starting or losing a run.
* ``SampleRegistry``: every latent vector the server made (sampled, projected, computed), keyed by an opaque random id.
  A gallery thumbnail is written as ``s_<id>.png``, so what a browser drop sends (the thumbnail's URL) maps back to
  a server sample; anything else is refused. z vectors never come from the client.
* ``ModelStore``: the checkpoints a visitor may pick (the shipped file, runs' checkpoints, uploads the server
  registered) and a small cache of loaded models. A dropdown value is client-controlled too, so it is checked
  against that list before a file is opened.
* Visitors: in local mode every request is the one visitor ``LOCAL`` (one shared job, re-attached on reload). In
  public-demo mode (settings.PUBLIC) each visitor has an id (a random token kept in the browser's BrowserState, or
  the gradio_client session for API callers); a handler runs ``with visiting(id)`` and the job registry, the
  checkpoint list and the run folders are then that visitor's own.
"""
from __future__ import annotations

import atexit
import contextlib
import contextvars
import hashlib
import os
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


# ---------------------------------------------------------------------------------------------------- visitors

LOCAL = "local"  # the one visitor of a local Studio
VISITOR_ID_RE = re.compile(r"[0-9a-f]{32}")
_VISITOR: contextvars.ContextVar[str] = contextvars.ContextVar("dcgan_studio_visitor", default=LOCAL)


def current_visitor() -> str:
    return _VISITOR.get()


@contextlib.contextmanager
def visiting(visitor: str | None):
    """Run the enclosed code on behalf of ``visitor`` (the job, checkpoints and run folders it sees)."""
    token = _VISITOR.set(visitor or LOCAL)
    try:
        yield
    finally:
        _VISITOR.reset(token)


def visitor_key(visitor: str) -> str:
    """A folder-safe name for a visitor that does not reveal the id itself (ids are bearer secrets)."""
    return LOCAL if visitor == LOCAL else hashlib.sha256(visitor.encode()).hexdigest()[:20]


def new_visitor_id() -> str:
    return secrets.token_hex(16)


class SessionMap:
    """Public mode: which visitor a Gradio session belongs to (a page reload is a new session, same visitor)."""

    def __init__(self, max_items: int = settings.MAX_VISITORS):
        self._map: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()
        self.max_items = max_items

    def bind(self, session_hash: str, visitor: str) -> None:
        with self._lock:
            self._map[session_hash] = visitor
            self._map.move_to_end(session_hash)
            while len(self._map) > self.max_items:
                self._map.popitem(last=False)

    def get(self, session_hash: str | None) -> str | None:
        with self._lock:
            return self._map.get(session_hash) if session_hash else None


def in_folder(path: Path, root: Path) -> bool:
    """Whether ``path`` resolves (symlinks followed) to ``root`` or something inside it."""
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except (ValueError, OSError, RuntimeError):
        return False


def safe_folder(text, roots: list[Path]) -> Path:
    """A folder path a user typed, only if it resolves inside one of ``roots``: no ``..``, no NUL, no absolute
    path elsewhere, symlinks resolved. Relative paths are taken relative to the first root."""
    text = settings.check_text("folder", text).strip()
    if not text:
        raise StudioError("type a folder path")
    if "\x00" in text or ".." in Path(text).parts:
        raise StudioError(f"{text[:200]!r}: '..' and control characters are not allowed in a folder path")
    if not roots:
        raise StudioError("folder paths are disabled on this server")
    path = Path(text).expanduser() if text.startswith("~") else Path(text)
    if not path.is_absolute():
        path = roots[0] / path
    for root in roots:
        if in_folder(path, root):
            resolved = path.resolve()
            if not resolved.is_dir():
                raise StudioError(f"{text[:200]!r} is not a folder on the server")
            return resolved
    allowed = ", ".join(str(r) for r in roots)
    raise StudioError(f"{text[:200]!r} is outside the folders datasets may come from ({allowed})")


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
    """Which checkpoints may be opened, and a small LRU cache of loaded (G, D) pairs.

    In public mode (``public=True``) a visitor (``current_visitor()``) is offered the shipped file, the runs under
    their own run folder and their own uploads only; locally everyone sees every run and upload."""

    def __init__(self, shipped: Path | None, runs_dir: Path, max_cached: int = 4, public: bool = False):
        self.shipped = Path(shipped) if shipped else None
        self.runs_dir = Path(runs_dir)
        self.public = public
        self._uploads: dict[str, tuple[str, str]] = {}  # path -> (label, visitor who uploaded it)
        self._cache: OrderedDict[str, LoadedModels] = OrderedDict()
        self._lock = threading.Lock()
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
            runs = sorted((p for p in runs_dir.iterdir() if p.is_dir() and not p.is_symlink() and p.name != "public"),
                          key=lambda p: p.stat().st_mtime, reverse=True)
            for run in runs[:50]:
                gen = run / "generator.safetensors"
                if gen.is_file():
                    out.append((f"{run.name}: generator", str(gen)))
                for step in sorted((run / "checkpoints").glob("step_*.safetensors"), reverse=True):
                    out.append((f"{run.name}: {step.stem}", str(step)))
        with self._lock:
            out += [(label, path) for path, (label, owner) in self._uploads.items()
                    if (not self.public or owner == visitor) and Path(path).is_file()]
        return out

    def training_checkpoints(self) -> list[tuple[str, str]]:
        runs = str(self.visitor_runs())
        return [(label, path) for label, path in self.choices() if "step_" in Path(path).name and path.startswith(runs)]

    def default(self) -> str | None:
        choices = self.choices()
        return choices[0][1] if choices else None

    def register_upload(self, path: str | Path, name: str | None = None) -> str:
        """Accept an uploaded checkpoint after validating it; returns the path to use as a dropdown value."""
        path = Path(path)
        if path.suffix.lower() != settings.CHECKPOINT_SUFFIX:
            raise StudioError("upload a .safetensors checkpoint written by DCGAN Studio (convert .pth files with `import-pth`)")
        try:
            ckpt.read_metadata(path)  # the header alone first: a lying or oversized header is refused here
            ckpt.load_generator(path)  # then every tensor, checked against the architecture (no pickle ever runs)
        except ckpt.CheckpointError as exc:
            raise StudioError(f"{str(name or path.name)[:100]}: {exc}") from None
        except (ValueError, OSError, RuntimeError) as exc:
            raise StudioError(f"{str(name or path.name)[:100]} is not a usable checkpoint ({exc})") from None
        with self._lock:
            self._uploads[str(path)] = (f"upload: {str(name or path.name)[:100]}", current_visitor())
        return str(path)

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


@dataclass
class Job:
    trainer: Trainer
    visitor: str
    started_at: float
    time_limit_s: float | None = None
    stop_requested: bool = False  # set under the registry lock: once Stop is pressed, Pause/Resume are refused
    timed_out: bool = False  # stopped by the public-mode time limit
    timer: threading.Timer | None = None


class JobRegistry:
    """The training jobs: one per visitor (locally there is one visitor, so one job for the whole process).

    Every state change (start, pause, resume, stop, the time limit) happens under one lock, so presses from several
    tabs or clients at once are applied one after another: at most one live job per visitor, at most ``max_jobs``
    live jobs in all, and a Pause that arrives after a Stop is refused instead of pausing a stopping run forever."""

    def __init__(self, max_jobs: int | None = None) -> None:
        self._lock = threading.RLock()
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self.max_jobs = max_jobs  # None: settings.MAX_JOBS at the time of the call

    # ------------------------------------------------------------------ reading
    def job(self, visitor: str | None = None) -> Job | None:
        with self._lock:
            return self._jobs.get(visitor or current_visitor())

    def current(self, visitor: str | None = None) -> Trainer | None:
        job = self.job(visitor)
        return job.trainer if job is not None else None

    @property
    def trainer(self) -> Trainer | None:
        return self.current()

    def active(self, visitor: str | None = None) -> bool:
        trainer = self.current(visitor)
        return trainer is not None and trainer.is_alive

    def live_count(self) -> int:
        with self._lock:
            return sum(1 for j in self._jobs.values() if j.trainer.is_alive)

    # ------------------------------------------------------------------ changing
    def start(
        self,
        model_config: ModelConfig,
        train_config: TrainConfig,
        runs_dir: Path,
        resume_from: str | Path | None = None,
        run_dir: Path | None = None,
        visitor: str | None = None,
        time_limit_s: float | None = None,
        dataset=None,
    ) -> Trainer:
        visitor = visitor or current_visitor()
        with self._lock:
            mine = self._jobs.get(visitor)
            if mine is not None and mine.trainer.is_alive:
                raise StudioError("a training run is already in progress: stop it first (the page shows it after a reload too)")
            max_jobs = self.max_jobs if self.max_jobs is not None else settings.MAX_JOBS
            live = self.live_count()
            if live >= max_jobs:
                limit = f"; each stops after {settings.MAX_JOB_SECONDS / 60:.0f} min" if settings.MAX_JOB_SECONDS else ""
                raise StudioError(f"the server is busy: {live} training run(s) in progress (at most {max_jobs}{limit}). "
                                  "Try again in a few minutes.")
            if run_dir is None:
                run_dir = unique_run_dir(Path(runs_dir))
            trainer = Trainer(model_config, train_config, run_dir=run_dir, resume_from=resume_from, dataset=dataset)
            job = Job(trainer, visitor, time.time(), time_limit_s)
            if time_limit_s:
                job.timer = threading.Timer(time_limit_s, self._time_up, args=(job,))
                job.timer.daemon = True
            trainer.start()
            if job.timer is not None:
                job.timer.start()
            if mine is not None and mine.timer is not None:
                mine.timer.cancel()
            self._jobs.pop(visitor, None)
            self._jobs[visitor] = job
            self._forget_old()
            return trainer

    def control(self, action: str, visitor: str | None = None) -> str:
        """Pause, resume or stop the visitor's job; a message for the user. Serialised with every other change."""
        if action not in ("pause", "resume", "stop"):
            raise StudioError(f"unknown action {str(action)[:40]!r}")
        with self._lock:
            job = self._jobs.get(visitor or current_visitor())
            if job is None or not job.trainer.is_alive:
                raise StudioError("no training run is in progress")
            if job.stop_requested:
                if action == "stop":
                    return "stop already requested"
                raise StudioError("the run is stopping (Stop was pressed): it cannot be paused or resumed now")
            if action == "stop":
                job.stop_requested = True
                job.trainer.stop()
            elif action == "pause":
                job.trainer.pause()
            else:
                job.trainer.resume()
            return f"{action} requested"

    def _time_up(self, job: Job) -> None:
        with self._lock:
            if job.trainer.is_alive and not job.stop_requested:
                job.timed_out = True
                job.stop_requested = True
                job.trainer.stop()  # saves a checkpoint, then ends as "stopped"

    def _forget_old(self) -> None:
        """Keep at most MAX_KEPT_JOBS jobs (live ones always): an ended run's model and data are let go."""
        ended = [v for v, j in self._jobs.items() if not j.trainer.is_alive]
        for visitor in ended[: max(0, len(self._jobs) - settings.MAX_KEPT_JOBS)]:
            self._jobs.pop(visitor, None)

    def stop_and_wait(self, timeout: float = 30.0) -> None:
        """Stop every job and wait for them (tests, shutdown)."""
        with self._lock:
            jobs = list(self._jobs.values())
            for job in jobs:
                if job.timer is not None:
                    job.timer.cancel()
                if job.trainer.is_alive:
                    job.stop_requested = True
                    job.trainer.stop()
        for job in jobs:
            job.trainer.join(timeout)


def unique_run_dir(runs_dir: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    run_dir = runs_dir / f"app-{stamp}"
    n = 1
    while run_dir.exists():
        n += 1
        run_dir = runs_dir / f"app-{stamp}-{n}"
    return run_dir



def clear_folder(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
