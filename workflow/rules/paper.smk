from lskd.paper.results import reference_digest


rule stability_table:
    """Table 1 (intra-class, Algorithm 1) and Table 10 (inter-class, Eq. 5), beside the paper's."""
    input:
        evals=lw.teacher_evals(config),
        infos=lw.dataset_infos(config),
    output:
        report(
            multiext("results/tables/{table}", ".csv", ".md", ".tex"),
            caption="../report/stability_table.rst",
            category="Tables",
        ),
    log:
        "results/logs/paper/{table}.log",
    benchmark:
        "results/benchmarks/stability_table/{table}.tsv"
    wildcard_constraints:
        table="table1|table10",
    conda:
        "../../envs/lskd.yaml"
    params:
        code=lw.code("stability-table"),
    shell:
        "python -m lskd stability-table --table {wildcards.table:q} --evals {input.evals:q}"
        " --infos {input.infos:q} --out results/tables/{wildcards.table:q} > {log:q} 2>&1"


rule fig4:
    """Figure 4: mean per-class probabilities of a teacher without and with LS."""
    input:
        without_ls=lw.teacher_evals(config, [config["figures"]["fig4"]["without_ls"]]),
        with_ls=lw.teacher_evals(config, [config["figures"]["fig4"]["with_ls"]]),
    output:
        report(
            multiext("results/figures/fig4", ".png", ".pdf"),
            caption="../report/fig4.rst",
            category="Figures",
        ),
    log:
        "results/logs/paper/fig4.log",
    benchmark:
        "results/benchmarks/fig4.tsv"
    conda:
        "../../envs/lskd.yaml"
    params:
        code=lw.code("fig4"),
        without_ls=lambda wc, input: [
            p.replace("eval.json", "class_mean_probs.csv") for p in input.without_ls
        ],
        with_ls=lambda wc, input: [
            p.replace("eval.json", "class_mean_probs.csv") for p in input.with_ls
        ],
    shell:
        "python -m lskd fig4 --without-ls {params.without_ls:q} --with-ls {params.with_ls:q}"
        " --out results/figures/fig4 > {log:q} 2>&1"


rule kd_table:
    """Tables 2, 7, 8, 9 and the temperature sweep, from the students' final.json files."""
    input:
        finals=lw.student_finals(config),
        infos=lw.dataset_infos(config),
    output:
        report(
            multiext("results/tables/{table}", ".csv", ".md", ".tex"),
            caption="../report/kd_table.rst",
            category="Tables",
        ),
    log:
        "results/logs/paper/{table}.log",
    benchmark:
        "results/benchmarks/kd_table/{table}.tsv"
    wildcard_constraints:
        table="table2|table7|table8|table9|temperature",
    conda:
        "../../envs/lskd.yaml"
    params:
        code=lw.code("kd-table"),
    shell:
        "python -m lskd kd-table --table {wildcards.table:q} --finals {input.finals:q}"
        " --infos {input.infos:q} --out results/tables/{wildcards.table:q} > {log:q} 2>&1"


rule kd_figure:
    """Figure 5 (distillation loss and accuracy curves) and Figure 8 (teacher vs student)."""
    input:
        lw.student_finals(config),
    output:
        report(
            multiext("results/figures/{figure}", ".png", ".pdf"),
            caption="../report/kd_figure.rst",
            category="Figures",
        ),
    log:
        "results/logs/paper/{figure}.log",
    benchmark:
        "results/benchmarks/kd_figure/{figure}.tsv"
    wildcard_constraints:
        figure="fig5|fig8",
    conda:
        "../../envs/lskd.yaml"
    params:
        code=lw.code("kd-figure"),
    shell:
        "python -m lskd kd-figure --figure {wildcards.figure:q} --finals {input:q}"
        " --out results/figures/{wildcards.figure:q} > {log:q} 2>&1"


