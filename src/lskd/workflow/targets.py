"""Targets: the file lists the rules gather (every table and figure, CLAIMS.md, the records of
every run, the benchmark files the cost table reads) and the inputs of each paper output, which
``lskd.paper.outputs`` declares.
"""

import os
import re

from lskd.paper import outputs
from lskd.workflow.paths import (
    BENCHMARKS,
    LS_KEYS,
    bnn_finals,
    cached_logits,
    dataset_files,
    dataset_of,
    evaluated,
    fig1_features,
    fig4_probs,
    keeps_pixels,
    nmt_finals,
    run_files,
    seeds_of,
    student_finals,
    teacher_evals,
    teacher_of,
)


def provenance_records(config: dict) -> list[str]:
    """Every record that carries a provenance entry (lskd.provenance): the image runs' final.json
    and eval.json, the NMT runs' final.json and test.json."""
    finals = [run_files(config, kind, "final.json") for kind in ("teachers", "students", "bnn")]
    nmt = [run_files(config, "nmt", file) for file in ("final.json", "test.json")]
    return [path for paths in [*finals, evaluated(config), *nmt] for path in paths]


def finished_records(config: dict) -> list[str]:
    """The records present now, with their modification times (the partial rule's param: it
    reruns when another run has finished, or one was rerun)."""
    present = [p for p in provenance_records(config) if os.path.isfile(p)]
    return [f"{p} {os.stat(p).st_mtime_ns}" for p in present]


# The files each kind of input of a paper output (lskd.paper.outputs.Inputs) names.
PAPER_INPUTS = {
    "teacher_evals": teacher_evals,
    "student_finals": student_finals,
    "bnn_finals": bnn_finals,
    "nmt_finals": nmt_finals,
    "nmt_tests": lambda c: run_files(c, "nmt", "test.json"),
    "infos": dataset_files,
    "manifests": lambda c: dataset_files(c, "manifest.csv"),
    "fig1_without_ls": lambda c: fig1_features(c)[:1],
    "fig1_with_ls": lambda c: fig1_features(c)[1:],
    "fig4_without_ls": lambda c: fig4_probs(c, "without_ls"),
    "fig4_with_ls": lambda c: fig4_probs(c, "with_ls"),
    "benchmarks": lambda c: benchmark_files(c),
}


def claims_inputs(config: dict) -> dict[str, list[str] | str]:
    """What CLAIMS.md reads, by ``lskd claims`` argument (the claims rule's input): every model's
    evaluation and per-image predictions (students and ReActNet step 2 too), the students' last
    epoch's losses, Figure 1's features and distances, the NMT runs' records and test outputs."""
    return {
        "teachers": teacher_evals(config),
        "students": run_files(config, "students", "eval/eval.json"),
        "bnn": run_files(config, "bnn", "eval/eval.json", steps=(2,)),
        "predictions": evaluated(config, "predictions.npz"),
        "metrics": run_files(config, "students", "metrics.csv"),
        "infos": dataset_files(config),
        "fig1_distances": output_files("table", "fig1_distances")[0],  # its CSV
        "fig1_features": fig1_features(config),
        "nmt": nmt_finals(config),
        "nmt_tests": run_files(config, "nmt", "test.json"),
    }


def paper_inputs(config: dict, kind: str, name: str) -> dict[str, list[str]]:
    """The files the ``kind`` output ``name`` reads, by input (a rule's input, unpacked)."""
    return {key: PAPER_INPUTS[key](config) for key in outputs.get(kind, name).inputs}


def output_pattern(kind: str, rule: str = "") -> str:
    """The wildcard constraint of the ``kind`` outputs that ``rule`` builds ("": its kind's)."""
    return "|".join(re.escape(name) for name in outputs.names(kind, rule))


def output_files(kind: str, name: str) -> list[str]:
    return outputs.get(kind, name).files


TABLES = outputs.names(outputs.TABLE)
FIGURES = outputs.names(outputs.FIGURE)
ENVIRONMENT = ["results/environment.md", "results/environment.csv"]  # records' provenance


def final_targets() -> list[str]:
    """Every table (CSV, Markdown, LaTeX) and figure (PNG, PDF) of lskd.paper.outputs,
    CLAIMS.md, and the environment summary."""
    files = [path for output in outputs.OUTPUTS for path in output.files]
    claims = ["results/CLAIMS.md", "results/claims/paper.md"]  # this run; the paper's tables
    return files + claims + ENVIRONMENT


def benchmark_files(config: dict) -> list[str]:
    """The ``benchmark:`` file of every job the workflow runs (the rules' patterns:
    results/benchmarks/<rule>/<wildcards>.tsv, <rule>.tsv for a rule of one job), but the cost
    table's own, which reads them."""
    nmt = config["nmt"]
    students = config.get("students", {})

    def jobs_of(names, kind="teachers", seeds=None):  # <dataset>/<name>_seed<seed>
        return [
            f"{dataset_of(config, n, kind)}/{n}_seed{s}"
            for n in names
            for s in (seeds or seeds_of(config, n, kind))
        ]

    teachers = jobs_of(config["teachers"])
    cached = [  # the teacher of a student that reads its logits cached, at the student's seeds
        job
        for name, student in students.items()
        if cached_logits(student)
        for job in jobs_of([teacher_of(student)], seeds=seeds_of(config, name, "students"))
    ]
    fig1 = {config["figures"]["fig1"][key] for key in LS_KEYS}
    bnn = jobs_of(config["bnn"]["teachers"], seeds=seeds_of(config, "", "bnn"))
    nmt_runs = [f"{t}_seed{s}" for t in nmt["teachers"] for s in seeds_of(config, "", "nmt")]
    datasets = config["datasets"]
    jobs = {
        "curate": [d for d in datasets if not keeps_pixels(config, d)],
        "curate_fashion_mnist": [d for d in datasets if keeps_pixels(config, d)],
        "train_teacher": teachers,
        "evaluate_teacher": teachers,
        "teacher_logits": cached,
        "penultimate_features": [jobs_of([t], seeds=seeds_of(config, t)[:1])[0] for t in fig1],
        "train_student": jobs_of(students, "students"),
        "evaluate_student": [
            path.removeprefix("results/").removesuffix("/final.json")
            for path in student_finals(config) + bnn_finals(config)
            if "/step1/" not in path
        ],
        "bnn_step1": bnn,
        "bnn_step2": bnn,
        "nmt_prepare": [""],
        "nmt_binarize": [""],
        "nmt_teacher": nmt_runs,
        "nmt_export_topk": nmt_runs if cached_logits(nmt["student"]) else [],
        "nmt_student": nmt_runs,
        "nmt_test": [f"{role}/{run}" for role in ("teachers", "students") for run in nmt_runs],
        "table": outputs.names(outputs.TABLE, rule=""),  # but the cost rule's outputs
        "figure": outputs.names(outputs.FIGURE, rule=""),
        **dict.fromkeys(["claims", "claims_paper", "environment"], [""]),
    }
    return [
        f"{BENCHMARKS}/{rule}/{job}.tsv" if job else f"{BENCHMARKS}/{rule}.tsv"
        for rule, names in jobs.items()
        for job in sorted(set(names))
    ]
