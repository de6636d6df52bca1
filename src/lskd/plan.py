"""The bill before the run (``lskd plan``): for a config, every training job's image passes
(training images x epochs), forward-backward FLOPs and GPU-hours, summed per rule group, and the
jobs likely to pass their SLURM time limit or to wait on their data loaders.

GPU-hours come from a throughput table (training images per second per architecture on one
GPU, at the config's image size, as ``benchmarks/gpu_throughput.py`` measures them on your GPU);
an architecture it lacks is scaled by FLOPs from its ResNet-50 figure, or, without a table, from
``REFERENCE``, and the plan says which figures are estimated. Dataset sizes are the curated
counts where ``results/data/<dataset>/dataset.json`` exists, else the official releases' sizes
(``OFFICIAL``), cut by the config's class subset or long tail. Translation is not estimated (its
cost is in tokens, not images).
"""

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from lskd.cifar_archs import default_stem
from lskd.data.subsets import pareto_class_sizes
from lskd.workflow import arguments, config_file, paths

# Training images and classes of each official release, as the paper and the releases give them
OFFICIAL = {
    "image_folder": (1_281_167, 1000),  # ILSVRC2012 train
    "cub200": (5_994, 200),  # CUB-200-2011's standard split
    "imaterialist2019": (1_011_532, 2019),  # paper, Appendix A
    "inaturalist2019": (265_213, 1010),  # iNaturalist 2019 challenge train2019.json
    "imagenet_lt": (115_846, 1000),  # Liu et al. (2019), ImageNet_LT_train.txt
    "places_lt": (62_500, 365),  # Liu et al. (2019), Places_LT_train.txt
    "fashion_mnist": (60_000, 10),
}
# Without a measured table, the published figure: ResNet-50 v1.5 trains at 2,470 images/s on one
# A100 80GB in mixed precision (1,200 on a V100 16GB; TF32 on the A100: 938), NVIDIA
# DeepLearningExamples, PyTorch/Classification/ConvNets/resnet50v1.5/README.md, "Training
# performance results" (pytorch-21.03 NGC container)
REFERENCE = {"arch": "resnet50", "image_size": 224, "images_per_second": 2470.0}
LOADER_RATE = 150.0  # images/s one loader worker decodes and augments (configs/paper.yaml)


@dataclass
class Job:
    group: str
    name: str
    arch: str
    dataset: str
    passes: float  # training images x epochs
    flops: float  # forward + backward (and a teacher's forward), in total
    own: float  # the architecture's own forward + backward of one image (what a rate measures)


def train_images(config: dict, dataset: str) -> int:
    """Training images of ``dataset`` after curation (its dataset.json where it exists)."""
    info = Path(paths.DATA_DIR.format(dataset=dataset)) / "dataset.json"
    if info.exists():
        return int(json.loads(info.read_text())["counts"]["train"])
    spec = config["datasets"][dataset]
    total, classes = OFFICIAL[spec["kind"]]
    if spec.get("train_per_class"):
        total = min(total, spec["train_per_class"] * classes)
    if spec.get("classes"):
        total, classes = round(total * spec["classes"] / classes), spec["classes"]
    tail = spec.get("long_tail")
    if tail:
        total = int(pareto_class_sizes(classes, tail["head"], tail["tail"], tail["power"]).sum())
    return total


def image_size(config: dict, dataset: str) -> tuple[int, int]:
    """(channels, pixels per side) of a dataset's training images."""
    spec = config["datasets"][dataset]
    return (1, 28) if spec["kind"] == "fashion_mnist" else (3, spec.get("image_size", 224))


def forward_flops(arch: str, stem: str, channels: int, size: int, cache: dict) -> float:
    """FLOPs of one image's forward pass (torch's flop counter, 2 per multiply-add)."""
    key = (arch, stem, channels, size)
    if key not in cache:
        import torch
        from torch.utils.flop_counter import FlopCounterMode

        from lskd.models import build_model

        model = build_model(arch, 10, channels, stem).eval()
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            model(torch.zeros(1, channels, size, size))
        cache[key] = float(counter.get_total_flops())
    return cache[key]


