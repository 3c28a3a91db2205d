"""One DCGAN update, the heart of training: D first, then G, on one batch.

Kept apart from the ``Trainer`` (threads, files, events) so it can be benchmarked, compiled and tested alone.
Metrics stay on the device as one small tensor per step; reading them (a host-device sync) is the caller's
choice, made every k steps.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .augment import diff_augment
from .config import AugmentConfig, SpeedConfig, StabilityConfig
from .data import to_unit_range

METRIC_NAMES = ("loss_d", "loss_g", "d_x", "d_g_z1", "d_g_z2")


@dataclass
class StepOptions:
    label_smoothing: float = 0.0  # one-sided: real targets become 1 - s (Salimans et al. 2016); fakes stay 0
    instance_noise: float = 0.0  # std of Gaussian noise added to D's inputs, real and fake
    augment: tuple[str, ...] = ()  # DiffAugment transforms of D's inputs, real and fake, in both steps (augment.py)
    augment_p: float = 1.0  # probability that each transform is applied to an image
    # --- speed (see bench/README.md for what each one measured) ---
    # D's weights take no gradient in G's update: those gradients are never applied, so skipping them saves a third
    # of D's backward work in the G step. Numerically identical updates.
    freeze_d_in_g_step: bool = True
    channels_last: bool = False  # feed the networks NHWC batches (call ``prepare_models`` on G and D too)
    amp: str = "off"  # "bf16": autocast forward passes to bfloat16 (meant for CUDA; no GradScaler needed); "off"

    @classmethod
    def for_run(
        cls, stability: StabilityConfig, speed: dict[str, Any], augment: AugmentConfig | None = None
    ) -> StepOptions:
        """The options of a run: its stability remedies, its augmentation and its resolved ``speed_options``."""
        augment = augment or AugmentConfig()
        return cls(
            label_smoothing=stability.label_smoothing,
            instance_noise=stability.instance_noise,
            augment=augment.policy,
            augment_p=augment.augment_p,
            channels_last=bool(speed["channels_last"]),
            amp=speed["amp"],
        )


SPEED_DEFAULTS = {  # per device type: the fastest settings that keep CPU runs exactly resumable
    # "auto" on the CPU: bf16 where the CPU computes it natively (AVX-512-bf16/AMX: 1.9x the plain loop, see
    # bench/README.md), float32 elsewhere (emulated bf16 would be slower)
    "cpu": {"channels_last": True, "amp": "auto", "fused_adam": True, "compile": False},
    "cuda": {"channels_last": True, "amp": "bf16", "fused_adam": True, "compile": False},
    "mps": {"channels_last": False, "amp": "off", "fused_adam": False, "compile": False},
}


def speed_options(speed: SpeedConfig | Mapping[str, Any] | None, device: torch.device) -> dict[str, Any]:
    """The speed settings for ``device``: ``SPEED_DEFAULTS`` overridden by the options that ``speed`` sets (not None);
    ``amp`` resolved to "off" or "bf16"."""
    if not isinstance(speed, SpeedConfig):
        speed = SpeedConfig.from_dict(speed or {})
    opts = dict(SPEED_DEFAULTS.get(device.type, SPEED_DEFAULTS["mps"]))
    opts.update({k: v for k, v in asdict(speed).items() if v is not None})
    if opts["amp"] == "auto":
        opts["amp"] = "bf16" if device.type == "cuda" or (device.type == "cpu" and cpu_has_native_bf16()) else "off"
    return opts


def cpu_has_native_bf16() -> bool:
    """True when this CPU runs bfloat16 convolutions in hardware (AVX-512-bf16 or AMX)."""
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in checks)


def prepare_models(*models: nn.Module, channels_last: bool) -> None:
    """Put the networks' weights in the memory format the step feeds them (in place)."""
    if channels_last:
        for m in models:
            m.to(memory_format=torch.channels_last)


def make_adam(params, lr: float, betas: tuple[float, float], fused: bool) -> torch.optim.Adam:
    """Adam with one fused kernel per step (CUDA and CPU since torch 2.4) or the foreach path."""
    if fused:
        try:
            return torch.optim.Adam(params, lr=lr, betas=betas, fused=True)
        except (RuntimeError, TypeError):  # a device without a fused kernel
            pass
    return torch.optim.Adam(params, lr=lr, betas=betas, foreach=True)


