"""The rehearsal config is paper.yaml with only sizes changed (lskd.rehearsal)."""

import copy

import pytest
import yaml

from conftest import ROOT
from lskd import rehearsal
from lskd.schedules import schedule_problem
from lskd.workflow import checks, config_file

PAPER = yaml.safe_load((ROOT / "configs/paper.yaml").read_text())


def derived(tmp_path):
    return rehearsal.derive(PAPER, tmp_path / "data", tmp_path / "weights")


def test_only_sizes_and_paths_change(tmp_path):
    config = derived(tmp_path)
    assert rehearsal.structure(config) == rehearsal.structure(PAPER)
    assert config["teachers"].keys() == PAPER["teachers"].keys()
    assert config["students"].keys() == PAPER["students"].keys()
    for name, t in PAPER["teachers"].items():  # architecture, recipe, LS, init_from, weights
        assert {k: v for k, v in config["teachers"][name].items() if k != "seeds"} == {
            k: v for k, v in t.items() if k != "seeds"
        }
    assert config["bnn"]["teachers"] == PAPER["bnn"]["teachers"]
    assert config["nmt"]["teachers"] == PAPER["nmt"]["teachers"]


@pytest.mark.parametrize(
    "change",
    [
        lambda c: c["teachers"].pop("r18"),
        lambda c: c["students"]["s_r18_from_r50"].update(arch="resnet34"),
        lambda c: c["teachers"]["r50_ls"]["objective"].update(alpha=0.2),
        lambda c: c["recipes"]["long200"].update(lr=0.2),
        lambda c: c["bnn"].update(teachers=["r50"]),
        lambda c: c["nmt"]["model"].update(arch="transformer"),
        lambda c: c["figures"]["fig1"].update(without_ls="r18"),
    ],
)
def test_a_change_beyond_sizes_is_caught(tmp_path, change):
    other = copy.deepcopy(PAPER)
    change(other)
    assert rehearsal.structure(derived(tmp_path)) != rehearsal.structure(other)


def test_schedules_shrink_with_their_epochs_and_the_config_is_valid(tmp_path):
    config = derived(tmp_path)
    assert config["recipes"]["standard"]["milestones"] == [1]
    assert config["recipes"]["torchvision_mobilenet_v2"]["milestones"] == [1]
    subsets = {n: d["classes"] for n, d in config["datasets"].items() if d.get("classes")}
    assert subsets == {"imagenet100": 2, "imagenet500": 3}  # their order kept
    config_file.validate_schema(config, str(ROOT / "workflow/schemas/config.schema.yaml"))
    for name, recipe in config["recipes"].items():
        assert schedule_problem(recipe) is None, name


def test_the_rehearsal_writes_data_weights_and_a_config_snakemake_plans(tmp_path):
    path = rehearsal.write(tmp_path, ROOT / "configs/paper.yaml")
    config = yaml.safe_load(path.read_text())
    weights = sorted(p.name.split("-")[0] for p in (tmp_path / "weights").iterdir())
    assert weights == sorted({t["arch"] for t in PAPER["teachers"].values() if t.get("weights")})
    assert set(rehearsal.wnids(PAPER)) >= set(PAPER["figures"]["fig1"]["classes"])
    assert sorted(p.name for p in (tmp_path / "data/imagenet/train").iterdir()) == sorted(
        rehearsal.wnids(PAPER)
    )
    config_file.validate_schema(config, str(ROOT / "workflow/schemas/config.schema.yaml"))
    checks.check(config)  # every dataset, weight file and Figure 1 class is found


def test_a_disk_too_small_for_the_rehearsal_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(rehearsal, "DISK_GB", 1e6)  # more than any disk here
    monkeypatch.setattr("sys.argv", ["rehearsal", str(tmp_path / "out")])
    with pytest.raises(SystemExit) as exit:
        rehearsal.main()
    assert exit.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"{tmp_path / 'out'}: " in error and "GB free; the rehearsal needs about" in error
    assert not (tmp_path / "out/rehearsal.yaml").exists()
