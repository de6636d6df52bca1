"""Dry-run time of the paper-scale DAG (configs/paper.yaml with empty dataset folders), for this
checkout and, side by side in one run, for other checkouts given on the command line (e.g. a
`git worktree` of the parent commit): what code fingerprints add to `snakemake -n`.

    python benchmarks/dry_run.py [--repeat 3] [OTHER_CHECKOUT ...]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def paper_config(tmp: Path, checkout: Path) -> Path:
    """The checkout's own configs/paper.yaml, its datasets pointed at empty folders."""
    config = yaml.safe_load((checkout / "configs" / "paper.yaml").read_text())
    for name, spec in config["datasets"].items():
        spec["root"] = str(tmp / "data" / name)  # a dry run only needs the folders to exist
        (tmp / "data" / name).mkdir(parents=True, exist_ok=True)
    config["nmt"]["corpus"]["path"] = str(tmp / "data" / "iwslt14")
    (tmp / "data" / "iwslt14").mkdir(exist_ok=True)
    path = tmp / f"paper{abs(hash(checkout))}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def dry_run_seconds(checkout: Path, config: Path, workdir: Path) -> tuple[float, int]:
    cmd = [sys.executable, "-m", "snakemake", "-s", str(checkout / "Snakefile"), "-n",
           "--cores", "1", "--configfile", str(config), "--quiet", "rules"]  # fmt: skip
    env = os.environ | {"PYTHONPATH": str(checkout / "src")}  # each checkout's own lskd
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, check=True, env=env)
    seconds = time.perf_counter() - start
    jobs = next(
        int(line.split()[1]) for line in proc.stdout.splitlines() if line.startswith("total")
    )
    return seconds, jobs


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("others", nargs="*", type=Path, help="other checkouts to time beside this one")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        checkouts = [ROOT, *args.others]
        configs = {c: paper_config(tmp, c) for c in checkouts}
        times, jobs = {c: [] for c in checkouts}, {}
        for _ in range(args.repeat):  # interleaved, so that machine noise hits both alike
            for checkout in checkouts:
                workdir = tmp / f"work{checkouts.index(checkout)}"
                workdir.mkdir(exist_ok=True)
                seconds, jobs[checkout] = dry_run_seconds(checkout, configs[checkout], workdir)
                times[checkout].append(seconds)
        base = statistics.median(times[ROOT])
        for checkout in checkouts:
            median = statistics.median(times[checkout])
            print(f"{median:6.2f} s  {median / base:5.2f}x  {jobs[checkout]} jobs  {checkout}")


if __name__ == "__main__":
    main()
