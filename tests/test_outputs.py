"""The paper's outputs are declared once (lskd/paper/outputs.py) and the workflow, the CLI and
the report follow; run records share one identity (lskd.records); every file a rule writes is
declared."""

import importlib
import json
import os
import re
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from conftest import ROOT, copy_workflow, job_counts, replace_once, run_snakemake
from lskd import records
from lskd.cli import main
from lskd.data.errors import DataError
from lskd.paper import outputs
from lskd.workflow import arguments, config_file, targets


def test_every_output_has_a_builder_known_inputs_and_a_caption():
    seen = set()
    for output in outputs.OUTPUTS:
        key = (output.kind, output.name)
        assert key not in seen, key
        seen.add(key)
        function = output.builder.partition(":")[2]
        assert callable(getattr(importlib.import_module(output.module), function)), output.name
        assert set(output.inputs) <= set(outputs.INPUT_NAMES), output.name
        assert output.caption.strip(), output.name
    assert set(targets.PAPER_INPUTS) == set(outputs.INPUT_NAMES)  # the workflow names every input


def write_dataset(folder, labels, splits, power=None):
    folder.mkdir()
    info = {"kind": "fashion_mnist", "num_classes": 3, "long_tail_power": power}
    (folder / "dataset.json").write_text(json.dumps(info))
    pd.DataFrame({"label": labels, "split": splits}).to_csv(folder / "manifest.csv", index=False)
    return [str(folder / "dataset.json"), str(folder / "manifest.csv")]


def test_lskd_paper_writes_a_table_with_its_caption(tmp_path):
    a = write_dataset(tmp_path / "a", [0, 0, 0, 1, 2, 0, 1], ["train"] * 5 + ["val"] * 2)
    b = write_dataset(tmp_path / "b", [2, 2, 1, 0], ["train"] * 3 + ["val"], power=6.0)
    stem = tmp_path / "out" / "table5"
    args = ["paper", "table", "table5", "--out", stem, "--infos", a[0], b[0]]
    assert main([str(x) for x in args + ["--manifests", a[1], b[1]]]) == 0
    ours = pd.read_csv(stem.with_suffix(".csv")).query("source == 'this run'").set_index("dataset")
    counts = ours[["head_class_size", "tail_class_size", "train", "test"]].astype(int)
    assert counts.to_dict("index") == {  # class 0: 3 of a's 5 training rows; class 2: 1
        "a": {"head_class_size": 3, "tail_class_size": 1, "train": 5, "test": 2},
        "b": {"head_class_size": 2, "tail_class_size": 1, "train": 3, "test": 1},
    }
    caption = outputs.get("table", "table5").caption
    assert stem.with_suffix(".md").read_text().startswith(f"**{caption}**")
    assert caption in stem.with_suffix(".tex").read_text()


