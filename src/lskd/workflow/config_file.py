"""Reading a config: its files (YAML errors with file and line, a key given twice), keys of an
older config (renamed or moved into an objective node: one line naming the new key), numbers that
are not finite, and the JSON schema (workflow/schemas/config.schema.yaml), which fills in every
default. The Snakefile runs these before ``lskd.workflow.checks.check``.
"""

import json
import math
from pathlib import Path

import yaml
from jsonschema import ValidationError
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate


class ConfigError(Exception):
    """A config value is wrong; the message names the key and the fix."""


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
    _refuse_old_objective_keys(config)


# Keys an objective node now holds: old key -> its name in the node (a value of None: the key
# is the node's teacher_logits, cached for true and online for false).
OBJECTIVE_KEYS = {
    "teachers": {"alpha": "alpha"},
    "students": {"teacher": "teacher", "lam": "lam", "temperature": "temperature",
                 "cache_teacher": None},
    "nmt.kd": {"lam": "lam", "topk": "topk", "temperature": "temperature",
               "label_smoothing": "alpha", "cache_teacher": None},
}  # fmt: skip


def _old_node(kind: str, entry: dict) -> dict:
    """The objective node an entry of an older config means."""
    node = {"kind": "label_smoothing" if kind == "teachers" else "distillation"}
    if isinstance(entry.get("objective"), dict):  # given as well: kept, the old keys added
        node |= entry["objective"]
    for old, new in OBJECTIVE_KEYS[kind].items():
        if old in entry:
            cached = {True: "cached", False: "online"}.get(entry[old], entry[old])
            node[new or "teacher_logits"] = entry[old] if new else cached
    return node


def _refuse_old_objective_keys(config: dict) -> None:
    """Objective settings outside an objective node: one line naming the node to write."""
    for kind in ("teachers", "students"):
        entries = config.get(kind)
        for name, entry in entries.items() if isinstance(entries, dict) else []:
            old = [k for k in OBJECTIVE_KEYS[kind] if isinstance(entry, dict) and k in entry]
            if old:
                node = json.dumps(_old_node(kind, entry)).replace('"', "")
                raise ConfigError(f"{kind}.{name}.{old[0]}: now in {kind}.{name}.objective "
                                  f"(lskd.objectives); here objective: {node}")  # fmt: skip
    nmt = config.get("nmt") if isinstance(config.get("nmt"), dict) else {}
    kd = nmt.get("kd")
    if isinstance(kd, dict) and "alpha" in kd:  # an older convention still: lam = 1 - alpha
        alpha = kd["alpha"]
        lam = f" (here lam: {1 - alpha:g})" if isinstance(alpha, int | float) else ""
        raise ConfigError(
            "nmt.kd.alpha: renamed nmt.student.objective.lam, which weights the hard "
            "(label-smoothed NLL) term as image students' lam does, so the convention flipped: "
            f"lam = 1 - alpha{lam}"
        )
    if isinstance(kd, dict):
        node = json.dumps(_old_node("nmt.kd", kd)).replace('"', "")
        raise ConfigError(f"nmt.kd: now nmt.student.objective (lskd.objectives); here "
                          f"student: {{objective: {node}}}")  # fmt: skip
    teachers = nmt.get("teachers")
    for name, alpha in teachers.items() if isinstance(teachers, dict) else []:
        if isinstance(alpha, int | float):
            raise ConfigError(f"nmt.teachers.{name}: now a node; here {name}: {{objective: "
                              f"{{kind: label_smoothing, alpha: {alpha}}}}}")  # fmt: skip


def _check_finite(node, key: str = "") -> None:
    """Every number in ``node`` is finite (YAML's .inf, -.inf, .nan are floats)."""
    if isinstance(node, float) and not math.isfinite(node):
        raise ConfigError(f"config key {key}: {node} is not a finite number; give one")
    items = node.items() if isinstance(node, dict) else []
    for name, value in items:
        _check_finite(value, f"{key}.{name}" if key else str(name))
    for i, value in enumerate(node if isinstance(node, list) else []):
        _check_finite(value, f"{key}.{i}")
