"""End-to-end: the smoke config through real Snakemake, reruns, and bad configs."""

import json
import re

import pandas as pd
import pytest
import yaml

from conftest import ROOT, job_counts, run_snakemake
from lskd.workflow import targets

pytestmark = pytest.mark.workflow

TABLES = targets.TABLES
FIGURES = targets.FIGURES


def test_smoke_run_writes_every_table_and_figure(smoke_run):
    for table in TABLES:
        for ext in ("csv", "md", "tex"):
            assert (smoke_run / f"results/tables/{table}.{ext}").stat().st_size > 0
    for fig in FIGURES:
        for ext in ("png", "pdf"):
            assert (smoke_run / f"results/figures/{fig}.{ext}").stat().st_size > 1000


def test_table1_pairs_teachers_and_shows_paper_values(smoke_run):
    table = pd.read_csv(smoke_run / "results/tables/table1.csv")
    assert set(table.recipe) == {"standard", "cutmix"}
    row = table[table.recipe == "standard"].iloc[0]
    assert row.network == "ResNet-18" and row.alpha == 0.1
    assert row.paper_stability_no_ls == 0.3359 and row.paper_stability_ls == 0.3358
    assert row.difference == pytest.approx(row.stability_ls - row.stability_no_ls)
    assert 0 < row.stability_no_ls < 0.5  # a std of probabilities
    table10 = pd.read_csv(smoke_run / "results/tables/table10.csv")
    assert table10.iloc[0].paper_stability_no_ls == 0.1858
    assert "Paper 1-S w/ LS" in (smoke_run / "results/tables/table1.md").read_text()


def test_every_training_job_writes_metrics_and_final(smoke_run):
    runs = list((smoke_run / "results/fmnist/teachers").glob("*/seed0"))
    assert len(runs) == 4
    for run in runs:
        metrics = pd.read_csv(run / "metrics.csv")
        assert list(metrics.columns[:5]) == ["epoch", "train_loss", "val_top1", "val_top5", "lr"]
        assert metrics.epoch.tolist() == list(range(1, len(metrics) + 1))
        assert (run / "final.json").exists() and (run / "eval/eval.json").exists()


def test_claims_and_fig1_distances(smoke_run):
    text = (smoke_run / "results/CLAIMS.md").read_text()
    assert text.count("Verdict: **") == 13
    for letter in "abcdefghijklm":  # a row per claim: verdict, comparison, effect, interval, n
        row = next(line for line in text.splitlines() if line.startswith(f"| ({letter}) |"))
        assert len(row.split("|")) == 10 and "**" in row  # 8 cells
    assert "paired bootstrap over" in text
    paper = (smoke_run / "results/claims/paper.md").read_text()
    # the paper's own tables: all it can test but (a) (within its printed digits) and (d)
    assert paper.count("Verdict: **reproduced**") == 8
    assert paper.count("Verdict: **cannot be tested**") == 3
    assert "Rule: every setting must support it" in text  # each claim's rule beside it
    distances = pd.read_csv(smoke_run / "results/tables/fig1_distances.csv")
    assert len(distances) == 4 and set(distances.split) == {"train", "val"}
    assert (distances[["D1", "D2", "Dc"]] > 0).all().all()


def test_bnn_steps(smoke_run):
    bnn = pd.read_csv(smoke_run / "results/tables/bnn.csv")
    assert sorted(bnn.teacher) == ["resnet18", "resnet18_ls"]
    assert bnn.paper_top1.tolist() == [63.002, 63.108]
    step2 = pd.read_csv(smoke_run / "results/fmnist/bnn/resnet18_ls/seed0/step2/metrics.csv")
    assert "val_kd_loss" in step2.columns and (step2.val_kd_loss > 0).all()


def test_rerunning_bnn_step2_does_not_rerun_step1(smoke_run):
    proc = run_snakemake(
        smoke_run, "-n", "--forcerun", "bnn_step2", configfile=smoke_run / "smoke.yaml"
    )
    counts = job_counts(proc.stdout)
    assert counts["bnn_step2"] == 2 and "bnn_step1" not in counts


