"""Every limit of the Studio in one frozen object, ``Limits``, carried by the ``Studio`` (``studio.limits``).

Each bound is used twice: as the bound of the widget that sets it, and as a server-side check in the handler (a
client can send anything to an endpoint, so a slider's maximum is a hint, never a guarantee).

Public-demo mode (``Limits.public``): on when ``DCGAN_STUDIO_PUBLIC=1``, and automatically on a Hugging Face Space
(``SYSTEM=spaces`` or ``SPACE_ID`` set) unless ``DCGAN_STUDIO_PUBLIC=0`` says otherwise. It lowers the heavy limits,
stops each training job after ``max_job_seconds`` (``DCGAN_STUDIO_MAX_JOB_SECONDS``; it saves a checkpoint first),
caps how many jobs run at once (``DCGAN_STUDIO_MAX_JOBS``), refuses server-side folder paths, lowers the upload
limit, keeps each visitor's uploads and runs apart, and keeps them within a disk budget
(``DCGAN_STUDIO_PUBLIC_DISK_MB``, default 2048: the oldest finished runs go first) and removes visitor folders left
by a restart once nothing was written in them for ``DCGAN_STUDIO_PUBLIC_GRACE_HOURS`` (default 24; see
disk_budget.py). ``Limits.from_env()`` reads the environment once, when an app is built; ``Limits.for_mode(public)``
builds either mode (tests build one app of each).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .. import limits as _limits
from ..safe_zip import ZipLimits

# ------------------------------------------------------------------------------------------------------ places
SHIPPED_CHECKPOINT = Path("checkpoints/digits32.safetensors")  # relative to the working folder (the repo root)
RUNS_DIR = Path("runs")  # runs started from the app go to runs/app-<time>/ (gitignored)
DATA_DIR = Path("data")  # root of torchvision datasets; a set is offered only if its files are here
CHECKPOINT_SUFFIX = ".safetensors"

# ------------------------------------------------------------------------------------------------------ server
DEFAULT_HOST = "127.0.0.1"  # local default; Spaces sets GRADIO_SERVER_NAME=0.0.0.0
DEFAULT_PORT = 7860
DELETE_CACHE = (3600, 3600)  # gr.Blocks(delete_cache=(every s, older than s)): the file cache must not grow forever
MAX_TEXT = 4096  # characters of any free-text field (ids, channel lists, paths) a handler reads


def public_from_env(env: Mapping[str, str] | None = None) -> bool:
    """Public-demo mode from the environment: DCGAN_STUDIO_PUBLIC wins (1/true/yes or 0/false/no), else Spaces."""
    env = os.environ if env is None else env
    flag = str(env.get("DCGAN_STUDIO_PUBLIC", "")).strip().lower()
    if flag in ("1", "true", "yes", "on"):
        return True
    if flag in ("0", "false", "no", "off"):
        return False
    return env.get("SYSTEM") == "spaces" or bool(env.get("SPACE_ID"))


def folder_roots_from_env(env: Mapping[str, str] | None = None) -> tuple[Path, ...]:
    """Folders a "folder path" dataset may come from (local mode): DCGAN_STUDIO_FOLDER_ROOTS, os.pathsep-separated
    (empty: the data folder). Typed paths are resolved (symlinks too) and must stay inside one of them."""
    env = os.environ if env is None else env
    return tuple(Path(p) for p in env.get("DCGAN_STUDIO_FOLDER_ROOTS", "").split(os.pathsep) if p.strip())


@dataclass(frozen=True)
class Limits:
    """The bounds of one Studio. The defaults are a local Studio's; ``for_mode(True)`` lowers the heavy ones."""

    public: bool = False  # public-demo mode: per-visitor jobs, runs and uploads, lower caps
    # --- the limits that depend on the mode
    max_upload_mb: int = 64  # launch(max_file_size=...): bigger uploads get HTTP 413
    allow_folder_path: bool = True  # reading a server-side folder by path is for a local Studio only
    folder_roots: tuple[Path, ...] = ()  # where typed folder paths may lead (empty: the data folder)
    image_sizes: tuple[int, ...] = (32, 64, 128)
    min_width: int = 4  # ngf / ndf
    max_width: int = 256
    max_batch: int = 1024
    max_epochs: int = 10_000
    max_steps: int = 1_000_000  # "max steps" box; 0 means "no limit besides epochs"
    max_job_seconds: float | None = None  # a public job is stopped (and saved) after this long, paused time included
    max_jobs: int = 1  # jobs running at once
    light_concurrency: int = 8  # page loads (first screens) and slider moves handled at once
    start_concurrency: int = 2  # Start / resume requests handled at once (each may read an upload)
    max_jobs_per_client: int = 1  # public mode: jobs running at once from one address (one API client cannot hold all)
    trust_forwarded: bool = False  # the client address is X-Forwarded-For's first entry (behind the Space's proxy)
    max_samples: int = 256  # images per Sample call
    max_project_steps: int = 1000
    # --- fixed limits
    channels: tuple[int, ...] = (1, 3)
    min_nz: int = 2
    max_nz: int = 512
    min_lr: float = 1e-6
    max_lr: float = 0.1
    max_seed: int = 2**31 - 1
    max_label_smoothing: float = 0.45  # the core allows [0, 0.5)
    max_instance_noise: float = 1.0  # std on images in [-1, 1]; the core allows up to 10
    max_log_every: int = 10_000
    max_sample_every: int = 100_000
    max_truncation: float = 4.0  # 0 means off
    min_interp_steps: int = 2
    max_interp_steps: int = 48
    max_slot_items: int = 8  # samples per arithmetic slot (the paper averages 3)
    max_neighbours: int = 16  # result + neighbours row
    max_noise_scale: float = 2.0
    max_restarts: int = 16
    max_project_pixels: int = 4096 * 4096  # uploaded images larger than this are refused before decoding them fully
    max_ablate_channels: int = 1024
    max_feature_channels: int = 64  # channels drawn per activation grid
    max_pool: int = 96  # samples a session keeps in its gallery (newest first)
    max_registry: int = 20_000  # server-made samples remembered in all (oldest forgotten first)
    max_visitors: int = 10_000  # browser sessions remembered (public mode: session -> visitor id)
    max_kept_jobs: int = 64  # ended jobs kept for their visitors to look at (public mode); the oldest are forgotten
    public_disk_mb: int = 0  # public mode: MB for visitors' runs and uploads (0 = no budget)
    public_grace_hours: float = 24.0  # public mode: at start-up, visitor run folders untouched this long are removed
    # --- display
    timer_interval_s: float = 1.0  # how often an open Train tab polls the background job
    log_tail_lines: int = 30  # lines of the training log shown
    plot_max_points: int = 800  # the loss curves are thinned to at most this many steps per series
    thumb_scale: int = 2  # gallery thumbnails are drawn this many times larger (nearest neighbour): crisp

    @property
    def max_file_size(self) -> str:
        return f"{self.max_upload_mb}mb"

    @classmethod
    def for_mode(cls, public: bool, env: Mapping[str, str] | None = None) -> Limits:
        """Local or public-demo limits; the public job time and job count come from ``env`` (os.environ)."""
        env = os.environ if env is None else env
        if not public:
            return cls(folder_roots=folder_roots_from_env(env))
        return cls(
            public=True,
            max_upload_mb=16,
            allow_folder_path=False,
            image_sizes=(32, 64),
            max_width=64,
            max_batch=128,
            max_epochs=100,  # the shipped presets fit (quick: 60 epochs, 840 steps); max_steps and the time bound
            max_steps=3_000,
            max_samples=64,
            max_project_steps=300,
            max_job_seconds=float(env.get("DCGAN_STUDIO_MAX_JOB_SECONDS", 600)),
            max_jobs=int(env.get("DCGAN_STUDIO_MAX_JOBS", 2)),
            max_jobs_per_client=int(env.get("DCGAN_STUDIO_MAX_JOBS_PER_CLIENT", 1)),
            trust_forwarded=env.get("SYSTEM") == "spaces" or bool(env.get("SPACE_ID")),
            public_disk_mb=int(env.get("DCGAN_STUDIO_PUBLIC_DISK_MB", 2048)),
            public_grace_hours=float(env.get("DCGAN_STUDIO_PUBLIC_GRACE_HOURS", 24)),
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Limits:
        """The mode and limits the environment asks for (see the module docstring)."""
        return cls.for_mode(public_from_env(env), env)


def check_int(name: str, value, lo: int, hi: int) -> int:
    """``value`` as an int within [lo, hi], or a ValueError naming the field and the bounds (inf/NaN/bools too)."""
    return _limits.check_int(name, value, lo, hi)


def check_float(name: str, value, lo: float, hi: float) -> float:
    """``value`` as a finite float within [lo, hi], or a ValueError (NaN is refused)."""
    return _limits.check_float(name, value, lo, hi)


def check_text(name: str, value, max_chars: int = MAX_TEXT) -> str:
    """A free-text field as a str of at most ``max_chars`` characters ('' for None)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"{name} must be text")
    if len(value) > max_chars:
        raise ValueError(f"{name} is too long ({len(value)} characters; at most {max_chars})")
    return value


def zip_limits(limits: Limits) -> ZipLimits:
    """The limits on every uploaded zip the Studio reads (Train and Evaluate alike): the core's locally, tighter in
    public mode, where the zip is decoded inside a visitor's request on a small shared machine."""
    if not limits.public:
        return ZipLimits()
    # A Space (CPU basic: 2 cores, 16 GB) reads a few zips at once (two starts, one evaluation). Per image 4096^2
    # pixels, as for a projected photo: a few hundred MB at most while one RGBA image is decoded, composited and
    # resized (only the small resized tensor is kept). Per zip 256 Mi pixels: 10,000 images of 128x128 take 164M,
    # 1,000 of 512x512 262M, and decoding them takes seconds, not minutes. 60 s of wall time per zip, so slow
    # images within the pixel budget still end the request; the 16 MB upload cap and 10,000 members bound the rest.
    return ZipLimits(
        max_members=10_000,
        max_member_bytes=16 * 1024**2,
        max_total_bytes=256 * 1024**2,
        max_pixels=4096 * 4096,
        max_total_pixels=256 * 1024**2,
        max_seconds=60.0,
    )
