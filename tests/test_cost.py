"""Benchmarks: every job but the cost table's own writes results/benchmarks/<rule>/...tsv, the cost
rule reads exactly those, and the cost table adds them up per rule group, beside the run's wall
clock."""

import csv
import os
import re

import pandas as pd
import pytest
import yaml

from conftest import ROOT, run_snakemake
from lskd.cli import main
from lskd.paper import cost
from lskd.workflow import config_file, targets
from test_paper_config import EXPECTED as PAPER_JOBS

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def bench(root, rel: str, seconds: float, rss, end: float, cpu: float = 1.0):
    """A benchmark file as Snakemake writes it, modified at ``end`` (epoch seconds)."""
    path = root / "results/benchmarks" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + f"{seconds}\t0:00:00\t{rss}\t1\t1\t1\t0\t0\t50\t{cpu}\n")
    os.utime(path, (end, end))
    return path


def test_groups_sum_wall_time_and_take_the_peak_memory(tmp_path):
    t0 = 1_700_000_000
    files = [
        bench(tmp_path, "train_teacher/fmnist/a_seed0.tsv", 100, 900.5, t0 + 100),  # [0, 100]
        bench(tmp_path, "train_teacher/fmnist/b_seed0.tsv", 60, 1200.0, t0 + 150),  # [90, 150]
        bench(tmp_path, "evaluate_student/fmnist/students/s/seed0.tsv", 10, "NA", t0 + 160),
        bench(tmp_path, "claims.tsv", 5, 300.0, t0 + 1005),  # [1000, 1005]: a later invocation
    ]
    for kind in ("table", "figure"):
        args = ["paper", kind, "cost", "--out", tmp_path / kind, "--benchmarks", *files]
        assert main([str(a) for a in args]) == 0
    numbers = pd.read_csv(tmp_path / "table.csv").set_index("group")
    assert numbers.loc["teachers", "jobs"] == 2
    assert numbers.loc["teachers", "wall_s"] == 160
    assert numbers.loc["teachers", "peak_rss_mb"] == 1200.0
    assert numbers.loc["evaluation", "rss_measured"] == 0  # "NA": too short to be sampled
    assert numbers.loc["tables", "rules"] == "claims"
    assert numbers.loc[cost.ALL_JOBS, "wall_s"] == 175
    # at least one job ran during [0, 160] and [1000, 1005]; the gap between is not counted
    assert numbers.loc[cost.WALL_CLOCK, "wall_s"] == pytest.approx(165)
    assert list(numbers.index[:3]) == ["teachers", "evaluation", "tables"]  # GROUPS' order
    md = (tmp_path / "table.md").read_text()
    assert "0:02:40" in md and "not measured" in md and "1.1x" in md  # 175 s over 165 s
    for ext in ("csv", "tex"):
        assert (tmp_path / f"table.{ext}").stat().st_size > 0
    assert (tmp_path / "figure.png").stat().st_size > 1000


def test_busy_seconds_is_the_union_of_intervals():
    assert cost.busy_seconds([0, 5, 100, 101], [10, 20, 110, 102]) == 30
    assert cost.busy_seconds([3], [3]) == 0