@torch.no_grad()
def match_state_layout(optimizer: torch.optim.Optimizer) -> None:
    """Give each optimiser state tensor its parameter's memory format (in place).

    A loaded state dict holds contiguous (NCHW) tensors; a fused Adam kernel walks the parameter, its gradient and
    its moments as flat memory, so channels_last parameters with NCHW moments would mix up elements. Call after
    ``optimizer.load_state_dict``."""
    for group in optimizer.param_groups:
        for p in group["params"]:
            for key, value in optimizer.state.get(p, {}).items():
                if torch.is_tensor(value) and value.shape == p.shape and value.stride() != p.stride():
                    optimizer.state[p][key] = torch.empty_like(p, dtype=value.dtype).copy_(value)


def _no_sync(module: nn.Module):
    """``DistributedDataParallel.no_sync()`` when ``module`` is (or wraps) one, else nothing."""
    no_sync = getattr(module, "no_sync", None)
    return no_sync() if callable(no_sync) else contextlib.nullcontext()


def _unwrap(module: nn.Module) -> nn.Module:
    """The plain module under torch.compile and DistributedDataParallel wrappers."""
    module = getattr(module, "_orig_mod", module)
    return getattr(module, "module", module)


class GANStep:
    """Callable: uint8 real batch -> metrics tensor (5,) on the device: Loss_D, Loss_G, D(x), D(G(z)) twice."""

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        opt_g: torch.optim.Optimizer,
        opt_d: torch.optim.Optimizer,
        nz: int,
        noise_generator: torch.Generator,
        options: StepOptions | None = None,
    ):
        self.G, self.D, self.opt_g, self.opt_d = generator, discriminator, opt_g, opt_d
        self.nz = nz
        self.noise_generator = noise_generator
        self.options = options or StepOptions()
        self._d_params = [p for p in _unwrap(discriminator).parameters() if p.requires_grad]

    def _autocast(self, device: torch.device):
        if self.options.amp == "bf16":
            return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def noise(self, n: int, device: torch.device) -> torch.Tensor:
        return torch.randn(n, self.nz, 1, 1, device=device, generator=self.noise_generator)

    def _d_input(self, x: torch.Tensor) -> torch.Tensor:
        """What D sees of a batch: augmented (DiffAugment, differentiable), then with instance noise."""
        if self.options.augment:
            x = diff_augment(x, self.options.augment, self.options.augment_p, self.noise_generator)
        return self._maybe_noisy(x)

    def _maybe_noisy(self, x: torch.Tensor) -> torch.Tensor:
        std = self.options.instance_noise
        if std <= 0:
            return x
        return x + std * torch.randn(x.shape, device=x.device, dtype=x.dtype, generator=self.noise_generator)

    def __call__(self, real_uint8: torch.Tensor) -> torch.Tensor:
        real = to_unit_range(real_uint8)
        if self.options.channels_last:
            real = real.contiguous(memory_format=torch.channels_last)
        b = real.shape[0]
        real_target = torch.full((b,), 1.0 - self.options.label_smoothing, device=real.device)
        fake_target = torch.zeros(b, device=real.device)
        gen_target = torch.ones(b, device=real.device)

        # (1) Update D: maximise log D(x) + log(1 - D(G(z))). Real and fake go through D in separate batches,
        #     as in the paper's code, so each batch norm sees one kind of image.
        self.opt_d.zero_grad(set_to_none=True)
        with self._autocast(real.device):
            logits_real = self.D(self._d_input(real))
            fake = self.G(self.noise(b, real.device))
            logits_fake = self.D(self._d_input(fake.detach()))
        loss_d = F.binary_cross_entropy_with_logits(
            logits_real.float(), real_target
        ) + F.binary_cross_entropy_with_logits(logits_fake.float(), fake_target)
        loss_d.backward()
        self.opt_d.step()

        # (2) Update G: maximise log D(G(z)) (the non-saturating loss), with the freshly updated D. The gradient
        #     flows through D to G, but D's own gradients from this pass are never applied: under DDP they must not
        #     be all-reduced either (no_sync), and with freeze_d_in_g_step they are not even computed.
        self.opt_g.zero_grad(set_to_none=True)
        freeze = self.options.freeze_d_in_g_step
        if freeze:
            for p in self._d_params:
                p.requires_grad_(False)
        try:
            with _no_sync(self.D):
                with self._autocast(real.device):
                    logits_gen = self.D(self._d_input(fake))
                loss_g = F.binary_cross_entropy_with_logits(logits_gen.float(), gen_target)
                loss_g.backward()
        finally:
            if freeze:
                for p in self._d_params:
                    p.requires_grad_(True)
        self.opt_g.step()

        with torch.no_grad():
            return torch.stack(
                [
                    loss_d.detach(),
                    loss_g.detach(),
                    torch.sigmoid(logits_real.detach()).mean(),
                    torch.sigmoid(logits_fake.detach()).mean(),
                    torch.sigmoid(logits_gen.detach()).mean(),
                ]
            ).float()
