"""How long the rehearsal of configs/paper.yaml takes (lskd.rehearsal; tests/test_rehearsal_run.py
runs the same DAG): writes it to a temporary folder, runs the whole DAG with snakemake and prints
the wall time, the jobs, and the time summed per rule beside the CPU it ran on.

    python benchmarks/rehearsal.py [--cores 2] [--keep DIR]

Without --keep the folder (about 12 GB) is removed at the end, whether the run passed or not.
"""

import argparse
import csv
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from lskd import rehearsal  # noqa: E402


def cpu_model() -> str:
    for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def per_rule(results: Path) -> dict[str, list[float]]:
    seconds = defaultdict(list)
    for path in (results / "benchmarks").rglob("*.tsv"):
        rule = path.relative_to(results / "benchmarks").parts[0].removesuffix(".tsv")
        with path.open() as f:
            seconds[rule] += [float(row["s"]) for row in csv.DictReader(f, delimiter="\t")]
    return seconds


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cores", type=int, default=2)
    p.add_argument("--keep", help="write the rehearsal here and keep it (default: a temp folder)")
    args = p.parse_args()
    folder = Path(args.keep or tempfile.mkdtemp(prefix="rehearsal-"))
    try:
        rehearse(folder, args.cores)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


def rehearse(folder: Path, cores: int) -> None:
    if problem := rehearsal.disk_shortfall(folder):
        sys.exit(problem)
    start = time.perf_counter()
    config = rehearsal.write(folder, ROOT / "configs/paper.yaml")
    written = time.perf_counter() - start
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--cores",
           str(cores), "--quiet", "--configfile", str(config)]  # fmt: skip
    start = time.perf_counter()
    subprocess.run(cmd, cwd=folder, check=True)
    wall = time.perf_counter() - start
    seconds = per_rule(folder / "results")
    print(f"CPU: {cpu_model()}, {cores} cores")
    print(f"rehearsal data, weights and config written in {written:.0f} s ({folder})")
    print(f"whole DAG: {sum(map(len, seconds.values()))} jobs in {wall / 60:.1f} min wall")
    print(f"{'rule':24} {'jobs':>5} {'sum s':>8} {'mean s':>7}")
    for rule, values in sorted(seconds.items(), key=lambda kv: -sum(kv[1])):
        print(f"{rule:24} {len(values):5d} {sum(values):8.1f} {sum(values) / len(values):7.1f}")


if __name__ == "__main__":
    main()
