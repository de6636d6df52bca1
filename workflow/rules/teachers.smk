rule train_teacher:
    """Train one teacher with its objective (Eq. 1 label smoothing); resumes from last.pt after
    a kill."""
    input:
        unpack(lambda wc: paths.init_from(config, wc.teacher, int(wc.seed))),
        manifest=f"{paths.DATA_DIR}/manifest.csv",
    output:
        model=f"{paths.TEACHER_DIR}/model.pt",
        metrics=f"{paths.TEACHER_DIR}/metrics.csv",
        final=f"{paths.TEACHER_DIR}/final.json",
    log:
        "results/logs/teachers/{dataset}/{teacher}_seed{seed}.log",
    benchmark:
        "results/benchmarks/train_teacher/{dataset}/{teacher}_seed{seed}.tsv"
    conda:
        "../../envs/lskd.yaml"
    threads: config["threads"]
    resources:
        **arguments.resources(config, "train"),
    params:
        code=lambda wc: arguments.code("train", arguments.objective(config, wc.teacher)),
        tensorboard=arguments.tensorboard_flag(config),
        launch=arguments.launcher(config),
        data=paths.data_dir,
        out=paths.folder,
        arch=lambda wc: config["teachers"][wc.teacher]["arch"],
        objective=lambda wc: arguments.objective_json(config, wc.teacher),
        stem=lambda wc: config["teachers"][wc.teacher]["stem"],
        recipe=lambda wc: arguments.recipe_json(config, wc.teacher),
        meta=lambda wc: arguments.run_meta(config, wc.teacher, int(wc.seed)),
        precision=arguments.precision_args(config),
        weights=lambda wc: arguments.weights_flag(config, wc.teacher),
        init=lambda wc, input: (
            ["--init-from", input.init] if "init" in input.keys() else []
        ),
    shell:
        "{params.launch} train --data {params.data:q} --out {params.out:q}"
        " --arch {params.arch} --objective {params.objective:q} --stem {params.stem}"
        " --recipe {params.recipe:q} --seed {wildcards.seed} --meta {params.meta:q}"
        " {params.precision} {params.weights:q} {params.init:q} {params.tensorboard} --threads {threads}"
        " > {log:q} 2>&1"
