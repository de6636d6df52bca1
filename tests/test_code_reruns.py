"""Code-aware reruns on the finished smoke run: an edit to the package reruns the rules whose
command can reach it and what depends on them; a docstring or comment edit reruns nothing.

Each test edits a copy of the workflow (Snakefile, rules, src/) and dry-runs it against the smoke
run's results: the rules run the copy's own src/, and its fingerprints (``lskd.fingerprint``) are
compared with those the smoke run recorded.
"""

import re

import pytest
import yaml

from conftest import ROOT, copy_workflow, job_counts, replace_once, run_snakemake
from lskd import fingerprint, objectives

TEACHER_SIDE = {"curate", "train_teacher", "evaluate_teacher", "teacher_logits"}


@pytest.fixture
def copy(tmp_path):
    return copy_workflow(tmp_path / "workflow_copy")


def dry_run(smoke_run, copy) -> str:
    proc = run_snakemake(smoke_run, "-n", "-s", str(copy / "Snakefile"),
                         configfile=smoke_run / "smoke.yaml")  # fmt: skip
    return proc.stdout + proc.stderr


def planned(smoke_run, copy) -> dict:
    out = dry_run(smoke_run, copy)
    return {} if "Nothing to be done" in out else job_counts(out)


def runs(smoke_run, section: str) -> int:
    config = yaml.safe_load((smoke_run / "smoke.yaml").read_text())
    entries = config["bnn"]["teachers"] if section == "bnn" else config[section]
    return len(entries) * len(config["seeds"])


@pytest.mark.workflow
def test_an_unedited_copy_reruns_nothing(smoke_run, copy):
    assert planned(smoke_run, copy) == {}


@pytest.mark.workflow
def test_a_docstring_or_comment_edit_reruns_nothing(smoke_run, copy):
    losses = copy / "src/lskd/losses.py"
    comment = "    # every other class gets the same share\n"
    replace_once(
        losses,
        "    off = alpha / (num_classes - 1)\n",
        comment + "    off = alpha / (num_classes - 1)\n",
    )
    replace_once(losses, '"""Eq. 1 target matrix', '"""The Eq. 1 target matrix')
    assert planned(smoke_run, copy) == {}


@pytest.mark.workflow
def test_a_kd_loss_edit_reruns_students_not_teachers(smoke_run, copy):
    line = "    teacher_probs = F.softmax(teacher_logits.float() / temperature, dim=1)\n"
    replace_once(copy / "src/lskd/distill.py", line, line.replace("dim=1", "dim=-1"))
    counts = planned(smoke_run, copy)
    assert counts["train_student"] == runs(smoke_run, "students")
    assert counts["bnn_step1"] == counts["bnn_step2"] == runs(smoke_run, "bnn")
    assert {"table", "figure", "claims"} <= counts.keys()  # kd tables, fig5, fig8, bnn, fig6
    assert not TEACHER_SIDE & counts.keys(), counts


@pytest.mark.workflow
def test_a_builder_edit_reruns_only_the_outputs_it_builds(smoke_run, copy):
    """Figures 5 and 8 come from kd_figures (lskd/paper/outputs.py): an edit to it reruns them,
    not the tables of the same students nor any run."""
    line = '        loss_ax.set_ylabel("distillation training loss")\n'
    replace_once(copy / "src/lskd/paper/kd_figures.py", line, line.replace("training", "train"))
    out = dry_run(smoke_run, copy)
    assert job_counts(out) == {"figure": 2, "cost": 1, "all": 1}  # cost: their benchmarks
    assert sorted(re.findall(r"wildcards: figure=(\w+)", out)) == ["fig5", "fig8"]


@pytest.mark.workflow
def test_a_label_smoothing_edit_reruns_teachers_and_everything_downstream(smoke_run, copy):
    replace_once(copy / "src/lskd/losses.py", "    off = alpha / (num_classes - 1)\n",
         "    off = alpha / float(num_classes - 1)\n")  # fmt: skip
    counts = planned(smoke_run, copy)
    teachers = runs(smoke_run, "teachers")
    assert counts["train_teacher"] == counts["evaluate_teacher"] == teachers
    assert counts["train_student"] == runs(smoke_run, "students")
    assert counts["bnn_step2"] == runs(smoke_run, "bnn")
    assert "curate" not in counts  # curation does not reach the loss


def test_each_command_reaches_only_what_it_imports():
    src = ROOT / "src"
    trainer = fingerprint.command_modules(src, "train")
    assert "lskd.objectives" in trainer and not {"lskd.losses", "lskd.distill"} & set(trainer)
    # a rule adds the module of its objective's kind (lskd.objectives loads it by name)
    teacher = fingerprint.command_modules(src, "train", (objectives.module_of("label_smoothing"),))
    student = fingerprint.command_modules(src, "train", (objectives.module_of("distillation"),))
    assert "lskd.losses" in teacher and "lskd.distill" not in teacher
    assert "lskd.distill" in student
    paper = fingerprint.command_modules(src, "paper")
    assert "lskd.paper.outputs" in paper and "lskd.train" not in paper
    assert "lskd.paper.kd_tables" not in paper  # a builder's module: the rules' `builder` param
    nmt = fingerprint.command_modules(src, "nmt-train", ("lskd.nmt.fairseq_plugin",))
    assert "lskd.nmt.word_kd" in nmt


def test_every_rule_that_runs_lskd_carries_its_code_fingerprint():
    """A rule whose command runs lskd without a ``code`` param would miss every code edit."""
    checked = 0
    for smk in sorted((ROOT / "workflow" / "rules").glob("*.smk")):
        for block in re.split(r"(?m)^rule ", smk.read_text())[1:]:
            name, shell = block.split(":", 1)[0], block.split("shell:", 1)[-1]
            command = re.search(r'"(?:python -m lskd|\{params\.launch\}) ([a-z0-9-]+)', shell)
            if command:
                code = rf'code=(lambda wc: )?arguments\.code\(\s*"{command.group(1)}"'
                assert re.search(code, block), f"{smk.name}: {name}"
                checked += 1
    assert checked >= 20  # every training, evaluation, NMT and paper rule
