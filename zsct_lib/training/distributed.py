"""Data-parallel training under torchrun: the process group, and DistributedDataParallel's gradient
arithmetic written out (the model has several optimizers and frozen parts per step, so the averaging
is explicit rather than a DDP wrapper)."""
from __future__ import annotations

import os

import torch
import torch.distributed as dist


def distributed_context():
    """(rank, world_size, local_rank) from torchrun's environment; initialises the process group."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size > 1 and not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
    rank = dist.get_rank() if world_size > 1 else 0
    return rank, world_size, int(os.environ.get("LOCAL_RANK", "0"))


def average_gradients(modules, world_size: int):
    """Sum gradients over ranks and divide by the world size, as DistributedDataParallel does."""
    grads = [p.grad for m in modules for p in m.parameters() if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.flatten() for g in grads])
    dist.all_reduce(flat)
    flat /= world_size
    offset = 0
    for g in grads:
        g.copy_(flat[offset:offset + g.numel()].view_as(g))
        offset += g.numel()


def barrier(world_size: int):
    if world_size > 1:
        dist.barrier()
