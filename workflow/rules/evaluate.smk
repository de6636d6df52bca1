rule evaluate_teacher:
    """Accuracy, stability metrics (Algorithm 1, Eq. 2, Eq. 5) and class-mean probabilities."""
    input:
        model="results/{dataset}/teachers/{teacher}/seed{seed}/model.pt",
        final="results/{dataset}/teachers/{teacher}/seed{seed}/final.json",
        manifest="results/data/{dataset}/manifest.csv",
    output:
        evaluation="results/{dataset}/teachers/{teacher}/seed{seed}/eval/eval.json",
        class_means="results/{dataset}/teachers/{teacher}/seed{seed}/eval/class_mean_probs.csv",
        predictions="results/{dataset}/teachers/{teacher}/seed{seed}/eval/predictions.npz",
    log:
        "results/logs/evaluate/{dataset}/{teacher}_seed{seed}.log",
    benchmark:
        "results/benchmarks/evaluate_teacher/{dataset}/{teacher}_seed{seed}.tsv"
    conda:
        "../../envs/lskd.yaml"
    threads: config["threads"]
    resources:
        **lw.resources(config, "evaluate"),
    params:
        code=lw.code("evaluate"),
        bf16="--bf16" if config["bf16"] else "",
    shell:
        "python -m lskd evaluate --model {input.model:q} --final {input.final:q}"
        " --data results/data/{wildcards.dataset:q}"
        " --out results/{wildcards.dataset:q}/teachers/{wildcards.teacher:q}/seed{wildcards.seed}/eval"
        " {params.bf16} --threads {threads} > {log:q} 2>&1"


rule evaluate_student:
    """A student's (or ReActNet step 2's) evaluation: its per-image predictions, from the same
    pass as its accuracy, are what CLAIMS.md's paired bootstrap resamples."""
    input:
        model="results/{dataset}/{run}/model.pt",
        final="results/{dataset}/{run}/final.json",
        manifest="results/data/{dataset}/manifest.csv",
    output:
        evaluation="results/{dataset}/{run}/eval/eval.json",
        predictions="results/{dataset}/{run}/eval/predictions.npz",
    log:
        "results/logs/evaluate/{dataset}/{run}.log",
    benchmark:
        "results/benchmarks/evaluate_student/{dataset}/{run}.tsv"
    wildcard_constraints:
        run=r"students/[^/]+/seed\d+|bnn/[^/]+/seed\d+/step2",
    conda:
        "../../envs/lskd.yaml"
    threads: config["threads"]
    resources:
        **lw.resources(config, "evaluate"),
    params:
        code=lw.code("evaluate"),
        bf16="--bf16" if config["bf16"] else "",
        out=lambda wc, output: os.path.dirname(output.evaluation),
    shell:
        "python -m lskd evaluate --model {input.model:q} --final {input.final:q}"
        " --data results/data/{wildcards.dataset:q} --out {params.out:q}"
        " {params.bf16} --threads {threads} > {log:q} 2>&1"


rule penultimate_features:
    """Penultimate activations of Figure 1's three classes, train and val, and the templates."""
    input:
        model="results/{dataset}/teachers/{teacher}/seed{seed}/model.pt",
        manifest="results/data/{dataset}/manifest.csv",
    output:
        "results/{dataset}/teachers/{teacher}/seed{seed}/eval/penultimate.npz",
    log:
        "results/logs/features/{dataset}/{teacher}_seed{seed}.log",
    benchmark:
        "results/benchmarks/penultimate_features/{dataset}/{teacher}_seed{seed}.tsv"
    conda:
        "../../envs/lskd.yaml"
    threads: config["threads"]
    resources:
        **lw.resources(config, "evaluate"),
    params:
        code=lw.code("features"),
        classes=config["figures"]["fig1"]["classes"],
        per_class=config["figures"]["fig1"]["per_class"],
        bf16="--bf16" if config["bf16"] else "",
    shell:
        "python -m lskd features --model {input.model:q} --data results/data/{wildcards.dataset:q}"
        " --classes {params.classes:q} --per-class {params.per_class} --out {output:q}"
        " {params.bf16} --threads {threads} > {log:q} 2>&1"
