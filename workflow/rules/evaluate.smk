rule evaluate_teacher:
    """Accuracy, stability metrics (Algorithm 1, Eq. 2, Eq. 5) and class-mean probabilities."""
    input:
        model=f"{paths.TEACHER_DIR}/model.pt",
        final=f"{paths.TEACHER_DIR}/final.json",
        manifest=f"{paths.DATA_DIR}/manifest.csv",
    output:
        evaluation=f"{paths.TEACHER_DIR}/eval/eval.json",
        class_means=f"{paths.TEACHER_DIR}/eval/class_mean_probs.csv",
        predictions=f"{paths.TEACHER_DIR}/eval/predictions.npz",
    log:
        "results/logs/evaluate/{dataset}/{teacher}_seed{seed}.log",
    benchmark:
        "results/benchmarks/evaluate_teacher/{dataset}/{teacher}_seed{seed}.tsv"
    conda:
        "../../envs/lskd.yaml"
    threads: config["threads"]
    resources:
        **arguments.resources(config, "evaluate"),
    params:
        code=arguments.code("evaluate"),
        data=paths.data_dir,
        out=paths.folder,
        precision=arguments.precision_args(config),
    shell:
        "python -m lskd evaluate --model {input.model:q} --final {input.final:q}"
        " --data {params.data:q} --out {params.out:q} {params.precision} --threads {threads}"
        " > {log:q} 2>&1"


rule evaluate_student:
    """A student's (or ReActNet step 2's) evaluation: its per-image predictions, from the same
    pass as its accuracy, are what CLAIMS.md's paired bootstrap resamples."""
    input:
        model=f"{paths.EVALUATED_DIR}/model.pt",
        final=f"{paths.EVALUATED_DIR}/final.json",
        manifest=f"{paths.DATA_DIR}/manifest.csv",
    output:
        evaluation=f"{paths.EVALUATED_DIR}/eval/eval.json",
        class_means=f"{paths.EVALUATED_DIR}/eval/class_mean_probs.csv",
        predictions=f"{paths.EVALUATED_DIR}/eval/predictions.npz",
    log:
        "results/logs/evaluate/{dataset}/{run}.log",
    benchmark:
        "results/benchmarks/evaluate_student/{dataset}/{run}.tsv"
    wildcard_constraints:
        run=paths.EVALUATED_RUN,
    conda:
        "../../envs/lskd.yaml"
    threads: config["threads"]
    resources:
        **arguments.resources(config, "evaluate"),
    params:
        code=arguments.code("evaluate"),
        data=paths.data_dir,
        out=paths.folder,
        precision=arguments.precision_args(config),
    shell:
        "python -m lskd evaluate --model {input.model:q} --final {input.final:q}"
        " --data {params.data:q} --out {params.out:q} {params.precision} --threads {threads}"
        " > {log:q} 2>&1"


rule penultimate_features:
    """Penultimate activations of Figure 1's three classes, train and val, and the templates."""
    input:
        model=f"{paths.TEACHER_DIR}/model.pt",
        manifest=f"{paths.DATA_DIR}/manifest.csv",
    output:
        f"{paths.TEACHER_DIR}/eval/penultimate.npz",
    log:
        "results/logs/features/{dataset}/{teacher}_seed{seed}.log",
    benchmark:
        "results/benchmarks/penultimate_features/{dataset}/{teacher}_seed{seed}.tsv"
    conda:
        "../../envs/lskd.yaml"
    threads: config["threads"]
    resources:
        **arguments.resources(config, "evaluate"),
    params:
        code=arguments.code("features"),
        data=paths.data_dir,
        classes=config["figures"]["fig1"]["classes"],
        per_class=config["figures"]["fig1"]["per_class"],
        precision=arguments.precision_args(config),
    shell:
        "python -m lskd features --model {input.model:q} --data {params.data:q}"
        " --classes {params.classes:q} --per-class {params.per_class} --out {output:q}"
        " {params.precision} --threads {threads} > {log:q} 2>&1"
