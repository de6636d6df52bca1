"""Rule arguments: what each rule passes its ``lskd`` command besides its paths
(``lskd.workflow.paths``): resources and launcher, the code fingerprint, flags, a run's recipe,
objective node and identity (``--meta``, ``lskd.records``), the inputs of ``lskd paper``. Each
setting travels whole: one config node, one JSON value.
"""

import json
import os
from pathlib import Path

from lskd import fingerprint, objectives, records
from lskd.paper import outputs
from lskd.workflow.paths import HARDWARE, dataset_of, fig1_datasets

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
SRC = Path(__file__).resolve().parents[2]


def put_source_first_on_pythonpath(environ) -> None:
    """Make ``python -m lskd`` in every job import the workflow's ``src/``."""
    rest = [p for p in environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != str(SRC)]
    environ["PYTHONPATH"] = os.pathsep.join([str(SRC), *rest])


def code(command: str, objective: dict | None = None) -> str:
    """The fingerprint of the code ``lskd <command>`` can run (a rule param: an edit that changes
    behaviour reruns the rules it reaches); fairseq commands also load the ``--user-dir`` plugin,
    ``lskd train`` the module of its ``objective``'s kind (lskd.objectives loads it by name)."""
    extra = ("lskd.nmt.fairseq_plugin",) if command.startswith("nmt-") else ()
    if objective is not None and command == "train":
        extra = (objectives.module_of(objective["kind"]),)
    return fingerprint.command_fingerprint(SRC, command, extra)


def objective(config: dict, name: str, kind: str = "teachers") -> dict:
    """A run's objective node, whole: an image teacher's or student's (``kind`` "teachers",
    "students"), ReActNet's (``bnn.objective`` with the teacher ``name`` filled in), an NMT
    teacher's (``nmt_teachers``) or an NMT student's (``nmt_students``: ``nmt.student``'s)."""
    if kind == "bnn":
        return config["bnn"]["objective"] | {"teacher": name}
    if kind in ("nmt_teachers", "nmt_students"):
        nmt = config["nmt"]
        return (nmt["teachers"][name] if kind == "nmt_teachers" else nmt["student"])["objective"]
    return config[kind][name]["objective"]


def as_json(node) -> str:
    """A config node as one command-line value: keys sorted, so that the same node is the same
    argument (a rule param reruns its rule only when the node changes)."""
    return json.dumps(node, sort_keys=True)


def objective_json(config: dict, name: str, kind: str = "teachers") -> str:
    """``--objective``: the node as one JSON value."""
    return as_json(objective(config, name, kind))


def required_classes(config: dict, dataset: str) -> list[str]:
    """``--require-classes`` and Figure 1's classes, for the dataset Figure 1 is drawn on: its
    curation refuses a dataset without them, however it was checked at parse time."""
    if dataset not in fig1_datasets(config):
        return []
    return ["--require-classes", *config["figures"]["fig1"]["classes"]]


def precision_args(config: dict) -> str:
    """The jobs' precision as configured (``auto`` stays ``auto``: each job resolves it on its
    own machine, so moving a finished study elsewhere reruns nothing)."""
    return f"--precision {config['precision']} --probe-cache {HARDWARE}"


def tensorboard_flag(config: dict) -> str:
    return "" if config["tensorboard"] else "--no-tensorboard"


def partial_code() -> str:
    """The fingerprint of lskd.partial and every output's builder (loaded by name)."""
    modules = {"lskd.partial", *(o.module for o in outputs.OUTPUTS)}
    return fingerprint.module_fingerprint(SRC, tuple(sorted(modules)))


def recipe_name(config: dict, name: str | None, kind: str = "teachers", step=None) -> str:
    """The recipe a run trains with: its entry's, or a ReActNet step's (``bnn.step<step>``)."""
    return config["bnn"][f"step{step}"] if kind == "bnn" else config[kind][name]["recipe"]


def recipe_json(config: dict, name: str | None, kind: str = "teachers", step=None) -> str:
    """``--recipe``: the run's recipe node (``recipe_name``) as one JSON value."""
    return as_json(config["recipes"][recipe_name(config, name, kind, step)])


def weights_flag(config: dict, teacher: str) -> list[str]:
    """``--weights torchvision`` (and the folder of the files, config ``torchvision_weights``)
    for a teacher that is torchvision's released model."""
    weights = config["teachers"][teacher].get("weights")
    folder = config.get("torchvision_weights")
    return ["--weights", weights] + (["--weights-dir", folder] if folder else []) if weights else []


def run_meta(config: dict, name: str, seed: int, kind: str = "teachers", step=None) -> str:
    """The ``--meta`` of a run (its identity in final.json, ``lskd.records``): ``kind`` and
    ``name`` as for ``run_dir``; a ReActNet run is named after its teacher."""
    recipe = recipe_name(config, name, kind, step)
    role = "teacher" if kind == "teachers" else "student"
    dataset = dataset_of(config, name, "students" if kind == "students" else "teachers")
    return records.identity(role, name, seed, dataset=dataset, recipe=recipe, step=step)


def nmt_meta(config: dict, role: str, teacher: str, seed: int) -> str:
    """The ``--meta`` of an NMT run (``lskd.records``): its objective node (fairseq records none)
    and, for a student (named after its teacher), its teacher's."""
    theirs = objective(config, teacher, "nmt_teachers")
    own = theirs if role == "teacher" else objective(config, teacher, "nmt_students")
    fields = {"model": config["nmt"]["model"], "objective": own}
    if role == "student":
        fields["teacher_objective"] = theirs
    return records.identity(role, teacher, seed, **fields)


def paper_arguments(wildcards, input) -> list[str]:
    """A rule param: ``lskd paper``'s input arguments for the job's named inputs."""
    return [
        arg
        for key, files in input.items()
        for arg in ["--" + key.replace("_", "-"), *(files if isinstance(files, list) else [files])]
    ]


def builder_code(kind: str, name: str) -> str:
    """The fingerprint of the module whose function builds an output (a rule param: an edit
    to it reruns the outputs it builds, and no other)."""
    return fingerprint.module_fingerprint(SRC, (outputs.get(kind, name).module,))


def caption(kind: str, name: str) -> str:
    return outputs.get(kind, name).caption