def jobs(config: dict) -> list[Job]:
    """Every training job of the config (teachers, students, ReActNet steps), with its cost."""
    flops, out = {}, []

    def cost(entry, dataset):
        arch, stem = entry["arch"], entry.get("stem", default_stem(entry["arch"]))
        return 3 * forward_flops(arch, stem, *image_size(config, dataset), flops)

    def passes(recipe, dataset):
        images = train_images(config, dataset)
        return min(images, recipe.get("epoch_images") or images) * recipe["epochs"]

    teachers = config["teachers"]
    for name, t in teachers.items():
        epochs = 0 if t.get("weights") else 1  # released weights: validated, not trained
        n = passes(config["recipes"][t["recipe"]], t["dataset"]) * epochs
        for seed in paths.seeds_of(config, name):
            own = cost(t, t["dataset"])
            out.append(Job("teachers", f"{name} seed {seed}", t["arch"], t["dataset"], n,
                           n * own, own))  # fmt: skip
    for name, s in config.get("students", {}).items():
        teacher = teachers[paths.teacher_of(s)]
        dataset = teacher["dataset"]
        n = passes(config["recipes"][s["recipe"]], dataset)
        t_fwd = cost(teacher, dataset) / 3
        extra = train_images(config, dataset) * t_fwd if paths.cached_logits(s) else n * t_fwd
        for seed in paths.seeds_of(config, name, "students"):
            own = cost(s, dataset)
            out.append(Job("students", f"{name} seed {seed}", s["arch"], dataset, n,
                           n * own + extra, own))  # fmt: skip
    bnn = config.get("bnn", {})
    for name in bnn.get("teachers", []):
        teacher, dataset = teachers[name], teachers[name]["dataset"]
        for step, arch in (("step1", "reactnet_resnet18_step1"), ("step2", "reactnet_resnet18")):
            n = passes(config["recipes"][bnn[step]], dataset)
            student = {"arch": arch, "stem": teacher.get("stem", "imagenet")}
            own = cost(student, dataset)
            total = n * (own + cost(teacher, dataset) / 3)
            for seed in paths.seeds_of(config, "", "bnn"):
                out.append(Job("BNN", f"ReActNet {step} from {name} seed {seed}", arch, dataset,
                               n, total, own))  # fmt: skip
    return out


def rates(jobs_: list[Job], table: dict | None, flops_of) -> tuple[dict, list[str]]:
    """Images/s per (arch, dataset) on one GPU: measured, or scaled by FLOPs (those listed)."""
    measured = (table or {}).get("images_per_second", {})
    if "resnet50" in measured:
        base = ("resnet50", float(measured["resnet50"]), table.get("image_size", 224))
    else:
        base = (REFERENCE["arch"], REFERENCE["images_per_second"], REFERENCE["image_size"])
    base_flops = flops_of(base[0], base[2])
    out, estimated = {}, set()
    for job in jobs_:
        if job.arch in measured:
            out[job.arch, job.dataset] = float(measured[job.arch])
        else:
            out[job.arch, job.dataset] = base[1] * base_flops / job.own
            estimated.add(job.arch)
    return out, sorted(estimated)