def test_an_input_the_output_does_not_read_is_one_line_and_writes_nothing(tmp_path, capsys):
    a = write_dataset(tmp_path / "a", [0, 1], ["train", "val"])
    args = ["paper", "table", "table5", "--out", tmp_path / "t5", "--infos", a[0]]
    assert main([str(x) for x in args + ["--manifests", a[1], "--teacher-evals", a[0]]]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "table table5 reads none of --teacher-evals" in err
    assert not list(tmp_path.glob("t5.*"))


def test_a_figure_is_written_from_its_entry(tmp_path):
    assert main(["paper", "figure", "fig3", "--out", str(tmp_path / "fig3")]) == 0
    assert (tmp_path / "fig3.png").stat().st_size > 1000 and (tmp_path / "fig3.pdf").exists()


def smoke_config() -> dict:
    config = yaml.safe_load((ROOT / "configs/smoke.yaml").read_text())
    config_file.validate_schema(config, str(ROOT / "workflow/schemas/config.schema.yaml"))
    return config


def test_targets_and_the_cost_rules_inputs_follow_the_registry():
    config = smoke_config()
    final = targets.final_targets()
    for output in outputs.OUTPUTS:
        assert set(output.files) <= set(final)
    jobs = set(targets.benchmark_files(config))
    for kind in ("table", "figure"):
        rule_outputs = set(outputs.names(kind)) - {"cost"}  # the cost rule has no benchmark
        assert {f"results/benchmarks/{kind}/{n}.tsv" for n in rule_outputs} <= jobs
        assert re.fullmatch(targets.output_pattern(kind), "cost") is None


def test_every_run_records_its_identity_bnn_and_nmt_runs_included():
    config = smoke_config()
    bnn = json.loads(arguments.run_meta(config, "resnet18_ls", 0, "bnn", step=2))
    assert bnn == {"role": "student", "name": "resnet18_ls", "seed": 0, "dataset": "fmnist",
                   "recipe": "bnn_step2", "step": 2}  # fmt: skip
    # its teacher is in its objective node: the config's bnn.objective, the teacher filled in
    assert arguments.objective(config, "resnet18_ls", "bnn") == {
        "kind": "distillation", "teacher": "resnet18_ls", "lam": 0.0, "temperature": 1.0,
        "teacher_logits": "online"}  # fmt: skip
    student = json.loads(arguments.run_meta(config, "r18_from_r18_lt", 0, "students"))
    assert (student["role"], student["dataset"]) == ("student", "fmnist_lt")
    nmt = json.loads(arguments.nmt_meta(config, "student", "transformer_ls", 0))
    assert (nmt["role"], nmt["name"]) == ("student", "transformer_ls")
    assert nmt["objective"] == config["nmt"]["student"]["objective"]
    assert nmt["teacher_objective"] == {"kind": "label_smoothing", "alpha": 0.1}
    teacher = json.loads(arguments.nmt_meta(config, "teacher", "transformer", 0))
    assert teacher["objective"] == {"kind": "label_smoothing", "alpha": 0.0}
    assert "teacher_objective" not in teacher


def test_a_teacher_record_without_its_numbers_is_one_line(tmp_path):
    final = tmp_path / "final.json"
    ls = {"kind": "label_smoothing", "alpha": 0.1}
    final.write_text(json.dumps({"arch": "resnet18", "recipe": "r", "objective": ls, "top1": 90}))
    with pytest.raises(DataError, match=r"final.json: no top5, top3; retrain the teacher"):
        records.teacher_fields(final)
    final.write_text(json.dumps({"arch": "r", "recipe": "r", "objective": ls, "top1": 1,
                                 "top5": 2, "top3": 3}))  # fmt: skip
    fields = records.teacher_fields(final)
    assert fields["teacher_objective"] == ls and fields["teacher_top3"] == 3


def test_read_runs_gives_each_setting_one_column_and_the_teachers_its_prefix(tmp_path):
    """records.read_runs, the one reader of records: a node's settings as columns of their own
    names, the teacher's objective's as teacher_<name>; an NMT teacher is its own pair's."""
    ls = {"kind": "label_smoothing", "alpha": 0.1}
    kd = {"kind": "distillation", "teacher": "t", "lam": 0.5, "temperature": 2.0,
          "teacher_logits": "cached"}  # fmt: skip
    paths = []
    for name, record in (
        ("t", {"role": "teacher", "objective": ls}),
        ("s", {"role": "student", "objective": kd, "teacher_objective": ls}),
    ):
        paths.append(tmp_path / f"{name}.json")
        paths[-1].write_text(json.dumps(record))  # fmt: skip
    runs = records.read_runs(paths)
    assert runs.alpha.tolist()[0] == 0.1 and runs.teacher_alpha.tolist()[1] == 0.1
    assert runs.loc[1, ["teacher", "lam", "temperature", "teacher_logits"]].tolist() == [
        "t", 0.5, 2.0, "cached"]  # fmt: skip
    assert "objective" not in runs and "kind" not in runs
    nmt = json.loads(paths[1].read_text()) | {"objective": kd | {"alpha": 0.2}}
    paths[1].write_text(json.dumps(nmt))
    assert records.read_nmt_runs(paths).teacher_alpha.tolist() == [0.1, 0.1]
    paths[0].write_text(json.dumps({"role": "teacher", "alpha": 0.1}))  # an older record
    with pytest.raises(DataError, match=r"t\.json: no objective recorded .*; rerun it"):
        records.read_runs(paths)


@pytest.mark.workflow
def test_adding_a_table_is_one_entry_and_one_builder(tmp_path):
    """A copy of the workflow with one more entry and builder plans the new table, with its
    inputs, and `lskd paper table` knows it."""
    copy = copy_workflow(tmp_path / "copy")
    with open(copy / "src/lskd/paper/dataset_tables.py", "a") as f:
        f.write("\n\ndef table5_head(inputs):\n    numbers, shown = table5(inputs)\n"
                "    return numbers.head(1), shown.head(1)\n")  # fmt: skip
    entry = 'Output(TABLE, "table5_head", "dataset_tables:table5_head", INPUTS, "Row 1."),\n'
    entry = entry.replace("INPUTS", '("infos", "manifests")')
    end = ")  # fmt: skip\n"
    replace_once(copy / "src/lskd/paper/outputs.py", end, entry + end)
    proc = run_snakemake(tmp_path, "-n", "-s", str(copy / "Snakefile"),
                         configfile=ROOT / "configs/smoke.yaml")  # fmt: skip
    assert job_counts(proc.stdout)["table"] == len(outputs.names("table", rule="")) + 1
    assert "wildcards: table=table5_head" in proc.stdout
    assert "results/tables/table5_head.csv" in proc.stdout  # a target of `all`
    env = {**os.environ, "PYTHONPATH": str(copy / "src")}
    cli = subprocess.run([sys.executable, "-m", "lskd", "paper", "table", "--help"], env=env,
                         capture_output=True, text=True)  # fmt: skip
    assert "table5_head" in cli.stdout


@pytest.mark.workflow
def test_the_smoke_run_declares_every_file_its_rules_write(smoke_run):
    """What Snakemake does not know of under results/ is the resume state that must survive a
    rerun (fairseq's work folder), fairseq-preprocess's files in the declared data-bin folder,
    TensorBoard's event files, whose names hold host and time, and results/hardware.json, the
    precision probes every job reads and adds to (lskd.precision), which no rule owns."""
    proc = run_snakemake(smoke_run, "--list-untracked", configfile=smoke_run / "smoke.yaml")
    untracked = [line for line in proc.stdout.splitlines() if line.startswith("results/")]
    allowed = (
        r"results/nmt/(data-bin|(teachers|students)/\w+/seed\d+/fairseq)/.*|.*tfevents.*"
        r"|results/report\.html|results/hardware\.json"  # test_report's; precision auto's
    )
    assert [path for path in untracked if not re.fullmatch(allowed, path)] == []
    for path in (smoke_run / "results").rglob("final.json"):
        final = json.loads(path.read_text())
        assert {"role", "name", "seed"} <= final.keys(), path
        if "/nmt/" not in str(path):
            assert {"dataset", "recipe", "arch"} <= final.keys(), path
