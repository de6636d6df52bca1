"""What the Snakefile needs from the config: semantic checks, run paths and target lists.

``check_config_files`` reads the config files again (Snakemake keeps the last of two equal
keys, and calls a YAML error "not valid JSON or YAML" without file or line); the JSON schema
(workflow/schemas/config.schema.yaml) checks keys, types, ranges and names; ``check`` adds what a
schema cannot: finite numbers, references between entries, that dataset files exist, schedules
against their epochs, and the class subsets, long tails and Figure 1 classes against the data
where it is known before curation. All run when the workflow is parsed, before any job starts,
and stop with one line naming the file or key.

Run paths have one owner here: the rules take every run folder from ``DATA_DIR``, ``RUN_DIRS``
and ``NMT_DIR`` (``pattern``), their ``--out`` and ``--data`` from their own outputs and inputs
(``folder``, ``data_dir``), and every target list fills the same patterns (``run_dir``,
``run_files``). A run's ``--meta``, its identity in final.json, comes from ``lskd.records``. The
paper's tables and figures, their inputs and captions come from ``lskd.paper.outputs``.
"""

import json
import math
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from jsonschema import ValidationError
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from lskd import fingerprint, records
from lskd.cifar_archs import CIFAR_RESNETS, default_stem
from lskd.data import fashion_mnist, official, subsets
from lskd.data.errors import DataError
from lskd.paper import outputs
from lskd.schedules import schedule_problem

# What a job asks a cluster for (profiles/slurm); the config's `resources` section overrides.
RESOURCE_DEFAULTS = {
    "train": {"gpu": 0, "mem_mb": 8000, "runtime": 240},
    "evaluate": {"gpu": 0, "mem_mb": 4000, "runtime": 30},
    "nmt": {"gpu": 0, "mem_mb": 8000, "runtime": 600},
}


def resources(config: dict, group: str) -> dict:
    return RESOURCE_DEFAULTS[group] | config.get("resources", {}).get(group, {})


def launcher(config: dict, group: str = "train") -> str:
    """How a training rule starts ``python -m lskd``: one process, or torchrun with one per GPU
    when its group asks for several (data-parallel, lskd.distributed)."""
    gpus = resources(config, group)["gpu"]
    return (
        "python -m lskd" if gpus <= 1 else f"torchrun --standalone --nproc_per_node={gpus} -m lskd"
    )


# Rules run the workflow's own code (src/ beside the Snakefile), whichever environment runs them:
# an installed copy of lskd, a conda environment's, or none at all.
SRC = Path(__file__).resolve().parents[1]


def check_partition(workflow) -> None:
    """On SLURM (profiles/slurm), the default resources must name a partition: a job sent to a
    cluster's default partition may wait days or be refused, found only when it is submitted."""
    plugin = getattr(workflow, "executor_plugin", None)
    if getattr(plugin, "name", None) != "slurm":
        return
    defaults = getattr(workflow.resource_settings.default_resources, "args", None) or []
    given = dict(arg.split("=", 1) for arg in defaults if "=" in arg)
    if not given.get("slurm_partition", "").strip("'\" "):
        raise ConfigError(
            "no SLURM partition: set default-resources slurm_partition in "
            "profiles/slurm/config.yaml to one of your cluster's (sinfo -s), or pass "
            "--default-resources slurm_partition=NAME"
        )


def put_source_first_on_pythonpath(environ) -> None:
    """Make ``python -m lskd`` in every job import the workflow's ``src/``."""
    rest = [p for p in environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != str(SRC)]
    environ["PYTHONPATH"] = os.pathsep.join([str(SRC), *rest])


def code(command: str) -> str:
    """The fingerprint of the code ``lskd <command>`` can run (a rule param: an edit that changes
    behaviour reruns the rules it reaches); fairseq commands also load the ``--user-dir`` plugin."""
    extra = ("lskd.nmt.fairseq_plugin",) if command.startswith("nmt-") else ()
    return fingerprint.command_fingerprint(SRC, command, extra)


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


