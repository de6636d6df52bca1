"""fairseq-preprocess, -train and -generate as lskd runs them: the command lines built from the
config, the output kept in the run folder, and the per-epoch curve read back from fairseq's JSON
log. A run's fairseq/ folder (checkpoint_last.pt, train.log, and fairseq's TensorBoard event
files in tensorboard/) is not a Snakemake output, so a killed or failed job resumes from its last
epoch when rerun. final.json and test.json carry the job's provenance (``lskd.provenance``).
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import torch

from lskd import provenance
from lskd.data.errors import CommandFailed, DataError
from lskd.nmt import LANGS, SPLITS, USER_DIR
from lskd.nmt.checkpoint import check_fairseq_checkpoint
from lskd.nmt.prepare import apply_codes
from lskd.nmt.teacher import load_teacher
from lskd.precision import Choice


def _env(threads: int | None) -> dict:
    # every torch.load in fairseq weights-only, whatever the caller's environment says; the
    # --user-dir plugin allows the types of fairseq's checkpoints (lskd.nmt.checkpoint)
    env = dict(os.environ, TORCH_FORCE_WEIGHTS_ONLY_LOAD="1")
    if threads:
        env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(threads)
    return env


def run(cmd: list[str], log: Path, threads: int | None = None) -> None:
    """Run a fairseq command, its output both on stdout (progress) and appended to ``log``."""
    print("$", " ".join(cmd), flush=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a", encoding="utf-8") as kept:
        proc = subprocess.Popen(
            cmd, env=_env(threads), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for line in proc.stdout:
            sys.stdout.write(line)
            kept.write(line)
        if proc.wait():
            raise CommandFailed(f"{cmd[0]} failed (exit {proc.returncode}); see {log}")


def binarize(codes: str, tok_dir: str, out: str, workers: int = 1) -> None:
    """BPE-encode the tokenised splits and write fairseq's binary dataset to ``out``."""
    bpe_dir = Path(out) / "bpe"
    apply_codes(codes, tok_dir, str(bpe_dir))
    cmd = ["fairseq-preprocess", "--source-lang", LANGS[0], "--target-lang", LANGS[1]]
    for split in SPLITS:
        cmd += [f"--{split}pref", str(bpe_dir / split)]
    run(cmd + ["--destdir", out, "--workers", str(workers)], Path(out) / "preprocess.log")


def _model_args(model: dict) -> list[str]:
    args = ["--arch", model["arch"], "--share-decoder-input-output-embed"]
    sizes = {
        "embed_dim": ["--encoder-embed-dim", "--decoder-embed-dim"],
        "ffn_dim": ["--encoder-ffn-embed-dim", "--decoder-ffn-embed-dim"],
        "layers": ["--encoder-layers", "--decoder-layers"],
        "heads": ["--encoder-attention-heads", "--decoder-attention-heads"],
    }
    for key, flags in sizes.items():
        if key in model:
            for flag in flags:
                args += [flag, str(model[key])]
    return args


def _device_args(fp16: bool = False) -> list[str]:
    if not torch.cuda.is_available():
        if fp16:  # the record says fp32 (lskd.provenance); the log says why
            print("nmt.train.fp16: fairseq runs fp16 on GPUs only; fp32 on this CPU", flush=True)
        return ["--cpu"]
    return ["--fp16"] if fp16 else []


def _provenance(start, cmd: list[str], threads: int | None, fp16: bool = False) -> dict:
    """fairseq trains on every GPU it sees (one process each), in fp16 with --fp16; ``fp16``:
    the config asked for it (nmt.train.fp16), which a CPU cannot honour."""
    gpus = torch.cuda.device_count() if "--cpu" not in cmd else 0
    ran = "fp16" if "--fp16" in cmd else "fp32"
    why = {
        ("fp16", "fp16"): "nmt.train.fp16 (fairseq's --fp16)",
        ("fp16", "fp32"): "nmt.train.fp16 asked for fp16, which fairseq runs on GPUs only",
    }.get(("fp16" if fp16 else "fp32", ran), "nmt.train.fp16 is false")
    choice = Choice(ran, "fp16" if fp16 else "fp32", why)
    return provenance.record(start, max(gpus, 1), choice, threads)


