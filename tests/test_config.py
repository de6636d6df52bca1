"""Config checked at parse time (issue 13): duplicate keys, repeated seeds, NaN/inf, unsafe names,
and class subsets, long tails and Figure 1's classes that the data cannot give. Each stops with
one line naming the key, before any job runs."""

import copy
import json
import re

import pandas as pd
import pytest
import yaml

from conftest import ROOT, copy_workflow, fmnist_spec, run_snakemake
from lskd.data import fashion_mnist
from lskd.workflow import checks, config_file, paths, targets
from lskd.workflow.config_file import ConfigError

SMOKE = yaml.safe_load((ROOT / "configs" / "smoke.yaml").read_text())
SCHEMA = str(ROOT / "workflow" / "schemas" / "config.schema.yaml")


def parse_error(config: dict) -> str | None:
    """The Snakefile's checks on ``config``: their one-line error, or None when it passes."""
    config = copy.deepcopy(config)
    try:
        config_file.validate_schema(config, SCHEMA)
        checks.check(config)
    except ConfigError as err:
        assert "\n" not in str(err)
        return str(err)
    return None


def changed(edit) -> dict:
    config = copy.deepcopy(SMOKE)
    edit(config)
    return config


def add(section: str, name: str, like: str):
    return lambda c: c[section].update({name: c[section][like]})


def old_key(path: str, old: str, value=None):
    """The key ``path`` (dotted) under its name in older configs (and ``value``, if given)."""
    *parents, new = path.split(".")

    def edit(c):
        for key in parents:
            c = c[key]
        c[old] = c.pop(new) if value is None else value
        c.pop(new, None)

    return edit


