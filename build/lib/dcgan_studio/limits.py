"""Every bound of the core in one place: the numbers that keep one call from exhausting memory or time.

The core checks these whatever calls it (CLI, app, a notebook). They are generous: the Studio's own
``dcgan_studio/app/settings.py`` sets tighter, per-widget limits (lower still on a public Space) inside these, and a
local user of the core can do anything that fits a big machine. Nothing here imports torch, so config.py can use it.
"""

from __future__ import annotations

import math

# ------------------------------------------------------------------------------------------------------ models
# One network above this many parameters needs > 4 GB of float32 weights before Adam's two moments: refused, so a
# typed width or a checkpoint's metadata cannot ask for a model that fills the machine. (ngf=256 at 128 px, the
# Studio's local maximum, is ~184M; ngf=1024 at 128 px would be ~2.9G.)
MAX_PARAMS_PER_NETWORK = 1_000_000_000

# ------------------------------------------------------------------------------------------------------ training
MAX_SEED = 2**32 - 1  # seeds are 0..2^32-1 (the app allows 0..2^31-1); epoch orders derive 64-bit seeds from them
MAX_BATCH = 4096
MAX_EPOCHS = 100_000
MAX_STEPS = 100_000_000
MAX_N_FIXED = 1024  # fixed-noise grid images
MAX_EVERY = 100_000_000  # log/sample/checkpoint intervals in steps
MAX_KEEP_CHECKPOINTS = 10_000
MAX_NAN_ROLLBACKS = 10
MAX_NUM_WORKERS = 256  # DataLoader worker processes for a streamed dataset

# ------------------------------------------------------------------------------------------------------ latent ops
MAX_LATENT_SAMPLES = 65_536  # z vectors per call (FID/IS evaluation draws up to 50k; the app at most 256)
MIN_TRUNCATION, MAX_TRUNCATION = 0.05, 10.0  # below 0.05 the redraw loop would spin (almost every draw is outside)
MAX_INTERP_STEPS = 1024  # the app allows 48, the CLI 64
MAX_NEIGHBOURS = 1024  # the app allows 16
MAX_PROJECT_STEPS = 10_000  # the app allows 1000 (300 on Spaces)
MAX_PROJECT_RESTARTS = 64  # the app allows 16

# ------------------------------------------------------------------------------------------------------ uploads
ZIP_MAX_MEMBERS = 100_000
ZIP_MAX_MEMBER_BYTES = 64 * 1024**2  # uncompressed size of one member
ZIP_MAX_TOTAL_BYTES = 2 * 1024**3  # uncompressed size of all the images read from one archive
ZIP_MAX_RATIO = 200.0  # uncompressed / compressed per member (images barely compress; bombs compress 1000x)
ZIP_RATIO_MIN_BYTES = 1024**2  # the ratio rule applies above this size (a small flat BMP may compress 500x, harmlessly)
MAX_IMAGE_PIXELS = 40_000_000  # per decoded image, checked from its header before decoding (the app: 4096^2)
ZIP_MAX_TOTAL_PIXELS = None  # decoded pixels per archive, summed from headers (None: off; a public Studio: 256M)
ZIP_MAX_SECONDS = None  # seconds spent reading one archive, checked between members (None: off; a public Studio: 60)


def check_int(name: str, value, lo: int, hi: int) -> int:
    """``value`` as an int in [lo, hi] (integral floats such as 64.0 are accepted), else a ``ValueError``."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    if isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            raise ValueError(f"{name} must be a whole number, got {value!r}")
        value = int(value)
    if not isinstance(value, int):
        try:
            value = int(value)  # numpy ints, torch scalars
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a whole number, got {value!r}") from None
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be between {lo} and {hi}, got {value}")
    return value


def check_float(name: str, value, lo: float, hi: float) -> float:
    """``value`` as a finite float in [lo, hi], else a ``ValueError`` (NaN is refused)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not lo <= number <= hi:  # also false for NaN
        raise ValueError(f"{name} must be between {lo} and {hi}, got {number}")
    return number


def parameter_count(image_size: int, channels: int, nz: int, ngf: int, ndf: int) -> tuple[int, int]:
    """(G, D) parameter counts of the Radford architecture in models.py, without building it."""
    n = int(math.log2(image_size)) - 2  # stride-2 stages after the 4x4 projection
    width = ngf * 2 ** (n - 1)
    g = nz * width * 16 + 2 * width  # projection + its batch norm
    for _ in range(n - 1):
        g += width * (width // 2) * 16 + 2 * (width // 2)
        width //= 2
    g += width * channels * 16
    width = ndf
    d = channels * width * 16
    for _ in range(n - 1):
        d += width * width * 2 * 16 + 2 * (width * 2)
        width *= 2
    d += width * 16
    return g, d