def test_dataset_tables(smoke_run):
    table5 = pd.read_csv(smoke_run / "results/tables/table5.csv")
    ours = table5[table5.source == "this run"].set_index("dataset")
    # (the paper's rows hold text such as "~1M", so the columns read back as text)
    assert int(ours.loc["fmnist3", "classes"]) == 3
    assert float(ours.loc["fmnist_lt", "long_tail_power"]) == 6
    assert int(ours.loc["fmnist_lt", "head_class_size"]) == 60
    assert int(ours.loc["fmnist_lt", "tail_class_size"]) == 5
    table4 = pd.read_csv(smoke_run / "results/tables/table4.csv")
    assert sorted(table4.num_classes) == [3, 10]
    assert (table4.top1_gain == table4.top1_ls - table4.top1_no_ls).all()
    table3 = pd.read_csv(smoke_run / "results/tables/table3.csv")
    assert table3.dataset.tolist() == ["fmnist_lt"]
    assert table3.paper_dataset.tolist() == ["ImageNet-LT"]  # a Pareto cut, built as it is
    assert table3.paper_top1_no_ls.tolist() == [39.975]
    table6 = pd.read_csv(smoke_run / "results/tables/table6.csv")
    assert sorted(table6.teacher) == ["resnet18_lt", "resnet18_lt_ls"]


def test_students_tables(smoke_run):
    table7 = pd.read_csv(smoke_run / "results/tables/table7.csv")
    assert sorted(table7.name) == [
        "r18_from_r18",
        "r18_from_r18_cutmix_ls",
        "r18_from_r18_ls",
        "r18_from_r18_lt",
        "r18_from_r18_lt_ls",
    ]
    assert (table7.lam == 0).all() and (table7.temperature == 1).all()
    table9 = pd.read_csv(smoke_run / "results/tables/table9.csv")
    assert sorted(table9.teacher_alpha) == [0.0, 0.1] and (table9.lam == 0.5).all()
    assert table9.paper_top1.tolist() == [71.484, 71.748]  # lam 0.5 without / with LS
    temperature = pd.read_csv(smoke_run / "results/tables/temperature.csv")
    assert sorted(temperature.temperature.unique()) == [1.0, 4.0]
    final = json.loads(
        (smoke_run / "results/fmnist/students/r18_from_r18_ls_t4/seed0/final.json").read_text()
    )
    assert final["objective"] == {"kind": "distillation", "teacher": "resnet18_ls", "lam": 0.0,
                                  "temperature": 4.0, "teacher_logits": "cached"}  # fmt: skip
    assert final["teacher_objective"] == {"kind": "label_smoothing", "alpha": 0.1}


def paper_outputs(dry_run_stdout: str) -> set[str]:
    """The tables and figures (lskd/paper/outputs.py) that a dry run would write."""
    return set(re.findall(r"wildcards: (?:table|figure)=(\w+)", dry_run_stdout))


def test_unchanged_rerun_schedules_nothing(smoke_run):
    proc = run_snakemake(smoke_run, "-n", configfile=smoke_run / "smoke.yaml")
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_changing_one_alpha_reruns_only_that_teacher_and_downstream(smoke_run, tmp_path):
    config = yaml.safe_load((smoke_run / "smoke.yaml").read_text())
    config["teachers"]["resnet18_ls"]["objective"]["alpha"] = 0.2
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(config))
    proc = run_snakemake(smoke_run, "-n", configfile=changed)
    counts = job_counts(proc.stdout)
    # resnet18_ls, its evaluation, its three students (two through its logits cache), its BNN
    # student's two steps, its Figure 1 features, and every table and figure that reads them
    assert counts == {
        "train_teacher": 1,
        "evaluate_teacher": 1,
        "teacher_logits": 1,
        "train_student": 3,
        "evaluate_student": 4,  # the three students and the BNN's step 2
        "penultimate_features": 1,
        "bnn_step1": 1,
        "bnn_step2": 1,
        "table": 12,
        "figure": 6,
        "claims": 1,
        "environment": 1,  # its final.json and eval.json
        "cost": 1,  # its jobs' benchmark files
        "all": 1,
    }
    assert paper_outputs(proc.stdout) == {
        *("table1", "table10", "table3", "table4", "fig1_distances", "fig1", "fig4", "fig9"),
        *("table2", "table7", "table8", "table9", "temperature", "table6", "fig5", "fig8"),
        *("bnn", "fig6"),  # its teacher's evaluations; its students'; its ReActNet's
    }
    outputs = re.findall(r"output: (results/fmnist/teachers/\w+)/", proc.stdout)
    assert set(outputs) == {"results/fmnist/teachers/resnet18_ls"}
    students = set(re.findall(r"output: results/fmnist/students/(\w+)/", proc.stdout))
    assert sorted(students) == ["r18_from_r18_ls", "r18_from_r18_ls_lam05", "r18_from_r18_ls_t4"]