def test_a_benchmark_of_an_unknown_rule_or_format_is_one_line(tmp_path, capsys):
    unknown = bench(tmp_path, "new_rule/x.tsv", 1, 1, 1_700_000_000)
    args = ["paper", "table", "cost", "--out", tmp_path / "t", "--benchmarks"]
    assert main([str(a) for a in args + [unknown]]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("lskd paper: error:") and "new_rule has no cost group" in err
    assert len(err.splitlines()) == 1
    broken = tmp_path / "results/benchmarks/claims.tsv"
    broken.write_text("wall\n3\n")
    assert main([str(a) for a in args + [broken]]) == 2
    assert "not a Snakemake benchmark file (no cpu_time, max_rss, s)" in capsys.readouterr().err
    assert not (tmp_path / "t.csv").exists()


def rule_blocks():
    """(name, text) of every rule, those of ``use rule <a> as <name> with:`` too."""
    for smk in sorted((ROOT / "workflow" / "rules").glob("*.smk")):
        parts = re.split(r"(?m)^(?:rule (\w+)|use rule \w+ as (\w+) with):\n", smk.read_text())
        names = [a or b for a, b in zip(parts[1::3], parts[2::3], strict=True)]
        yield from zip(names, parts[3::3], strict=True)


def test_every_rule_but_the_cost_table_writes_a_benchmark_of_its_group():
    names = set()
    for name, block in rule_blocks():
        names.add(name)
        found = re.search(r'benchmark:\n\s+"results/benchmarks/([^"]+)\.tsv"', block)
        if name == "cost":  # it reads the others; its own would be written after it ran
            assert found is None
            continue
        if name == "partial":  # results so far, on demand: not a job of the study it costs
            assert found is None
            continue
        assert found, f"rule {name} has no benchmark"
        assert found.group(1).split("/")[0] == name, name
        assert name in cost.GROUP_OF, f"rule {name} has no cost group"
    assert set(cost.GROUP_OF) <= names  # no group names a rule that does not exist


def dry_run_benchmarks(workdir, configfile) -> set[str]:
    proc = run_snakemake(workdir, "-n", "--forceall", configfile=configfile)
    return set(re.findall(r"^\s+benchmark: (\S+)$", proc.stdout, flags=re.M))


@pytest.mark.workflow
def test_the_cost_rule_reads_the_benchmark_of_every_job(tmp_path):
    """targets.benchmark_files lists what the DAG's jobs write: for the smoke and default configs,
    and for the paper's matrix (its datasets as empty folders, as test_paper_config does)."""
    for configfile in (ROOT / "configs/smoke.yaml", ROOT / "config.yaml"):
        config = yaml.safe_load(configfile.read_text())
        config_file.validate_schema(config, str(ROOT / "workflow/schemas/config.schema.yaml"))
        assert dry_run_benchmarks(tmp_path, configfile) == set(targets.benchmark_files(config))
    paper = yaml.safe_load((ROOT / "configs/paper.yaml").read_text())
    for name, spec in paper["datasets"].items():
        spec["root"] = str(tmp_path / "data" / name)
        (tmp_path / "data" / name).mkdir(parents=True, exist_ok=True)
    paper["nmt"]["corpus"]["path"] = str(tmp_path / "data" / "iwslt14")
    (tmp_path / "data" / "iwslt14").mkdir()
    (tmp_path / "paper.yaml").write_text(yaml.safe_dump(paper))
    config_file.validate_schema(paper, str(ROOT / "workflow/schemas/config.schema.yaml"))
    files = targets.benchmark_files(paper)
    assert dry_run_benchmarks(tmp_path, tmp_path / "paper.yaml") == set(files)
    assert len(files) == sum(PAPER_JOBS.values()) - 2  # every job but `all` and `cost`


@pytest.mark.workflow
def test_smoke_run_has_a_benchmark_per_job_and_the_cost_table_adds_them_up(smoke_run):
    results = smoke_run / "results"
    config = yaml.safe_load((smoke_run / "smoke.yaml").read_text())
    config_file.validate_schema(config, str(ROOT / "workflow/schemas/config.schema.yaml"))
    written = {str(p.relative_to(smoke_run)) for p in (results / "benchmarks").rglob("*.tsv")}
    assert written == set(targets.benchmark_files(config))
    seconds = {}
    for path in written:
        with open(smoke_run / path) as f:
            seconds[path] = sum(float(row["s"]) for row in csv.DictReader(f, delimiter="\t"))
    table = pd.read_csv(results / "tables/cost.csv").set_index("group")
    assert table.loc[cost.ALL_JOBS, "wall_s"] == pytest.approx(sum(seconds.values()))
    teachers = sum(s for p, s in seconds.items() if "/train_teacher/" in p)
    assert table.loc["teachers", "wall_s"] == pytest.approx(teachers)
    assert 0 < table.loc[cost.WALL_CLOCK, "wall_s"] <= table.loc[cost.ALL_JOBS, "wall_s"]
    assert set(cost.GROUPS) == set(table.index) - {cost.ALL_JOBS, cost.WALL_CLOCK}
    assert table.loc["teachers", "peak_rss_mb"] > 100  # a torch process: at least 100 MB