BAD = {
    "seeds repeated": (
        lambda c: c.update(seeds=[0, 0]),
        r"^config key seeds: \[0, 0\] has non-unique elements",
    ),
    "lr inf": (
        lambda c: c["recipes"]["standard"].update(lr=float("inf")),
        r"^config key recipes\.standard\.lr: inf is not a finite number",
    ),
    "alpha nan": (
        lambda c: c["teachers"]["resnet18"]["objective"].update(alpha=float("nan")),
        r"^config key teachers\.resnet18\.objective\.alpha: nan is not a finite number",
    ),
    "nmt alpha inf": (
        lambda c: c["nmt"]["teachers"]["transformer"]["objective"].update(alpha=float("-inf")),
        r"^config key nmt\.teachers\.transformer\.objective\.alpha: -inf is not a finite",
    ),
    "unknown objective kind": (
        lambda c: c["teachers"]["resnet18"].update(objective={"kind": "focal"}),
        r"^config key teachers\.resnet18\.objective\.kind: 'focal' is not one of "
        r"\['label_smoothing'\]",
    ),
    "unknown objective setting": (
        lambda c: c["teachers"]["resnet18"]["objective"].update(beta=1.0),
        r"^config key teachers\.resnet18\.objective: Additional properties are not allowed "
        r"\('beta' was unexpected\)",
    ),
    "a student's objective without its teacher": (
        lambda c: c["students"]["r18_from_r18"]["objective"].pop("teacher"),
        r"^config key students\.r18_from_r18\.objective: 'teacher' is a required property",
    ),
    "cached teacher logits under their old name": (
        lambda c: c["students"]["r18_from_r18"].update(lam=0.5, cache_teacher=True),
        r"^students\.r18_from_r18\.lam: now in students\.r18_from_r18\.objective "
        r"\(lskd\.objectives\); here objective: \{kind: distillation, teacher: resnet18, "
        r"lam: 0\.5, teacher_logits: cached\}$",
    ),
    "a teacher's alpha outside its objective": (
        lambda c: c["teachers"]["resnet18"].update(alpha=0.1),
        r"^teachers\.resnet18\.alpha: now in teachers\.resnet18\.objective .*here objective: "
        r"\{kind: label_smoothing, alpha: 0\.1\}$",
    ),
    "the NMT student under its old key": (
        lambda c: c["nmt"].update(kd={"lam": 0.5, "topk": 4, "cache_teacher": False}),
        r"^nmt\.kd: now nmt\.student\.objective .*here student: \{objective: \{kind: "
        r"distillation, lam: 0\.5, topk: 4, teacher_logits: online\}\}$",
    ),
    "an NMT teacher's alpha alone": (
        lambda c: c["nmt"]["teachers"].update(transformer=0.0),
        r"^nmt\.teachers\.transformer: now a node; here transformer: \{objective: \{kind: "
        r"label_smoothing, alpha: 0\.0\}\}$",
    ),
    "shell in a dataset name": (
        add("datasets", "fm;touch x;#", "fmnist"),
        r"^config key datasets: 'fm;touch x;#': letters, digits and \. _ - only",
    ),
    "path in a teacher name": (
        add("teachers", "../x", "resnet18"),
        r"^config key teachers: '\.\./x': letters, digits",
    ),
    "hidden student name": (
        add("students", ".hidden", "r18_from_r18"),
        r"^config key students: '\.hidden': letters, digits",
    ),
    "space in an NMT name": (
        lambda c: c["nmt"]["teachers"].update({"big model": c["nmt"]["teachers"]["transformer"]}),
        r"^config key nmt\.teachers: 'big model': letters, digits",
    ),
    "path in a bnn entry": (
        lambda c: c["bnn"].update(teachers=["resnet18", "../resnet18"]),
        r"^config key bnn\.teachers\.1: '\.\./resnet18': letters, digits",
    ),
    "path as a teacher's dataset": (
        lambda c: c["teachers"]["resnet18"].update(dataset="../fmnist"),
        r"^config key teachers\.resnet18\.dataset: '\.\./fmnist': letters, digits",
    ),
    "unknown Figure 1 class": (
        lambda c: c["figures"]["fig1"].update(classes=["T-shirt/top", "Shirt", "Dog"]),
        r"^figures\.fig1\.classes: \['Dog'\] are not classes of dataset fmnist \(T-shirt/top, ",
    ),
    "class subset larger than the data": (  # Fashion-MNIST has 10 classes
        lambda c: c["datasets"]["fmnist3"].update(classes=11),
        r"^datasets\.fmnist3\.classes: .*\b11\b.*\b10\b",
    ),
    "long tail larger than the data": (  # 6,000 training images per class
        lambda c: c["datasets"]["fmnist_lt"]["long_tail"].update(head=6001),
        r"^datasets\.fmnist_lt\.long_tail: .*\b6000\b.*\b6001\b",
    ),
    "long tail with tail above head": (
        lambda c: c["datasets"]["fmnist_lt"]["long_tail"].update(tail=61),
        r"^datasets\.fmnist_lt\.long_tail: .*tail.*head",
    ),
    "Pareto power under its old name": (
        old_key("datasets.fmnist_lt.long_tail.power", "alpha"),
        r"^datasets\.fmnist_lt\.long_tail\.alpha: renamed long_tail\.power \(alpha is label",
    ),
    "NMT KD weight under its old name": (  # Tan et al.'s weight of the soft term
        lambda c: c["nmt"].update(kd={"alpha": 0.8, "topk": 4}),
        r"^nmt\.kd\.alpha: renamed nmt\.student\.objective\.lam, .* the convention flipped: "
        r"lam = 1 - alpha \(here lam: 0\.2\)$",
    ),
    "student seed its teacher lacks": (
        lambda c: c["students"]["r18_from_r18"].update(seeds=[0, 7]),
        r"^students\.r18_from_r18\.objective\.teacher: teacher resnet18 has no run at seed 7; add "
        r"the seed "
        r"to teachers\.resnet18\.seeds",
    ),
    "ReActNet seed its teacher lacks": (
        lambda c: (c["bnn"].update(seeds=[1]), c["teachers"]["resnet18"].update(seeds=[0])),
        r"^bnn\.seeds: teacher resnet18 has no run at seed 1",
    ),
    "entry seeds repeated": (
        lambda c: c["teachers"]["resnet18"].update(seeds=[1, 1]),
        r"^config key teachers\.resnet18\.seeds: \[1, 1\] has non-unique elements",
    ),
    "milestone past the epochs": (  # the learning rate would never decay
        lambda c: c["recipes"]["standard"].update(milestones=[50]),
        r"^recipes\.standard\.milestones: \[50\] not between 1 and epochs - 1 = 1, so the "
        r"learning rate would never decay",
    ),
    "milestone at the last epoch": (
        lambda c: c["recipes"]["long"].update(milestones=[3]),
        r"^recipes\.long\.milestones: \[3\] not between 1 and epochs - 1 = 2",
    ),
    "milestones on a linear schedule": (
        lambda c: c["recipes"]["bnn_step1"].update(milestones=[1]),
        r"^recipes\.bnn_step1\.milestones: linear schedules do not use them",
    ),
    "warm-up as long as the run": (
        lambda c: c["recipes"]["standard"].update(warmup_epochs=2),
        r"^recipes\.standard\.warmup_epochs: 2 is not below epochs \(2\)",
    ),
    "teacher initialised from itself": (
        lambda c: c["teachers"]["resnet18"].update(init_from="resnet18"),
        r"^teachers\.resnet18\.init_from: resnet18 -> resnet18 is a cycle",
    ),
    "two teachers initialised from each other": (
        lambda c: (
            c["teachers"]["resnet18"].update(init_from="resnet18_ls"),
            c["teachers"]["resnet18_ls"].update(init_from="resnet18"),
        ),
        r"^teachers\.resnet18_ls\.init_from: resnet18 -> resnet18_ls -> resnet18 is a cycle",
    ),
    "precision under its old name": (
        old_key("precision", "bf16", True),
        r"^bf16: renamed precision \(auto, bf16, fp16 or fp32; here precision: bf16\)",
    ),
    "CIFAR ResNet with the ImageNet stem": (
        lambda c: c["teachers"]["resnet18"].update(arch="cifar_resnet20", stem="imagenet"),
        r"^teachers\.resnet18\.stem: cifar_resnet20 has only the CIFAR stem \(3x3, stride 1\)",
    ),
}


