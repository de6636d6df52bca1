"""NMT (issue 6): corpus preparation, the word_kd criterion against a hand computation, cached
vs online teacher top-k, the smoke run's fairseq outputs, and bad input."""

import json
import math
import os
import pickle
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import sacrebleu
import torch
from fairseq.data import Dictionary

from lskd.data.errors import CommandFailed, DataError
from lskd.nmt import corpus, prepare, runs
from lskd.nmt.checkpoint import FAIRSEQ_TYPES
from lskd.nmt.teacher import TopkCache, load_teacher
from lskd.nmt.word_kd import WordKDCriterion
from lskd.paper.sentence_bleu import hypotheses_and_references

DING = "/usr/share/trans/de-en"


@pytest.fixture(scope="module")
def ding_pairs():
    return corpus.read_ding(DING)


def test_ding_gives_about_twenty_thousand_clean_sentence_pairs(ding_pairs):
    assert 19_000 < len(ding_pairs) < 21_000
    assert len(set(ding_pairs)) == len(ding_pairs)
    for de, en in ding_pairs:
        assert de[-1] in ".!?" and en[-1] in ".!?"
        assert len(de.split()) >= 3 and len(en.split()) >= 3
        assert not any(mark in de + en for mark in "{}[]<>;")
        assert " :: " not in de + en and " | " not in de + en


def test_ding_annotations_removed():
    line = "Er ist krank. {m} [med.] | Sie kommt. :: He is ill. [Br.]; He is sick. | She comes."
    assert corpus._clean_ding(line.split(" :: ")[0].split(" | ")[0]) == "Er ist krank."
    assert corpus._clean_ding("He is ill. [Br.]; He is sick.") == "He is ill."
    assert corpus._clean_ding("Das ist /ZNS/ gut.") == "Das ist gut."


def test_ding_split_is_deterministic_and_disjoint():
    a = corpus.split_ding(DING, valid=50, test=70, seed=3, max_train=400)
    b = corpus.split_ding(DING, valid=50, test=70, seed=3, max_train=400)
    assert a == b
    assert [len(a[s]) for s in ("train", "valid", "test")] == [400, 50, 70]
    assert not set(a["test"]) & set(a["valid"]) and not set(a["test"]) & set(a["train"])
    assert corpus.split_ding(DING, valid=50, test=70, seed=4)["test"] != a["test"]


def test_cleaning_follows_clean_corpus_n():
    assert prepare.keep_pair("a b c", "x y")  # ratio 1.5
    assert not prepare.keep_pair("a b c d", "x y")  # ratio 2
    assert not prepare.keep_pair("", "x")
    assert not prepare.keep_pair(" ".join(["w"] * 176), " ".join(["w"] * 176))


def test_iwslt14_valid_is_every_23rd_cleaned_training_pair():
    train = [(f"ein satz {i} .", f"a sentence {i} .") for i in range(1, 70)]
    splits = prepare.tokenized_splits({"train": train, "test": train[:2]})
    assert [p[1] for p in splits["valid"]] == [f"a sentence {i} ." for i in (23, 46, 69)]
    assert len(splits["train"]) == 66


def test_iwslt14_missing_archive_is_one_clear_line(tmp_path):
    with pytest.raises(DataError, match=r"de-en\.tgz: IWSLT14 de-en release missing"):
        corpus.split_iwslt14(str(tmp_path / "de-en.tgz"))
    (tmp_path / "bad.tgz").write_bytes(b"not a tar file")
    with pytest.raises(DataError, match="not a readable IWSLT14 archive"):
        corpus.split_iwslt14(str(tmp_path / "bad.tgz"))


def test_corrupt_bpe_codes_is_one_clear_line(tmp_path):
    codes = tmp_path / "codes.txt"
    codes.write_text("#version: 0.2\nt h\nth e</w>\ngarbage line here\n")
    with pytest.raises(DataError, match=r"codes\.txt line 4: 'garbage line here' is not a BPE"):
        prepare.load_codes(str(codes))
    codes.write_text("\x00\x01binary")
    with pytest.raises(DataError, match="not a subword-nmt BPE codes file"):
        prepare.load_codes(str(codes))


# --- the criterion, against a computation by hand ----------------------------------------------