rule fig1:
    """Figure 1: penultimate activations in the plane of three templates (Mueller et al.)."""
    input:
        without_ls=lw.fig1_features(config, "without_ls"),
        with_ls=lw.fig1_features(config, "with_ls"),
    output:
        report(
            multiext("results/figures/fig1", ".png", ".pdf"),
            caption="../report/fig1.rst",
            category="Figures",
        ),
        distances="results/tables/fig1_distances.csv",
    log:
        "results/logs/paper/fig1.log",
    benchmark:
        "results/benchmarks/fig1.tsv"
    conda:
        "../../envs/lskd.yaml"
    params:
        code=lw.code("figure"),
    shell:
        "python -m lskd figure --figure fig1 --without-ls {input.without_ls:q} --with-ls {input.with_ls:q}"
        " --distances {output.distances:q} --out results/figures/fig1 > {log:q} 2>&1"


rule drawn_figure:
    """Figure 2 (KD vs LS diagram) and Figure 3 (label-smoothed logistic loss), from code."""
    output:
        report(
            multiext("results/figures/{figure}", ".png", ".pdf"),
            caption="../report/drawn_figure.rst",
            category="Figures",
        ),
    log:
        "results/logs/paper/{figure}.log",
    benchmark:
        "results/benchmarks/drawn_figure/{figure}.tsv"
    wildcard_constraints:
        figure="fig2|fig3",
    conda:
        "../../envs/lskd.yaml"
    params:
        code=lw.code("figure"),
    shell:
        "python -m lskd figure --figure {wildcards.figure:q} --out results/figures/{wildcards.figure:q}"
        " > {log:q} 2>&1"


# CLAIMS.md reads every model's evaluation and per-image predictions (students and ReActNet
# step 2 too), the last epoch's losses, Figure 1's features and the NMT test outputs.
STUDENT_EVALS = [
    f.replace("final.json", "eval/eval.json") for f in lw.student_finals(config)
]
BNN_EVALS = [
    f.replace("final.json", "eval/eval.json")
    for f in lw.bnn_finals(config)
    if "/step2/" in f
]
EVALS = lw.teacher_evals(config) + STUDENT_EVALS + BNN_EVALS


rule claims:
    """results/CLAIMS.md: each claim (a)-(m) of the paper with this run's evidence: effect, 95 %
    interval (seeds and a paired bootstrap over the test images), n and a verdict."""
    input:
        teachers=lw.teacher_evals(config),
        students=STUDENT_EVALS,
        bnn=BNN_EVALS,
        predictions=[p.replace("eval.json", "predictions.npz") for p in EVALS],
        metrics=[
            f.replace("final.json", "metrics.csv") for f in lw.student_finals(config)
        ],
        infos=lw.dataset_infos(config),
        fig1_distances="results/tables/fig1_distances.csv",
        fig1_features=[
            lw.fig1_features(config, "without_ls"),
            lw.fig1_features(config, "with_ls"),
        ],
        nmt=lw.nmt_finals(config),
        nmt_tests=[f.replace("final.json", "test.json") for f in lw.nmt_finals(config)],
    output:
        report("results/CLAIMS.md", caption="../report/claims.rst", category="Claims"),
    log:
        "results/logs/paper/claims.log",
    benchmark:
        "results/benchmarks/claims.tsv"
    conda:
        "../../envs/lskd.yaml"
    params:
        code=lw.code("claims"),
        top1=config["noninferiority_margin"]["top1"],
        bleu=config["noninferiority_margin"]["bleu"],
    shell:
        "python -m lskd claims --teachers {input.teachers:q} --students {input.students:q}"
        " --bnn {input.bnn:q} --infos {input.infos:q}"
        " --fig1-distances {input.fig1_distances:q} --fig1-features {input.fig1_features:q}"
        " --nmt {input.nmt:q} --margin-top1 {params.top1} --margin-bleu {params.bleu}"
        " --out {output:q} > {log:q} 2>&1"


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
        code=lw.code("claims"),
        reference=reference_digest(),  # lskd/paper/reference/*.csv
        top1=config["noninferiority_margin"]["top1"],
        bleu=config["noninferiority_margin"]["bleu"],
    shell:
        "python -m lskd claims --reference --margin-top1 {params.top1}"
        " --margin-bleu {params.bleu} --out {output:q} > {log:q} 2>&1"


