"""Word-level knowledge distillation for fairseq (Tan et al., 2019), registered as the criterion
``word_kd`` (fairseq-train --user-dir <lskd/nmt/fairseq_plugin> --criterion word_kd):

    loss = lam * label-smoothed NLL of the reference (fairseq's own)
         + (1 - lam) * T^2 * sum_t CE(teacher top-k_t, softmax(s_t / T))

summed over non-padding target tokens, like fairseq's label_smoothed_cross_entropy. ``lam``,
``temperature`` and ``topk`` come from the run's objective node (``--objective``, the config's
``nmt.student.objective``, as image students'); ``lam`` weights the hard term as the image
students' does (Appendix E); Tan et al.'s lambda weights the KD term, so theirs is 1 - lam. The
teacher's
soft labels exist for training sentences only (the top-k file), so validation reports the
label-smoothed NLL alone: the same number for every student, whatever its teacher.
"""

import json
from dataclasses import dataclass, field
from typing import Optional

import torch
from fairseq.criterions import register_criterion
from fairseq.criterions.label_smoothed_cross_entropy import (
    LabelSmoothedCrossEntropyCriterion,
    LabelSmoothedCrossEntropyCriterionConfig,
)
from fairseq.logging import metrics

from lskd.nmt.teacher import OnlineTeacher, TopkCache

LN2 = 0.6931471805599453


@dataclass
class WordKDConfig(LabelSmoothedCrossEntropyCriterionConfig):
    objective: str = field(
        default="",
        metadata={"help": "the distillation objective node (JSON): lam, temperature, topk"},
    )
    # fairseq builds argparse types from these annotations: it needs Optional, not "str | None"
    kd_topk_file: Optional[str] = field(  # noqa: UP045
        default=None, metadata={"help": "cached teacher top-k (lskd nmt-export-topk)"}
    )
    kd_teacher: Optional[str] = field(  # noqa: UP045
        default=None, metadata={"help": "teacher checkpoint, run online on every batch"}
    )


def kd_cross_entropy(logits, index, prob, mask, temperature: float):
    """sum over masked positions of -sum_k prob_k * log softmax(logits / T)[index_k]."""
    log_q = torch.log_softmax(logits.float() / temperature, dim=-1).gather(-1, index)
    per_token = -(prob * log_q).sum(-1)
    return per_token.masked_fill(~mask, 0.0).sum()


@register_criterion("word_kd", dataclass=WordKDConfig)
class WordKDCriterion(LabelSmoothedCrossEntropyCriterion):
    def __init__(
        self,
        task,
        sentence_avg,
        label_smoothing,
        objective,
        kd_topk_file=None,
        kd_teacher=None,
        ignore_prefix_size=0,
        report_accuracy=False,
    ):
        super().__init__(task, sentence_avg, label_smoothing, ignore_prefix_size, report_accuracy)
        if (kd_topk_file is None) == (kd_teacher is None):
            raise ValueError("word_kd: give exactly one of --kd-topk-file and --kd-teacher")
        node = json.loads(objective)
        self.lam, self.temperature, topk = node["lam"], node["temperature"], node["topk"]
        if kd_topk_file:
            self.teacher = TopkCache(kd_topk_file, topk, self.temperature)
        else:
            self.teacher = OnlineTeacher(kd_teacher, task, topk, self.temperature)

    def forward(self, model, sample, reduce=True):
        net_output = model(**sample["net_input"])
        ls_loss, nll_loss = self.compute_loss(model, net_output, sample, reduce=True)
        sample_size = sample["target"].size(0) if self.sentence_avg else sample["ntokens"]
        logging_output = {
            "nll_loss": nll_loss.data,
            "ntokens": sample["ntokens"],
            "nsentences": sample["target"].size(0),
            "sample_size": sample_size,
        }
        if not model.training:
            return ls_loss, sample_size, logging_output | {"loss": ls_loss.data}
        index, prob = self.teacher(sample, self.padding_idx)
        mask = sample["target"].ne(self.padding_idx)
        kd = kd_cross_entropy(net_output[0], index, prob, mask, self.temperature)
        loss = self.lam * ls_loss + (1 - self.lam) * self.temperature**2 * kd
        return loss, sample_size, logging_output | {"loss": loss.data, "kd_loss": kd.data}

    @classmethod
    def reduce_metrics(cls, logging_outputs) -> None:
        super().reduce_metrics(logging_outputs)
        if any("kd_loss" in log for log in logging_outputs):
            kd = sum(log.get("kd_loss", 0) for log in logging_outputs)
            ntokens = sum(log.get("ntokens", 0) for log in logging_outputs)
            metrics.log_scalar("kd_loss", kd / ntokens / LN2, ntokens, round=3)
