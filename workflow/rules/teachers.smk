rule train_teacher:
    """Train one teacher with Eq. 1 label smoothing; resumes from last.pt after a kill."""
    input:
        unpack(lambda wc: lw.init_from(config, wc.teacher, int(wc.seed))),
        manifest="results/data/{dataset}/manifest.csv",
    output:
        model="results/{dataset}/teachers/{teacher}/seed{seed}/model.pt",
        metrics="results/{dataset}/teachers/{teacher}/seed{seed}/metrics.csv",
        final="results/{dataset}/teachers/{teacher}/seed{seed}/final.json",
    log:
        "results/logs/teachers/{dataset}/{teacher}_seed{seed}.log",
    benchmark:
        "results/benchmarks/train_teacher/{dataset}/{teacher}_seed{seed}.tsv"
    conda:
        "../../envs/lskd.yaml"
    threads: config["threads"]
    resources:
        **lw.resources(config, "train"),
    params:
        code=lw.code("train-teacher"),
        tensorboard="" if config["tensorboard"] else "--no-tensorboard",
        launch=lw.launcher(config),
        arch=lambda wc: config["teachers"][wc.teacher]["arch"],
        alpha=lambda wc: config["teachers"][wc.teacher]["alpha"],
        stem=lambda wc: config["teachers"][wc.teacher]["stem"],
        recipe=lambda wc: lw.recipe_json(config, wc.teacher),
        meta=lambda wc: lw.run_meta(config, wc.teacher, int(wc.seed)),
        bf16="--bf16" if config["bf16"] else "",
        weights=lambda wc: lw.weights_flag(config, wc.teacher),
        init=lambda wc, input: (
            ["--init-from", input.init] if "init" in input.keys() else []
        ),
    shell:
        "{params.launch} train-teacher --data results/data/{wildcards.dataset:q}"
        " --out results/{wildcards.dataset:q}/teachers/{wildcards.teacher:q}/seed{wildcards.seed}"
        " --arch {params.arch} --alpha {params.alpha} --stem {params.stem}"
        " --recipe {params.recipe:q} --seed {wildcards.seed} --meta {params.meta:q}"
        " {params.bf16} {params.weights} {params.init:q} {params.tensorboard} --threads {threads}"
        " > {log:q} 2>&1"
