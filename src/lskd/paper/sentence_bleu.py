"""A fairseq-generate log's test sentences as BLEU statistics, one row per sentence (counted by
sacrebleu on the tokenised text fairseq scores): the corpus BLEU of any bootstrap resample of
them is then a sum (``lskd.paper.resampled.bleu``)."""

import numpy as np


def hypotheses_and_references(generate_log: str) -> list[tuple[str, str]]:
    """fairseq-generate's (H-, T-) lines of each sentence that has both, in sentence order."""
    lines = {}
    for line in generate_log.splitlines():
        kind, _, rest = line.partition("-")
        if kind in ("H", "T") and rest[:1].isdigit():
            index, *fields = rest.split("\t")
            lines[kind, int(index)] = fields[-1]
    ids = sorted(i for kind, i in lines if kind == "T" and ("H", i) in lines)
    return [(lines["H", i], lines["T", i]) for i in ids]


def sentence_stats(generate_log: str) -> np.ndarray | None:
    """Per test sentence of a fairseq-generate log: hypothesis and reference lengths, 1- to
    4-gram matches and totals, counted by sacrebleu on the tokenised text fairseq scores."""
    from sacrebleu.metrics import BLEU

    pairs = hypotheses_and_references(generate_log)
    if not pairs:
        return None
    bleu = BLEU(tokenize="none", smooth_method="none", force=True, effective_order=True)
    scores = [bleu.sentence_score(hyp, [ref]) for hyp, ref in pairs]
    return np.array([[s.sys_len, s.ref_len, *s.counts, *s.totals] for s in scores], dtype=float)
