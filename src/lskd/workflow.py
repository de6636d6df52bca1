"""What the Snakefile needs from the config: semantic checks and target lists.

The JSON schema (workflow/schemas/config.schema.yaml) checks keys, types and ranges; ``check``
adds what a schema cannot: references between entries and that dataset files exist. Both run
when the workflow is parsed, before any job starts, and stop with one line naming the key.
"""

import json
import re
from pathlib import Path

from jsonschema import ValidationError
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from lskd.data import fashion_mnist, official
from lskd.data.errors import DataError

TABLES = [
    "table1",
    "table10",
    "table2",
    "table7",
    "table8",
    "table9",
    "temperature",
    "bnn",
    "table3",
    "table4",
    "table5",
    "table6",
    "nmt",
]
FIGURES = ["fig1", "fig2", "fig3", "fig4", "fig5", "fig6", "fig7", "fig8", "fig9"]


def final_targets() -> list[str]:
    """Every table (CSV, Markdown, LaTeX) and figure (PNG, PDF) of the paper, and CLAIMS.md."""
    tables = [f"results/tables/{t}.{ext}" for t in TABLES for ext in ("csv", "md", "tex")]
    figures = [f"results/figures/{f}.{ext}" for f in FIGURES for ext in ("png", "pdf")]
    return tables + figures + ["results/tables/fig1_distances.csv", "results/CLAIMS.md"]


# What a job asks a cluster for (profiles/slurm); the config's `resources` section overrides.
RESOURCE_DEFAULTS = {
    "train": {"gpu": 0, "mem_mb": 8000, "runtime": 240},
    "evaluate": {"gpu": 0, "mem_mb": 4000, "runtime": 30},
    "nmt": {"gpu": 0, "mem_mb": 8000, "runtime": 600},
}


def resources(config: dict, group: str) -> dict:
    return RESOURCE_DEFAULTS[group] | config.get("resources", {}).get(group, {})


def launcher(config: dict, group: str = "train") -> str:
    """How a training rule starts ``lskd``: one process, or torchrun with one per GPU when its
    group asks for several (data-parallel, lskd.distributed)."""
    gpus = resources(config, group)["gpu"]
    return "lskd" if gpus <= 1 else f"torchrun --standalone --nproc_per_node={gpus} -m lskd"


class ConfigError(Exception):
    """A config value is wrong; the message names the key and the fix."""


def _check_nmt_corpus(spec: dict) -> None:
    if not Path(spec["path"]).exists():
        how = (
            "apt-get install trans-de-en"
            if spec["kind"] == "ding"
            else "the IWSLT14 de-en.tgz (WIT3 2014-01) or its folder"
        )
        raise ConfigError(f"nmt.corpus.path: {spec['path']} does not exist ({how})")


def _check_data_root(spec: dict) -> None:
    if spec["kind"] == "fashion_mnist":
        fashion_mnist.check_root(spec["root"])
    else:
        official.require_dir(spec["root"], spec["kind"])


def validate_schema(config: dict, schema_path: str) -> None:
    """snakemake's ``validate`` (which also fills in defaults), its error cut to one line."""
    try:
        validate(config, schema_path)
    except WorkflowError as err:
        cause = err.__context__  # snakemake formats the jsonschema error into text
        if not isinstance(cause, ValidationError):
            raise
        key = ".".join(str(p) for p in cause.absolute_path) or "(top level)"
        raise ConfigError(
            f"config key {key}: {cause.message} (allowed keys and values: {schema_path})"
        ) from None


def _must_name(config: dict, where: str, value: str, section: str) -> None:
    if value not in config[section]:
        raise ConfigError(
            f"{where}: {value!r} is not a key of {section} ({', '.join(config[section])})"
        )


RESERVED = {"data", "logs", "tables", "figures", "nmt"}  # other folders of results/


def dataset_pattern(config: dict) -> str:
    """The {dataset} wildcard matches configured datasets only (not results/nmt/...)."""
    return "|".join(re.escape(name) for name in config["datasets"])


def check(config: dict) -> None:
    for name, spec in config["datasets"].items():
        if name in RESERVED:
            raise ConfigError(f"datasets.{name}: the name is taken by results/{name}/; rename it")
        try:
            _check_data_root(spec)
        except DataError as err:
            raise ConfigError(f"datasets.{name}.root: {err}") from None
    for name, teacher in config["teachers"].items():
        _must_name(config, f"teachers.{name}.dataset", teacher["dataset"], "datasets")
        _must_name(config, f"teachers.{name}.recipe", teacher["recipe"], "recipes")
    for name, student in config.get("students", {}).items():
        _must_name(config, f"students.{name}.teacher", student["teacher"], "teachers")
        _must_name(config, f"students.{name}.recipe", student["recipe"], "recipes")
    for kind in ("teachers", "students"):
        for name, entry in config.get(kind, {}).items():
            if "init_from" in entry:
                _must_name(config, f"{kind}.{name}.init_from", entry["init_from"], "teachers")
    for i, name in enumerate(config["bnn"]["teachers"]):
        _must_name(config, f"bnn.teachers[{i}]", name, "teachers")
    for step in ("step1", "step2"):
        _must_name(config, f"bnn.{step}", config["bnn"][step], "recipes")
    _check_nmt_corpus(config["nmt"]["corpus"])
    for fig in ("fig1", "fig4"):
        for key in ("without_ls", "with_ls"):
            _must_name(config, f"figures.{fig}.{key}", config["figures"][fig][key], "teachers")