class LogitsModel(torch.nn.Module):
    """Stands in for a fairseq model: its output is a learnable logits tensor."""

    def __init__(self, logits):
        super().__init__()
        self.logits = torch.nn.Parameter(logits)

    def forward(self, **net_input):
        return self.logits, None

    def get_normalized_probs(self, net_output, log_probs):
        return torch.log_softmax(net_output[0], -1)

    def get_targets(self, sample, net_output):
        return sample["target"]


def _topk_file(path, offsets, index, prob, k, temperature):
    torch.save(
        {"offsets": offsets, "index": index, "prob": prob, "k": k, "temperature": temperature},
        path,
    )


def test_word_kd_loss_and_gradient_match_a_hand_computation(tmp_path):
    torch.manual_seed(0)
    vocab = Dictionary()
    for word in "abcdefgh":
        vocab.add_symbol(word)
    V, pad, k, T, lam, eps = len(vocab), vocab.pad(), 3, 2.0, 0.7, 0.1
    # two sentences (ids 1 and 0 of the cache), lengths 4 and 2: the second is padded
    target = torch.tensor([[5, 6, 7, 2], [8, 2, pad, pad]])
    lengths = {1: 4, 0: 2}
    offsets = torch.tensor([0, 2, 6])  # sentence 0: rows 0-1, sentence 1: rows 2-5
    index = torch.randint(0, V, (6, k), dtype=torch.int32)
    prob = torch.softmax(torch.randn(6, k), -1)
    _topk_file(tmp_path / "topk.pt", offsets, index, prob, k, T)
    task = SimpleNamespace(target_dictionary=vocab)
    node = kd_node(lam=lam, temperature=T, topk=k, alpha=eps)
    crit = WordKDCriterion(task, False, eps, node, kd_topk_file=str(tmp_path / "topk.pt"))
    logits = torch.randn(2, 4, V, dtype=torch.float64)
    model = LogitsModel(logits.clone().float()).train()
    sample = {"id": torch.tensor([1, 0]), "target": target, "net_input": {}, "ntokens": 6}
    loss, sample_size, log = crit(model, sample)
    loss.backward()

    expected, grad = 0.0, torch.zeros_like(logits)
    for row, sid in enumerate((1, 0)):
        for t in range(lengths[sid]):
            z = logits[row, t].tolist()
            log_q = [zi - math.log(sum(math.exp(x) for x in z)) for zi in z]
            log_qt = [zi / T - math.log(sum(math.exp(x / T) for x in z)) for zi in z]
            p_full = [0.0] * V
            for j in range(k):
                p_full[int(index[offsets[sid] + t, j])] += float(prob[offsets[sid] + t, j])
            # Eq. 1 smoothing as fairseq applies it: 1 - eps on the reference, eps/(V-1) elsewhere
            y = [eps / (V - 1)] * V
            y[int(target[row, t])] = 1 - eps
            ls = -sum(yi * lq for yi, lq in zip(y, log_q, strict=True))
            kd = -sum(pi * lq for pi, lq in zip(p_full, log_qt, strict=True))
            # Appendix E's mix, as the image students': lam on the hard term, 1 - lam on the soft
            expected += lam * ls + (1 - lam) * T**2 * kd
            q, q_t = torch.tensor(log_q).exp(), torch.tensor(log_qt).exp()
            # d/dz: lam (q - y) + (1 - lam) T^2 (1/T) (q_T - p)
            hard, soft = q - torch.tensor(y), q_t - torch.tensor(p_full)
            grad[row, t] = lam * hard + (1 - lam) * T * soft
    assert sample_size == 6 and log["ntokens"] == 6
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    assert torch.allclose(model.logits.grad.double(), grad, atol=1e-6)
    assert (model.logits.grad[1, 2:] == 0).all()  # padding positions get no gradient


