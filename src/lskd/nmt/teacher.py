"""The NMT teacher's word-level soft labels: top-k tokens per target position, taken online from
a loaded fairseq teacher or exported once to a file (``TopkCache``); both go through
``teacher_topk``, so that they give the same numbers on the same batch.

The soft label of a position is softmax(z / T) over the teacher's k largest logits z,
renormalised over those k (Tan et al., 2019 keep the top-k of the teacher's distribution).
"""

import os
import pickle

import torch

from lskd.data.errors import DataError
from lskd.nmt.checkpoint import check_fairseq_checkpoint, refused


def load_teacher(path: str, task=None, data: str | None = None):
    """(model in eval mode, task) from a checkpoint of fairseq-train."""
    from fairseq import checkpoint_utils

    check_fairseq_checkpoint(path)
    overrides = {"data": data} if data else None
    try:  # fairseq's torch.load: weights_only=True, fairseq's types allowed by the check above
        models, cfg, task = checkpoint_utils.load_model_ensemble_and_task(
            [path], arg_overrides=overrides, task=task
        )
    except pickle.UnpicklingError as err:
        raise refused(path, err) from None
    except (KeyError, AttributeError, RuntimeError, TypeError) as err:
        raise DataError(
            f"{path}: not a fairseq checkpoint ({type(err).__name__}: {err}); retrain it"
        ) from None
    return models[0].eval(), task


@torch.no_grad()
def teacher_topk(teacher, sample: dict, k: int, temperature: float):
    """(index [B, T, k], prob [B, T, k]) of the teacher on ``sample``'s target positions."""
    logits = teacher(**sample["net_input"])[0].float() / temperature
    top = logits.topk(k, dim=-1)
    return top.indices, torch.softmax(top.values, dim=-1)


class OnlineTeacher:
    """Runs the teacher on every batch. Not an nn.Module attribute of the criterion on purpose:
    fairseq would then train the teacher's parameters with the student's."""

    def __init__(self, path: str, task, k: int, temperature: float):
        self.model, _ = load_teacher(path, task=task)
        self.k, self.temperature = k, temperature

    def __call__(self, sample: dict, pad: int):
        device = sample["target"].device
        if next(self.model.parameters()).device != device:
            self.model.to(device)
        return teacher_topk(self.model, sample, self.k, self.temperature)


class TopkCache:
    """Top-k soft labels of every training sentence, exported once by ``export``: per sentence
    id, one row per target token (its non-padding positions, in order)."""

    def __init__(self, path: str, k: int, temperature: float):
        try:
            data = torch.load(path, weights_only=True)
            self.offsets, self.index, self.prob = data["offsets"], data["index"], data["prob"]
            cached_k, cached_t = int(data["k"]), float(data["temperature"])
        except Exception as err:
            raise DataError(f"{path}: unreadable top-k file ({err}); delete it and rerun") from None
        if cached_k < k or cached_t != temperature:
            raise DataError(
                f"{path}: exported with k={cached_k}, T={cached_t}; the student asks for k={k},"
                f" T={temperature}: export again with the student's settings"
            )
        self.k = k

    def __call__(self, sample: dict, pad: int):
        target = sample["target"]
        mask = target.ne(pad)
        index = torch.zeros(*target.shape, self.k, dtype=torch.long)
        prob = torch.zeros(*target.shape, self.k)
        for row, sid in enumerate(sample["id"].tolist()):
            start, end = int(self.offsets[sid]), int(self.offsets[sid + 1])
            length = int(mask[row].sum())
            if end - start != length:
                raise DataError(
                    f"top-k cache: sentence {sid} has {end - start} cached tokens, the batch"
                    f" {length}: the cache belongs to other data; export it again"
                )
            # the k kept of the exported k' >= k are the largest: renormalise over them
            p = self.prob[start:end, : self.k]
            index[row, mask[row]] = self.index[start:end, : self.k].long()
            prob[row, mask[row]] = p / p.sum(-1, keepdim=True)
        return index.to(target.device), prob.to(target.device)


def export(
    teacher_path: str, data_bin: str, out: str, k: int, temperature: float, max_tokens: int = 4096
) -> None:
    """Top-k soft labels of the teacher on every training sentence, to ``out``."""
    from fairseq.utils import move_to_cuda

    teacher, task = load_teacher(teacher_path, data=data_bin)
    if torch.cuda.is_available():
        teacher.cuda()
    task.load_dataset("train")
    dataset = task.dataset("train")
    batches = task.get_batch_iterator(dataset=dataset, max_tokens=max_tokens).next_epoch_itr(
        shuffle=False
    )
    pad = task.target_dictionary.pad()
    lengths = torch.zeros(len(dataset), dtype=torch.long)
    rows: dict[int, tuple] = {}
    for sample in batches:
        if torch.cuda.is_available():
            sample = move_to_cuda(sample)
        index, prob = teacher_topk(teacher, sample, k, temperature)
        mask = sample["target"].ne(pad)
        for row, sid in enumerate(sample["id"].tolist()):
            rows[sid] = (index[row][mask[row]].int().cpu(), prob[row][mask[row]].cpu())
            lengths[sid] = int(mask[row].sum())
    if len(rows) != len(dataset):
        raise DataError(f"{data_bin}: {len(dataset) - len(rows)} training sentences were skipped")
    offsets = torch.zeros(len(dataset) + 1, dtype=torch.long)
    offsets[1:] = lengths.cumsum(0)
    order = range(len(dataset))
    tmp = f"{out}.tmp"
    torch.save(
        {
            "offsets": offsets,
            "index": torch.cat([rows[i][0] for i in order]),
            "prob": torch.cat([rows[i][1] for i in order]),
            "k": k,
            "temperature": temperature,
        },
        tmp,
    )
    os.replace(tmp, out)
