"""Multi-process training with ``torchrun`` and ``DistributedDataParallel``.

    torchrun --nproc-per-node 8 -m dcgan_studio train --dataset celeba --image-size 64 --channels 3 ...

torchrun starts one process per GPU and sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT; the
``Trainer`` reads them through ``context()`` and, when WORLD_SIZE > 1, joins the process group (NCCL on CUDA, gloo
on the CPU). The design, each point visible in this file or in ``Trainer._setup``:

* G and D are wrapped in two separate DDP modules (``wrap``), each with its own gradient all-reduce;
* batch norm stays per GPU (no SyncBatchNorm): DCGAN's D separates real and fake batches so each batch norm sees
  one kind of image, and syncing statistics across GPUs would only add communication;
* ``broadcast_buffers=False`` (``forward_sync_buffers=False`` from torch 2.14): by default DDP re-broadcasts rank
  0's buffers (batch-norm running statistics) at every forward; D runs forward twice before one backward, and the
  broadcast would overwrite buffers in place between them. Running statistics are only used in eval mode (G's
  samples, made on rank 0), so each rank keeps its own and checkpoints hold rank 0's;
* the G step backpropagates through D, but D's gradients from it must not be all-reduced nor applied:
  ``GANStep`` runs that pass under ``D.no_sync()`` with D's weights frozen (``requires_grad=False``), so they are not
  even computed;
* each rank takes a disjoint, equal share of every epoch's permutation (``shard_indices``, the same split as
  ``DistributedSampler(drop_last=True)``); ``batch_size`` is per process, so one step sees world_size x batch_size
  images;
* each rank draws different noise (``noise_seed``);
* only rank 0 writes: the run folder, metrics.csv, grids, logs and checkpoints;
* checkpoints hold the plain (unwrapped) modules' state dicts in the single-process format, so a checkpoint resumes
  on any world size (a resume on the same world size is exact on rank 0's noise stream; other ranks re-seed).
"""

from __future__ import annotations

import datetime
import logging
import os
import sys
from dataclasses import dataclass
from typing import NoReturn

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def env_context() -> DistContext:
    """RANK / WORLD_SIZE / LOCAL_RANK as torchrun sets them (a single process when they are absent)."""
    world = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if world <= 1:
        return DistContext()
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", str(rank)))
    return DistContext(rank=rank, world_size=world, local_rank=local)


def device_for(ctx: DistContext, device: torch.device) -> torch.device:
    """Under torchrun each process drives the GPU of its LOCAL_RANK."""
    if ctx.enabled and device.type == "cuda":
        device = torch.device("cuda", ctx.local_rank)
        torch.cuda.set_device(device)
    return device


def init(ctx: DistContext, device: torch.device, timeout_s: float = 1800) -> None:
    """Join the process group (NCCL for CUDA, gloo otherwise) once per process."""
    if not ctx.enabled or dist.is_initialized():
        return
    backend = "nccl" if device.type == "cuda" else "gloo"
    kwargs = {"device_id": device} if backend == "nccl" else {}
    dist.init_process_group(
        backend, rank=ctx.rank, world_size=ctx.world_size, timeout=datetime.timedelta(seconds=timeout_s), **kwargs
    )


def cleanup() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def exit_worker(code: int) -> NoReturn:
    """End a worker of a multi-process run now, its work written and its process group destroyed (``cleanup``).

    Why: with DDP, gloo's process group outlives ``destroy_process_group`` (torch 2.14.1: on every rank its
    ``gloo_tcp_loop`` and two ``pt_gloo_runloop`` threads were still running at interpreter exit), and once in several
    loaded test-suite runs a worker aborted while exiting around them ("terminate called without an active
    exception"), failing a run that had finished. ``os._exit`` skips the interpreter's and C++'s exit handlers; the
    logs and standard streams are flushed first. Checkpoints and run files are written atomically before this."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def wrap(module: nn.Module, device: torch.device) -> nn.Module:
    """DDP for one of the two networks: per-GPU batch norm, no buffer broadcast (see the module docstring)."""
    import inspect

    from torch.nn.parallel import DistributedDataParallel as DDP

    device_ids = [device.index] if device.type == "cuda" else None
    # torch >= 2.14 renames broadcast_buffers to forward_sync_buffers (which still syncs once at init: fine here,
    # every rank then starts from rank 0's running statistics)
    if "forward_sync_buffers" in inspect.signature(DDP.__init__).parameters:
        no_broadcast = {"forward_sync_buffers": False}
    else:
        no_broadcast = {"broadcast_buffers": False}
    return DDP(module, device_ids=device_ids, gradient_as_bucket_view=True, **no_broadcast)


def shard_indices(n: int, ctx: DistContext) -> torch.Tensor | None:
    """Positions in an epoch's permutation that belong to this rank: every world_size-th, the tail dropped so
    every rank gets the same count (what DistributedSampler(drop_last=True) does). None for one process."""
    if not ctx.enabled:
        return None
    usable = n - n % ctx.world_size
    return torch.arange(ctx.rank, usable, ctx.world_size)


def noise_seed(seed: int, ctx: DistContext, step: int = 0) -> int:
    """Rank 0 keeps the single-process seed; other ranks draw from their own streams (re-seeded on resume)."""
    if not ctx.enabled or ctx.rank == 0:
        return int(seed)
    return int(seed) * 1_000_003 + 7919 * ctx.rank + 104_729 * int(step) + 1


def any_flag(flag: bool, ctx: DistContext, device: torch.device) -> bool:
    """True on every rank when ``flag`` is true on any rank (used so a stop asked on one rank stops them all)."""
    if not ctx.enabled:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)
