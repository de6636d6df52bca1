"""What the Snakefile needs from the config: semantic checks and target lists.

The JSON schema (workflow/schemas/config.schema.yaml) checks keys, types and ranges; ``check``
adds what a schema cannot: references between entries and that dataset files exist. Both run
when the workflow is parsed, before any job starts, and stop with one line naming the key.
"""

import json

from jsonschema import ValidationError
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from lskd.data import fashion_mnist
from lskd.data.errors import DataError


class ConfigError(Exception):
    """A config value is wrong; the message names the key and the fix."""


DATA_CHECKS = {"fashion_mnist": fashion_mnist.check_root}


def validate_schema(config: dict, schema_path: str) -> None:
    """snakemake's ``validate`` (which also fills in defaults), its error cut to one line."""
    try:
        validate(config, schema_path)
    except WorkflowError as err:
        cause = err.__context__  # snakemake formats the jsonschema error into text
        if not isinstance(cause, ValidationError):
            raise
        key = ".".join(str(p) for p in cause.absolute_path) or "(top level)"
        raise ConfigError(
            f"config key {key}: {cause.message} (allowed keys and values: {schema_path})"
        ) from None


def check(config: dict) -> None:
    datasets = config["datasets"]
    for name, spec in datasets.items():
        try:
            DATA_CHECKS[spec["kind"]](spec["root"])
        except DataError as err:
            raise ConfigError(f"datasets.{name}.root: {err}") from None
    for name, teacher in config["teachers"].items():
        if teacher["dataset"] not in datasets:
            raise ConfigError(
                f"teachers.{name}.dataset: {teacher['dataset']!r} is not a key of datasets "
                f"({', '.join(datasets)})"
            )
        if teacher["recipe"] not in config["recipes"]:
            raise ConfigError(
                f"teachers.{name}.recipe: {teacher['recipe']!r} is not a key of recipes "
                f"({', '.join(config['recipes'])})"
            )
    for key, name in config["figures"]["fig4"].items():
        if name not in config["teachers"]:
            raise ConfigError(f"figures.fig4.{key}: {name!r} is not a key of teachers")


def teacher_dir(config: dict, name: str, seed: int) -> str:
    return f"results/{config['teachers'][name]['dataset']}/teachers/{name}/seed{seed}"


def teacher_evals(config: dict, names=None) -> list[str]:
    names = config["teachers"] if names is None else names
    return [f"{teacher_dir(config, n, s)}/eval/eval.json" for n in names for s in config["seeds"]]


def recipe_json(config: dict, teacher: str) -> str:
    return json.dumps(config["recipes"][config["teachers"][teacher]["recipe"]], sort_keys=True)


def teacher_meta(config: dict, name: str, seed: int) -> str:
    t = config["teachers"][name]
    meta = {"name": name, "dataset": t["dataset"], "recipe": t["recipe"], "seed": seed}
    return json.dumps(meta, sort_keys=True)
