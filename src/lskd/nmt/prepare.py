"""Tokenise, clean and BPE-encode sentence pairs as fairseq's prepare-iwslt14.sh does: Moses
tokenisation, lowercasing, training pairs of 1-175 tokens with a length ratio of at most 1.5,
validation = every 23rd cleaned training pair (IWSLT14), joint BPE learned on the training text.
"""

import io
import json
from pathlib import Path

from sacremoses import MosesTokenizer
from subword_nmt.apply_bpe import BPE
from subword_nmt.learn_bpe import learn_bpe

from lskd.data.errors import DataError
from lskd.nmt import LANGS, SPLITS

VALID_EVERY = 23  # prepare-iwslt14.sh: awk '{if (NR%23 == 0) print $0;}'


def tokenize(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    tokenizers = [MosesTokenizer(lang=lang) for lang in LANGS]
    return [
        tuple(
            tok.tokenize(text, return_str=True).lower()
            for tok, text in zip(tokenizers, pair, strict=True)
        )
        for pair in pairs
    ]


def keep_pair(de: str, en: str, min_len: int = 1, max_len: int = 175, ratio: float = 1.5) -> bool:
    """Moses' clean-corpus-n.perl -ratio 1.5 ... 1 175."""
    a, b = len(de.split()), len(en.split())
    return min_len <= a <= max_len and min_len <= b <= max_len and max(a / b, b / a) <= ratio


def tokenized_splits(splits: dict) -> dict:
    out = {name: tokenize(pairs) for name, pairs in splits.items()}
    out["train"] = [p for p in out["train"] if keep_pair(*p)]
    if "valid" not in out:
        train = out["train"]
        out["valid"] = [p for i, p in enumerate(train, 1) if i % VALID_EVERY == 0]
        out["train"] = [p for i, p in enumerate(train, 1) if i % VALID_EVERY]
    return out


def write_split(pairs: list[tuple[str, str]], stem: Path) -> None:
    for i, lang in enumerate(LANGS):
        Path(f"{stem}.{lang}").write_text("".join(p[i] + "\n" for p in pairs), encoding="utf-8")


def learn_codes(train: list[tuple[str, str]], merges: int, codes: Path) -> None:
    """Joint BPE on the German and English training text (subword-nmt)."""
    text = io.StringIO("".join(f"{de}\n{en}\n" for de, en in train))
    with codes.open("w", encoding="utf-8") as out:
        learn_bpe(text, out, merges)


def load_codes(path: str) -> BPE:
    """subword-nmt's BPE, after checking the codes file (a corrupt one would encode silently)."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    if not lines or not lines[0].startswith("#version:"):
        raise DataError(f"{path}: not a subword-nmt BPE codes file; delete it and rerun")
    for number, line in enumerate(lines[1:], 2):
        if len(line.split(" ")) != 2 or "" in line.split(" "):
            raise DataError(
                f"{path} line {number}: {line[:40]!r} is not a BPE merge 'a b';"
                " the codes file is corrupt: delete it and rerun"
            )
    with open(path, encoding="utf-8") as codes:
        return BPE(codes)


def prepare(spec: dict, merges: int, out_dir: str) -> dict:
    """Tokenised splits ``{out_dir}/{split}.{de,en}``, ``codes.txt`` and ``corpus.json``."""
    from lskd.nmt.corpus import load_splits

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    splits = tokenized_splits(load_splits(spec))
    for name in SPLITS:
        write_split(splits[name], out / name)
    learn_codes(splits["train"], merges, out / "codes.txt")
    info = {f"{name}_pairs": len(splits[name]) for name in SPLITS}
    (out / "corpus.json").write_text(json.dumps(info | {"corpus": spec, "bpe_merges": merges}))
    return info


def apply_codes(codes: str, tok_dir: str, out_dir: str) -> None:
    """BPE-encode every tokenised split of ``tok_dir`` into ``out_dir``."""
    bpe = load_codes(codes)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    for name in SPLITS:
        for lang in LANGS:
            lines = (Path(tok_dir) / f"{name}.{lang}").read_text(encoding="utf-8").splitlines()
            encoded = "".join(bpe.process_line(line) + "\n" for line in lines)
            (Path(out_dir) / f"{name}.{lang}").write_text(encoded, encoding="utf-8")
