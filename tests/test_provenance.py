"""Every record says where it came from (lskd.provenance), and the environment summary says when
one run's records disagree."""

import json
import os
import shutil
import socket
import subprocess
import sys
import tomllib
from datetime import UTC, datetime
from importlib import metadata

import pytest
import torch

from conftest import ROOT
from lskd import precision, provenance
from lskd.data.manifest import curate
from lskd.evaluate import evaluate
from lskd.losses import LabelSmoothing
from lskd.paper import environment
from lskd.recipe import Recipe
from lskd.train import train

FIELDS = {"lskd", "git_commit", "git_dirty", "python", "torch", "torchvision", "fairseq",
          "snakemake", "cpu", "gpu", "gpus", "processes", "precision", "precision_choice",
          "threads", "start", "end", "host"}  # fmt: skip


def parse(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def test_final_and_eval_json_record_their_provenance(fake_fmnist, tmp_path):
    data = tmp_path / "data"
    curate({"kind": "fashion_mnist", "root": str(fake_fmnist)}, data)
    before = datetime.now(UTC).replace(microsecond=0)
    run = tmp_path / "run"
    train(data, run, "resnet18", Recipe(epochs=1, lr=0.05, batch_size=32), LabelSmoothing(0.1))
    final = json.loads((run / "final.json").read_text())
    record = final["provenance"]
    assert set(record) == FIELDS
    assert record["python"] == "{}.{}.{}".format(*sys.version_info[:3])
    assert record["torch"].split("+")[0] == torch.__version__.split("+")[0]
    assert record["fairseq"].startswith(metadata.version("ve-fairseq"))
    assert record["host"] == socket.gethostname()
    assert record["processes"] == 1
    assert record["threads"] == torch.get_num_threads()
    if not torch.cuda.is_available():
        assert (record["gpus"], record["gpu"]) == (0, None)
    assert before <= parse(record["start"]) <= parse(record["end"]) <= datetime.now(UTC)
    assert (
        record["lskd"] == tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    )

    choice = record["precision_choice"]  # train()'s default: auto, measured
    assert choice["requested"] == "auto" and record["precision"] in ("fp32", "bf16")
    assert record["precision"] in choice["why"]
    evaluate(run / "model.pt", data, run / "eval", precision="bf16", meta=final)
    evaluated = json.loads((run / "eval/eval.json").read_text())
    assert set(evaluated["provenance"]) == FIELDS
    assert evaluated["provenance"]["precision"] == "bf16"  # the evaluation's own, not training's
    assert parse(evaluated["provenance"]["start"]) >= parse(record["end"])


def git_state_of(src) -> dict:
    """provenance.git_state() as a job running the copy ``src`` of the code sees it."""
    code = "import json; from lskd import provenance; print(json.dumps(provenance.git_state()))"
    env = dict(os.environ, PYTHONPATH=str(src))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def git(repo, *args) -> str:
    cmd = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args]
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip()


