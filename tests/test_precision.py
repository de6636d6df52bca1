"""precision auto: the choice among measured figures, which candidates a device has, the cache
per machine and kind of model, explicit values obeyed, and the configs that ask for auto."""

import json
from pathlib import Path

import pytest
import torch
import yaml

from lskd import precision
from lskd.models import build_model
from lskd.workflow.config_file import ConfigError, validate_schema

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = str(ROOT / "workflow/schemas/config.schema.yaml")
CPU = torch.device("cpu")
X = torch.zeros(4, 1, 28, 28)


@pytest.fixture(autouse=True)
def no_earlier_probes(monkeypatch):
    """Each test starts without the figures an earlier one left in this process."""
    monkeypatch.setattr(precision, "_MEASURED", {})


@pytest.mark.parametrize(
    "measured, chosen",
    [
        ({"fp32": 300.0, "bf16": 900.0}, "bf16"),  # AMX
        ({"fp32": 300.0, "bf16": 25.0}, "fp32"),  # bf16 emulated (AVX2)
        ({"fp32": 300.0, "bf16": 310.0}, "fp32"),  # within the noise: the exact one
        ({"fp32": 1000.0, "fp16": 2600.0}, "fp16"),  # a GPU without bf16 (V100, T4)
        ({"fp32": 1000.0, "fp16": 900.0}, "fp32"),
    ],
)
def test_choose_takes_the_fastest_and_fp32_on_a_tie(measured, chosen):
    assert precision.choose(measured) == chosen


def fake_probe(figures: dict, calls: list):
    def probe(model, x, candidates, seconds=precision.PROBE_SECONDS):
        calls.append(tuple(candidates))
        return {p: figures[p] for p in candidates}

    return probe


@pytest.mark.parametrize(
    "flags, figures, chosen",
    [
        ({"avx2", "amx_bf16", "avx512_bf16"}, {"fp32": 300.0, "bf16": 900.0}, "bf16"),
        ({"avx2", "avx512_bf16"}, {"fp32": 300.0, "bf16": 200.0}, "fp32"),  # measured slower
    ],
)
def test_auto_on_a_cpu_with_native_bf16_measures_both(monkeypatch, flags, figures, chosen):
    calls = []
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset(flags))
    monkeypatch.setattr(precision, "probe", fake_probe(figures, calls))
    choice = precision.resolve("auto", torch.nn.Identity(), X, "m")
    assert calls == [("fp32", "bf16")]
    assert (choice.precision, choice.requested, choice.measured) == (chosen, "auto", figures)
    record = choice.record()
    assert record["precision"] == chosen
    assert record["precision_choice"]["images_per_second"] == figures
    assert "300 img/s" in record["precision_choice"]["why"]


def test_auto_on_a_cpu_without_native_bf16_is_fp32_without_probing(monkeypatch):
    calls = []
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"avx2", "fma", "avx512f"}))
    monkeypatch.setattr(precision, "probe", fake_probe({}, calls))
    choice = precision.resolve("auto", torch.nn.Identity(), X, "m")
    assert (choice.precision, calls) == ("fp32", [])
    assert "amx_bf16" in choice.why and "avx512_bf16" in choice.why


def test_auto_on_a_gpu_without_bf16_measures_fp16(monkeypatch):
    calls = []
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: False)
    monkeypatch.setattr(precision, "probe", fake_probe({"fp32": 1000.0, "fp16": 2600.0}, calls))
    monkeypatch.setattr(precision, "device_name", lambda device: "Tesla V100-SXM2-32GB")
    x = torch.zeros(64, 3, 32, 32)
    monkeypatch.setattr(torch.Tensor, "device", property(lambda self: torch.device("cuda")))
    choice = precision.resolve("auto", torch.nn.Identity(), x, "m")
    assert calls == [("fp32", "fp16")] and choice.precision == "fp16"
    explicit = precision.resolve("fp16", torch.nn.Identity(), x, "m")  # fp16 is native there
    assert explicit.precision == "fp16" and "slow" not in explicit.why
    assert "slow" in precision.resolve("bf16", torch.nn.Identity(), x, "m").why  # emulated
    assert precision.grad_scaler("fp16", CPU).is_enabled()  # fp16 scales its loss
    assert not precision.grad_scaler("bf16", CPU).is_enabled()