def test_smoke_config_passes():
    assert parse_error(SMOKE) is None


@pytest.mark.parametrize("case", BAD)
def test_bad_config_gives_one_line_naming_the_key(case):
    edit, expected = BAD[case]
    message = parse_error(changed(edit))
    assert message is not None and re.search(expected, message), message


def test_names_with_dots_dashes_and_underscores_pass():
    def edit(c):
        c["datasets"]["fm-1.v_2"] = c["datasets"].pop("fmnist")
        for teacher in c["teachers"].values():
            if teacher["dataset"] == "fmnist":
                teacher["dataset"] = "fm-1.v_2"

    assert parse_error(changed(edit)) is None


@pytest.mark.parametrize(
    "tail,ok",
    [
        # fake_fmnist: 12 training images per class
        ({"head": 12, "tail": 1}, True),
        ({"head": 13, "tail": 1}, False),
        ({"head": 10, "tail": 1, "val_per_class": 2}, True),
        ({"head": 11, "tail": 1, "val_per_class": 2}, False),
    ],
)
def test_long_tail_checked_against_the_training_images(fake_fmnist, tail, ok):
    config = changed(lambda c: c["datasets"].update(fmnist_lt=fmnist_spec(fake_fmnist)))
    config["datasets"]["fmnist_lt"]["long_tail"] = tail
    message = parse_error(config)
    assert (message is None) == ok, message
    if not ok:
        assert message.startswith("datasets.fmnist_lt.long_tail: ")


def test_long_tail_counts_only_the_sampled_training_images(fake_fmnist):
    spec = fmnist_spec(fake_fmnist, train_per_class=8, long_tail={"head": 8, "tail": 1})
    config = changed(lambda c: c["datasets"].update(fmnist_lt=spec))
    assert parse_error(config) is None
    config["datasets"]["fmnist_lt"]["long_tail"]["head"] = 9
    assert parse_error(config).startswith("datasets.fmnist_lt.long_tail: ")


