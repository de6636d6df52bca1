rule train_teacher:
    """Train one teacher with Eq. 1 label smoothing; resumes from last.pt after a kill."""
    input:
        unpack(lambda wc: lw.init_from(config, wc.teacher, int(wc.seed))),
        manifest=f"{lw.DATA_DIR}/manifest.csv",
    output:
        model=f"{lw.TEACHER_DIR}/model.pt",
        metrics=f"{lw.TEACHER_DIR}/metrics.csv",
        final=f"{lw.TEACHER_DIR}/final.json",
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
        tensorboard=lw.tensorboard_flag(config),
        launch=lw.launcher(config),
        data=lw.data_dir,
        out=lw.folder,
        arch=lambda wc: config["teachers"][wc.teacher]["arch"],
        alpha=lambda wc: config["teachers"][wc.teacher]["alpha"],
        stem=lambda wc: config["teachers"][wc.teacher]["stem"],
        recipe=lambda wc: lw.recipe_json(config, wc.teacher),
        meta=lambda wc: lw.run_meta(config, wc.teacher, int(wc.seed)),
        precision=lw.precision_args(config),
        weights=lambda wc: lw.weights_flag(config, wc.teacher),
        init=lambda wc, input: (
            ["--init-from", input.init] if "init" in input.keys() else []
        ),
    shell:
        "{params.launch} train-teacher --data {params.data:q} --out {params.out:q}"
        " --arch {params.arch} --alpha {params.alpha} --stem {params.stem}"
        " --recipe {params.recipe:q} --seed {wildcards.seed} --meta {params.meta:q}"
        " {params.precision} {params.weights:q} {params.init:q} {params.tensorboard} --threads {threads}"
        " > {log:q} 2>&1"