@pytest.mark.parametrize("flags", [{"avx2"}, {"amx_bf16"}])
@pytest.mark.parametrize("requested", ["bf16", "fp16", "fp32"])
def test_explicit_precisions_are_obeyed_without_probing(monkeypatch, flags, requested):
    calls = []
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset(flags))
    monkeypatch.setattr(precision, "probe", fake_probe({}, calls))
    choice = precision.resolve(requested, torch.nn.Identity(), X, "m")
    assert (choice.precision, choice.requested, calls) == (requested, requested, [])
    assert ("slow" in choice.why) == (
        requested == "fp16" or (requested, flags) == ("bf16", {"avx2"})
    )


def test_an_unknown_precision_is_one_line():
    with pytest.raises(ValueError, match="precision 'bfloat16': use one of auto, bf16"):
        precision.resolve("bfloat16", torch.nn.Identity(), X, "m")


@pytest.mark.parametrize(
    "flags, native",
    [
        ({"fpu", "avx2", "fma"}, ()),  # AVX2 only: bf16 would be emulated
        ({"avx2", "avx512f", "avx512bw"}, ()),  # AVX-512 without its BF16 extension
        ({"avx512f", "avx512_bf16"}, ("bf16",)),  # AMD Zen 4, Intel Cooper Lake
        ({"avx512f", "amx_bf16", "amx_tile"}, ("bf16",)),  # Intel Sapphire Rapids
        ({"fp", "asimd", "bf16"}, ("bf16",)),  # aarch64 (Graviton 3)
    ],
)
def test_native_precisions_follow_the_cpu_flags(monkeypatch, flags, native):
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset(flags))
    assert precision.native(CPU) == native


def test_the_cache_holds_one_probe_per_machine_and_kind(monkeypatch, tmp_path):
    calls, cache = [], tmp_path / "hardware.json"
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"amx_bf16"}))
    monkeypatch.setattr(precision, "probe", fake_probe({"fp32": 300.0, "bf16": 900.0}, calls))
    monkeypatch.setattr(precision, "device_name", lambda device: "CPU A")
    for _ in range(2):  # the second job reads the first's figures
        assert precision.resolve("auto", None, X, "resnet", cache).precision == "bf16"
    precision.resolve("auto", None, X, "mobilenet", cache)  # another kind of model
    monkeypatch.setattr(precision, "device_name", lambda device: "CPU B")
    precision.resolve("auto", None, X, "resnet", cache)  # another machine probes its own
    assert len(calls) == 3
    known = json.loads(cache.read_text())
    assert len(known) == 3 and all(v["chosen"] == "bf16" for v in known.values())
    assert all(k.startswith(("CPU A |", "CPU B |")) and "torch" in k for k in known)
    cache.write_text('{"cut sh')  # a file cut short is measured again, not an error
    precision.resolve("auto", None, X, "resnet", cache)
    assert len(calls) == 4 and len(json.loads(cache.read_text())) == 1


def test_the_probe_leaves_the_model_and_random_state_untouched():
    torch.manual_seed(0)
    model = build_model("cifar_resnet8", 10, 1, "small")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.randn(4, 1, 28, 28)
    state = torch.get_rng_state()
    rates = precision.probe(model, x, ("fp32", "bf16"), seconds=0.05)
    assert set(rates) == {"fp32", "bf16"} and all(r > 0 for r in rates.values())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert torch.equal(torch.get_rng_state(), state)


def test_the_probe_batch_is_small_for_large_images_on_a_cpu():
    assert len(precision.probe_batch(torch.zeros(8, 1, 28, 28))) == 32
    assert len(precision.probe_batch(torch.zeros(8, 3, 224, 224))) == 2


def test_configs_ask_for_auto_and_the_schema_knows_every_precision():
    for path in [ROOT / "config.yaml", *(ROOT / "configs").glob("*.yaml")]:
        assert yaml.safe_load(path.read_text())["precision"] == "auto", path
    schema = yaml.safe_load(Path(SCHEMA).read_text())["properties"]["precision"]
    assert tuple(schema["enum"]) == precision.PRECISIONS and schema["default"] == "auto"


@pytest.mark.parametrize("old, new", [(True, "bf16"), (False, "fp32")])
def test_the_old_bf16_key_is_refused_naming_precision(old, new):
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    config.pop("precision")
    config["bf16"] = old
    with pytest.raises(ConfigError, match=f"bf16: renamed precision .*precision: {new}"):
        validate_schema(config, SCHEMA)
