"""Run paths: one owner for every folder and file of results/ that a rule reads or writes.

The rules take every run folder from ``DATA_DIR``, ``RUN_DIRS`` and ``NMT_DIR`` (``pattern``),
their ``--out`` and ``--data`` from their own outputs and inputs (``folder``, ``data_dir``), and
every target list fills the same patterns (``run_dir``, ``run_files``). Also here: the config
queries every path needs (a run's dataset, seeds, teacher).
"""

import os
import re

LS_KEYS = ("without_ls", "with_ls")  # a figure's two teachers (figures.fig1, figures.fig4)


def dataset_pattern(config: dict, pixels: bool | None = None) -> str:
    """The {dataset} wildcard matches configured datasets only (not results/nmt/...); with
    ``pixels``, only those whose curation does (True) or does not (False) keep their pixels."""
    names = [d for d in config["datasets"] if pixels in (None, keeps_pixels(config, d))]
    return "|".join(re.escape(name) for name in names) or "(?!)"  # (?!): matches nothing


def keeps_pixels(config: dict, dataset: str) -> bool:
    """Curation keeps the decoded pixels of a Fashion-MNIST dataset ({split}_pixels.npz, which
    lskd.data.manifest.load_split reads), small enough for every job to load at once."""
    return config["datasets"][dataset]["kind"] == "fashion_mnist"


def fig1_datasets(config: dict) -> list[str]:
    """The datasets of Figure 1's two teachers (one, usually), in config order."""
    fig1 = config["figures"]["fig1"]
    return list(dict.fromkeys(dataset_of(config, fig1[key]) for key in LS_KEYS))


def dataset_of(config: dict, name: str, kind: str = "teachers") -> str:
    entry = config[kind][name]
    return entry["dataset"] if kind == "teachers" else dataset_of(config, teacher_of(entry))


def teacher_of(entry: dict) -> str | None:
    """The teacher a run's objective distills from (its node's ``teacher``), if any."""
    return entry["objective"].get("teacher")


def cached_logits(entry: dict) -> bool:
    """Whether a student's objective reads its teacher's outputs, computed once, from a file."""
    return entry["objective"].get("teacher_logits") == "cached"


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
TEACHER_LOGITS = "teacher_logits.pt"  # a teacher's logits (lskd.teacher_logits), in its folder
NMT_TOPK = "topk.pt"  # an NMT teacher's top-k at T (lskd.nmt.teacher.export), in its folder


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
    """The teacher of the same seed; its logits file when the student reads them cached."""
    student = config["students"][name]
    teacher = run_dir(config, teacher_of(student), seed)
    inputs = {
        "teacher_model": f"{teacher}/model.pt",
        "teacher_final": f"{teacher}/final.json",
        "manifest": data_file(dataset_of(config, name, "students")),
    }
    if cached_logits(student):
        inputs["teacher_logits"] = f"{teacher}/{TEACHER_LOGITS}"
    return inputs | init_from(config, name, seed, "students")


def init_from(config: dict, name: str, seed: int, kind: str = "teachers") -> dict:
    """{"init": model.pt of the teacher named by ``init_from`` (same seed)}, or {}."""
    source = config[kind][name].get("init_from")
    return {"init": f"{run_dir(config, source, seed)}/model.pt"} if source else {}


def nmt_student_inputs(config: dict, teacher: str, seed: int) -> dict:
    """The teacher's model.pt, and its exported top-k when the student reads them cached."""
    run = run_dir(config, teacher, seed, "nmt", role="teachers")
    inputs = {"teacher": f"{run}/model.pt", "data_bin": f"{NMT_DIR}/data-bin"}
    if cached_logits(config["nmt"]["student"]):
        inputs["topk"] = f"{run}/{NMT_TOPK}"
    return inputs


def fig4_probs(config: dict, key: str) -> list[str]:
    """Figure 4 averages every seed of the teacher named by figures.fig4.<key>."""
    name = config["figures"]["fig4"][key]
    return run_files(config, "teachers", "eval/class_mean_probs.csv", [name])


def stem(wildcards, output) -> str:
    """A rule param: the job's first output without its suffix (``lskd paper``'s ``--out``)."""
    return os.path.splitext(output[0])[0]


def stems(wildcards, output) -> list[str]:
    """A rule param: the stems of the job's outputs, each once, in their order."""
    return list(dict.fromkeys(os.path.splitext(path)[0] for path in output))


BENCHMARKS = "results/benchmarks"
