"""The house rules a newcomer relies on: short functions, rooms of one idea, and an objective's
settings written in one class and one schema entry, with defaults in the schema only."""

import ast
import dataclasses
import json
import subprocess
import sys

import pytest
import yaml

from conftest import ROOT, schema_defaults
from lskd import objectives

SRC = ROOT / "src" / "lskd"
SCHEMA = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())


def test_no_function_is_longer_than_sixty_lines():
    long = [
        f"{path.relative_to(SRC)}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1})"
        for path in sorted(SRC.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > 60
    ]
    assert not long, long


def test_no_module_is_longer_than_four_hundred_lines():
    sizes = {str(p.relative_to(SRC)): len(p.read_text().splitlines()) for p in SRC.rglob("*.py")}
    assert "workflow/checks.py" in sizes, sorted(sizes)
    assert not {name: n for name, n in sizes.items() if n > 400}, "split these into rooms"


def test_the_workflow_reads_its_modules_without_importing_torch():
    """Snakemake imports them at every start, and again in every SLURM job: torch's import is a
    second of each (it was, through the objectives registry's type hints)."""
    snakefile = (ROOT / "Snakefile").read_text() + "".join(
        p.read_text() for p in (ROOT / "workflow/rules").glob("*.smk")
    )
    imports = [line for line in snakefile.splitlines() if line.startswith(("from lskd", "import"))]
    assert any("lskd.workflow" in line for line in imports), imports
    check = "\n".join(
        imports + ["import sys", "print(sorted(set(sys.modules) & {'torch', 'fairseq'}))"]
    )
    out = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("kind", sorted(objectives.KINDS))
def test_an_objective_kind_is_one_class_and_one_schema_entry(kind):
    cls = objectives.class_of(kind)
    settings = [f for f in dataclasses.fields(cls) if f.init]
    assert cls.kind == kind and objectives.module_of(kind) == cls.__module__
    for member in ("augment", "prepare", "setup", "targets", "loss", "validation", "record"):
        assert hasattr(cls, member), f"{cls.__name__} lacks {member} (objectives.Objective)"
    schema = SCHEMA["$defs"][kind]
    assert schema["properties"]["kind"] == {"const": kind}
    assert set(schema["properties"]) - {"kind"} == {f.name for f in settings}
    no_default = (dataclasses.MISSING, dataclasses.MISSING)
    assert all((f.default, f.default_factory) == no_default for f in settings), (
        f"{cls.__name__}: a setting's default belongs in the schema only"
    )


def test_parse_reads_a_node_once_and_names_what_is_wrong():
    given = {"teacher": "t", "lam": 0.5, "temperature": 2.0, "teacher_logits": "cached"}
    node = schema_defaults("distillation") | given
    objective = objectives.parse(node)
    assert objectives.node(objective) == node and objectives.parse(json.dumps(node)) == objective
    with pytest.raises(ValueError, match=r"^objective kind 'focal' is none of label_smoothing"):
        objectives.parse({"kind": "focal"})
    with pytest.raises(ValueError, match=r"^objective distillation: unknown beta; missing lam"):
        objectives.parse({k: v for k, v in node.items() if k != "lam"} | {"beta": 1})
    with pytest.raises(ValueError, match="lam must be in"):
        objectives.parse(node | {"lam": 1.5})