def test_fairseq_parses_the_students_command_into_the_configured_word_kd():
    """The command nmt-train builds from the student's objective node, parsed by fairseq-train's
    own parser: the criterion gets the node whole (lam, the hard term's weight; T; k) and the
    reference's label smoothing (the node's alpha)."""
    from fairseq import options
    from fairseq.dataclass.utils import convert_namespace_to_omegaconf

    train = {"lr": 1e-3, "warmup_updates": 1, "dropout": 0.1, "weight_decay": 0.0,
             "max_tokens": 512, "epochs": 1, "beam": 1}  # fmt: skip
    cmd = runs.train_command("data-bin", "out", {"arch": "transformer_iwslt_de_en"}, train, 0)
    node = json.loads(kd_node(lam=0.7, topk=3, temperature=2.0, alpha=0.2))
    cmd += runs.criterion_args(node, topk_file="topk.pt")
    assert cmd[0] == "fairseq-train"
    parsed = options.parse_args_and_arch(options.get_training_parser(), input_args=cmd[1:])
    criterion = convert_namespace_to_omegaconf(parsed).criterion
    assert (criterion._name, json.loads(criterion.objective)) == ("word_kd", node)
    assert (criterion.kd_topk_file, criterion.label_smoothing) == ("topk.pt", 0.2)
    teacher = runs.criterion_args({"kind": "label_smoothing", "alpha": 0.1})
    assert teacher == ["--criterion", "label_smoothed_cross_entropy", "--label-smoothing", "0.1"]


def test_cache_from_other_data_or_settings_is_refused(tmp_path):
    _topk_file(tmp_path / "t.pt", torch.tensor([0, 2]), torch.zeros(2, 3, dtype=torch.int32),
               torch.full((2, 3), 1 / 3), 3, 1.0)  # fmt: skip
    with pytest.raises(DataError, match="exported with k=3, T=1.0; the student asks for k=4"):
        TopkCache(str(tmp_path / "t.pt"), 4, 1.0)
    cache = TopkCache(str(tmp_path / "t.pt"), 2, 1.0)
    sample = {"id": torch.tensor([0]), "target": torch.tensor([[4, 5, 2]])}
    with pytest.raises(DataError, match="sentence 0 has 2 cached tokens, the batch 3"):
        cache(sample, pad=1)
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(DataError, match="junk.pt: unreadable top-k file"):
        TopkCache(str(tmp_path / "junk.pt"), 2, 1.0)


# --- on the smoke run's real fairseq outputs ---------------------------------------------------


def kd_node(lam=0.5, temperature=1.0, topk=4, alpha=0.1, teacher_logits="cached") -> str:
    """An NMT student's objective node (config nmt.student.objective) as its JSON."""
    return json.dumps({"kind": "distillation", "lam": lam, "temperature": temperature,
                       "topk": topk, "alpha": alpha, "teacher_logits": teacher_logits})  # fmt: skip


def _criterion(task, **source):
    return WordKDCriterion(task, False, 0.1, kd_node(), **source)


@pytest.mark.workflow
def test_online_and_cached_teacher_give_the_same_loss(smoke_run):
    nmt = smoke_run / "results/nmt"
    teacher_pt = nmt / "teachers/transformer_ls/seed0/model.pt"
    teacher, task = load_teacher(str(teacher_pt), data=str(nmt / "data-bin"))
    student, _ = load_teacher(str(nmt / "students/transformer_ls/seed0/model.pt"), task=task)
    task.load_dataset("train")
    batches = task.get_batch_iterator(task.dataset("train"), max_tokens=600, seed=5)
    sample = next(iter(batches.next_epoch_itr(shuffle=True)))
    cached = _criterion(task, kd_topk_file=str(teacher_pt.parent / "topk.pt"))
    online = _criterion(task, kd_teacher=str(teacher_pt))
    student.train()
    torch.manual_seed(0)
    loss_cached, _, log_cached = cached(student, sample)
    torch.manual_seed(0)  # the same dropout masks
    loss_online, _, log_online = online(student, sample)
    assert log_cached["kd_loss"] > 0
    assert loss_online.item() == pytest.approx(loss_cached.item(), rel=1e-5)
    assert log_online["kd_loss"].item() == pytest.approx(log_cached["kd_loss"].item(), rel=1e-5)


