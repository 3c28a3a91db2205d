"""Every limit of the Studio in one place.

Each value is used twice: as the bound of the widget that sets it, and as a server-side check in the handler (a
client can send anything to an endpoint, so a slider's maximum is a hint, never a guarantee). On a Hugging Face
Space (``SYSTEM=spaces``) the heavy limits are lower: the free CPU is shared and small.
"""
from __future__ import annotations

import os
from pathlib import Path

ON_SPACES = os.environ.get("SYSTEM") == "spaces"

# ------------------------------------------------------------------------------------------------------ places
ROOT = Path(__file__).resolve().parents[2]
SHIPPED_CHECKPOINT = Path("checkpoints/digits32.safetensors")  # relative to the working folder (the repo root)
RUNS_DIR = Path("runs")  # runs started from the app go to runs/app-<time>/ (gitignored)
DATA_DIR = Path("data")  # root of torchvision datasets; a set is offered only if its files are here
CHECKPOINT_SUFFIX = ".safetensors"

# ------------------------------------------------------------------------------------------------------ server
DEFAULT_HOST = "127.0.0.1"  # local default; Spaces sets GRADIO_SERVER_NAME=0.0.0.0
DEFAULT_PORT = 7860
MAX_UPLOAD_MB = 64  # launch(max_file_size=...): bigger uploads get HTTP 413
MAX_FILE_SIZE = f"{MAX_UPLOAD_MB}mb"
DELETE_CACHE = (3600, 3600)  # gr.Blocks(delete_cache=(every s, older than s)): the file cache must not grow forever
ALLOW_FOLDER_PATH = not ON_SPACES  # reading a server-side folder by path is for a local Studio only

# ------------------------------------------------------------------------------------------------------ training
TIMER_INTERVAL_S = 1.0  # how often an open Train tab polls the background job
IMAGE_SIZES = (32, 64) if ON_SPACES else (32, 64, 128)
CHANNELS = (1, 3)
MIN_WIDTH, MAX_WIDTH = 4, 64 if ON_SPACES else 256  # ngf / ndf
MIN_NZ, MAX_NZ = 2, 512
MAX_BATCH = 256 if ON_SPACES else 1024
MAX_EPOCHS = 200 if ON_SPACES else 10_000
MAX_STEPS = 20_000 if ON_SPACES else 1_000_000  # "max steps" box; 0 means "no limit besides epochs"
MIN_LR, MAX_LR = 1e-6, 0.1
MAX_SEED = 2**31 - 1
LOG_TAIL_LINES = 30  # lines of the training log shown
PLOT_MAX_POINTS = 800  # the loss curves are thinned to at most this many steps per series

# ------------------------------------------------------------------------------------------------------ latent tabs
MAX_SAMPLES = 128 if ON_SPACES else 256  # images per Sample call
DEFAULT_SAMPLES = 64
MAX_TRUNCATION = 4.0  # 0 means off
MIN_INTERP_STEPS, MAX_INTERP_STEPS = 2, 48
MAX_SLOT_ITEMS = 8  # samples per arithmetic slot (the paper averages 3)
MAX_NEIGHBOURS = 16  # result + neighbours row
MAX_NOISE_SCALE = 2.0
MAX_POOL = 96  # samples a session keeps in its gallery (newest first)
MAX_REGISTRY = 20_000  # server-made samples remembered in all (oldest forgotten first)
MAX_PROJECT_STEPS = 300 if ON_SPACES else 1000
MAX_RESTARTS = 16
MAX_PROJECT_PIXELS = 4096 * 4096  # uploaded images larger than this are refused before decoding them fully
MAX_ABLATE_CHANNELS = 1024
MAX_FEATURE_CHANNELS = 64  # channels drawn per activation grid
THUMB_SCALE = 2  # gallery thumbnails are drawn this many times larger (nearest neighbour), so they stay crisp
DISPLAY_MIN_SIDE = 256  # single images are enlarged to at least this side for display


def check_int(name: str, value, lo: int, hi: int) -> int:
    """``value`` as an int within [lo, hi], or a ValueError naming the field and the bounds."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a whole number, got {value!r}") from None
    if float(value) != number:
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    if not lo <= number <= hi:
        raise ValueError(f"{name} must be between {lo} and {hi}, got {number}")
    return number


def check_float(name: str, value, lo: float, hi: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not lo <= number <= hi:  # also refuses NaN
        raise ValueError(f"{name} must be between {lo} and {hi}, got {number}")
    return number
