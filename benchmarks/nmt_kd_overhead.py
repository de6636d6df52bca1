"""Student words/s of the NMT word_kd criterion: cached teacher top-k and online teacher, against
fairseq's own label_smoothed_cross_entropy, in one run (same data, model, tokens per batch and
threads). Target for cached top-k: <= 1.1x the time of plain training.

    python benchmarks/nmt_kd_overhead.py [--pairs 6000] [--epochs 2] [--threads 2]
"""

import argparse
import tempfile
from pathlib import Path

from lskd.nmt import runs
from lskd.nmt.prepare import prepare
from lskd.nmt.teacher import export

MODEL = {"arch": "transformer_iwslt_de_en", "embed_dim": 128, "ffn_dim": 256, "layers": 2,
         "heads": 4}  # fmt: skip


def words_per_second(log: Path) -> float:
    """Mean of fairseq's per-epoch train_wps (the first epoch included: same for every run)."""
    return float(runs.read_curve(str(log)).train_wps.mean())


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pairs", type=int, default=6000, help="Ding training pairs")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--corpus", default="/usr/share/trans/de-en")
    args = p.parse_args()
    train = {"epochs": args.epochs, "lr": 0.001, "warmup_updates": 100, "dropout": 0.3,
             "weight_decay": 0.0, "max_tokens": 2048, "beam": 1}  # fmt: skip
    kd = {"alpha": 0.5, "topk": 8, "temperature": 1.0}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        spec = {"kind": "ding", "path": args.corpus, "valid_pairs": 100, "test_pairs": 100,
                "seed": 0, "max_train_pairs": args.pairs}  # fmt: skip
        prepare(spec, 2000, str(tmp / "tok"))
        runs.binarize(str(tmp / "tok/codes.txt"), str(tmp / "tok"), str(tmp / "bin"))
        data = str(tmp / "bin")

        def fit(name: str, criterion: list[str]) -> float:
            cmd = runs.train_command(data, str(tmp / name / "fairseq"), MODEL, train, 0)
            runs.train(str(tmp / name), cmd + criterion, {}, args.threads)
            return words_per_second(tmp / name / "fairseq/train.log")

        plain = fit("teacher", runs.criterion_args(0.1))
        teacher = str(tmp / "teacher/model.pt")
        export(teacher, data, str(tmp / "topk.pt"), kd["topk"], kd["temperature"])
        cached = fit("cached", runs.criterion_args(0.1, kd, topk_file=str(tmp / "topk.pt")))
        online = fit("online", runs.criterion_args(0.1, kd, teacher=teacher))
    print(f"\n{args.pairs} pairs, {args.epochs} epochs, {args.threads} threads, model {MODEL}")
    print(f"{'run':<36}{'words/s':>10}{'time vs plain':>15}")
    for name, wps in [("label_smoothed_cross_entropy", plain), ("word_kd, cached top-k", cached),
                      ("word_kd, online teacher", online)]:  # fmt: skip
        print(f"{name:<36}{wps:>10.0f}{plain / wps:>14.2f}x")


if __name__ == "__main__":
    main()