@pytest.mark.workflow
def test_smoke_run_trains_teachers_and_students_with_fairseq(smoke_run):
    nmt = smoke_run / "results/nmt"
    for role in ("teachers", "students"):
        for name in ("transformer", "transformer_ls"):
            run = nmt / role / name / "seed0"
            curve = pd.read_csv(run / "curve.csv")
            assert curve.epoch.tolist() == [1, 2]
            assert curve.valid_bleu.between(0, 100).all()
            assert (curve.train_loss > 0).all()
            assert ("train_kd_loss" in curve) == (role == "students")
            final = json.loads((run / "final.json").read_text())
            assert final["best_valid_bleu"] == curve.valid_bleu.max()
            test_bleu = json.loads((run / "test.json").read_text())["test_bleu"]
            log = (run / "test.generate.txt").read_text(encoding="utf-8")
            unigram = float(re.search(r"BLEU4 = [\d.]+, ([\d.]+)/", log).group(1))
            ours = sacrebleu_of(log)  # BLEU is ~0 at toy size, so the unigram precision too
            assert (test_bleu, unigram) == pytest.approx((ours.score, ours.precisions[0]), abs=0.06)
    # the student's log says it ran word_kd from the cached top-k
    log = (nmt / "students/transformer_ls/seed0/fairseq/train.log").read_text()
    assert "word_kd" in log and "topk.pt" in log
    table = pd.read_csv(smoke_run / "results/tables/nmt.csv")
    assert sorted(zip(table.role, table.teacher_alpha, strict=True)) == [
        ("student", 0.0), ("student", 0.1), ("teacher", 0.0), ("teacher", 0.1)
    ]  # fmt: skip


def sacrebleu_of(generate_log: str):
    """Corpus BLEU of fairseq-generate's hypotheses (H-) against its references (T-), computed by
    sacrebleu on the same tokenised, BPE-merged text fairseq scores, unsmoothed as fairseq's."""
    pairs = hypotheses_and_references(generate_log)
    assert pairs and len(pairs) == len(re.findall(r"(?m)^T-\d", generate_log))  # each has an H-
    hyps, refs = [h for h, _ in pairs], [r for _, r in pairs]
    return sacrebleu.corpus_bleu(hyps, [refs], tokenize="none", smooth_method="none", force=True)


def _lskd(*args):
    return subprocess.run([sys.executable, "-m", "lskd", *args], capture_output=True, text=True)


@pytest.mark.workflow
def test_a_checkpoint_that_is_not_fairseq_is_one_clear_line(smoke_run, tmp_path):
    torch.save({"model": {}}, tmp_path / "ours.pt")  # a zip, but not fairseq's
    (tmp_path / "text.pt").write_text("hello")
    data_bin = str(smoke_run / "results/nmt/data-bin")
    for bad in ("ours.pt", "text.pt"):
        model = str(tmp_path / bad)
        for command in (
            [
                "nmt-export-topk",
                "--teacher",
                model,
                "--objective",
                kd_node(topk=2),
                "--out",
                str(tmp_path / "topk.pt"),
            ],
            ["nmt-test", "--model", model, "--out", str(tmp_path / "test.json")],
        ):
            proc = _lskd(*command, "--data-bin", data_bin)
            assert proc.returncode == 2
            errors = [line for line in proc.stderr.splitlines() if "error:" in line]
            assert len(errors) == 1 and f"{bad}: not a fairseq checkpoint" in errors[0], proc.stderr
    assert not (tmp_path / "topk.pt").exists() and not (tmp_path / "test.json").exists()


# --- no code runs from a model file (issue 13) -------------------------------------------------


