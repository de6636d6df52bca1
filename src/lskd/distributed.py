"""Data-parallel training over the processes that torchrun starts (one per GPU).

Every rank follows the same seeded order of global batches and loads, decodes and augments only
its slice of each (augmentation drawn for the whole batch, so the slice is augmented as one
process would); DistributedDataParallel averages the gradients, and ``local_weight`` scales each
rank's mean loss so that the average is the full batch's mean even when the batch does not split
evenly. BatchNorm normalises with the global batch's statistics (torch's SyncBatchNorm on GPUs,
``GlobalBatchNorm`` on CPUs, where SyncBatchNorm does not run). The result is then that of one
process on the full batches, up to the order of float sums, except that CutMix mixes within a
rank's slice.
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


class GlobalBatchNorm(torch.nn.modules.batchnorm._BatchNorm):
    """BatchNorm over the global batch of all ranks on CPUs (gloo): the mean, then the variance
    around it, each summed over the ranks (two passes, as one process computes them), with
    autograd through the sums. The same parameters and buffers as the BatchNorm it replaces."""

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {input.dim()}D input)")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_initialized()):
            return super().forward(x)
        from torch.distributed.nn.functional import all_reduce

        dims = [0, *range(2, x.dim())]
        shape = [1, -1] + [1] * (x.dim() - 2)
        dtype, x = x.dtype, x.float()  # statistics in fp32 under bf16/fp16 autocast too
        count = all_reduce(torch.tensor(float(x.numel() // x.shape[1])))
        mean = all_reduce(x.sum(dims)) / count
        centred = x - mean.reshape(shape)
        var = all_reduce((centred * centred).sum(dims)) / count
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked += 1
                m = 1 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
                self.running_mean.lerp_(mean.detach(), m)
                self.running_var.lerp_(var.detach() * count / max(count - 1, 1), m)
        y = centred * torch.rsqrt(var + self.eps).reshape(shape)
        if self.affine:
            y = y * self.weight.reshape(shape) + self.bias.reshape(shape)
        return y.to(dtype)


def _global_batchnorm(module: torch.nn.Module) -> torch.nn.Module:
    """``module`` with each BatchNorm replaced by a GlobalBatchNorm holding its state."""
    if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
        args = (module.num_features, module.eps, module.momentum, module.affine)
        out = GlobalBatchNorm(*args, track_running_stats=module.track_running_stats)
        out.load_state_dict(module.state_dict())
        return out.train(module.training)
    for name, child in module.named_children():
        setattr(module, name, _global_batchnorm(child))
    return module


def wrap(model: torch.nn.Module, world: World) -> torch.nn.Module:
    """The module to train: ``model`` itself, or its DistributedDataParallel wrapper, its
    BatchNorm layers synchronised over the ranks."""
    if world.size == 1:
        return model
    if torch.cuda.is_available():
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    else:
        model = _global_batchnorm(model)
    return torch.nn.parallel.DistributedDataParallel(model)
