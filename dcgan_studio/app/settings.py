"""Every limit of the Studio in one place.

Each value is used twice: as the bound of the widget that sets it, and as a server-side check in the handler (a
client can send anything to an endpoint, so a slider's maximum is a hint, never a guarantee).

Public-demo mode (``PUBLIC``): on when ``DCGAN_STUDIO_PUBLIC=1``, and automatically on a Hugging Face Space
(``SYSTEM=spaces`` or ``SPACE_ID`` set) unless ``DCGAN_STUDIO_PUBLIC=0`` says otherwise. It lowers the heavy limits,
stops each training job after ``MAX_JOB_SECONDS`` (it saves a checkpoint first), caps how many jobs run at once,
refuses server-side folder paths, lowers the upload limit, and keeps each visitor's uploads and runs apart
(common.py / state.py). ``configure(public)`` switches the mode in-process (tests); build the app after it.
"""
from __future__ import annotations

import os
from pathlib import Path

from .. import limits as _limits

ON_SPACES = os.environ.get("SYSTEM") == "spaces" or bool(os.environ.get("SPACE_ID"))


def public_from_env(env=None) -> bool:
    """Public-demo mode from the environment: DCGAN_STUDIO_PUBLIC wins (1/true/yes or 0/false/no), else Spaces."""
    env = os.environ if env is None else env
    flag = str(env.get("DCGAN_STUDIO_PUBLIC", "")).strip().lower()
    if flag in ("1", "true", "yes", "on"):
        return True
    if flag in ("0", "false", "no", "off"):
        return False
    return env.get("SYSTEM") == "spaces" or bool(env.get("SPACE_ID"))


PUBLIC = public_from_env()

# ------------------------------------------------------------------------------------------------------ places
ROOT = Path(__file__).resolve().parents[2]
SHIPPED_CHECKPOINT = Path("checkpoints/digits32.safetensors")  # relative to the working folder (the repo root)
RUNS_DIR = Path("runs")  # runs started from the app go to runs/app-<time>/ (gitignored)
DATA_DIR = Path("data")  # root of torchvision datasets; a set is offered only if its files are here
CHECKPOINT_SUFFIX = ".safetensors"

# ------------------------------------------------------------------------------------------------------ server
DEFAULT_HOST = "127.0.0.1"  # local default; Spaces sets GRADIO_SERVER_NAME=0.0.0.0
DEFAULT_PORT = 7860
DELETE_CACHE = (3600, 3600)  # gr.Blocks(delete_cache=(every s, older than s)): the file cache must not grow forever
MAX_TEXT = 4096  # characters of any free-text field (ids, channel lists, paths) a handler reads
# folders a "folder path" dataset may come from (local mode only): DCGAN_STUDIO_FOLDER_ROOTS (os.pathsep-separated),
# else the data folder. Typed paths are resolved (symlinks too) and must stay inside one of them.
FOLDER_ROOTS = tuple(Path(p) for p in os.environ.get("DCGAN_STUDIO_FOLDER_ROOTS", "").split(os.pathsep) if p.strip())

# ------------------------------------------------------------------------------------------------------ fixed limits
TIMER_INTERVAL_S = 1.0  # how often an open Train tab polls the background job
CHANNELS = (1, 3)
MIN_NZ, MAX_NZ = 2, 512
MIN_LR, MAX_LR = 1e-6, 0.1
MAX_SEED = 2**31 - 1
MAX_LOG_EVERY, MAX_SAMPLE_EVERY = 10_000, 100_000
LOG_TAIL_LINES = 30  # lines of the training log shown
PLOT_MAX_POINTS = 800  # the loss curves are thinned to at most this many steps per series
DEFAULT_SAMPLES = 64
MAX_TRUNCATION = 4.0  # 0 means off
MIN_INTERP_STEPS, MAX_INTERP_STEPS = 2, 48
MAX_SLOT_ITEMS = 8  # samples per arithmetic slot (the paper averages 3)
MAX_NEIGHBOURS = 16  # result + neighbours row
MAX_NOISE_SCALE = 2.0
MAX_POOL = 96  # samples a session keeps in its gallery (newest first)
MAX_REGISTRY = 20_000  # server-made samples remembered in all (oldest forgotten first)
MAX_RESTARTS = 16
MAX_PROJECT_PIXELS = 4096 * 4096  # uploaded images larger than this are refused before decoding them fully
MAX_ABLATE_CHANNELS = 1024
MAX_FEATURE_CHANNELS = 64  # channels drawn per activation grid
THUMB_SCALE = 2  # gallery thumbnails are drawn this many times larger (nearest neighbour), so they stay crisp
DISPLAY_MIN_SIDE = 256  # single images are enlarged to at least this side for display
MAX_VISITORS = 10_000  # browser sessions remembered (public mode: session -> visitor id)
MAX_KEPT_JOBS = 64  # ended jobs kept for their visitors to look at (public mode); the oldest are forgotten


def configure(public: bool) -> None:
    """Set the limits that depend on the mode (module globals, read by widgets when built and by handlers per call)."""
    g = globals()
    g["PUBLIC"] = bool(public)
    g["MAX_UPLOAD_MB"] = 16 if public else 64  # launch(max_file_size=...): bigger uploads get HTTP 413
    g["MAX_FILE_SIZE"] = f"{g['MAX_UPLOAD_MB']}mb"
    g["ALLOW_FOLDER_PATH"] = not public  # reading a server-side folder by path is for a local Studio only
    g["IMAGE_SIZES"] = (32, 64) if public else (32, 64, 128)
    g["MIN_WIDTH"], g["MAX_WIDTH"] = 4, 64 if public else 256  # ngf / ndf
    g["MAX_BATCH"] = 128 if public else 1024
    g["MAX_EPOCHS"] = 50 if public else 10_000
    g["MAX_STEPS"] = 3_000 if public else 1_000_000  # "max steps" box; 0 means "no limit besides epochs"
    # a public job is stopped (and saved) after this long, paused time included; None: no limit
    g["MAX_JOB_SECONDS"] = float(os.environ.get("DCGAN_STUDIO_MAX_JOB_SECONDS", 600)) if public else None
    g["MAX_JOBS"] = int(os.environ.get("DCGAN_STUDIO_MAX_JOBS", 2)) if public else 1  # jobs running at once
    g["MAX_SAMPLES"] = 64 if public else 256  # images per Sample call
    g["MAX_PROJECT_STEPS"] = 300 if public else 1000


configure(PUBLIC)


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