# Longest output, a * source length + b, in validation and test decoding: fairseq's IWSLT14 example
# values. Without a cap an undertrained model repeats words up to 200 tokens, slow and meaningless.
MAX_LEN_A, MAX_LEN_B = 1.2, 10


def train_command(data_bin: str, save_dir: str, model: dict, train: dict, seed: int) -> list[str]:
    """fairseq-train for one run (without its criterion), per the paper and Tan et al."""
    valid_beam = train.get("valid_beam", train["beam"])
    beam = json.dumps({"beam": valid_beam, "max_len_a": MAX_LEN_A, "max_len_b": MAX_LEN_B})
    return [
        "fairseq-train", data_bin, "--user-dir", USER_DIR,
        *_model_args(model), *_device_args(train.get("fp16", False)),
        "--optimizer", "adam", "--adam-betas", "(0.9, 0.98)", "--clip-norm", "0.0",
        "--lr", str(train["lr"]), "--lr-scheduler", "inverse_sqrt",
        "--warmup-updates", str(train["warmup_updates"]),
        "--dropout", str(train["dropout"]), "--weight-decay", str(train["weight_decay"]),
        "--max-tokens", str(train["max_tokens"]), "--max-epoch", str(train["epochs"]),
        "--seed", str(seed), "--save-dir", save_dir, "--no-epoch-checkpoints",
        "--log-format", "json", "--log-interval", "50", "--num-workers", "0",
        # BLEU on the validation set after every epoch (Figure 7; the best epoch is kept)
        "--eval-bleu", "--eval-bleu-args", beam, "--eval-bleu-detok", "moses",
        "--eval-bleu-remove-bpe", "--best-checkpoint-metric", "bleu",
        "--maximize-best-checkpoint-metric",
        # with several GPUs, every rank reads checkpoint_last.pt through the plugin's allowlist
        # (fairseq would otherwise pickle rank 0's loaded state, omegaconf objects and all, to
        # the others, and their weights-only torch.load would refuse it)
        "--load-checkpoint-on-all-dp-ranks",
    ]  # fmt: skip


def criterion_args(objective: dict, teacher: str | None = None, topk_file: str | None = None):
    """fairseq's criterion for an objective node (the config's, as image runs have): a teacher's
    ``label_smoothing`` (alpha: fairseq's --label-smoothing, which is Eq. 1's), a student's
    ``distillation`` (word_kd, its hard term smoothed by the node's alpha) from a teacher run
    online or its exported top-k (``teacher_logits`` online or cached)."""
    smoothing = ["--label-smoothing", str(objective["alpha"])]
    if objective["kind"] == "label_smoothing":
        return ["--criterion", "label_smoothed_cross_entropy", *smoothing]
    if objective["kind"] != "distillation":
        raise ValueError(f"objective kind {objective['kind']!r}: label_smoothing or distillation")
    source = ["--kd-topk-file", topk_file] if topk_file else ["--kd-teacher", teacher]
    node = json.dumps(objective, sort_keys=True)
    return ["--criterion", "word_kd", *smoothing, "--objective", node, *source]


_JSON_RECORD = re.compile(r"\| (train|valid) \| (\{.*\})$")


def read_curve(log: str) -> pd.DataFrame:
    """One row per epoch from fairseq's JSON log: train loss, valid loss/ppl/BLEU, words/s.
    A resumed run appends to the log; the last record of an epoch wins."""
    rows: dict[int, dict] = {}
    for line in Path(log).read_text(encoding="utf-8").splitlines():
        match = _JSON_RECORD.search(line)
        if match:
            record = json.loads(match.group(2))
            row = rows.setdefault(int(record["epoch"]), {"epoch": int(record["epoch"])})
            row.update({k: float(v) for k, v in record.items() if k != "epoch"})
    columns = ["epoch", "train_loss", "train_nll_loss", "train_wps", "train_lr", "valid_loss",
               "valid_nll_loss", "valid_ppl", "valid_bleu"]  # fmt: skip
    curve = pd.DataFrame([rows[e] for e in sorted(rows)])
    missing = [c for c in columns if c not in curve.columns]
    if missing:
        raise DataError(f"{log}: no {', '.join(missing)} in fairseq's log (did training run?)")
    return curve[columns + (["train_kd_loss"] if "train_kd_loss" in curve else [])]