rule dataset_table:
    """Tables 3-6 and Figure 9: long-tailed data, the number of classes, the dataset overview."""
    input:
        # each table reads only what it shows, so that a student's change reruns Table 6 alone
        evals=lambda wc: (
            lw.teacher_evals(config) if wc.table in ("table3", "table4") else []
        ),
        infos=lw.dataset_infos(config),
        finals=lambda wc: lw.student_finals(config) if wc.table == "table6" else [],
    output:
        report(
            multiext("results/tables/{table}", ".csv", ".md", ".tex"),
            caption="../report/dataset_table.rst",
            category="Tables",
        ),
    log:
        "results/logs/paper/{table}.log",
    benchmark:
        "results/benchmarks/dataset_table/{table}.tsv"
    wildcard_constraints:
        table="table3|table4|table5|table6",
    conda:
        "../../envs/lskd.yaml"
    params:
        code=lw.code("dataset-table"),
        dirs=lambda wc, input: [os.path.dirname(p) for p in input.infos],
    shell:
        "python -m lskd dataset-table --table {wildcards.table:q} --evals {input.evals:q}"
        " --infos {input.infos:q} --finals {input.finals:q} --dataset-dirs {params.dirs:q}"
        " --out results/tables/{wildcards.table:q} > {log:q} 2>&1"


rule fig9:
    """Figure 9: the accuracy gain of LS against the number of classes."""
    input:
        evals=lw.teacher_evals(config),
        infos=lw.dataset_infos(config),
    output:
        report(
            multiext("results/figures/fig9", ".png", ".pdf"),
            caption="../report/fig9.rst",
            category="Figures",
        ),
    log:
        "results/logs/paper/fig9.log",
    benchmark:
        "results/benchmarks/fig9.tsv"
    conda:
        "../../envs/lskd.yaml"
    params:
        code=lw.code("dataset-table"),
    shell:
        "python -m lskd dataset-table --table fig9 --evals {input.evals:q} --infos {input.infos:q}"
        " --out results/figures/fig9 > {log:q} 2>&1"


# Every record that carries a provenance entry (lskd.provenance): the image runs' final.json and
# eval.json, the NMT runs' final.json and test.json.
RECORDS = (
    [f.replace("eval/eval.json", "final.json") for f in lw.teacher_evals(config)]
    + lw.student_finals(config)
    + lw.bnn_finals(config)
    + EVALS
    + lw.nmt_finals(config)
    + [f.replace("final.json", "test.json") for f in lw.nmt_finals(config)]
)


rule environment:
    """results/environment.md: the provenance of every record, per field, and where records
    disagree (two torch versions, two commits); environment.csv: one row per record."""
    input:
        RECORDS,
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
        code=lw.code("environment"),
    shell:
        "python -m lskd environment --records {input:q} --out results/environment > {log:q} 2>&1"


rule cost:
    """Wall time and peak memory per rule group, from every other job's benchmark file (its
    own cannot be among them), beside the run's wall-clock time."""
    input:
        lw.benchmark_files(config),
    output:
        report(
            multiext("results/tables/cost", ".csv", ".md", ".tex"),
            caption="../report/cost_table.rst",
            category="Cost",
        ),
        report(
            multiext("results/figures/cost", ".png", ".pdf"),
            caption="../report/cost_figure.rst",
            category="Cost",
        ),
    log:
        "results/logs/paper/cost.log",
    conda:
        "../../envs/lskd.yaml"
    params:
        code=lw.code("cost"),
    shell:
        "python -m lskd cost --benchmarks {input:q} --table results/tables/cost"
        " --figure results/figures/cost > {log:q} 2>&1"