class _UniqueKeyLoader(yaml.SafeLoader):
    """yaml.safe_load that refuses a key given twice in one mapping."""

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # '<<: *base' may be overridden
                continue
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise ConfigError(
                    f"line {line}: key {key!r} is given twice (also line {seen[key]}), so the "
                    "later one would silently replace the first; keep one"
                )
            seen[key] = line
        return super().construct_mapping(node, deep)


def _unique_json_keys(pairs: list) -> dict:
    keys = [key for key, _ in pairs]
    for key in keys:
        if keys.count(key) > 1:
            raise ConfigError(f"key {key!r} is given twice; keep one")
    return dict(pairs)


def check_config_files(paths) -> None:
    """Read ``paths`` (``workflow.configfiles``) as Snakemake does, and stop with the file and
    line at a YAML error (a tab in the indentation, an unclosed bracket), at a file that holds no
    mapping of keys (an empty one), and at a key given twice, which Snakemake would silently let
    the later one replace (a second teacher of the same name). The Snakefile runs it on the
    default config.yaml before Snakemake reads it; Snakemake reads a --configfile before any
    Snakefile code runs, so there its own message comes first."""
    for path in paths:
        text = Path(path).read_text(encoding="utf-8")
        try:
            try:  # JSON first, then YAML, as Snakemake reads them
                config = json.loads(text, object_pairs_hook=_unique_json_keys)
            except ValueError:
                config = yaml.load(text, Loader=_UniqueKeyLoader)
        except ConfigError as err:
            raise ConfigError(f"{path}: {err}") from None
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
            what = " ".join(str(getattr(err, "problem", None) or err).split())
            tab = " (YAML indents with spaces, never tabs)" if "\t" in text else ""
            raise ConfigError(f"{path}: {where}not valid YAML: {what}{tab}; correct it") from None
        if not isinstance(config, dict):
            raise ConfigError(
                f"{path}: holds no keys ({'empty' if config is None else type(config).__name__});"
                " a config is a mapping such as config.yaml"
            )


def validate_schema(config: dict, schema_path: str) -> None:
    """snakemake's ``validate`` (which also fills in defaults), its error cut to one line; NaN and
    infinities first, which the schema takes for numbers (and NaN passes every range); renamed
    keys before both, which the schema would only call unexpected."""
    refuse_renamed_keys(config)
    _check_finite(config)
    try:
        validate(config, schema_path)
    except WorkflowError as err:
        cause = err.__context__  # snakemake formats the jsonschema error into text
        if not isinstance(cause, ValidationError):
            raise
        key = ".".join(str(p) for p in cause.absolute_path) or "(top level)"
        message = cause.message
        if cause.validator == "pattern" and "description" in cause.schema:  # a name
            message = f"{cause.instance!r}: {' '.join(cause.schema['description'].split())}"
        raise ConfigError(
            f"config key {key}: {message} (allowed keys and values: {schema_path})"
        ) from None


def refuse_renamed_keys(config: dict) -> None:
    """A key of an older config: one line naming its new name (and, for the NMT KD weight, that
    its convention flipped to image students' lam, Appendix E's weight of the hard term)."""
    datasets = config.get("datasets")
    for name, spec in datasets.items() if isinstance(datasets, dict) else []:
        tail = spec.get("long_tail") if isinstance(spec, dict) else None
        if isinstance(tail, dict) and "alpha" in tail:
            raise ConfigError(
                f"datasets.{name}.long_tail.alpha: renamed long_tail.power (alpha is label "
                "smoothing); rename the key, same value"
            )
    if isinstance(config.get("noninferiority_margin"), dict):
        raise ConfigError(
            "noninferiority_margin: now claims.margins, one node per metric with the reason "
            "for its size, e.g. claims: {margins: {top1: {margin: 0.5, reason: ...}}}"
        )
    if "bf16" in config:
        old = {True: "bf16", False: "fp32"}.get(config["bf16"], "bf16 or fp32")
        raise ConfigError(
            f"bf16: renamed precision (auto, bf16, fp16 or fp32; here precision: {old}); auto, "
            "the default, measures which is fastest on the machine"
        )
    kd = config.get("nmt", {}).get("kd") if isinstance(config.get("nmt"), dict) else None
    if isinstance(kd, dict) and "alpha" in kd:
        alpha = kd["alpha"]
        lam = f" (here lam: {1 - alpha:g})" if isinstance(alpha, int | float) else ""
        raise ConfigError(
            "nmt.kd.alpha: renamed nmt.kd.lam, which weights the hard (label-smoothed NLL) term "
            f"as image students' lam does, so the convention flipped: lam = 1 - alpha{lam}"
        )