def test_changing_one_students_lambda_reruns_only_it_and_its_tables(smoke_run, tmp_path):
    config = yaml.safe_load((smoke_run / "smoke.yaml").read_text())
    config["students"]["r18_from_r18_lam05"]["objective"]["lam"] = 0.3
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(config))
    proc = run_snakemake(smoke_run, "-n", configfile=changed)
    assert job_counts(proc.stdout) == {
        "train_student": 1,
        "evaluate_student": 1,
        "table": 6,
        "figure": 2,
        "claims": 1,
        "environment": 1,
        "cost": 1,
        "all": 1,
    }
    assert paper_outputs(proc.stdout) == {
        *("table2", "table7", "table8", "table9", "temperature", "table6", "fig5", "fig8")
    }
    assert set(re.findall(r"output: results/fmnist/students/(\w+)/", proc.stdout)) == {
        "r18_from_r18_lam05"  # its training and its evaluation
    }


def snapshot(results):
    return {p: p.stat().st_mtime_ns for p in results.rglob("*") if p.is_file()}


def set_key(config: dict, path: str, value):
    *parents, last = path.split(".")
    node = config
    for key in parents:
        node = node[key]
    node[last] = value


@pytest.mark.parametrize(
    "path,value,expected",
    [
        ("recipes.standard.epochz", 3, r"config key recipes\.standard: .*'epochz' was unexpected"),
        ("threads", "two", r"config key threads: 'two' is not of type 'integer'"),
        (
            "teachers.resnet18_ls.objective.alpha",
            1.0,
            r"config key teachers\.resnet18_ls\.objective\.alpha: 1\.0 is",
        ),
        (
            "teachers.resnet18_ls.objective.alpha",
            -0.1,
            r"config key teachers\.resnet18_ls\.objective\.alpha: -0\.1 is",
        ),
        ("teachers.resnet18.arch", "resnet19", r"config key teachers\.resnet18\.arch: 'resnet19'"),
        (
            "datasets.fmnist.root",
            "/nonexistent/fmnist",
            r"datasets\.fmnist\.root: Fashion-MNIST file /nonexistent/fmnist/\S+ not found; "
            "install",
        ),
        (
            "teachers.resnet18.recipe",
            "longer",
            r"teachers\.resnet18\.recipe: 'longer' is not a key of recipes",
        ),
        ("figures.fig4.with_ls", "nobody", r"figures\.fig4\.with_ls: 'nobody' is not a key"),
        (
            "students.r18_from_r18.objective.teacher",
            "resnet77",
            r"students\.r18_from_r18\.objective\.teacher: 'resnet77' is not a key of teachers",
        ),
        (
            "students.r18_from_r18.objective.lam",
            1.5,
            r"config key students\.r18_from_r18\.objective\.lam: 1\.5 is",
        ),
        (
            "nmt.corpus.path",
            "/nonexistent/de-en.tgz",
            r"nmt\.corpus\.path: /nonexistent/de-en\.tgz does not exist \(apt-get install",
        ),
        ("nmt.corpus.kind", "wmt", r"config key nmt\.corpus\.kind: 'wmt' is not one of"),
        (
            "nmt.student.objective.topk",
            0,
            r"config key nmt\.student\.objective\.topk: 0 is less than the minimum",
        ),
        (
            "students.r18_from_r18.objective.temperature",
            0,
            r"config key students\.r18_from_r18\.objective\.temperature: 0 is less than or",
        ),
    ],
)
def test_bad_config_stops_before_any_job_and_touches_nothing(
    smoke_run, tmp_path, path, value, expected
):
    config = yaml.safe_load((ROOT / "configs" / "smoke.yaml").read_text())
    set_key(config, path, value)
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(config))
    before = snapshot(smoke_run / "results")
    proc = run_snakemake(smoke_run, configfile=bad, check=False)
    assert proc.returncode != 0
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if re.search(expected, line)]
    assert len(lines) == 1, proc.stdout + proc.stderr
    assert snapshot(smoke_run / "results") == before