def _start_or_resume(work: Path, cmd: list[str]) -> None:
    """Resume only a run of the same command: a run with other settings is moved aside to
    fairseq.stale/ (not deleted) so that fairseq starts afresh."""
    recorded = work / "command.json"
    if recorded.exists() and json.loads(recorded.read_text()) != cmd:
        stale = work.with_name("fairseq.stale")
        shutil.rmtree(stale, ignore_errors=True)
        work.rename(stale)
        print(f"settings changed: the previous run is kept in {stale}", flush=True)
    work.mkdir(parents=True, exist_ok=True)
    recorded.write_text(json.dumps(cmd))


def train(
    out: str,
    cmd: list[str],
    meta: dict,
    threads: int | None = None,
    tensorboard: bool = True,
    fp16: bool = False,
) -> dict:
    """Run fairseq-train into ``out``/fairseq, then write model.pt (the best-BLEU checkpoint),
    curve.csv and final.json. ``tensorboard``: fairseq also writes its event files, to
    ``out``/fairseq/tensorboard (not part of the command a resume compares)."""
    start = provenance.now()
    out_dir = Path(out)
    work = out_dir / "fairseq"
    _start_or_resume(work, cmd)
    if (work / "checkpoint_last.pt").exists():  # fairseq resumes from it: one line if refused
        check_fairseq_checkpoint(str(work / "checkpoint_last.pt"))
    log = work / "train.log"
    logdir = ["--tensorboard-logdir", str(work / "tensorboard")] if tensorboard else []
    run(cmd + logdir, log, threads)
    curve = read_curve(str(log))
    curve.to_csv(out_dir / "curve.csv", index=False)
    best = curve.loc[curve["valid_bleu"].idxmax()]
    shutil.copyfile(work / "checkpoint_best.pt", out_dir / "model.pt")
    final = meta | {
        "epochs": int(curve["epoch"].max()),
        "best_epoch": int(best["epoch"]),
        "best_valid_bleu": float(best["valid_bleu"]),
        "valid_beam": json.loads(cmd[cmd.index("--eval-bleu-args") + 1])["beam"],
        "valid_ppl_at_best": float(best["valid_ppl"]),
        "last_valid_ppl": float(curve["valid_ppl"].iloc[-1]),
        "provenance": _provenance(start, cmd, threads, fp16),
    }
    (out_dir / "final.json").write_text(json.dumps(final, indent=1))
    return final


_BLEU_LINE = re.compile(r"Generate (\w+) with beam=(\d+): BLEU4? = ([\d.]+)")


def test_bleu(data_bin: str, model: str, out: str, beam: int, threads: int | None = None) -> dict:
    """fairseq-generate on the test split with beam search, outputs capped as in validation:
    tokenised BLEU of the BPE-merged output, as fairseq reports IWSLT14 results."""
    start = provenance.now()
    load_teacher(model, data=data_bin)  # one clear line for a file fairseq cannot use
    out_path = Path(out)
    log = out_path.with_suffix(".generate.txt")
    if log.exists():
        log.unlink()  # generation is not resumable: keep only this run's output
    cmd = ["fairseq-generate", data_bin, "--user-dir", USER_DIR, "--path", model,
           "--gen-subset", "test", "--beam", str(beam), "--remove-bpe", "--batch-size", "128",
           "--max-len-a", str(MAX_LEN_A), "--max-len-b", str(MAX_LEN_B),
           *_device_args()]  # fmt: skip
    run(cmd, log, threads)
    found = _BLEU_LINE.findall(log.read_text(encoding="utf-8"))
    if not found:
        raise DataError(f"{log}: fairseq-generate printed no BLEU line")
    result = {"test_bleu": float(found[-1][2]), "beam": beam, "model": model}
    result["provenance"] = _provenance(start, cmd, threads)
    out_path.write_text(json.dumps(result, indent=1))
    return result
