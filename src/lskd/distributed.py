"""Data-parallel training over the processes that torchrun starts (one per GPU).

Every rank follows the same seeded order of global batches and loads, decodes and augments only
its slice of each (augmentation drawn for the whole batch, so the slice is augmented as one
process would); DistributedDataParallel averages the gradients, and ``local_weight`` scales each
rank's mean loss so that the average is the full batch's mean even when the batch does not split
evenly. The result is then that of one process on the full batches, except: BatchNorm needs
synchronised statistics (SyncBatchNorm on GPUs; it does not run on CPUs), and CutMix mixes
within a rank's slice.
"""

import os
from dataclasses import dataclass, replace

import torch
import torch.distributed as dist

from lskd.inference import DEVICE
from lskd.precision import PRECISIONS, Choice


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1

    @property
    def main(self) -> bool:
        """Rank 0 writes the files; the others only train."""
        return self.rank == 0

    def local_weight(self, local: int, total: int) -> float:
        """Factor for the rank's mean loss so that DDP's gradient average is the global mean."""
        return local * self.size / total

    def any(self, flag: bool) -> bool:
        """True on every rank if it is True on one (a SIGTERM seen by one rank stops all)."""
        if self.size == 1:
            return flag
        t = torch.tensor([float(flag)], device=DEVICE)
        dist.all_reduce(t)
        return bool(t.item())

    def sum(self, *values: float) -> list[float]:
        if self.size == 1:
            return list(values)
        t = torch.tensor(values, dtype=torch.float64, device=DEVICE)
        dist.all_reduce(t)
        return t.tolist()

    def same_as_main(self, choice: Choice) -> Choice:
        """Rank 0's precision on every rank (each measured its own: their figures may differ)."""
        if self.size == 1:
            return choice
        mine = PRECISIONS.index(choice.precision)
        main = int(self.sum(mine if self.main else 0)[0])
        if main == mine:
            return choice
        return replace(choice, precision=PRECISIONS[main], why=f"rank 0's choice; {choice.why}")


def init() -> World:
    """The torchrun world (WORLD_SIZE, RANK, LOCAL_RANK), or a single process."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size == 1:
        return World()
    if not torch.cuda.is_available() and int(os.environ.get("RANK", "0")) == 0:
        print(f"{size} processes on a machine without GPUs (resources gpu: {size}): they "
              "train data-parallel on the CPU (gloo), no faster than one", flush=True)  # fmt: skip
    if not dist.is_initialized():
        if torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return World(dist.get_rank(), size)


def wrap(model: torch.nn.Module, world: World) -> torch.nn.Module:
    """The module to train: ``model`` itself, or its DistributedDataParallel wrapper."""
    if world.size == 1:
        return model
    if torch.cuda.is_available():
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    return torch.nn.parallel.DistributedDataParallel(model)
