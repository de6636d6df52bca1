# lskd: Shen et al. (ICLR 2021), "Is Label Smoothing Truly Incompatible with Knowledge
# Distillation", as one workflow. The default config is used only when no --configfile is given,
# so configs/smoke.yaml and configs/paper.yaml replace it instead of merging into it.
import os
import sys

from snakemake.utils import min_version

# the workflow's own lskd (src/ beside this file), not an installed copy: rules run it too
sys.path.insert(0, os.path.join(workflow.basedir, "src"))
from lskd.workflow import arguments, checks, config_file, paths, targets

min_version("9.0")

if not workflow.overwrite_configfiles:
    # its YAML errors with file and line (Snakemake's own message names neither)
    config_file.check_config_files([os.path.join(workflow.basedir, "config.yaml")])

    configfile: os.path.join(workflow.basedir, "config.yaml")


config_file.check_config_files(workflow.configfiles)
config_file.validate_schema(
    config, os.path.join(workflow.basedir, "workflow/schemas/config.schema.yaml")
)
checks.check(config)

# Every rule runs `python -m lskd <command>` (training: `{params.launch}`, torchrun for several
# GPUs) in its job's environment (a virtualenv, --use-conda's, a SLURM job's), with the workflow's
# src/ first on PYTHONPATH, which jobs inherit; a `code` param holds the fingerprint of the code
# its command reaches (lskd.fingerprint), so an edit reruns what it can change.
arguments.put_source_first_on_pythonpath(os.environ)


wildcard_constraints:
    dataset=paths.dataset_pattern(config),
    seed=r"\d+",


onstart:
    checks.check_partition(workflow)


include: "workflow/rules/data.smk"
include: "workflow/rules/teachers.smk"
include: "workflow/rules/students.smk"
include: "workflow/rules/bnn.smk"
include: "workflow/rules/nmt.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/paper.smk"


rule all:
    input:
        targets.final_targets(),
