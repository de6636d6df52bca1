# lskd: Shen et al. (ICLR 2021), "Is Label Smoothing Truly Incompatible with Knowledge
# Distillation", as one workflow. The default config is used only when no --configfile is given,
# so configs/smoke.yaml and configs/paper.yaml replace it instead of merging into it.
import json
import os

from snakemake.utils import min_version

from lskd import workflow as lw

min_version("9.0")

if not workflow.overwrite_configfiles:

    configfile: os.path.join(workflow.basedir, "config.yaml")


lw.refuse_duplicate_keys(workflow.configfiles)
lw.validate_schema(
    config, os.path.join(workflow.basedir, "workflow/schemas/config.schema.yaml")
)
lw.check(config)


wildcard_constraints:
    dataset=lw.dataset_pattern(config),
    seed=r"\d+",


include: "workflow/rules/data.smk"
include: "workflow/rules/teachers.smk"
include: "workflow/rules/students.smk"
include: "workflow/rules/bnn.smk"
include: "workflow/rules/nmt.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/paper.smk"


rule all:
    input:
        lw.final_targets(),
