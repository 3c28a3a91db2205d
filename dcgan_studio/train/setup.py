"""A run's setup, done once before the first step: the device, the data on it, the networks and their optimisers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch

from .. import distributed
from ..config import ConfigError, ModelConfig, TrainConfig
from ..data import (
    DatasetError,
    ImageTensorDataset,
    batches_per_epoch,
    iterate_batches,
    iterate_loader_batches,
    load_dataset,
)
from ..distributed import DistContext
from ..ema import EmaGenerator
from ..models import Discriminator, Generator
from ..schedule import LrSchedule
from ..step import GANStep, make_adam, prepare_models, speed_options


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA, then Apple's MPS, then the CPU; an explicit device that is absent is an error."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} was asked for but CUDA is not available; use --device cpu or auto")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"device {name!r} was asked for but MPS is not available; use --device cpu or auto")
    return device


@dataclass
class TrainData:
    """The images of a run: in memory (one uint8 tensor on the device, batched by index) or, when too large,
    streamed by a DataLoader. The order of every epoch is a pure function of (seed, epoch)."""

    images: torch.Tensor | None  # on the device; None when streamed
    stream: torch.utils.data.Dataset | None
    shard: torch.Tensor | None  # this rank's share of each epoch under torchrun; None for one process
    batches: int  # full batches per epoch (the last, partial one is dropped)

    def total_steps(self, cfg: TrainConfig) -> int:
        """Steps of the whole run: every epoch, or fewer with ``max_steps``."""
        total = cfg.epochs * self.batches
        return min(total, cfg.max_steps) if cfg.max_steps is not None else total

    def epoch(self, cfg: TrainConfig, epoch: int, start: int, device: torch.device) -> Iterator[torch.Tensor]:
        """uint8 batches of ``epoch`` from batch ``start`` on, on the device."""
        if self.images is not None:
            return iterate_batches(self.images, cfg.batch_size, cfg.seed, epoch, start, indices=self.shard)
        loader = iterate_loader_batches(
            self.stream, cfg.batch_size, cfg.seed, epoch, start, self.shard, cfg.num_workers
        )
        return (batch.to(device, non_blocking=True) for batch in loader)


def load_train_data(
    mcfg: ModelConfig, cfg: TrainConfig, dataset: Any, dist: DistContext, device: torch.device
) -> TrainData:
    """The run's data (``dataset`` when given, else loaded from the config; never its own held-out part), checked
    against the model's shape. Joins the process group under torchrun (after the checks, so a bad dataset fails
    before any rank waits)."""
    if dataset is None:
        dataset = load_dataset(cfg.dataset, mcfg.image_size, mcfg.channels, cfg.data_path, cfg.download)
    in_memory = isinstance(dataset, ImageTensorDataset)
    if in_memory:
        dataset = dataset.training_part()
    item_shape = tuple(dataset.images.shape[1:]) if in_memory else tuple(dataset[0].shape)
    if item_shape != (mcfg.channels, mcfg.image_size, mcfg.image_size):
        raise DatasetError(
            f"dataset images are {item_shape} but the model expects "
            f"({mcfg.channels}, {mcfg.image_size}, {mcfg.image_size})"
        )
    distributed.init(dist, device)
    shard = distributed.shard_indices(len(dataset), dist)
    return TrainData(
        images=dataset.images.to(device) if in_memory else None,
        stream=None if in_memory else dataset,
        shard=shard,
        batches=batches_per_epoch(len(dataset) if shard is None else len(shard), cfg.batch_size),
    )


@dataclass
class RunModels:
    """The networks of a run and everything that evolves with them (optimisers, noise, the moving average);
    checkpoints hold all of it. A loaded pair for inference is ``models.Networks``."""

    G: Generator
    D: Discriminator
    opt_g: torch.optim.Adam
    opt_d: torch.optim.Adam
    noise_gen: torch.Generator  # the noise of the training steps (its state is checkpointed)
    fixed_noise: torch.Tensor  # the z's of the progress grids, the same all run long
    speed: dict[str, Any]  # the resolved speed options (step.speed_options)
    lr: LrSchedule  # both optimisers' learning rates over the run (lr_decay), one LambdaLR each
    ema: EmaGenerator | None = None  # the moving average of G's weights, when the run keeps one


def build_run_models(
    mcfg: ModelConfig, cfg: TrainConfig, dist: DistContext, device: torch.device, batches: int
) -> RunModels:
    """Fresh networks (the paper's initialisation) and Adam optimisers, in the memory format the step feeds them;
    the rates' curve spans the run's epochs of ``batches`` steps."""
    speed = speed_options(cfg.speed, device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed shapes (full batches only): pick the fastest kernels once
    G, D = Generator(mcfg).to(device), Discriminator(mcfg).to(device)
    prepare_models(G, D, channels_last=speed["channels_last"])
    betas = (cfg.beta1, cfg.beta2)
    noise_gen = torch.Generator(device=device)
    noise_gen.manual_seed(distributed.noise_seed(cfg.seed, dist))
    fixed_gen = torch.Generator().manual_seed(cfg.seed + 1)
    opt_g = make_adam(G.parameters(), cfg.g_lr, betas, speed["fused_adam"])
    opt_d = make_adam(D.parameters(), cfg.d_lr, betas, speed["fused_adam"])
    return RunModels(
        G=G,
        D=D,
        opt_g=opt_g,
        opt_d=opt_d,
        noise_gen=noise_gen,
        fixed_noise=torch.randn(cfg.n_fixed, mcfg.nz, 1, 1, generator=fixed_gen).to(device),
        speed=speed,
        lr=LrSchedule({"G": opt_g, "D": opt_d}, cfg.lr_decay, cfg.epochs * batches, cfg.lr_floor, cfg.lr_decay_start),
        ema=EmaGenerator(G, cfg.ema.ema_decay) if cfg.ema.ema_decay > 0 else None,
    )


def make_train_step(models: RunModels, cfg: TrainConfig, nz: int, dist: DistContext, device: torch.device) -> GANStep:
    """The step drives wrapped networks (DDP, torch.compile); ``models.G`` / ``models.D`` stay plain for checkpoints
    and sampling. Made after a resume has loaded the weights, so DDP broadcasts the loaded ones."""
    step_g, step_d = models.G, models.D
    if dist.enabled:
        step_g, step_d = distributed.wrap(models.G, device), distributed.wrap(models.D, device)
    if models.speed["compile"]:
        step_g, step_d = torch.compile(step_g, dynamic=False), torch.compile(step_d, dynamic=False)
    return GANStep(
        step_g, step_d, models.opt_g, models.opt_d, nz, models.noise_gen, cfg.stability, cfg.augment, models.speed
    )