def test_figure1_classes_are_those_curation_keeps(fake_fmnist, tmp_path):
    """The classes a 3-class subset keeps, as curation writes them to dataset.json, pass; the
    seven others are refused."""
    from lskd.data.manifest import curate

    spec = fmnist_spec(fake_fmnist, classes=3, seed=1)
    curate(spec, tmp_path / "curated")
    kept = json.loads((tmp_path / "curated" / "dataset.json").read_text())["classes"]
    config = changed(lambda c: c["datasets"].update(fmnist3=spec))
    config["teachers"]["resnet18"]["dataset"] = "fmnist3"
    config["figures"]["fig1"].update(without_ls="resnet18", classes=kept)
    assert parse_error(config) is None
    others = [c for c in fashion_mnist.CLASS_NAMES if c not in kept]
    assert len(others) == 7
    for other in others:
        config["figures"]["fig1"]["classes"] = [*kept[:2], other]
        message = parse_error(config)
        assert message.startswith(f"figures.fig1.classes: [{other!r}] are not classes of "), message


@pytest.fixture
def image_config(tmp_path, monkeypatch):
    """The smoke config plus an image-folder dataset ``imgs`` (3 classes), a 2-class subset
    ``imgs2`` and a long tail ``imgs_lt`` of it, and Figure 1 on teachers of ``imgs``; run in
    ``tmp_path``, whose results/data/imgs/ stands for a curated ``imgs``."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "imgs").mkdir()
    spec = {"kind": "image_folder", "root": str(tmp_path / "imgs"), "verify_images": False}
    config = copy.deepcopy(SMOKE)
    config["datasets"].update(
        imgs=spec,
        imgs2=spec | {"classes": 2},
        imgs_lt=spec | {"long_tail": {"head": 5, "tail": 1}},
    )
    for name, alpha in (("img_teacher", 0.0), ("img_teacher_ls", 0.1)):
        config["teachers"][name] = {
            "dataset": "imgs",
            "arch": "resnet18",
            "recipe": "standard",
            "objective": {"kind": "label_smoothing", "alpha": alpha},
        }
    config["figures"]["fig1"].update(
        without_ls="img_teacher", with_ls="img_teacher_ls", classes=["a", "b", "c"]
    )
    return config


def write_curated(folder, root, classes, per_class):
    folder.mkdir(parents=True)
    info = {"kind": "image_folder", "root": str(root), "classes": classes, "num_classes": 3}
    (folder / "dataset.json").write_text(json.dumps(info))
    labels = [c for c in range(len(classes)) for _ in range(per_class)]
    pd.DataFrame({"sample": range(len(labels)), "label": labels, "split": "train"}).to_csv(
        folder / "manifest.csv", index=False
    )


def test_image_datasets_unchecked_until_curated(image_config):
    image_config["datasets"]["imgs2"]["classes"] = 4
    image_config["datasets"]["imgs_lt"]["long_tail"]["head"] = 6
    image_config["figures"]["fig1"]["classes"] = ["x", "y", "z"]
    assert parse_error(image_config) is None  # curation checks them


@pytest.mark.parametrize(
    "edit,expected",
    [
        (lambda c: None, None),
        (lambda c: c["datasets"]["imgs2"].update(classes=3), None),
        (
            lambda c: c["datasets"]["imgs2"].update(classes=4),
            r"^datasets\.imgs2\.classes: .*\b4\b.*\b3\b.*results/data/imgs/",
        ),
        (
            lambda c: c["datasets"]["imgs_lt"]["long_tail"].update(head=6),
            r"^datasets\.imgs_lt\.long_tail: .*\b5\b.*\b6\b.*results/data/imgs/",
        ),
        (
            lambda c: c["figures"]["fig1"].update(classes=["a", "b", "d"]),
            r"^figures\.fig1\.classes: \['d'\] are not classes of dataset imgs \(a, b, c\)",
        ),
    ],
)
def test_image_datasets_checked_against_the_curated_source(image_config, tmp_path, edit, expected):
    write_curated(tmp_path / "results" / "data" / "imgs", tmp_path / "imgs", ["a", "b", "c"], 5)
    edit(image_config)
    message = parse_error(image_config)
    assert (message is None) if expected is None else re.search(expected, message), message


def test_a_curated_folder_of_another_source_is_not_used(image_config, tmp_path):
    write_curated(tmp_path / "results" / "data" / "imgs", tmp_path / "other", ["a", "b", "c"], 5)
    image_config["datasets"]["imgs2"]["classes"] = 4
    assert parse_error(image_config) is None


def test_duplicate_keys_name_file_line_and_key(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("a: 1\nb:\n  x: 1\n  y: 2\n  x: 3\n")
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}: line 5: key 'x' is given"):
        config_file.check_config_files([path])
    path.write_text("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  x: 3\n")  # overriding a merge
    config_file.check_config_files([path])
    path.write_text('{"a": 1,\n\t"a": 2}')  # JSON that YAML cannot read (a tab)
    with pytest.raises(ConfigError, match=r"c\.yaml: key 'a' is given twice"):
        config_file.check_config_files([path])


@pytest.mark.parametrize(
    "text, pattern",
    [
        ("threads: 1\nseeds: [0\n", r"line 3, column 1: not valid YAML: expected ',' or ']'"),
        ("threads: 1\n\tseeds: [0]\n", r"line 2, column 1: not valid YAML: .*never tabs\)"),
        ("", r"holds no keys \(empty\); a config is a mapping"),
        ("# all commented out\n", r"holds no keys \(empty\)"),
        ("- 1\n- 2\n", r"holds no keys \(list\)"),
    ],
)
def test_unreadable_config_files_name_file_and_line(tmp_path, text, pattern):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}: {pattern}") as err:
        config_file.check_config_files([path])
    assert "\n" not in str(err.value)


@pytest.mark.workflow
def test_snakemake_names_file_and_line_of_a_broken_default_config(tmp_path):
    """The default config.yaml is checked before Snakemake reads it (a --configfile Snakemake
    reads before any Snakefile code, with its own message)."""
    copy = copy_workflow(tmp_path)
    (copy / "config.yaml").write_text("threads: 1\n\tseeds: [0]\n")
    proc = run_snakemake(copy, "-n", "-s", str(copy / "Snakefile"), check=False)
    assert proc.returncode != 0
    one_line(proc.stdout + proc.stderr, r"config\.yaml: line 2, column 1: not valid YAML: ")


# Through snakemake itself: the Snakefile runs the checks, one line, results/ untouched.


def snakemake_refuses(workdir, config_text: str, *targets, dry=True) -> str:
    results = workdir / "results"
    (results / "data").mkdir(parents=True, exist_ok=True)
    (results / "keep.txt").write_text("a result")
    before = {p: p.stat().st_mtime_ns for p in results.rglob("*")}
    path = workdir / "config.yaml"
    path.write_text(config_text)
    args = [*targets, "--configfile", str(path)] + (["-n"] if dry else [])  # targets first
    proc = run_snakemake(workdir, *args, check=False)
    assert proc.returncode != 0
    assert {p: p.stat().st_mtime_ns for p in results.rglob("*")} == before
    return proc.stdout + proc.stderr


def one_line(output: str, pattern: str) -> None:
    lines = [line for line in output.splitlines() if re.search(pattern, line)]
    assert len(lines) == 1, output


@pytest.mark.workflow
def test_snakemake_refuses_a_second_teacher_of_the_same_name(tmp_path):
    text = (ROOT / "configs" / "smoke.yaml").read_text()
    first = (
        "  resnet18: {dataset: fmnist, arch: resnet18, recipe: standard,\n"
        "             objective: {kind: label_smoothing, alpha: 0.0}}\n"
    )
    assert text.count(first) == 1
    line = text[: text.index(first)].count("\n") + 1
    text = text.replace(first, first + first.replace("fmnist", "fmnist3"))
    output = snakemake_refuses(tmp_path, text)
    one_line(output, rf"config\.yaml: line {line + 2}: key 'resnet18' is given twice \(also line")


@pytest.mark.workflow
def test_snakemake_refuses_a_shell_command_as_a_name_and_runs_nothing(tmp_path):
    config = changed(add("datasets", "fm;touch x;#", "fmnist"))
    target = "results/data/fm;touch x;#/manifest.csv"
    output = snakemake_refuses(tmp_path, yaml.safe_dump(config), target, dry=False)
    one_line(output, r"config key datasets: 'fm;touch x;#': letters, digits")
    assert not list(tmp_path.rglob("x"))


@pytest.mark.parametrize(
    "case",
    [
        "seeds repeated",
        "alpha nan",
        "long tail larger than the data",
        "NMT KD weight under its old name",
    ],
)
@pytest.mark.workflow
def test_snakemake_stops_at_parse_time(tmp_path, case):
    edit, expected = BAD[case]
    output = snakemake_refuses(tmp_path, yaml.safe_dump(changed(edit)))
    one_line(output, expected.lstrip("^"))


def test_shell_commands_quote_every_path_and_name():
    """Every {input}, {output}, {log} and {wildcards.*} in a shell command is quoted (:q); seeds
    are digits (wildcard_constraints)."""
    unquoted = []
    for path in sorted((ROOT / "workflow" / "rules").glob("*.smk")):
        in_shell = False
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if line.strip() == "shell:":
                in_shell = True
            elif in_shell and line.strip().startswith('"'):
                for field in re.findall(r"\{((?:input|output|log|wildcards)[^}]*)\}", line):
                    if not field.endswith(":q") and field != "wildcards.seed":
                        unquoted.append(f"{path.name}:{number}: {{{field}}}")
            else:
                in_shell = False
    assert not unquoted


@pytest.mark.workflow
def test_dry_run_quotes_a_class_name_with_a_space(tmp_path):
    config = changed(
        lambda c: c["figures"]["fig1"].update(classes=["T-shirt/top", "Shirt", "Ankle boot"])
    )
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    target = "results/fmnist/teachers/resnet18/seed0/eval/penultimate.npz"
    proc = run_snakemake(tmp_path, "-n", "-p", target, configfile=path)
    assert "--classes T-shirt/top Shirt 'Ankle boot' --per-class 200" in proc.stdout


def test_entry_seeds_decide_the_runs():
    """An entry's own seeds replace the top-level ones for its runs (and a student's teacher is
    needed only at the student's seeds); the others keep the top-level seeds."""
    config = changed(lambda c: c.update(seeds=[0, 1]))
    config["teachers"]["resnet18"]["seeds"] = [0, 1, 2]
    config["students"]["r18_from_r18"]["seeds"] = [2]
    assert parse_error(config) is None
    config_file.validate_schema(config, SCHEMA)  # fills in the defaults ...
    checks.check(config)  # ... and the stems the rules read
    runs = paths.run_files(config, "teachers", "final.json", ["resnet18", "resnet18_ls"])
    assert [r.split("/")[3:5] for r in runs] == [["resnet18", f"seed{s}"] for s in (0, 1, 2)] + [
        ["resnet18_ls", f"seed{s}"] for s in (0, 1)
    ]
    students = paths.run_files(
        config, "students", "final.json", ["r18_from_r18", "r18_from_r18_ls"]
    )
    assert [r.split("/")[3:5] for r in students] == [
        ["r18_from_r18", "seed2"], ["r18_from_r18_ls", "seed0"], ["r18_from_r18_ls", "seed1"]
    ]  # fmt: skip
    benchmarks = targets.benchmark_files(config)
    assert "results/benchmarks/train_student/fmnist/r18_from_r18_seed2.tsv" in benchmarks
    assert "results/benchmarks/train_student/fmnist/r18_from_r18_seed0.tsv" not in benchmarks


def test_cifar_resnets_default_to_their_own_stem():
    config = changed(lambda c: c["teachers"]["resnet18"].update(arch="cifar_resnet20"))
    config["teachers"]["resnet18"].pop("stem", None)
    assert parse_error(config) is None
    config_file.validate_schema(config, SCHEMA)
    checks.check(config)
    assert config["teachers"]["resnet18"]["stem"] == "small"
    assert config["teachers"]["resnet18_ls"]["stem"] == "imagenet"


def test_slurm_without_a_partition_is_refused_before_anything_is_submitted():
    from types import SimpleNamespace as Namespace

    def workflow(executor, *defaults):
        settings = Namespace(default_resources=Namespace(args=list(defaults)))
        return Namespace(executor_plugin=Namespace(name=executor), resource_settings=settings)

    for empty in ([], ["mem_mb=4000", "slurm_partition="], ['slurm_partition=""']):
        with pytest.raises(ConfigError, match="no SLURM partition.*sinfo -s"):
            checks.check_partition(workflow("slurm", *empty))
    checks.check_partition(workflow("slurm", "slurm_partition=gpu"))
    checks.check_partition(workflow("local"))  # only SLURM needs one
