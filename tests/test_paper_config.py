"""configs/paper.yaml schedules the paper's experiment matrix (dry run, datasets as empty dirs)."""

import pandas as pd
import pytest
import yaml

from conftest import ROOT, job_counts, run_snakemake
from lskd.workflow.config_file import ConfigError

SEEDS = 3  # "We report average over 3 runs for all the teacher network training and distillation"

# Teachers, counted from the paper's tables (each without and with LS: x2)
TEACHERS = (
    8 * 2  # Table 1 / 10: ResNet-18/50/101, MobileNet v2, DenseNet121, ResNeXt50, WRN50, ResNeXt101
    + 2 * 2  # Table 1: ResNet50+Long, ResNet50+Long+CutMix (Table 8's R50+LS+Long(+CutMix))
    + 2 * 2  # Table 7, CUB200-2011: ResNet-50 and ResNet-101 teachers
    + 2 * 2  # Table 7, iMaterialist: ResNet-50 and ResNet-101 teachers
    + 3 * 2  # Table 3, ImageNet-LT: ResNet-18/34/50 (ResNet-101 is "-/-")
    + 4 * 2  # Table 3, Places-LT: ResNet-18/34/50/101
    + 4 * 2  # Table 3, iNaturalist 2019: ResNet-18/34/50/101 (also Table 6's teachers)
    + 2 * 2 * 2  # Table 4: ImageNet-100 and -500 x ResNet-18/101 (1K is Table 1's)
    + 1  # ImageNet ResNet-34 (torchvision's), for iNaturalist's and Places-LT's to fine-tune from
)
# Students
STUDENTS = (
    3 * 8  # Table 7: ImageNet, CUB, iMaterialist x (R50 -> R18, R50; R101 -> R50, R101) x LS
    + 6  # Table 8: R18 from R50+LS+Long, +CutMix, MobileNetV2, DenseNet121, WRN50, ResNeXt101
    + 3 * 2  # Table 9: lambda 0.3, 0.5, 0.7 x (R50 w/o, w/ LS) -> R18
    + 8  # Table 6: iNaturalist 2019, R50 -> R18, R50; R101 -> R50, R101, x LS
)
EXPECTED = {
    "curate": 8,  # Table 5's six datasets, plus curated ImageNet-100 and -500 (Table 4)
    "train_teacher": TEACHERS * SEEDS,
    "evaluate_teacher": TEACHERS * SEEDS,
    "train_student": STUDENTS * SEEDS,
    # every student and ReActNet step 2: their per-image predictions for CLAIMS.md
    "evaluate_student": STUDENTS * SEEDS + 2 * SEEDS,
    "bnn_step1": 2 * SEEDS,  # Figure 6: ReActNet from ResNet-50 w/o and w/ LS
    "bnn_step2": 2 * SEEDS,
    "penultimate_features": 2,  # Figure 1: ResNet-50 w/o and w/ LS
    # Tables 1-10, the temperature extension, the BNN and NMT tables, Figure 1's distances
    "table": 14,
    "figure": 9,  # Figures 1-9
    "claims": 1,
    "claims_paper": 1,  # the same checks on the paper's own tables
    # Figure 7: IWSLT14 De-En, transformer teachers w/o and w/ LS, a KD student of each
    "nmt_prepare": 1,
    "nmt_binarize": 1,
    "nmt_teacher": 2 * SEEDS,
    "nmt_export_topk": 2 * SEEDS,
    "nmt_student": 2 * SEEDS,
    "nmt_test": 4 * SEEDS,  # test BLEU of every teacher and student
    "environment": 1,  # the records' provenance
    "cost": 1,  # wall time and memory per rule group
    "all": 1,
}


@pytest.mark.workflow
def test_paper_config_schedules_the_paper_matrix(tmp_path):
    config = yaml.safe_load((ROOT / "configs" / "paper.yaml").read_text())
    for name, spec in config["datasets"].items():
        spec["root"] = str(tmp_path / "data" / name)  # only needs to exist for a dry run
        (tmp_path / "data" / name).mkdir(parents=True, exist_ok=True)
    config["nmt"]["corpus"]["path"] = str(tmp_path / "data" / "iwslt14")
    (tmp_path / "data" / "iwslt14").mkdir()
    paper = tmp_path / "paper.yaml"
    paper.write_text(yaml.safe_dump(config))
    proc = run_snakemake(tmp_path, "-n", "--quiet", "rules", configfile=paper)
    assert job_counts(proc.stdout) == EXPECTED