def _check_finite(node, key: str = "") -> None:
    """Every number in ``node`` is finite (YAML's .inf, -.inf, .nan are floats)."""
    if isinstance(node, float) and not math.isfinite(node):
        raise ConfigError(f"config key {key}: {node} is not a finite number; give one")
    items = node.items() if isinstance(node, dict) else []
    for name, value in items:
        _check_finite(value, f"{key}.{name}" if key else str(name))
    for i, value in enumerate(node if isinstance(node, list) else []):
        _check_finite(value, f"{key}.{i}")


def _must_name(config: dict, where: str, value: str, section: str) -> None:
    if value not in config[section]:
        raise ConfigError(
            f"{where}: {value!r} is not a key of {section} ({', '.join(config[section])})"
        )


LS_KEYS = ("without_ls", "with_ls")  # a figure's two teachers (figures.fig1, figures.fig4)
RESERVED = {"data", "logs", "tables", "figures", "nmt", "benchmarks"}  # other folders of results/


def dataset_pattern(config: dict, pixels: bool | None = None) -> str:
    """The {dataset} wildcard matches configured datasets only (not results/nmt/...); with
    ``pixels``, only those whose curation does (True) or does not (False) keep their pixels."""
    names = [d for d in config["datasets"] if pixels in (None, keeps_pixels(config, d))]
    return "|".join(re.escape(name) for name in names) or "(?!)"  # (?!): matches nothing


def keeps_pixels(config: dict, dataset: str) -> bool:
    """Curation keeps the decoded pixels of a Fashion-MNIST dataset ({split}_pixels.npz, which
    lskd.data.manifest.load_split reads), small enough for every job to load at once."""
    return config["datasets"][dataset]["kind"] == "fashion_mnist"


# Dataset keys that cut the source data (class subset, long tail) or do not change its rows.
_NOT_SOURCE_KEYS = {"classes", "long_tail", "seed", "property", "image_size", "augment"}


def _uncut(spec: dict) -> dict:
    return {key: value for key, value in spec.items() if key not in _NOT_SOURCE_KEYS}


def _source(config: dict, name: str):
    """Class names and a function giving the training rows (label, split) of dataset ``name``
    before its class subset and long tail, and where they come from, when known without
    curating it: Fashion-MNIST from its files; other kinds from results/data/<d>/ of a dataset
    ``d`` with the same source and no cut (``name`` itself when it has none), once curated.
    None when not known: curation checks then."""
    spec = config["datasets"][name]
    if spec["kind"] == "fashion_mnist":

        def fmnist_rows():
            counts = np.bincount(fashion_mnist.load(spec["root"], "train")[1])
            if spec.get("train_per_class") is not None:  # as curation samples
                counts = np.minimum(counts, spec["train_per_class"])
            return pd.DataFrame({"label": np.repeat(np.arange(len(counts)), counts)})

        return list(fashion_mnist.CLASS_NAMES), fmnist_rows, f"Fashion-MNIST in {spec['root']}"
    for other, other_spec in config["datasets"].items():
        if any(other_spec.get(k) for k in ("classes", "long_tail")):
            continue
        if _uncut(other_spec) != _uncut(spec):
            continue
        folder = Path("results/data") / other
        try:
            info = json.loads((folder / "dataset.json").read_text())
        except (OSError, ValueError):
            continue
        if (info.get("kind"), info.get("root")) != (spec["kind"], str(spec["root"])):
            continue

        def curated_rows(folder=folder):
            rows = pd.read_csv(folder / "manifest.csv", usecols=["label", "split"])
            return rows[rows.split == "train"]

        where = f"as curated in {folder}/: delete it if its config changed since"
        return list(info["classes"]), curated_rows, where
    return None


