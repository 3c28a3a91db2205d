"""The DCGAN of Radford, Metz & Chintala (2015), built from a ``ModelConfig`` alone.

The paper's architecture guidelines, each visible below:
  1. no pooling: strided convolutions in D, fractional-strided (transposed) convolutions in G;
  2. batch norm in both networks, except G's output layer and D's input layer;
  3. no fully connected hidden layers: z (nz x 1 x 1) is projected to 4x4 by a transposed convolution, and D's
     last 4x4 map becomes one logit by a 4x4 convolution;
  4. ReLU in G for every layer but the output, which uses Tanh;
  5. LeakyReLU (slope 0.2) in D for every layer.
Weights are drawn from N(0, 0.02); batch-norm gammas from N(1, 0.02), betas are zero.

Both networks keep their layers in one ``nn.Sequential`` called ``main`` in the order pytorch/examples uses, so the
state-dict keys (``main.0.weight`` ...) of its ``netG_epoch_*.pth`` files line up with ours one to one.
D returns logits (no Sigmoid): the loss is ``BCEWithLogitsLoss``, which is numerically safe and autocast-safe.
"""

from __future__ import annotations

import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn

from .config import ModelConfig

LEAKY_SLOPE = 0.2
INIT_STD = 0.02
PAPER_URL = "https://arxiv.org/abs/1511.06434"


class HubMixin(
    PyTorchModelHubMixin,
    library_name="dcgan-studio",
    license="mit",
    paper_url=PAPER_URL,
    pipeline_tag="unconditional-image-generation",
    tags=["dcgan", "gan", "unconditional-image-generation", "pytorch"],
):
    """``save_pretrained(dir)``, ``from_pretrained("user/name[@revision]" or dir)`` and ``push_to_hub("user/name")`` of
    huggingface_hub: config.json holds the ``ModelConfig``, the weights are safetensors checked like a checkpoint.
    The code is in hub.py, which builds on this module and so is imported when a method runs."""

    @classmethod
    def from_pretrained(cls, repo_id_or_dir, *, revision=None, **kwargs):
        return _hub().from_pretrained(cls, repo_id_or_dir, revision=revision, **kwargs)

    @classmethod
    def _from_pretrained(cls, *, model_id, **kwargs):
        return _hub().load_pretrained(cls, model_id, **kwargs)

    def _save_pretrained(self, save_directory):
        _hub().save_weights(self, save_directory)

    def generate_model_card(self, *args, **kwargs):
        return _hub().model_card_for(self, **kwargs)


def _hub():
    from . import hub  # imported when a Hub method runs: hub.py builds on this module

    return hub


class Generator(nn.Module, HubMixin):
    """z (N, nz, 1, 1) -> image (N, channels, size, size) in [-1, 1]."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        n = config.n_stages  # stride-2 stages after the 4x4 projection
        width = config.ngf * 2 ** (n - 1)  # 32px: ngf*4, 64px: ngf*8, 128px: ngf*16
        layers: list[nn.Module] = [
            # project z: (nz) x 1 x 1 -> (width) x 4 x 4, a transposed conv and not a linear layer
            nn.ConvTranspose2d(config.nz, width, 4, 1, 0, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(True),
        ]
        for _ in range(n - 1):
            # fractional-strided conv doubles the size and halves the width: (w) x s x s -> (w/2) x 2s x 2s
            layers += [
                nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(width // 2),
                nn.ReLU(True),
            ]
            width //= 2
        # output: (ngf) x size/2 x size/2 -> (channels) x size x size, no batch norm, Tanh
        layers += [nn.ConvTranspose2d(width, config.channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)
        init_weights(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.dim() == 2:  # accept (N, nz) as well as (N, nz, 1, 1)
            z = z[:, :, None, None]
        return self.main(z)


class Discriminator(nn.Module, HubMixin):
    """image (N, channels, size, size) -> one real/fake logit per image, shape (N,)."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        n = config.n_stages
        width = config.ndf
        layers: list[nn.Module] = [
            # input: (channels) x size x size -> (ndf) x size/2 x size/2, strided conv, no batch norm on the input
            nn.Conv2d(config.channels, width, 4, 2, 1, bias=False),
            nn.LeakyReLU(LEAKY_SLOPE, inplace=True),
        ]
        for _ in range(n - 1):
            # strided conv halves the size and doubles the width: (w) x s x s -> (2w) x s/2 x s/2
            layers += [
                nn.Conv2d(width, width * 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(width * 2),
                nn.LeakyReLU(LEAKY_SLOPE, inplace=True),
            ]
            width *= 2
        # state: (ndf * 2^(n-1)) x 4 x 4 -> 1 x 1 x 1, a 4x4 conv instead of a fully connected layer
        layers += [nn.Conv2d(width, 1, 4, 1, 0, bias=False)]
        self.main = nn.Sequential(*layers)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x).flatten()


@torch.no_grad()
def init_weights(module: nn.Module) -> None:
    """The paper's initialisation: conv weights ~ N(0, 0.02), batch-norm gamma ~ N(1, 0.02), beta = 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, INIT_STD)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, INIT_STD)
            nn.init.zeros_(m.bias)


def build_models(config: ModelConfig) -> tuple[Generator, Discriminator]:
    """A fresh, initialised (G, D) pair for ``config``."""
    return Generator(config), Discriminator(config)


def activation_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The named activation modules of ``model.main``, one per layer, in order (what feature maps show)."""
    acts = (nn.ReLU, nn.LeakyReLU, nn.Tanh)
    return [(f"main.{i}", m) for i, m in enumerate(model.main) if isinstance(m, acts)]
