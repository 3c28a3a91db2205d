"""FID and Inception Score with torchmetrics (which uses torch-fidelity's Inception v3), only when the Inception
weights are already on this machine. Nothing here ever downloads: without the weights (or without the libraries)
the result says exactly what to install or where to put the file, and the offline digits classifier scores stand in.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import torch

from ..data import resize_uint8

WEIGHTS_FILE = "weights-inception-2015-12-05-6726825d.pth"  # torch-fidelity's FID Inception v3 (2015-12-05 TF port)
WEIGHTS_URL = "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/" + WEIGHTS_FILE
ENV_VAR = "DCGAN_STUDIO_INCEPTION_WEIGHTS"


def hub_weights_path() -> Path:
    """Where torch-fidelity looks for the weights before it would download them (the torch hub cache)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / WEIGHTS_FILE


def find_weights(path: str | Path | None = None) -> Path | None:
    for candidate in (path, os.environ.get(ENV_VAR), hub_weights_path()):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def how_to_enable() -> str:
    return (
        "FID / IS (Inception v3) are off: they need `pip install torchmetrics torch-fidelity` and the Inception "
        f"weights file {WEIGHTS_FILE} (from {WEIGHTS_URL}) on this machine, either in the torch hub cache "
        f"({hub_weights_path()}) or given with --inception-weights PATH (or the {ENV_VAR} environment variable). "
        "Nothing is downloaded automatically; the digits-classifier scores below are the offline stand-in."
    )


def status(path: str | Path | None = None) -> dict:
    missing = [m for m in ("torchmetrics", "torch_fidelity") if importlib.util.find_spec(m) is None]
    weights = find_weights(path)
    available = not missing and weights is not None
    return {
        "available": available,
        "missing_packages": missing,
        "weights": str(weights) if weights else None,
        "message": None if available else how_to_enable(),
    }


def fid_is(
    real_uint8: torch.Tensor, fake_uint8: torch.Tensor, weights: str | Path | None = None, batch_size: int = 64
) -> dict:
    """FID (real vs fake) and IS (fake) with the local Inception weights; ``available`` False with a message
    when they cannot be computed offline."""
    info = status(weights)
    if not info["available"]:
        return info
    from torchmetrics.image.fid import FrechetInceptionDistance

    def rgb(x: torch.Tensor) -> torch.Tensor:
        return resize_uint8(x.cpu(), x.shape[-1], 3)

    fid = FrechetInceptionDistance(feature=2048, feature_extractor_weights_path=info["weights"])
    for i in range(0, len(real_uint8), batch_size):
        fid.update(rgb(real_uint8[i : i + batch_size]), real=True)
    for i in range(0, len(fake_uint8), batch_size):
        fid.update(rgb(fake_uint8[i : i + batch_size]), real=False)
    out = {**info, "fid": float(fid.compute())}
    if Path(info["weights"]) == hub_weights_path():  # torchmetrics' IS reads the weights from the hub cache only
        from torchmetrics.image.inception import InceptionScore

        score = InceptionScore()
        for i in range(0, len(fake_uint8), batch_size):
            score.update(rgb(fake_uint8[i : i + batch_size]))
        mean, std = score.compute()
        out["inception_score"] = {"mean": float(mean), "std": float(std)}
    else:
        out["inception_score"] = None
        out["message"] = f"IS skipped: torchmetrics' InceptionScore reads the weights only from {hub_weights_path()}"
    return out