def _cut_classes(config: dict, name: str) -> list[str] | None:
    """The class names of dataset ``name`` after its class subset, with the subset and the long
    tail checked against the source data where it is known (``_source``); None where not."""
    spec = config["datasets"][name]
    source = _source(config, name)
    if source is None:
        return None
    classes, rows_of, where = source
    tail = spec.get("long_tail")
    try:
        rows = rows_of() if tail else pd.DataFrame({"label": []})
    except (DataError, OSError, ValueError) as err:
        raise ConfigError(f"datasets.{name}: {err}") from None
    rows = rows.assign(split="train")
    key = "classes"
    try:
        if spec.get("classes"):
            rows, classes = subsets.class_subset(rows, classes, spec["classes"], spec["seed"])
        if tail:
            key = "long_tail"
            sizes = tail["head"], tail["tail"], tail["power"]
            subsets.long_tail(rows, len(classes), *sizes, spec["seed"], tail.get("val_per_class"))
    except (DataError, ValueError) as err:
        message = str(err).removeprefix(f"{key}: ")  # the curation message may name the key
        raise ConfigError(f"datasets.{name}.{key}: {message} ({where})") from None
    return classes


def fig1_datasets(config: dict) -> list[str]:
    """The datasets of Figure 1's two teachers (one, usually), in config order."""
    fig1 = config["figures"]["fig1"]
    return list(dict.fromkeys(dataset_of(config, fig1[key]) for key in LS_KEYS))


def _check_fig1_classes(config: dict, classes_of: dict) -> None:
    fig1 = config["figures"]["fig1"]
    for dataset in fig1_datasets(config):
        classes = classes_of[dataset]
        unknown = [c for c in fig1["classes"] if classes is not None and c not in classes]
        if unknown:
            shown = ", ".join(classes[:20]) + (", ..." if len(classes) > 20 else "")
            raise ConfigError(
                f"figures.fig1.classes: {unknown} are not classes of dataset {dataset} "
                f"({shown}); use its names"
            )


def _check_image_options(config: dict) -> None:
    """augment: random_resized_crop crops image files; weights: torchvision is a released
    ImageNet-1K model, so a no-LS teacher of all of ImageNet-1K's classes."""
    for name, spec in config["datasets"].items():
        if spec.get("augment") == "random_resized_crop" and spec["kind"] == "fashion_mnist":
            raise ConfigError(
                f"datasets.{name}.augment: random_resized_crop crops image files; "
                "fashion_mnist uses pad_crop"
            )
    for name, teacher in config["teachers"].items():
        if "weights" not in teacher:
            continue
        data = config["datasets"][teacher["dataset"]]
        subset = data.get("classes") or data.get("long_tail")
        if teacher["alpha"] != 0 or data["kind"] != "image_folder" or subset:
            raise ConfigError(
                f"teachers.{name}.weights: torchvision's released weights are a no-LS model of "
                "the whole ImageNet-1K; use them for alpha 0 on an image_folder dataset without "
                "classes or long_tail, or remove the key"
            )
        _check_released_classes(config, name, teacher)


def _check_released_classes(config: dict, name: str, teacher: dict) -> None:
    """torchvision's release has ImageNet-1K's 1000 classes: where the dataset's train/ folder
    and the weight file are here to count, a dataset of other classes stops here, not in the
    job (a stand-in of a rehearsal, lskd.models.released, is checked by its job)."""
    train = Path(config["datasets"][teacher["dataset"]]["root"]) / "train"
    if not train.is_dir():
        return
    from lskd.models.released import folder_of, weights_file  # torchvision: only here

    try:
        path, official = weights_file(teacher["arch"], folder_of(config["torchvision_weights"]))
    except DataError:
        return  # the job names the missing file
    classes = sum(1 for d in train.iterdir() if d.is_dir())
    if official and classes != 1000:
        raise ConfigError(
            f"teachers.{name}.weights: {path} is torchvision's release for ImageNet-1K's 1000 "
            f"classes, but datasets.{teacher['dataset']} has {classes} ({train}); use all of "
            "ImageNet-1K, or put weights for its classes, named <arch>-<sha256 prefix>.pth, in "
            "the torchvision_weights folder instead"
        )