class _RunsCode:
    """Unpickling this runs a shell command that creates ``marker``: what a crafted file does."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {shlex.quote(str(self.marker))}",)


def _crafted(path, marker, *, raw=False):
    """A file that runs code when unpickled: a torch.save archive, or a bare pickle."""
    payload = {"model": _RunsCode(marker), "cfg": None}
    if raw:
        path.write_bytes(pickle.dumps(payload))
    else:
        torch.save(payload, path)
    return str(path)


def _one_error_line(proc, name):
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and name in errors[0] and "refused" in errors[0], proc.stderr
    return errors[0]


# a tiny run's settings: the refusals below come before any training
_TINY = [
    "--model", json.dumps({"arch": "transformer_iwslt_de_en", "embed_dim": 8, "ffn_dim": 8,
                           "layers": 1, "heads": 1}),
    "--train", json.dumps({"epochs": 1, "lr": 1e-3, "warmup_updates": 1, "max_tokens": 512,
                           "beam": 1, "dropout": 0.1, "weight_decay": 0.0}),
    "--threads", "1",
]  # fmt: skip


@pytest.mark.workflow
def test_a_crafted_model_file_is_refused_and_runs_nothing(smoke_run, tmp_path):
    """nmt-test --model, nmt-export-topk --teacher and nmt-train --teacher, each given a file whose
    unpickling would create a marker file: one line naming the file and why, and no marker."""
    data_bin = str(smoke_run / "results/nmt/data-bin")
    control = tmp_path / "control_ran"  # the crafted payload does run code when unpickled
    pickle.loads(Path(_crafted(tmp_path / "control.pkl", control, raw=True)).read_bytes())
    assert control.exists()
    marker = tmp_path / "code_ran"
    evil = _crafted(tmp_path / "evil.pt", marker)
    kd = kd_node(topk=2, teacher_logits="online")
    for command in (
        ["nmt-test", "--model", evil, "--out", str(tmp_path / "test.json")],
        ["nmt-export-topk", "--teacher", evil, "--objective", kd, "--out", str(tmp_path / "t.pt")],
        [
            "nmt-train",
            "--teacher",
            evil,
            "--objective",
            kd,
            "--out",
            str(tmp_path / "student"),
            *_TINY,
        ],
    ):
        line = _one_error_line(_lskd(*command, "--data-bin", data_bin), "evil.pt")
        assert "posix.system" in line, line  # why: what the file would have called
        assert not marker.exists(), command
    # a bare pickle (not a torch.save archive) is refused before anything reads it
    raw = _crafted(tmp_path / "raw.pt", marker, raw=True)
    proc = _lskd("nmt-test", "--model", raw, "--out", str(tmp_path / "test.json"),
                 "--data-bin", data_bin)  # fmt: skip
    assert proc.returncode == 2 and "raw.pt: not a fairseq checkpoint" in proc.stderr
    assert not marker.exists()
    assert not (tmp_path / "test.json").exists() and not (tmp_path / "t.pt").exists()
    assert not (tmp_path / "student/model.pt").exists()


def test_a_type_fairseq_never_stores_is_refused_by_the_load_itself(tmp_path):
    """Its imports pass the first check (numpy arrays), but it builds a float64 dtype, which no
    fairseq checkpoint holds: the weights-only load refuses it, in one line naming the file."""
    torch.save({"model": {}, "x": np.zeros(2)}, tmp_path / "f64.pt")
    with pytest.raises(DataError, match=r"f64\.pt: refused, nothing loaded: .*Float64DType"):
        load_teacher(str(tmp_path / "f64.pt"))


@pytest.mark.workflow
def test_a_crafted_resume_checkpoint_is_refused_and_runs_nothing(smoke_run, tmp_path):
    """A crafted checkpoint_last.pt where fairseq-train would resume from it: nmt-train refuses
    it in one line; fairseq-train itself, started without that check, refuses it too (its
    torch.load is weights-only); neither runs its code."""
    data_bin = str(smoke_run / "results/nmt/data-bin")
    marker = tmp_path / "code_ran"
    run = tmp_path / "run"
    (run / "fairseq").mkdir(parents=True)
    _crafted(run / "fairseq/checkpoint_last.pt", marker)
    ls = json.dumps({"kind": "label_smoothing", "alpha": 0.1})
    proc = _lskd("nmt-train", "--data-bin", data_bin, "--out", str(run), "--objective", ls, *_TINY)
    _one_error_line(proc, "run/fairseq/checkpoint_last.pt")
    assert not marker.exists() and not (run / "model.pt").exists()
    cmd = json.loads((run / "fairseq/command.json").read_text())  # what nmt-train would run
    with pytest.raises(CommandFailed):
        runs.run(cmd, run / "direct.log", threads=1)
    log = (run / "direct.log").read_text()
    assert "Weights only load failed" in log and "posix.system" in log
    assert not marker.exists()


@pytest.mark.workflow
def test_fairseq_checkpoints_need_exactly_the_allowed_types(smoke_run):
    """In a fresh process, real fairseq checkpoints (a teacher's model.pt, a student's
    checkpoint_last.pt) load weights-only with lskd's five types allowed, and fail with any one
    of them left out: the allowlist is no larger than fairseq needs."""
    nmt = smoke_run / "results/nmt"
    script = """
import argparse, pickle, sys, torch
from lskd.nmt.checkpoint import FAIRSEQ_TYPES
for path in sys.argv[1:]:
    for left_out in FAIRSEQ_TYPES:
        with torch.serialization.safe_globals([t for t in FAIRSEQ_TYPES if t is not left_out]):
            try:
                torch.load(path, weights_only=True)
                print("loaded without", left_out)
            except pickle.UnpicklingError:
                pass
    with torch.serialization.safe_globals(list(FAIRSEQ_TYPES)):
        state = torch.load(path, weights_only=True)
    assert isinstance(state["cfg"]["model"], argparse.Namespace)
    print(len(state["model"]), "tensors")
