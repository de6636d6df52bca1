"""A run's resume checkpoint (``last.pt``) and preemption: what lets a killed or preempted run
continue where it stopped and end with the weights of an uninterrupted one.

``last.pt`` is written after every epoch and, on SIGTERM (a SLURM preemption or requeue), in the
middle of one, with the epoch's sample order and random states. It records the run's identity
(settings, objective, data, initial weights, training code: ``lskd.train.run_identity``); a
rerun resumes only from a checkpoint of the same identity, and moves any other to ``stale/``.
"""

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from lskd import checkpoint

PREEMPTED_EXIT_CODE = 143  # 128 + SIGTERM, what a job killed by the signal would report


class Preemption:
    """Records a SIGTERM instead of dying at once, so the loop can checkpoint first."""

    def __init__(self):
        self.requested = False

    def __enter__(self):
        self._previous = signal.signal(signal.SIGTERM, self._handle)
        return self

    def _handle(self, signum, frame):
        print("SIGTERM: saving the epoch in progress", flush=True)
        self.requested = True

    def __exit__(self, *exc):
        signal.signal(signal.SIGTERM, self._previous)


@dataclass
class Checkpoint:
    """The resume checkpoint ``last`` of a run (``lskd.train.Run``) whose identity is
    ``identity``; only the main process of a data-parallel run writes or moves it."""

    last: Path
    identity: dict

    def resume(self, run) -> dict | None:
        """Continue ``run`` from ``last`` if this run wrote it; move any other aside. Returns
        the interrupted epoch's state, if a SIGTERM stopped one."""
        if not self.last.exists():
            return None
        state = checkpoint.load(self.last)
        recorded = state.get("identity", {})
        keys = recorded.keys() | self.identity.keys()
        changed = sorted(k for k in keys if recorded.get(k) != self.identity.get(k))
        if changed:
            self._set_aside(run, changed)
            return None
        run.model.load_state_dict(state["model"])
        run.opt.load_state_dict(state["optimizer"])
        run.sched.load_state_dict(state["scheduler"])
        run.scaler.load_state_dict(state.get("scaler", {}))
        run.history, partial = state["history"], state.get("partial")
        if partial and not run.world.main:  # the interrupted epoch's loss sums are rank 0's
            partial = partial | {"total": 0.0, "seen": 0}
        where = f"batch {partial['batch']} of " if partial else "after "
        epoch = len(run.history) + (1 if partial else 0)
        print(f"resuming {self.last.parent} at {where}epoch {epoch}", flush=True)
        return partial

    def _set_aside(self, run, changed: list[str]) -> None:
        stale = self.last.parent / "stale" / time.strftime("last-%Y%m%dT%H%M%S.pt", time.gmtime())
        if run.world.main:
            stale.parent.mkdir(exist_ok=True)
            os.replace(self.last, stale)
        print(
            f"{self.last} was written by another run ({', '.join(changed)} differ): "
            f"moved to {stale}; training from scratch",
            flush=True,
        )

    def save(self, run, partial: dict | None = None) -> None:
        if not run.world.main:
            return
        state = {
            "model": run.model.state_dict(),
            "optimizer": run.opt.state_dict(),
            "scheduler": run.sched.state_dict(),
            "scaler": run.scaler.state_dict(),  # empty unless fp16
            "history": run.history,
            "identity": self.identity,
        }
        checkpoint.save(state | ({"partial": partial} if partial else {}), self.last)

    def preempt(self, run, where: dict, total: float, seen: int, started: float) -> None:
        """Save the epoch in progress (``where``: its epoch, next batch, sample order and
        generator; the loss so far over all ranks) and exit with PREEMPTED_EXIT_CODE."""
        all_total, all_seen = run.world.sum(total, seen)
        partial = where | {
            "generator": where["generator"].get_state(),
            "torch_rng": torch.get_rng_state(),
            "total": all_total,
            "seen": all_seen,
            "seconds": time.time() - started,
        }
        self.save(run, partial)
        print(f"saved {self.last} at batch {where['batch']} of epoch {where['epoch'] + 1}",
              flush=True)  # fmt: skip
        raise SystemExit(PREEMPTED_EXIT_CODE)

    def remove(self) -> None:
        """A finished run drops it, so that a forced or code-triggered rerun trains from the
        initial weights (released weights never wrote one)."""
        self.last.unlink(missing_ok=True)
