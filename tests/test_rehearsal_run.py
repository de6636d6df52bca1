"""The rehearsal of configs/paper.yaml, run for real (lskd.rehearsal): the paper's whole DAG on
miniature data in the official formats and stand-in released weights, every output present,
the report opened; the partial target while runs are missing; a training group through
torchrun equal to one process. benchmarks/rehearsal.py times the same run."""

import json
import re
import shutil

import pytest
import torch
import yaml

from conftest import ROOT, run_snakemake, scratch
from lskd import rehearsal
from lskd.paper import outputs
from lskd.workflow import checks, config_file, targets

pytestmark = pytest.mark.workflow

REHEARSAL_GB = rehearsal.DISK_GB  # the paper's models at full size
EARLY = [  # run before the partial target: one teacher pair of ImageNet, evaluated
    "results/imagenet/teachers/r50/seed0/eval/eval.json",
    "results/imagenet/teachers/r50_ls/seed0/eval/eval.json",
]


@pytest.fixture(scope="module")
def rehearsed(tmp_path_factory):
    """The rehearsal's folder after: a teacher pair, the partial target (kept as partial_early),
    the whole DAG, the partial target again and both reports; its config as the workflow fills
    it."""
    with scratch(tmp_path_factory, "rehearsal", needs_gb=REHEARSAL_GB) as workdir:
        path = rehearsal.write(workdir, ROOT / "configs/paper.yaml")
        run_snakemake(workdir, *EARLY, configfile=path)
        run_snakemake(workdir, "--nolock", "partial", configfile=path)
        shutil.copytree(workdir / "results/partial", workdir / "partial_early")
        run_snakemake(workdir, configfile=path)  # the whole DAG
        run_snakemake(workdir, "partial", configfile=path)  # rebuilt: every run has finished now
        run_snakemake(workdir, "--report", "results/report.html", configfile=path)
        report = ("--report", "results/partial_report.html", "partial")
        run_snakemake(workdir, *report, configfile=path)
        config = yaml.safe_load(path.read_text())
        config_file.validate_schema(config, str(ROOT / "workflow/schemas/config.schema.yaml"))
        checks.check(config)
        yield workdir, path, config


def test_every_rule_of_the_paper_dag_ran_and_every_output_is_there(rehearsed):
    workdir, _, config = rehearsed
    # every job of the paper's DAG left its benchmark file (the cost rule reads them all)
    expected = targets.benchmark_files(config)
    missing = [p for p in expected if not (workdir / p).is_file()]
    assert not missing, missing[:10]
    ran = {p.split("/")[2].removesuffix(".tsv") for p in expected}
    rules = set(re.findall(r"^rule (\w+):", "".join(
        p.read_text() for p in (ROOT / "workflow/rules").glob("*.smk")), flags=re.M))  # fmt: skip
    # the cost rule writes no benchmark (its outputs are checked below), partial is on demand,
    # and paper.yaml's image students read their teachers live (no teacher_logits job)
    assert rules - ran == {"cost", "partial", "teacher_logits"}
    for output in outputs.OUTPUTS:
        for path in output.files:
            assert (workdir / path).stat().st_size > 100, path
    for path in ("results/CLAIMS.md", "results/claims/paper.md", "results/environment.md"):
        assert (workdir / path).stat().st_size > 500, path
    claims = (workdir / "results/CLAIMS.md").read_text()
    assert "(a)" in claims and "(m)" in claims
    # the released-weight teachers were the stand-ins, their hashes checked and recorded
    final = json.loads((workdir / "results/imagenet/teachers/r18/seed0/final.json").read_text())
    assert final["released_weights"]["file"].startswith("resnet18-")
    assert final["released_weights"]["released"] is False  # a stand-in, and it says so


def test_the_report_opens_with_every_figure(rehearsed):
    workdir, _, _ = rehearsed
    report = workdir / "results/report.html"
    from lskd import report_check

    assert report_check.main([str(report), str(workdir / "report.png")]) == 0
    partial = [str(workdir / "results/partial_report.html"), str(workdir / "partial.png")]
    assert report_check.main(partial) == 0


def test_partial_target_builds_from_finished_runs_and_marks_the_missing(rehearsed):
    workdir, _, _ = rehearsed
    early = workdir / "partial_early"
    table1 = (early / "tables/table1.md").read_text()
    assert "Not finished yet" in table1
    assert "`imagenet/teachers/r101_ls/seed0`" in table1  # a missing run, listed
    rows = [line for line in table1.splitlines() if line.startswith("| imagenet ")]
    pair = {r.split("|")[2].strip(): r for r in rows}
    assert pair["ResNet-50"].count("/") == 2  # the finished pair: top-1/top-5 on both sides
    assert pair["ResNet-101"].count("/") == 0  # a missing pair keeps its row, its cells empty
    index = (early / "README.md").read_text()
    assert "| table table1 | built |" in index
    assert (early / "CLAIMS.md").is_file()
    # once everything has finished, the partial target was rebuilt and waits for nothing
    final_index = (workdir / "results/partial/README.md").read_text()
    assert "## Runs not finished (0)" in final_index
    for output in outputs.OUTPUTS:
        assert f"| {output.kind} {output.name} | built |" in final_index


def test_a_training_group_through_torchrun_equals_one_process(rehearsed, tmp_path):
    workdir, path, _ = rehearsed
    config = yaml.safe_load(path.read_text())
    target = "results/imagenet100/teachers/in100_r18_ls/seed0/model.pt"
    weights = {}
    for gpus in (1, 2):
        folder = tmp_path / f"gpu{gpus}"
        folder.mkdir()
        variant = config | {"precision": "fp32", "resources": {"train": {"gpu": gpus}}}
        (folder / "config.yaml").write_text(yaml.safe_dump(variant))
        run_snakemake(folder, target, configfile=folder / "config.yaml")
        weights[gpus] = torch.load(folder / target, weights_only=True)
        log = (folder / "results/logs/teachers/imagenet100/in100_r18_ls_seed0.log").read_text()
        assert ("2 processes on a machine without GPUs" in log) == (gpus == 2), log
        final = json.loads((folder / target).with_name("final.json").read_text())
        said = final["provenance"].get("data_parallel", "")
        assert said.startswith("gloo on CPUs: no GPU here") == (gpus == 2), final
    one, two = weights[1]["state_dict"], weights[2]["state_dict"]
    assert one.keys() == two.keys()
    for key in one:  # equal up to the order of float sums (BatchNorm over the global batch)
        assert torch.allclose(one[key].double(), two[key].double(), atol=1e-4, rtol=1e-3), key
