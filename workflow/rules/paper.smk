from lskd.paper.results import reference_digest


# Every table and figure is an entry of lskd/paper/outputs.py: its inputs, its builder, its
# caption. The `table` and `figure` rules build them, the `cost` rule the two that read every
# other job's benchmark file.
rule table:
    """A table of lskd/paper/outputs.py: CSV (its numbers), Markdown and LaTeX (as shown)."""
    input:
        unpack(lambda wc: targets.paper_inputs(config, "table", wc.table)),
    output:
        report(
            multiext("results/tables/{table}", ".csv", ".md", ".tex"),
            caption="../report/table.rst",
            category="Tables",
        ),
    log:
        "results/logs/paper/{table}.log",
    benchmark:
        "results/benchmarks/table/{table}.tsv"
    wildcard_constraints:
        table=targets.output_pattern("table"),
    conda:
        "../../envs/lskd.yaml"
    params:
        code=arguments.code("paper"),
        builder=lambda wc: arguments.builder_code("table", wc.table),
        table_caption=lambda wc: arguments.caption("table", wc.table),
        inputs=arguments.paper_arguments,
        stem=paths.stem,
    shell:
        "python -m lskd paper table {wildcards.table:q} {params.inputs:q} --out {params.stem:q}"
        " > {log:q} 2>&1"


rule figure:
    """A figure of lskd/paper/outputs.py: PNG and PDF."""
    input:
        unpack(lambda wc: targets.paper_inputs(config, "figure", wc.figure)),
    output:
        report(
            multiext("results/figures/{figure}", ".png", ".pdf"),
            caption="../report/figure.rst",
            category="Figures",
        ),
    log:
        "results/logs/paper/{figure}.log",
    benchmark:
        "results/benchmarks/figure/{figure}.tsv"
    wildcard_constraints:
        figure=targets.output_pattern("figure"),
    conda:
        "../../envs/lskd.yaml"
    params:
        code=arguments.code("paper"),
        builder=lambda wc: arguments.builder_code("figure", wc.figure),
        figure_caption=lambda wc: arguments.caption("figure", wc.figure),
        inputs=arguments.paper_arguments,
        stem=paths.stem,
    shell:
        "python -m lskd paper figure {wildcards.figure:q} {params.inputs:q} --out {params.stem:q}"
        " > {log:q} 2>&1"


rule claims:
    """results/CLAIMS.md: each claim (a)-(m) of the paper with this run's evidence: effect, 95 %
    interval (seeds and a paired bootstrap over the test images), n and a verdict."""
    input:
        unpack(lambda wc: targets.claims_inputs(config)),
    output:
        report("results/CLAIMS.md", caption="../report/claims.rst", category="Claims"),
    log:
        "results/logs/paper/claims.log",
    benchmark:
        "results/benchmarks/claims.tsv"
    conda:
        "../../envs/lskd.yaml"
    params:
        code=arguments.code("claims"),
        settings=arguments.as_json(config["claims"]),
    shell:
        "python -m lskd claims --teachers {input.teachers:q} --students {input.students:q}"
        " --bnn {input.bnn:q} --infos {input.infos:q}"
        " --fig1-distances {input.fig1_distances:q} --fig1-features {input.fig1_features:q}"
        " --nmt {input.nmt:q} --settings {params.settings:q} --out {output:q} > {log:q} 2>&1"


rule claims_paper:
    """results/claims/paper.md: the same checks on the paper's own tables (n = 1, at their
    printed precision): every claim they can test should come out reproduced."""
    output:
        report(
            "results/claims/paper.md",
            caption="../report/claims.rst",
            category="Claims",
        ),
    log:
        "results/logs/paper/claims_paper.log",
    benchmark:
        "results/benchmarks/claims_paper.tsv"
    conda:
        "../../envs/lskd.yaml"
    params:
        code=arguments.code("claims"),
        reference=reference_digest(),  # lskd/paper/reference/*.csv
        settings=arguments.as_json(config["claims"]),
    shell:
        "python -m lskd claims --reference --settings {params.settings:q} --out {output:q}"
        " > {log:q} 2>&1"


rule environment:
    """results/environment.md: the provenance of every record, per field, and where records
    disagree (two torch versions, two commits); environment.csv: one row per record."""
    input:
        targets.provenance_records(config),
    output:
        report(
            "results/environment.md",
            caption="../report/environment.rst",
            category="Environment",
        ),
        csv="results/environment.csv",
    log:
        "results/logs/paper/environment.log",
    benchmark:
        "results/benchmarks/environment.tsv"
    conda:
        "../../envs/lskd.yaml"
    params:
        code=arguments.code("environment"),
        stem=paths.stem,
    shell:
        "python -m lskd environment --records {input:q} --out {params.stem:q} > {log:q} 2>&1"


rule cost:
    """Wall time and peak memory per rule group, from every other job's benchmark file (its
    own cannot be among them), beside the run's wall-clock time."""
    input:
        benchmarks=targets.benchmark_files(config),
    output:
        report(
            targets.output_files("table", "cost"),
            caption="../report/table.rst",
            category="Cost",
        ),
        report(
            targets.output_files("figure", "cost"),
            caption="../report/figure.rst",
            category="Cost",
        ),
    log:
        "results/logs/paper/cost.log",
    conda:
        "../../envs/lskd.yaml"
    params:
        code=arguments.code("paper"),
        builder=arguments.builder_code("table", "cost"),
        table_caption=arguments.caption("table", "cost"),
        figure_caption=arguments.caption("figure", "cost"),
        stems=paths.stems,  # the table's, the figure's
    shell:
        "python -m lskd paper table cost --benchmarks {input.benchmarks:q}"
        " --out {params.stems[0]:q} > {log:q} 2>&1 && python -m lskd paper figure cost"
        " --benchmarks {input.benchmarks:q} --out {params.stems[1]:q} >> {log:q} 2>&1"


# `snakemake partial --nolock` while a study runs (or after some of its jobs failed): it trains
# nothing and writes only under results/partial/, so it may run beside the main run's lock.
rule partial:
    """results/partial/: every table, figure, CLAIMS.md and the provenance summary from the runs
    finished so far, each missing run marked (lskd.partial); rebuilt when another has finished
    (the `finished` param)."""
    output:
        report(
            directory("results/partial"),
            patterns=["{name}.png", "{name}.csv", "{name}.md"],
            caption="../report/partial.rst",
            category="Results so far",
        ),
    log:
        "results/logs/paper/partial.log",
    localrule: True
    conda:
        "../../envs/lskd.yaml"
    params:
        code=arguments.partial_code(),
        finished=targets.finished_records(config),
        config=arguments.as_json(config),
    shell:
        "python -m lskd.partial --config {params.config:q} --out {output:q} > {log:q} 2>&1"