@pytest.mark.workflow
def test_paper_config_names_a_missing_dataset(tmp_path):
    proc = run_snakemake(tmp_path, "-n", configfile=ROOT / "configs" / "paper.yaml", check=False)
    assert proc.returncode != 0
    assert "datasets.imagenet.root: dataset folder /data/imagenet not found; get ImageNet-1K" in (
        proc.stdout + proc.stderr
    )


def test_multi_gpu_jobs_start_under_torchrun():
    from lskd.workflow import arguments

    assert arguments.launcher({}) == "python -m lskd"
    assert arguments.launcher({"resources": {"train": {"gpu": 1}}}) == "python -m lskd"
    four = {"resources": {"train": {"gpu": 4}}}
    assert arguments.launcher(four) == "torchrun --standalone --nproc_per_node=4 -m lskd"


def test_released_teachers_are_the_papers_no_ls_rows():
    """A teacher taken from torchvision's released weights is one whose Table 1 no-LS row is the
    top-1/top-5 torchvision reports for them; the others (ResNet-50) are not."""
    from torchvision.models import get_model_weights

    from lskd.paper import ARCH_NAMES

    config = yaml.safe_load((ROOT / "configs" / "paper.yaml").read_text())
    paper = pd.read_csv(ROOT / "src" / "lskd" / "paper" / "reference" / "table1.csv")
    paper = paper.set_index("network")
    no_ls = {  # the no-LS ImageNet-1K teacher of each architecture (Table 1's first rows)
        t["arch"]: t
        for t in config["teachers"].values()
        if t["dataset"] == "imagenet"
        and t["objective"]["alpha"] == 0
        and t["recipe"] not in ("long", "cutmix")
    }
    released = set()
    for arch, teacher in no_ls.items():
        meta = get_model_weights(arch).IMAGENET1K_V1.meta["_metrics"]["ImageNet-1K"]
        if ARCH_NAMES[arch] not in paper.index:  # ResNet-34: only for fine-tuning
            assert teacher.get("weights") == "torchvision"
            continue
        row = paper.loc[ARCH_NAMES[arch]]
        same = (row.top1_no_ls, row.top5_no_ls) == (meta["acc@1"], meta["acc@5"])
        assert same == (teacher.get("weights") == "torchvision"), arch
        released |= {arch} if same else set()
    assert len(released) == 7 and "resnet50" not in released


def test_released_weights_only_for_a_no_ls_imagenet_teacher(tmp_path):
    from lskd.workflow import checks, config_file

    config = yaml.safe_load((ROOT / "configs" / "paper.yaml").read_text())
    for spec in config["datasets"].values():
        spec["root"] = str(tmp_path)
    config["nmt"]["corpus"]["path"] = str(tmp_path)
    config_file.validate_schema(config, str(ROOT / "workflow" / "schemas" / "config.schema.yaml"))
    checks.check(config)
    config["teachers"]["r18_ls"]["weights"] = "torchvision"
    with pytest.raises(ConfigError, match=r"^teachers\.r18_ls\.weights: torchvision's released"):
        checks.check(config)
    del config["teachers"]["r18_ls"]["weights"]
    config["teachers"]["in100_r18"]["weights"] = "torchvision"
    with pytest.raises(ConfigError, match=r"^teachers\.in100_r18\.weights: .* without classes"):
        checks.check(config)


def test_released_weights_for_another_class_count_stop_at_parse_time(tmp_path):
    """Where the data and the weight files are there to count, torchvision's 1000-class release
    for a dataset of 3 classes stops before any job; a rehearsal's stand-in passes."""
    from lskd.workflow import checks, config_file

    config = yaml.safe_load((ROOT / "configs" / "paper.yaml").read_text())
    for spec in config["datasets"].values():
        spec["root"] = str(tmp_path)
    for c in range(3):
        (tmp_path / "train" / f"n0{c}").mkdir(parents=True)
    config["nmt"]["corpus"]["path"] = str(tmp_path)
    weights = tmp_path / "weights"
    weights.mkdir()
    config["torchvision_weights"] = str(weights)
    config_file.validate_schema(config, str(ROOT / "workflow" / "schemas" / "config.schema.yaml"))
    (weights / "resnet18-0123abcd.pth").write_bytes(b"a stand-in; its job checks it")
    checks.check(config)
    (weights / "resnet18-f37072fd.pth").write_bytes(b"torchvision's name")
    with pytest.raises(ConfigError, match=r"^teachers\.r18\.weights: .*resnet18-f37072fd\.pth "
                       r"is torchvision's release for ImageNet-1K's 1000 classes, but "
                       r"datasets\.imagenet has 3"):  # fmt: skip
        checks.check(config)
