import contextlib
import gzip
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
FMNIST = Path("/usr/share/datasets/fashion-mnist")


def write_idx(path: Path, array: np.ndarray) -> None:
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def fake_fmnist(tmp_path) -> Path:
    """A tiny Fashion-MNIST in the original idx layout: 12 train / 6 test images per class."""
    root = tmp_path / "fmnist"
    root.mkdir()
    rng = np.random.default_rng(0)
    for split, per_class in (("train", 12), ("t10k", 6)):
        labels = np.repeat(np.arange(10), per_class)
        rng.shuffle(labels)
        images = rng.integers(0, 256, (len(labels), 28, 28))
        write_idx(root / f"{split}-images-idx3-ubyte.gz", images)
        write_idx(root / f"{split}-labels-idx1-ubyte.gz", labels)
    return root


@pytest.fixture
def data(fake_fmnist, tmp_path) -> Path:
    """``fake_fmnist`` curated into tmp_path/data: a dataset folder training reads."""
    from lskd.data.manifest import curate

    curate({"kind": "fashion_mnist", "root": str(fake_fmnist)}, tmp_path / "data")
    return tmp_path / "data"


def fmnist_spec(root, **extra) -> dict:
    """A config entry of a fashion_mnist dataset in ``root`` (``extra``: subset keys)."""
    return {"kind": "fashion_mnist", "root": str(root), "seed": 0, **extra}


def replace_once(path: Path, old: str | None, new: str) -> None:
    """Replace the one ``old`` in a text file by ``new`` (append ``new`` when ``old`` is None)."""
    text = path.read_text()
    assert old is None or text.count(old) == 1, f"{path}: {old!r}"
    path.write_text(text + new if old is None else text.replace(old, new))


def pytest_collection_modifyitems(items) -> None:
    """A test on the smoke run runs the whole workflow first: without the workflow marker,
    ``pytest -m "not workflow"`` would start it."""
    for item in items:
        uses_smoke_run = "smoke_run" in getattr(item, "fixturenames", ())
        if uses_smoke_run and item.get_closest_marker("workflow") is None:
            raise pytest.UsageError(f"{item.nodeid} uses smoke_run: mark it @pytest.mark.workflow")


def copy_workflow(dest: Path) -> Path:
    """A copy of the workflow (Snakefile, default config, rules, src/) to edit in a test."""
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for name in ("workflow", "src"):
        shutil.copytree(ROOT / name, dest / name, ignore=ignore)
    for name in ("Snakefile", "config.yaml"):
        shutil.copy(ROOT / name, dest / name)
    return dest


def run_snakemake(workdir: Path, *args, configfile: Path | None = None, check=True, env=None):
    """snakemake on the project's Snakefile, with results under ``workdir`` (``env``: the
    environment its jobs run in)."""
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--cores", "2", *args]
    if configfile is not None:  # last: --configfile takes every value after it
        cmd += ["--configfile", str(configfile)]
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    return proc


def job_counts(dry_run_stdout: str) -> dict[str, int]:
    """Jobs per rule, from the 'Job stats' table snakemake prints (a dry run's stdout)."""
    block = dry_run_stdout.split("Job stats:")[1].split("\n\n")[0]
    rows = re.findall(r"^(\w+)\s+(\d+)$", block, flags=re.M)
    return {name: int(n) for name, n in rows if name != "total"}


@contextlib.contextmanager
def scratch(tmp_path_factory, name: str, needs_gb: float = 0.0):
    """A module fixture's folder, removed when the module ends: the rehearsal and the stand-in
    environment hold gigabytes each, more than a CI disk has for both. ``needs_gb``: what it
    will hold, checked first, so that a short disk fails here in one line, not in a job."""
    path = tmp_path_factory.mktemp(name)
    free = shutil.disk_usage(path).free / 1e9
    if free < needs_gb:
        pytest.fail(f"{path}: {free:.1f} GB free, {name} needs {needs_gb:.0f} GB; free some space")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory) -> Path:
    """The whole smoke DAG, run once per session in a temporary directory."""
    if not (FMNIST / "train-images-idx3-ubyte.gz").exists():
        pytest.fail(f"{FMNIST} missing: apt-get install dataset-fashion-mnist")
    workdir = tmp_path_factory.mktemp("smoke")
    shutil.copy(ROOT / "configs" / "smoke.yaml", workdir / "smoke.yaml")
    run_snakemake(workdir, configfile=workdir / "smoke.yaml")
    return workdir


def schema_defaults(kind: str) -> dict:
    """An objective node of ``kind`` with the schema's defaults (its only ones)."""
    import yaml

    schema = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())
    properties = schema["$defs"][kind]["properties"]
    return {"kind": kind} | {k: p["default"] for k, p in properties.items() if "default" in p}


def distillation(teacher, cached=None, sha="a teacher file", **settings):
    """A student's objective distilling from ``teacher`` (a model in memory; ``cached``: its
    logits, read instead of running it); ``settings``: the node's, else the schema's defaults."""
    from lskd import objectives

    view = "online" if cached is None else "cached"
    node = schema_defaults("distillation") | {"teacher": "teacher", "teacher_logits": view}
    objective = objectives.parse(node | settings)
    objective.use_teacher(teacher, sha, cached)
    return objective