def check(config: dict) -> None:
    for name, spec in config["datasets"].items():
        if name in RESERVED:
            raise ConfigError(f"datasets.{name}: the name is taken by results/{name}/; rename it")
        try:
            _check_data_root(spec)
        except DataError as err:
            raise ConfigError(f"datasets.{name}.root: {err}") from None
    classes_of = {name: _cut_classes(config, name) for name in config["datasets"]}
    for name, teacher in config["teachers"].items():
        _must_name(config, f"teachers.{name}.dataset", teacher["dataset"], "datasets")
        _must_name(config, f"teachers.{name}.recipe", teacher["recipe"], "recipes")
    _check_image_options(config)
    for name, recipe in config["recipes"].items():
        problem = schedule_problem(recipe)
        if problem:
            raise ConfigError(f"recipes.{name}.{problem}")
    for name, student in config.get("students", {}).items():
        _must_name(config, f"students.{name}.teacher", student["teacher"], "teachers")
        _must_name(config, f"students.{name}.recipe", student["recipe"], "recipes")
    for kind in ("teachers", "students"):
        for name, entry in config.get(kind, {}).items():
            if "init_from" in entry:
                _must_name(config, f"{kind}.{name}.init_from", entry["init_from"], "teachers")
    _check_init_cycles(config["teachers"])
    for i, name in enumerate(config["bnn"]["teachers"]):
        _must_name(config, f"bnn.teachers[{i}]", name, "teachers")
    _fill_stems(config)
    _check_seeds(config)
    for step in ("step1", "step2"):
        _must_name(config, f"bnn.{step}", config["bnn"][step], "recipes")
    _check_nmt_corpus(config["nmt"]["corpus"])
    for fig in ("fig1", "fig4"):
        for key in LS_KEYS:
            _must_name(config, f"figures.{fig}.{key}", config["figures"][fig][key], "teachers")
    _check_fig1_classes(config, classes_of)


def _check_init_cycles(teachers: dict) -> None:
    """A teacher that starts from itself, or from a chain of teachers back to itself, would
    wait for its own model (Snakemake: 'Cyclic dependency on rule train_teacher')."""
    for name in teachers:
        chain = [name]
        while "init_from" in teachers[chain[-1]]:
            chain.append(teachers[chain[-1]]["init_from"])
            if chain[-1] in chain[:-1]:
                loop = " -> ".join(chain[chain.index(chain[-1]) :])
                raise ConfigError(
                    f"teachers.{chain[-2]}.init_from: {loop} is a cycle (a model cannot start "
                    "from its own weights); start one of them from scratch (drop its init_from)"
                )


def _fill_stems(config: dict) -> None:
    """An entry without ``stem`` gets its architecture's: small for the CIFAR ResNets (the only
    one they have), imagenet for torchvision's."""
    for kind in ("teachers", "students"):
        for name, entry in config.get(kind, {}).items():
            entry.setdefault("stem", default_stem(entry["arch"]))
            if entry["arch"] in CIFAR_RESNETS and entry["stem"] != "small":
                raise ConfigError(
                    f"{kind}.{name}.stem: {entry['arch']} has only the CIFAR stem (3x3, "
                    "stride 1); set stem: small or leave it out"
                )


def _check_seeds(config: dict) -> None:
    """A student, an initialised run or a ReActNet run needs its source at each of its seeds."""
    needs = [  # (key, its seeds, the teacher it needs at them)
        *(
            (f"{kind}.{name}.{key}", seeds_of(config, name, kind), entry[key])
            for kind in ("teachers", "students")
            for name, entry in config.get(kind, {}).items()
            for key in ("teacher", "init_from")
            if key in entry
        ),
        *(("bnn.seeds", seeds_of(config, "", "bnn"), t) for t in config["bnn"]["teachers"]),
    ]
    for key, seeds, teacher in needs:
        missing = sorted(set(seeds) - set(seeds_of(config, teacher)))
        if missing:
            raise ConfigError(
                f"{key}: teacher {teacher} has no run at seed {', '.join(map(str, missing))}; "
                f"add the seed to teachers.{teacher}.seeds or drop it here"
            )


