"""One DCGAN update, the heart of training: D first, then G, on one batch.

Kept apart from the ``Trainer`` (threads, files, events) so it can be benchmarked, compiled and tested alone.
Metrics stay on the device as one small tensor per step; reading them (a host-device sync) is the caller's
choice, made every k steps.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .data import to_unit_range

METRIC_NAMES = ("loss_d", "loss_g", "d_x", "d_g_z1", "d_g_z2")


@dataclass
class StepOptions:
    label_smoothing: float = 0.0  # one-sided: real targets become 1 - s (Salimans et al. 2016); fakes stay 0
    instance_noise: float = 0.0  # std of Gaussian noise added to D's inputs, real and fake


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

    def noise(self, n: int, device: torch.device) -> torch.Tensor:
        return torch.randn(n, self.nz, 1, 1, device=device, generator=self.noise_generator)

    def _maybe_noisy(self, x: torch.Tensor) -> torch.Tensor:
        std = self.options.instance_noise
        if std <= 0:
            return x
        return x + std * torch.randn(x.shape, device=x.device, dtype=x.dtype, generator=self.noise_generator)

    def __call__(self, real_uint8: torch.Tensor) -> torch.Tensor:
        real = to_unit_range(real_uint8)
        b = real.shape[0]
        real_target = torch.full((b,), 1.0 - self.options.label_smoothing, device=real.device)
        fake_target = torch.zeros(b, device=real.device)
        gen_target = torch.ones(b, device=real.device)

        # (1) Update D: maximise log D(x) + log(1 - D(G(z))). Real and fake go through D in separate batches,
        #     as in the paper's code, so each batch norm sees one kind of image.
        self.opt_d.zero_grad(set_to_none=True)
        logits_real = self.D(self._maybe_noisy(real))
        fake = self.G(self.noise(b, real.device))
        logits_fake = self.D(self._maybe_noisy(fake.detach()))
        loss_d = F.binary_cross_entropy_with_logits(logits_real, real_target) + F.binary_cross_entropy_with_logits(
            logits_fake, fake_target
        )
        loss_d.backward()
        self.opt_d.step()

        # (2) Update G: maximise log D(G(z)) (the non-saturating loss), with the freshly updated D.
        self.opt_g.zero_grad(set_to_none=True)
        logits_gen = self.D(self._maybe_noisy(fake))
        loss_g = F.binary_cross_entropy_with_logits(logits_gen, gen_target)
        loss_g.backward()
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
