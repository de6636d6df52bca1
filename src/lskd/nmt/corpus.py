"""German-English sentence pairs: the embedded default (the Ding dictionary's example sentences,
Debian package trans-de-en) and IWSLT14 De-En from the user's copy of the released archive.

Both return raw (untokenised) pairs per split; ``prepare`` tokenises, cleans and applies BPE.
"""

import random
import re
import tarfile
from pathlib import Path

from lskd.data.errors import DataError

# Ding annotations: {gender}, [domain], <synonyms>, /abbreviation/
_ANNOTATION = re.compile(r"\{[^}]*\}|\[[^\]]*\]|<[^>]*>|(?<!\S)/[^/\s][^/]*?/(?!\S)")
_SENTENCE_END = re.compile(r"[.!?]$")


def _clean_ding(text: str) -> str:
    text = _ANNOTATION.sub(" ", text).split(";")[0]  # first of "A; B" alternatives
    return " ".join(text.split())


def _is_sentence(text: str) -> bool:
    return bool(_SENTENCE_END.search(text)) and len(text.split()) >= 3


def read_ding(path: str) -> list[tuple[str, str]]:
    """Example sentences of the Ding dictionary (lines ``German :: English``, alternatives in the
    same order on both sides, separated by `` | ``): pairs whose both sides are sentences."""
    path = Path(path)
    if not path.is_file():
        raise DataError(
            f"{path}: the Ding German-English dictionary is missing"
            " (apt-get install trans-de-en, or set nmt.corpus.path)"
        )
    pairs, seen = [], set()
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.startswith("#") or " :: " not in line:
                continue
            german, english = line.rstrip("\n").split(" :: ", 1)
            de_parts, en_parts = german.split(" | "), english.split(" | ")
            if len(de_parts) != len(en_parts):
                continue
            for de, en in zip(de_parts, en_parts, strict=True):
                pair = (_clean_ding(de), _clean_ding(en))
                if _is_sentence(pair[0]) and _is_sentence(pair[1]) and pair not in seen:
                    seen.add(pair)
                    pairs.append(pair)
    if not pairs:
        raise DataError(f"{path}: no 'German :: English' sentence pairs found (not a Ding file?)")
    return pairs


def split_ding(path: str, valid: int, test: int, seed: int, max_train: int | None = None) -> dict:
    """Shuffle the pairs with ``seed`` and cut test, valid and train splits (disjoint)."""
    pairs = read_ding(path)
    if valid + test >= len(pairs):
        raise DataError(f"{path}: {len(pairs)} pairs cannot give {valid} valid + {test} test")
    random.Random(seed).shuffle(pairs)
    train = pairs[valid + test :]
    return {
        "test": pairs[:test],
        "valid": pairs[test : test + valid],
        "train": train[:max_train] if max_train else train,
    }


# fairseq's examples/translation/prepare-iwslt14.sh: the test set is these five files together
IWSLT14_TEST = [
    "IWSLT14.TED.dev2010",
    "IWSLT14.TEDX.dev2012",
    "IWSLT14.TED.tst2010",
    "IWSLT14.TED.tst2011",
    "IWSLT14.TED.tst2012",
]
_TAG_LINE = re.compile(r"^\s*<(url|talkid|keywords|speaker|reviewer|translator|doc|/doc)")
_SEG = re.compile(r"<seg[^>]*>(.*)</seg>")


def _iwslt_files(root: str) -> dict[str, str]:
    """Text of every file of the IWSLT14 de-en release, by base name (archive or folder)."""
    path = Path(root)
    if path.is_file():
        try:
            with tarfile.open(path) as archive:
                return {
                    Path(m.name).name: archive.extractfile(m).read().decode("utf-8")
                    for m in archive.getmembers()
                    if m.isfile()
                }
        except (tarfile.TarError, EOFError) as err:
            raise DataError(f"{path}: not a readable IWSLT14 archive ({err})") from None
    if path.is_dir():
        return {p.name: p.read_text(encoding="utf-8") for p in path.rglob("*") if p.is_file()}
    raise DataError(
        f"{path}: IWSLT14 de-en release missing (de-en.tgz from the WIT3 2014-01 release,"
        " or its extracted folder; set nmt.corpus.path)"
    )


def _need(files: dict, name: str, root: str) -> str:
    if name not in files:
        raise DataError(f"{root}: {name} is missing (not the IWSLT14 de-en release?)")
    return files[name]


def split_iwslt14(root: str) -> dict:
    """All training pairs and the standard test set, as prepare-iwslt14.sh reads them (it takes
    the validation set from the cleaned training pairs: ``prepare.VALID_EVERY``)."""
    files = _iwslt_files(root)
    sides = {}
    for lang in ("de", "en"):
        text = _need(files, f"train.tags.de-en.{lang}", root)
        lines = [
            re.sub(r"</?(title|description)>", "", line)
            for line in text.splitlines()
            if not _TAG_LINE.match(line)
        ]
        sides[lang] = lines
    if len(sides["de"]) != len(sides["en"]):
        raise DataError(f"{root}: train.tags.de-en.de and .en have different line counts")
    train_all = list(zip(sides["de"], sides["en"], strict=True))
    test = []
    for name in IWSLT14_TEST:
        de = _SEG.findall(_need(files, f"{name}.de-en.de.xml", root))
        en = _SEG.findall(_need(files, f"{name}.de-en.en.xml", root))
        if len(de) != len(en):
            raise DataError(f"{root}: {name} has {len(de)} German and {len(en)} English segments")
        test += [
            (d.strip().replace("’", "'"), e.strip().replace("’", "'"))
            for d, e in zip(de, en, strict=True)
        ]
    return {"train": train_all, "test": test}


def load_splits(spec: dict) -> dict:
    """The config's nmt.corpus entry -> {split: [(de, en), ...]}; IWSLT14 has no "valid" yet."""
    if spec["kind"] == "ding":
        return split_ding(
            spec["path"],
            spec["valid_pairs"],
            spec["test_pairs"],
            spec["seed"],
            spec.get("max_train_pairs"),
        )
    return split_iwslt14(spec["path"])
