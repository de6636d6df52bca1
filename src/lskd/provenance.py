"""Where a result came from: the ``provenance`` entry of every record (final.json, eval.json, the
NMT runs' final.json and test.json).

It names the code (lskd's version and the git commit of the workflow's ``src/``, with a dirty
flag), the libraries, the machine (CPU model, GPU name and count, host), how the job ran
(processes, precision, threads) and when (start and end, UTC). It is a record of the run, never
part of what decides whether a run resumes or reruns.
"""

import functools
import platform
import socket
import subprocess
import tomllib
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import lskd

UNKNOWN = "unknown"
NOT_INSTALLED = "not installed"
LIBRARIES = ("torch", "torchvision", "fairseq", "snakemake")
# The code the rules run: the workflow's src/ (see the Snakefile), or wherever lskd is imported.
SRC = Path(lskd.__file__).resolve().parent.parent


def now() -> datetime:
    return datetime.now(UTC)


def utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def record(
    start: datetime, processes: int = 1, precision="fp32", threads: int | None = None
) -> dict:
    """The provenance of a job that started at ``start`` and ends now; ``precision``: the one it
    ran in, or the ``lskd.precision.Choice`` that says which and why."""
    import torch

    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    return {
        "lskd": lskd_version(),
        **git_state(),
        "python": platform.python_version(),
        **{name: library_version(name) for name in LIBRARIES},
        "cpu": cpu_model(),
        "gpu": torch.cuda.get_device_name(0) if gpus else None,
        "gpus": gpus,
        "processes": processes,
        **({"data_parallel": _data_parallel(gpus)} if processes > 1 else {}),
        **({"precision": precision} if isinstance(precision, str) else precision.record()),
        "threads": torch.get_num_threads() if threads is None else threads,
        "start": utc(start),
        "end": utc(now()),
        "host": socket.gethostname(),
    }


def _data_parallel(gpus: int) -> str:
    """How a run of several processes trained: said in its record when the machine could not
    give what its group's ``gpu`` asked for."""
    if gpus:
        return "nccl, one process per GPU"
    return "gloo on CPUs: no GPU here for the group's gpu request, and no faster than one process"


@functools.cache
def lskd_version() -> str:
    """The version in pyproject.toml beside ``src/`` (the code that runs), else the installed
    package's."""
    try:
        return tomllib.loads((SRC.parent / "pyproject.toml").read_text())["project"]["version"]
    except (OSError, ValueError, KeyError):
        pass
    try:
        return metadata.version("lskd")
    except metadata.PackageNotFoundError:
        return UNKNOWN


def _git(*args: str) -> str:
    out = subprocess.run(
        ["git", "-C", str(SRC), *args], capture_output=True, text=True, timeout=10, check=True
    )
    return out.stdout.strip()


@functools.cache
def git_state() -> dict:
    """{"git_commit", "git_dirty"}: the commit of the repository that holds ``src/``, and whether
    the checkout differs from it (a changed tracked file, or a new file under ``src/`` that git
    does not ignore); "unknown" outside a checkout (or one that does not track lskd itself, such
    as a copy inside another project's repository) or without git."""
    try:
        _git("ls-files", "--error-unmatch", "lskd/__init__.py")
        commit = _git("rev-parse", "HEAD")
        changed = _git("status", "--porcelain", "--untracked-files=no")
        new_code = _git("ls-files", "--others", "--exclude-standard")  # relative to src/
    except (OSError, subprocess.SubprocessError):
        return {"git_commit": UNKNOWN, "git_dirty": UNKNOWN}
    return {"git_commit": commit, "git_dirty": bool(changed or new_code)}


@functools.cache
def _distributions() -> dict[str, list[str]]:
    return metadata.packages_distributions()


def library_version(module: str) -> str:
    """The installed version of the distribution that provides ``module``; its name beside the
    version when it differs (fairseq comes as ve-fairseq)."""
    for dist in _distributions().get(module, [module]):
        try:
            version = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
        return version if dist == module else f"{version} ({dist})"
    return NOT_INSTALLED


@functools.cache
def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo on Linux), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Model", "Hardware") and value.strip():
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or UNKNOWN
