"""Config checks: everything the Snakefile verifies before any job starts, each stopping with
one line naming the file or key and the fix.

``check_config_files`` reads the config files again (Snakemake keeps the last of two equal
keys, and calls a YAML error "not valid JSON or YAML" without file or line); ``validate_schema``
refuses renamed keys, then applies the JSON schema (workflow/schemas/config.schema.yaml: keys,
types, ranges, names, and every default); ``check`` adds what a schema cannot: finite numbers,
references between entries, that dataset files exist, schedules against their epochs, and the
class subsets, long tails and Figure 1 classes against the data where it is known before
curation. ``check_partition`` refuses a SLURM run without a partition.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd

from lskd.cifar_archs import CIFAR_RESNETS, default_stem
from lskd.data import fashion_mnist, official, subsets
from lskd.data.errors import DataError
from lskd.schedules import schedule_problem
from lskd.workflow.config_file import ConfigError
from lskd.workflow.paths import LS_KEYS, fig1_datasets, seeds_of, teacher_of


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


def _must_name(config: dict, where: str, value: str, section: str) -> None:
    if value not in config[section]:
        raise ConfigError(
            f"{where}: {value!r} is not a key of {section} ({', '.join(config[section])})"
        )


RESERVED = {"data", "logs", "tables", "figures", "nmt", "benchmarks"}  # other folders of results/


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
        without_ls = teacher["objective"] == {"kind": "label_smoothing", "alpha": 0.0}
        if not without_ls or data["kind"] != "image_folder" or subset:
            raise ConfigError(
                f"teachers.{name}.weights: torchvision's released weights are a no-LS model of "
                "the whole ImageNet-1K; use them for objective {kind: label_smoothing, alpha: 0} "
                "on an image_folder dataset without classes or long_tail, or remove the key"
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
        where = f"students.{name}.objective.teacher"
        _must_name(config, where, teacher_of(student), "teachers")
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
            (f"{kind}.{name}.{key}", seeds_of(config, name, kind), source)
            for kind in ("teachers", "students")
            for name, entry in config.get(kind, {}).items()
            for key, source in (
                ("objective.teacher", teacher_of(entry)),
                ("init_from", entry.get("init_from")),
            )  # fmt: skip
            if source is not None
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