def bill(config: dict, table: dict | None = None, loader_rate: float = LOADER_RATE):
    """(per-job frame, per-group frame, warnings) for ``config``."""
    flop_cache = {}
    jobs_ = jobs(config)
    rate_of, estimated = rates(
        jobs_, table, lambda arch, size: 3 * forward_flops(arch, "imagenet", 3, size, flop_cache)
    )
    train = arguments.resources(config, "train")
    gpus, limit_h = max(train["gpu"], 1), train["runtime"] / 60
    feed = config.get("threads", 1) * loader_rate  # images/s the job's loader workers decode
    rows, warnings = [], []
    for job in jobs_:
        rate = rate_of[job.arch, job.dataset]  # images/s of the architecture's own steps
        slower = job.flops / (job.passes * job.own) if job.passes else 1.0  # online teacher
        images_files = config["datasets"][job.dataset]["kind"] != "fashion_mnist"
        takes = rate / slower * gpus  # images/s the job's GPUs train on
        fed = min(takes, feed) if images_files else takes
        hours = job.passes * slower / rate / 3600
        wall = job.passes / fed / 3600
        rows.append({"group": job.group, "dataset": job.dataset, "job": job.name, "arch": job.arch,
                     "image_passes": job.passes, "pflop": job.flops / 1e15,
                     "gpu_hours": hours,
                     "wall_hours": wall,
                     "input_bound": bool(job.passes) and fed < takes,
                     "over_limit": wall > limit_h})  # fmt: skip
    frame = pd.DataFrame(rows)
    keys = [frame.group, frame.dataset]  # per rule group and dataset, then the total
    groups = frame.groupby(keys, sort=False)[["image_passes", "pflop", "gpu_hours"]].sum()
    groups.insert(0, "jobs", frame.groupby(keys, sort=False).size())
    groups.loc[("total", ""), :] = groups.sum()
    if estimated:
        base = (
            "your table's ResNet-50"
            if table and "resnet50" in table.get("images_per_second", {})
            else f"ResNet-50's {REFERENCE['images_per_second']:g} images/s"
        )
        warnings.append(
            f"not measured on your GPU, scaled by FLOPs from {base}: "
            f"{', '.join(estimated)} (benchmarks/gpu_throughput.py measures)"
        )
    over = frame[frame.over_limit]
    if len(over):
        worst = over.sort_values("wall_hours", ascending=False).head(5)
        shown = ", ".join(f"{j} ({h:.0f} h)" for j, h in zip(worst.job, worst.wall_hours,
                                                             strict=True))  # fmt: skip
        warnings.append(
            f"{len(over)} jobs may pass the train group's SLURM time limit "
            f"({limit_h:g} h), living on preemption and resumes, e.g. {shown}"
        )
    bound = frame[frame.input_bound]
    if len(bound):
        workers = config.get("threads", 1)
        warnings.append(f"{len(bound)} jobs are likely input-bound: {workers} loader workers x "
                        f"{loader_rate:g} images/s = {feed:g} images/s, below what their GPUs "
                        "take (more threads, or faster storage and CPUs)")  # fmt: skip
    warnings.append("translation (nmt) is not estimated: its cost is in tokens, not images")
    return frame, groups, warnings


def render(groups: pd.DataFrame, warnings: list[str], source: str) -> str:
    lines = [f"# The bill of {source}", "",
             "| group | dataset | jobs | image passes | PFLOP | GPU-hours |",
             "| --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for (group, dataset), row in groups.iterrows():
        cells = [f"{int(row.jobs)}", f"{row.image_passes:,.0f}", f"{row.pflop:,.1f}",
                 f"{row.gpu_hours:,.0f}"]  # fmt: skip
        group = f"**{group}**" if group == "total" else group
        lines.append(f"| {group} | {dataset} | " + " | ".join(cells) + " |")
    return "\n".join(lines + [""] + [f"- {w}" for w in warnings]) + "\n"


def main(configfile: str, throughput: str | None, loader_rate: float, out: str | None) -> None:
    import yaml

    config = yaml.safe_load(Path(configfile).read_text())
    schema = arguments.SRC.parent / "workflow/schemas/config.schema.yaml"
    config_file.validate_schema(config, str(schema))
    table = json.loads(Path(throughput).read_text()) if throughput else None
    frame, groups, warnings = bill(config, table, loader_rate)
    text = render(groups, warnings, configfile)
    print(text, end="")
    if out:
        Path(out).write_text(text)
        frame.to_csv(Path(out).with_suffix(".csv"), index=False)