def test_git_commit_and_dirty_flag_of_the_code_that_runs(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "workflow"
    shutil.copytree(ROOT / "src", repo / "src", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", repo)
    src = repo / "src"
    assert git_state_of(src) == {"git_commit": "unknown", "git_dirty": "unknown"}  # no checkout

    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "x")
    head = git(repo, "rev-parse", "HEAD")
    assert git_state_of(src) == {"git_commit": head, "git_dirty": False}
    (src / "lskd/new_module.py").write_text("X = 1\n")  # new code, not yet committed
    assert git_state_of(src)["git_dirty"] is True
    (src / "lskd/new_module.py").unlink()
    with open(src / "lskd/losses.py", "a") as f:
        f.write("\n# edited\n")
    assert git_state_of(src) == {"git_commit": head, "git_dirty": True}

    outer = tmp_path / "other_project"  # a copy inside a repository that does not track lskd
    (outer / "vendor").mkdir(parents=True)
    git(outer, "init", "-q")
    shutil.copytree(src, outer / "vendor/src")
    assert git_state_of(outer / "vendor/src")["git_commit"] == "unknown"


def test_without_git_the_commit_is_unknown(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    provenance.git_state.cache_clear()
    try:
        assert provenance.git_state() == {"git_commit": "unknown", "git_dirty": "unknown"}
    finally:
        provenance.git_state.cache_clear()


def test_library_versions():
    assert provenance.library_version("no_such_module_anywhere") == "not installed"
    assert provenance.library_version("torchvision") == metadata.version("torchvision")
    assert provenance.library_version("fairseq") == f"{metadata.version('ve-fairseq')} (ve-fairseq)"


def prov(**changes) -> dict:
    base = provenance.record(datetime(2026, 1, 1, tzinfo=UTC))
    return base | changes


def write_records(tmp_path, records) -> list:
    paths = []
    for i, record in enumerate(records):
        path = tmp_path / f"run{i}" / "final.json"
        path.parent.mkdir()
        path.write_text(json.dumps({"top1": 50.0} | ({"provenance": record} if record else {})))
        paths.append(path)
    return paths


def test_environment_says_which_records_disagree(tmp_path):
    paths = write_records(tmp_path, [prov(), prov(), prov(torch="2.13.0"), None])
    environment.write(paths, tmp_path / "environment")
    md = (tmp_path / "environment.md").read_text()
    assert "**Records disagree" in md
    ours = provenance.library_version("torch")
    assert f"- torch: {ours} in 2 records, 2.13.0 in 1 record ({paths[2]})" in md
    assert "**1 of them have no provenance**" in md and str(paths[3]) in md
    assert "| gpus        | 0       " in md  # a count, though read beside a record without
    assert "torchvision" in md and md.count("**differs**") == 2  # torch's two rows
    table = environment.read(paths)
    assert table.record.tolist() == [str(p) for p in paths]
    saved = (tmp_path / "environment.csv").read_text()
    assert saved.count("2.13.0") == 1 and len(saved.strip().splitlines()) == 5


def test_environment_of_agreeing_records(tmp_path):
    paths = write_records(tmp_path, [prov(), prov(threads=8, processes=4)])
    environment.write(paths, tmp_path / "environment")
    md = (tmp_path / "environment.md").read_text()
    assert "All records agree on the code" in md and "Records disagree" not in md
    assert "more than one processes, threads" in md  # machine fields: noted, not a disagreement
    assert "2026-01-01T00:00:00Z" in md


@pytest.mark.workflow
def test_every_record_of_the_smoke_run_carries_its_provenance(smoke_run):
    results = smoke_run / "results"
    records = [p for p in results.rglob("*.json") if p.name in ("final.json", "eval.json",
                                                                "test.json")]  # fmt: skip
    assert len(records) == 46  # 8 teachers and 8 students x 2, 2 ReActNets x 3, 4 NMT runs x 2
    for path in records:
        record = json.loads(path.read_text())["provenance"]
        assert set(record) == FIELDS, path
        assert "unknown" not in (record["lskd"], record["cpu"]), path
    nmt = json.loads(next(results.glob("nmt/students/*/seed0/final.json")).read_text())
    assert nmt["provenance"]["precision"] == "fp32"  # fairseq on the CPU
    # the smoke config asks for auto: every image job ran in the precision its machine's probe
    # chose (results/hardware.json), and says so
    native = precision.native(torch.device("cpu"))  # none: fp32 without a probe, no file
    probes = json.loads((results / "hardware.json").read_text()) if native else {}
    chosen = {v["chosen"] for v in probes.values()} or {"fp32"}
    assert chosen <= {"fp32", *native} and all(set(v["images_per_second"]) == {"fp32", *native}
                                                for v in probes.values())  # fmt: skip
    images = [p for p in records if "/nmt/" not in str(p)]
    for path in images:
        choice = json.loads(path.read_text())["provenance"]
        assert choice["precision_choice"]["requested"] == "auto", path
        assert choice["precision"] in chosen, path
    md = (results / "environment.md").read_text()
    assert f"{len(records)} records; {len(records)} with provenance" in md
    assert "All records agree on the code" in md


def test_an_nmt_fp16_request_a_cpu_cannot_honour_is_recorded_and_logged(capsys):
    from lskd.nmt import runs

    cmd = ["fairseq-train", "data-bin", *runs._device_args(fp16=True)]
    if torch.cuda.is_available():
        pytest.skip("on a GPU fairseq honours --fp16")
    assert "fp16 on GPUs only; fp32 on this CPU" in capsys.readouterr().out
    record = runs._provenance(datetime.now(UTC), cmd, 1, fp16=True)
    assert record["precision"] == "fp32"
    assert record["precision_choice"]["requested"] == "fp16"
    assert "GPUs only" in record["precision_choice"]["why"]


def test_several_processes_without_gpus_say_so_in_the_record():
    one = provenance.record(provenance.now())
    two = provenance.record(provenance.now(), processes=2)
    assert "data_parallel" not in one
    if not torch.cuda.is_available():
        assert two["data_parallel"].startswith("gloo on CPUs: no GPU here")