def required_classes(config: dict, dataset: str) -> list[str]:
    """``--require-classes`` and Figure 1's classes, for the dataset Figure 1 is drawn on: its
    curation refuses a dataset without them, however it was checked at parse time."""
    if dataset not in fig1_datasets(config):
        return []
    return ["--require-classes", *config["figures"]["fig1"]["classes"]]


def dataset_of(config: dict, name: str, kind: str = "teachers") -> str:
    entry = config[kind][name]
    return entry["dataset"] if kind == "teachers" else dataset_of(config, entry["teacher"])


# Run folders. Every rule takes its paths from these patterns (Snakemake wildcards in braces),
# and every target list fills them in with ``run_dir``: nothing else spells a run's folder.
DATA_DIR = "results/data/{dataset}"
RUN_DIRS = {
    "teachers": "results/{dataset}/teachers/{teacher}/seed{seed}",
    "students": "results/{dataset}/students/{student}/seed{seed}",
    "bnn": "results/{dataset}/bnn/{teacher}/seed{seed}/step{step}",  # ReActNet, steps 1 and 2
    "nmt": "results/nmt/{role}/{teacher}/seed{seed}",  # role: teachers or students
}
NMT_DIR = "results/nmt"  # corpus/ and data-bin/ of the NMT runs, their runs below
# evaluate_student's runs: a student's folder or ReActNet's step 2, below results/{dataset}/
EVALUATED_DIR, EVALUATED_RUN = (
    "results/{dataset}/{run}",
    r"students/[^/]+/seed\d+|bnn/[^/]+/seed\d+/step2",
)
TEACHER_DIR, STUDENT_DIR = RUN_DIRS["teachers"], RUN_DIRS["students"]


def pattern(kind: str, **fixed) -> str:
    """The folder pattern of a ``kind`` of run (RUN_DIRS) with the wildcards ``fixed`` filled
    in, the others left to Snakemake: ``pattern("bnn", step=1)``."""
    text = RUN_DIRS[kind]
    for key, value in fixed.items():
        text = text.replace(f"{{{key}}}", str(value))
    return text


def run_dir(config: dict, name: str, seed: int, kind: str = "teachers", **fixed) -> str:
    """Folder of one run: ``kind`` "teachers" or "students" (``name`` its key), "bnn" (the
    teacher's name, ``step``) or "nmt" (the teacher's name in nmt.teachers, ``role``)."""
    owner = "students" if kind == "students" else "teachers"  # whose config entry ``name`` is
    if kind != "nmt":  # an image run, below its dataset's folder
        fixed["dataset"] = dataset_of(config, name, owner)
    return pattern(kind, **{owner.removesuffix("s"): name, "seed": seed, **fixed})


def folder(wildcards, output) -> str:
    """A rule param: the folder of the job's first output (its run folder, ``--out``)."""
    return os.path.dirname(output[0])


def data_dir(wildcards, input) -> str:
    """A rule param: the curated dataset folder of the job's ``manifest`` input (``--data``)."""
    return os.path.dirname(input.manifest)


HARDWARE = "results/hardware.json"  # precision auto's measurements, per machine and model kind


def precision_args(config: dict) -> str:
    """The jobs' precision as configured (``auto`` stays ``auto``: each job resolves it on its
    own machine, so moving a finished study elsewhere reruns nothing)."""
    return f"--precision {config['precision']} --probe-cache {HARDWARE}"


def tensorboard_flag(config: dict) -> str:
    return "" if config["tensorboard"] else "--no-tensorboard"


def run_files(config: dict, kind: str, file: str, names=None, steps=(1, 2)) -> list[str]:
    """``file`` (a path inside the run folder) of every run of ``kind`` (RUN_DIRS; "nmt": the
    teachers' runs, then the students'), for every seed; ``names``: only those; ``steps``: the
    ReActNet steps."""
    if kind == "bnn":
        names = config["bnn"]["teachers"] if names is None else names
        seeds = seeds_of(config, "", "bnn")
        runs = [run_dir(config, t, s, kind, step=k) for t in names for s in seeds for k in steps]
    elif kind == "nmt":
        names = config["nmt"]["teachers"] if names is None else names
        roles, seeds = ("teachers", "students"), seeds_of(config, "", "nmt")
        runs = [run_dir(config, t, s, kind, role=r) for r in roles for t in names for s in seeds]
    else:
        names = config.get(kind, {}) if names is None else names
        runs = [run_dir(config, n, s, kind) for n in names for s in seeds_of(config, n, kind)]
    return [f"{run}/{file}" for run in runs]


