"""Statistics of bootstrap resamples, vectorised: ``idx`` has shape (resamples, items) and
indexes the test items (images, sentences); each function returns one value per resample.
``lskd.paper.evidence`` draws the resamples and keeps the memory they take in bounds."""

import numpy as np


def mean(values, idx):
    return values[idx].mean(axis=-1)


def intra_class_std(payload, idx):
    """Algorithm 1 (as lskd.metrics.stability) on each resample."""
    label, prob, k = payload
    lab, p = label[idx], prob[idx]
    b = lab.shape[0]
    flat = (lab + k * np.arange(b)[:, None]).ravel()
    count = np.bincount(flat, minlength=b * k).reshape(b, k)
    s1 = np.bincount(flat, p.ravel(), b * k).reshape(b, k)
    s2 = np.bincount(flat, (p * p).ravel(), b * k).reshape(b, k)
    with np.errstate(invalid="ignore", divide="ignore"):
        std = np.sqrt(np.clip((s2 - s1 * s1 / count) / (count - 1), 0, None))
    return np.nanmean(np.where(count >= 2, std, np.nan), axis=1)


def inter_class_variance(payload, idx):
    """Eq. 5 on each resample: class-mean probability vectors against the overall mean."""
    label, probs, k = payload
    p = probs[idx]
    onehot = np.eye(k, dtype=np.float32)[label[idx]]
    count = onehot.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.einsum("bnc,bnk->bck", onehot, p) / count[..., None]
    dist = ((means - p.mean(axis=1)[:, None, :]) ** 2).sum(axis=-1)
    return np.nanmean(np.where(count > 0, dist, np.nan), axis=1)


def bleu(sentence_stats, idx):
    """Corpus BLEU (unsmoothed, as fairseq) of each resample from per-sentence statistics:
    hypothesis length, reference length, matches and totals of 1- to 4-grams."""
    s = sentence_stats[idx].sum(axis=1)
    sys_len, ref_len, correct, total = s[:, 0], s[:, 1], s[:, 2:6], s[:, 6:10]
    with np.errstate(divide="ignore", invalid="ignore"):
        log_precision = np.log(correct / total).mean(axis=1)
        brevity = np.where(sys_len < ref_len, np.exp(1 - ref_len / sys_len), 1.0)
    return np.nan_to_num(100 * brevity * np.exp(log_precision))