def dataset_of(config: dict, name: str, kind: str = "teachers") -> str:
    entry = config[kind][name]
    return entry["dataset"] if kind == "teachers" else dataset_of(config, entry["teacher"])


def run_dir(config: dict, name: str, seed: int, kind: str = "teachers") -> str:
    """Folder of one training run: ``kind`` is "teachers" or "students"."""
    return f"results/{dataset_of(config, name, kind)}/{kind}/{name}/seed{seed}"


def teacher_evals(config: dict, names=None) -> list[str]:
    names = config["teachers"] if names is None else names
    return [f"{run_dir(config, n, s)}/eval/eval.json" for n in names for s in config["seeds"]]


def fig1_features(config: dict, key: str) -> str:
    """Figure 1 uses the first seed of the teacher named by figures.fig1.<key>."""
    name = config["figures"]["fig1"][key]
    return f"{run_dir(config, name, config['seeds'][0])}/eval/penultimate.npz"


def bnn_finals(config: dict) -> list[str]:
    """final.json of both ReActNet steps, for every BNN teacher and seed."""
    return [
        f"results/{dataset_of(config, t)}/bnn/{t}/seed{s}/step{step}/final.json"
        for t in config["bnn"]["teachers"]
        for s in config["seeds"]
        for step in (1, 2)
    ]


def dataset_infos(config: dict) -> list[str]:
    return [f"results/data/{d}/dataset.json" for d in config["datasets"]]


def student_finals(config: dict) -> list[str]:
    return [
        f"{run_dir(config, n, s, 'students')}/final.json"
        for n in config.get("students", {})
        for s in config["seeds"]
    ]


def student_inputs(config: dict, name: str, seed: int) -> dict:
    """The teacher of the same seed; its logits cache when the student uses one."""
    student = config["students"][name]
    teacher = run_dir(config, student["teacher"], seed)
    inputs = {
        "teacher_model": f"{teacher}/model.pt",
        "teacher_final": f"{teacher}/final.json",
        "manifest": f"results/data/{dataset_of(config, name, 'students')}/manifest.csv",
    }
    if student["cache_teacher"]:
        inputs["cache"] = f"{teacher}/cache/train_logits.pt"
    return inputs | init_from(config, name, seed, "students")


def init_from(config: dict, name: str, seed: int, kind: str = "teachers") -> dict:
    """{"init": model.pt of the teacher named by ``init_from`` (same seed)}, or {}."""
    source = config[kind][name].get("init_from")
    return {"init": f"{run_dir(config, source, seed)}/model.pt"} if source else {}


def recipe_json(config: dict, name: str, kind: str = "teachers") -> str:
    return json.dumps(config["recipes"][config[kind][name]["recipe"]], sort_keys=True)


def run_meta(config: dict, name: str, seed: int, kind: str = "teachers") -> str:
    entry = config[kind][name]
    meta = {
        "name": name,
        "dataset": dataset_of(config, name, kind),
        "recipe": entry["recipe"],
        "seed": seed,
    }
    if kind == "students":
        meta["teacher"] = entry["teacher"]
    return json.dumps(meta, sort_keys=True)


NMT_DIR = "results/nmt"


def nmt_finals(config: dict) -> list[str]:
    """final.json of every NMT teacher and its student, for every seed."""
    return [
        f"{NMT_DIR}/{role}/{name}/seed{seed}/final.json"
        for role in ("teachers", "students")
        for name in config["nmt"]["teachers"]
        for seed in config["seeds"]
    ]


def nmt_student_inputs(config: dict, teacher: str, seed: int) -> dict:
    """The teacher's model.pt, and its exported top-k when the student uses the cache."""
    run = f"{NMT_DIR}/teachers/{teacher}/seed{seed}"
    inputs = {"teacher": f"{run}/model.pt", "data_bin": f"{NMT_DIR}/data-bin"}
    if config["nmt"]["kd"]["cache_teacher"]:
        inputs["topk"] = f"{run}/topk.pt"
    return inputs


def nmt_meta(config: dict, role: str, teacher: str, seed: int) -> str:
    kd = config["nmt"]["kd"]
    meta = {
        "role": role,
        "name": teacher,
        "teacher_alpha": config["nmt"]["teachers"][teacher],
        "seed": seed,
        "model": config["nmt"]["model"],
    }
    if role == "student":
        meta |= {"kd": kd}
    return json.dumps(meta, sort_keys=True)