def seeds_of(config: dict, name: str, kind: str = "teachers") -> list[int]:
    """The seeds of a teacher's or student's runs (its entry's ``seeds``, else the top-level
    ones), of the ReActNet runs (``bnn.seeds``) or of the NMT runs (the top-level ones)."""
    if kind == "nmt":
        return config["seeds"]
    entry = config["bnn"] if kind == "bnn" else config[kind][name]
    return entry.get("seeds", config["seeds"])


def teacher_evals(config: dict) -> list[str]:
    return run_files(config, "teachers", "eval/eval.json")


def student_finals(config: dict) -> list[str]:
    return run_files(config, "students", "final.json")


def bnn_finals(config: dict) -> list[str]:
    """final.json of both ReActNet steps, for every BNN teacher and seed."""
    return run_files(config, "bnn", "final.json")


def nmt_finals(config: dict) -> list[str]:
    """final.json of every NMT teacher and its student, for every seed."""
    return run_files(config, "nmt", "final.json")


def evaluated(config: dict, file: str = "eval.json") -> list[str]:
    """``eval/<file>`` of every evaluated image run: teachers, students, ReActNet step 2."""
    return [
        *run_files(config, "teachers", f"eval/{file}"),
        *run_files(config, "students", f"eval/{file}"),
        *run_files(config, "bnn", f"eval/{file}", steps=(2,)),
    ]


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


def partial_code() -> str:
    """The fingerprint of lskd.partial and every output's builder (loaded by name)."""
    modules = {"lskd.partial", *(o.module for o in outputs.OUTPUTS)}
    return fingerprint.module_fingerprint(SRC, tuple(sorted(modules)))


def fig1_features(config: dict) -> list[str]:
    """Figure 1 uses the first seed of the teachers without and with LS in figures.fig1."""
    names = [config["figures"]["fig1"][key] for key in LS_KEYS]
    return [f"{run_dir(config, n, seeds_of(config, n)[0])}/eval/penultimate.npz" for n in names]


def data_file(dataset: str, file: str = "manifest.csv") -> str:
    return f"{DATA_DIR.format(dataset=dataset)}/{file}"


def dataset_files(config: dict, file: str = "dataset.json") -> list[str]:
    """``file`` of every curated dataset: dataset.json or manifest.csv."""
    return [data_file(d, file) for d in config["datasets"]]