"""
    paths = [nmt / "teachers/transformer/seed0/model.pt",
             nmt / "students/transformer_ls/seed0/fairseq/checkpoint_last.pt"]  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", script, *map(str, paths)],
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "loaded without" not in proc.stdout
    assert len(re.findall(r"^\d+ tensors$", proc.stdout, re.M)) == 2


def _fairseq_state(path):
    with torch.serialization.safe_globals(list(FAIRSEQ_TYPES)):
        return torch.load(path, weights_only=True)


@pytest.mark.workflow
def test_fairseq_train_resumes_a_real_checkpoint(smoke_run, tmp_path):
    """The smoke teacher's fairseq run, continued for a third epoch: fairseq-train loads its
    checkpoint_last.pt (weights-only, through the plugin's allowlist) and trains on from it."""
    nmt = smoke_run / "results/nmt"
    work = tmp_path / "fairseq"
    shutil.copytree(nmt / "teachers/transformer_ls/seed0/fairseq", work)
    before = _fairseq_state(work / "checkpoint_last.pt")
    cmd = json.loads((work / "command.json").read_text())
    cmd[1] = str(nmt / "data-bin")  # the smoke run's paths are relative to its folder
    cmd[cmd.index("--save-dir") + 1] = str(work)
    cmd[cmd.index("--max-epoch") + 1] = "3"
    log = work / "resume.log"
    runs.run(cmd, log, threads=1)
    assert re.search(r"Loaded checkpoint \S+checkpoint_last\.pt \(epoch 3 @", log.read_text())
    assert runs.read_curve(str(log)).epoch.tolist() == [3]
    after = _fairseq_state(work / "checkpoint_last.pt")
    updates = [s["optimizer_history"][-1]["num_updates"] for s in (before, after)]
    assert updates[1] > updates[0]


def test_iwslt14_archive_is_read_as_prepare_iwslt14_does(tmp_path):
    import io
    import tarfile

    files = {
        "de-en/train.tags.de-en.de": "<url>http://x</url>\n<title>Titel</title>\nHallo Welt .\n",
        "de-en/train.tags.de-en.en": "<url>http://x</url>\n<title>Title</title>\nHello world .\n",
    }
    for name in corpus.IWSLT14_TEST:
        for lang, text in (("de", "Guten Tag"), ("en", "Good day")):
            files[f"de-en/{name}.de-en.{lang}.xml"] = f'<doc>\n<seg id="1"> {text} </seg>\n</doc>\n'
    archive = tmp_path / "de-en.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    splits = corpus.split_iwslt14(str(archive))
    assert splits["train"] == [("Titel", "Title"), ("Hallo Welt .", "Hello world .")]
    assert splits["test"] == [("Guten Tag", "Good day")] * 5
    del files["de-en/IWSLT14.TED.tst2012.de-en.en.xml"]
    folder = tmp_path / "folder"
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    with pytest.raises(DataError, match=r"IWSLT14\.TED\.tst2012\.de-en\.en\.xml is missing"):
        corpus.split_iwslt14(str(folder))


@pytest.mark.parametrize("valid_beam,expected", [(None, 5), (1, 1)])
def test_validation_bleu_uses_valid_beam_and_the_test_beam_when_unset(valid_beam, expected):
    """Per-epoch validation BLEU decodes with nmt.train.valid_beam (greedy is cheap); unset, with
    the test's beam. fairseq-train's own parser reads it back."""
    from fairseq import options

    train = {"lr": 1e-3, "warmup_updates": 1, "dropout": 0.1, "weight_decay": 0.0,
             "max_tokens": 512, "epochs": 1, "beam": 5}  # fmt: skip
    if valid_beam is not None:
        train["valid_beam"] = valid_beam
    cmd = runs.train_command("data-bin", "out", {"arch": "transformer_iwslt_de_en"}, train, 0)
    cmd += runs.criterion_args({"kind": "label_smoothing", "alpha": 0.1})
    parsed = options.parse_args_and_arch(options.get_training_parser(), input_args=cmd[1:])
    assert json.loads(parsed.eval_bleu_args)["beam"] == expected
