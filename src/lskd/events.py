"""TensorBoard event files beside a run's metrics.csv, for ``tensorboard --logdir results``.

Each column of metrics.csv but ``epoch`` is one scalar (the same name), at step = epoch. The
event files are rewritten from the run's history whenever a training process starts: a fresh run
removes those of an earlier one, a resumed run gets the epochs before the kill back from its
checkpoint, so the curves always equal metrics.csv.
"""

from pathlib import Path

EVENT_FILES = "events.out.tfevents.*"  # the names SummaryWriter gives them


class EventLog:
    """Writes one run's scalars; with ``folder`` None (a data-parallel run's other ranks) it
    touches nothing, and with ``enabled`` False it only removes old event files."""

    def __init__(self, folder: Path | None, history: list[dict] = (), enabled: bool = True):
        self.writer = None
        if folder is None:
            return
        for old in Path(folder).glob(EVENT_FILES):
            old.unlink()
        if enabled:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(folder))
            for row in history:
                self.add(row)

    def add(self, row: dict) -> None:
        if self.writer is None:
            return
        for name, value in row.items():
            if name != "epoch":
                self.writer.add_scalar(name, value, global_step=int(row["epoch"]))
        self.writer.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.writer is not None:
            self.writer.close()
