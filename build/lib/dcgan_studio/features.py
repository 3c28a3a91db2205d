"""Looking inside the networks: the activations of every layer of D and G, and D's first-layer filters.

Activations are captured with forward hooks on each layer's nonlinearity, so the models stay exactly as trained.
"""

from __future__ import annotations

import torch
from torch import nn

from .data import to_unit_range
from .models import activation_layers
from .plots import grid_uint8, upscale


@torch.no_grad()
def layer_activations(model: nn.Module, x: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
    """[(layer name, activation (N, C, H, W))] for every layer of ``model`` (G: z in; D: images in [-1, 1])."""
    model.eval()
    captured: list[tuple[str, torch.Tensor]] = []
    handles = []
    for name, module in activation_layers(model):
        kind = type(module).__name__
        handles.append(
            module.register_forward_hook(
                lambda _m, _i, out, n=f"{name} ({kind})": captured.append((n, out.detach().cpu().clone()))
            )
        )
    try:
        model(x.to(next(model.parameters()).device))
    finally:
        for h in handles:
            h.remove()
    return captured


def discriminator_activations(discriminator: nn.Module, images_uint8: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
    return layer_activations(discriminator, to_unit_range(images_uint8))


def stretch_to_uint8(x: torch.Tensor) -> torch.Tensor:
    """Each entry along the first dimension (a channel, a filter) stretched on its own to 0..255, as uint8, so weak
    channels stay visible."""
    flat = x.flatten(1)
    shape = (-1,) + (1,) * (x.dim() - 1)
    lo, hi = flat.min(1).values.view(shape), flat.max(1).values.view(shape)
    return ((x - lo) / (hi - lo).clamp_min(1e-8) * 255).round().to(torch.uint8)


def normalise_per_channel(maps: torch.Tensor) -> torch.Tensor:
    """(C, H, W) float -> uint8 (C, 1, H, W), each channel stretched to 0..255."""
    return stretch_to_uint8(maps)[:, None]


def activation_grid(activation: torch.Tensor, max_channels: int = 64, upscale_to: int = 32) -> torch.Tensor:
    """The first ``max_channels`` channels of one image's activation (C, H, W) as a uint8 (3, H', W') grid."""
    maps = normalise_per_channel(activation[:max_channels].float())
    maps = upscale(maps, upscale_to // maps.shape[-1])  # 4x4 maps are unreadable at 1:1
    return grid_uint8(maps, padding=1)


def first_layer_filters(discriminator: nn.Module, scale: int = 8) -> torch.Tensor:
    """D's first convolution filters (ndf, C, 4, 4) as a uint8 grid, each filter normalised to 0..255
    and enlarged ``scale`` times."""
    filters = stretch_to_uint8(discriminator.main[0].weight.detach().cpu().float())
    return grid_uint8(upscale(filters, scale), padding=1)