def student_inputs(config: dict, name: str, seed: int) -> dict:
    """The teacher of the same seed; its logits cache when the student uses one."""
    student = config["students"][name]
    teacher = run_dir(config, student["teacher"], seed)
    inputs = {
        "teacher_model": f"{teacher}/model.pt",
        "teacher_final": f"{teacher}/final.json",
        "manifest": data_file(dataset_of(config, name, "students")),
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


def weights_flag(config: dict, teacher: str) -> list[str]:
    """``--weights torchvision`` (and the folder of the files, config ``torchvision_weights``)
    for a teacher that is torchvision's released model."""
    weights = config["teachers"][teacher].get("weights")
    folder = config.get("torchvision_weights")
    return ["--weights", weights] + (["--weights-dir", folder] if folder else []) if weights else []


def run_meta(config: dict, name: str, seed: int, kind: str = "teachers", step=None) -> str:
    """The ``--meta`` of a run (its identity in final.json, ``lskd.records``): ``kind`` and
    ``name`` as for ``run_dir``; a ReActNet run is named after its teacher."""
    if kind == "bnn":
        recipe, teacher, role = config["bnn"][f"step{step}"], name, "student"
    else:
        entry, role = config[kind][name], "teacher" if kind == "teachers" else "student"
        recipe, teacher = entry["recipe"], entry.get("teacher")
    dataset = dataset_of(config, name, "students" if kind == "students" else "teachers")
    fields = {"dataset": dataset, "recipe": recipe, "teacher": teacher, "step": step}
    return records.identity(role, name, seed, **fields)


def nmt_student_inputs(config: dict, teacher: str, seed: int) -> dict:
    """The teacher's model.pt, and its exported top-k when the student uses the cache."""
    run = run_dir(config, teacher, seed, "nmt", role="teachers")
    inputs = {"teacher": f"{run}/model.pt", "data_bin": f"{NMT_DIR}/data-bin"}
    if config["nmt"]["kd"]["cache_teacher"]:
        inputs["topk"] = f"{run}/topk.pt"
    return inputs


def nmt_meta(config: dict, role: str, teacher: str, seed: int) -> str:
    """The ``--meta`` of an NMT run (``lskd.records``): a student is named after its teacher."""
    nmt = config["nmt"]
    kd = nmt["kd"] if role == "student" else None
    alpha = nmt["teachers"][teacher]
    return records.identity(role, teacher, seed, teacher_alpha=alpha, model=nmt["model"], kd=kd)


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


def fig4_probs(config: dict, key: str) -> list[str]:
    """Figure 4 averages every seed of the teacher named by figures.fig4.<key>."""
    name = config["figures"]["fig4"][key]
    return run_files(config, "teachers", "eval/class_mean_probs.csv", [name])


def paper_inputs(config: dict, kind: str, name: str) -> dict[str, list[str]]:
    """The files the ``kind`` output ``name`` reads, by input (a rule's input, unpacked)."""
    return {key: PAPER_INPUTS[key](config) for key in outputs.get(kind, name).inputs}


def paper_arguments(wildcards, input) -> list[str]:
    """A rule param: ``lskd paper``'s input arguments for the job's named inputs."""
    return [
        arg
        for key, files in input.items()
        for arg in ["--" + key.replace("_", "-"), *(files if isinstance(files, list) else [files])]
    ]


def output_pattern(kind: str, rule: str = "") -> str:
    """The wildcard constraint of the ``kind`` outputs that ``rule`` builds ("": its kind's)."""
    return "|".join(re.escape(name) for name in outputs.names(kind, rule))


def builder_code(kind: str, name: str) -> str:
    """The fingerprint of the module whose function builds an output (a rule param: an edit
    to it reruns the outputs it builds, and no other)."""
    return fingerprint.module_fingerprint(SRC, (outputs.get(kind, name).module,))


def caption(kind: str, name: str) -> str:
    return outputs.get(kind, name).caption


def output_files(kind: str, name: str) -> list[str]:
    return outputs.get(kind, name).files


def stem(wildcards, output) -> str:
    """A rule param: the job's first output without its suffix (``lskd paper``'s ``--out``)."""
    return os.path.splitext(output[0])[0]


def stems(wildcards, output) -> list[str]:
    """A rule param: the stems of the job's outputs, each once, in their order."""
    return list(dict.fromkeys(os.path.splitext(path)[0] for path in output))


TABLES = outputs.names(outputs.TABLE)
FIGURES = outputs.names(outputs.FIGURE)
ENVIRONMENT = ["results/environment.md", "results/environment.csv"]  # records' provenance


def final_targets() -> list[str]:
    """Every table (CSV, Markdown, LaTeX) and figure (PNG, PDF) of lskd.paper.outputs,
    CLAIMS.md, and the environment summary."""
    files = [path for output in outputs.OUTPUTS for path in output.files]
    claims = ["results/CLAIMS.md", "results/claims/paper.md"]  # this run; the paper's tables
    return files + claims + ENVIRONMENT


BENCHMARKS = "results/benchmarks"


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
    cached = [  # a caching student's teacher, at the student's seeds
        job
        for name, student in students.items()
        if student["cache_teacher"]
        for job in jobs_of([student["teacher"]], seeds=seeds_of(config, name, "students"))
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
        "cache_teacher": cached,
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
        "nmt_export_topk": nmt_runs if nmt["kd"]["cache_teacher"] else [],
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
