rule teacher_logits:
    """A teacher's logits on the unaugmented training images, read by its students whose
    objective has teacher_logits: cached."""
    input:
        model=f"{paths.TEACHER_DIR}/model.pt",
        manifest=f"{paths.DATA_DIR}/manifest.csv",
    output:
        f"{paths.TEACHER_DIR}/{paths.TEACHER_LOGITS}",
    log:
        "results/logs/teacher_logits/{dataset}/{teacher}_seed{seed}.log",
    benchmark:
        "results/benchmarks/teacher_logits/{dataset}/{teacher}_seed{seed}.tsv"
    conda:
        "../../envs/lskd.yaml"
    threads: config["threads"]
    resources:
        **arguments.resources(config, "evaluate"),
    params:
        code=arguments.code("teacher-logits"),
        data=paths.data_dir,
        precision=arguments.precision_args(config),
    shell:
        "python -m lskd teacher-logits --model {input.model:q} --data {params.data:q}"
        " --out {output:q} {params.precision} --threads {threads} > {log:q} 2>&1"


rule train_student:
    """Distill one student from its frozen teacher (its objective: Eq. 4, or Appendix E's mix
    with lam > 0)."""
    input:
        unpack(lambda wc: paths.student_inputs(config, wc.student, int(wc.seed))),
    output:
        model=f"{paths.STUDENT_DIR}/model.pt",
        metrics=f"{paths.STUDENT_DIR}/metrics.csv",
        final=f"{paths.STUDENT_DIR}/final.json",
    log:
        "results/logs/students/{dataset}/{student}_seed{seed}.log",
    benchmark:
        "results/benchmarks/train_student/{dataset}/{student}_seed{seed}.tsv"
    conda:
        "../../envs/lskd.yaml"
    threads: config["threads"]
    resources:
        **arguments.resources(config, "train"),
    params:
        code=lambda wc: arguments.code(
            "train", arguments.objective(config, wc.student, "students")
        ),
        tensorboard=arguments.tensorboard_flag(config),
        launch=arguments.launcher(config),
        data=paths.data_dir,
        out=paths.folder,
        arch=lambda wc: config["students"][wc.student]["arch"],
        objective=lambda wc: arguments.objective_json(config, wc.student, "students"),
        stem=lambda wc: config["students"][wc.student]["stem"],
        recipe=lambda wc: arguments.recipe_json(config, wc.student, "students"),
        meta=lambda wc: arguments.run_meta(config, wc.student, int(wc.seed), "students"),
        logits=lambda wc, input: (
            ["--teacher-logits", input.teacher_logits]
            if "teacher_logits" in input.keys()
            else []
        ),
        precision=arguments.precision_args(config),
        init=lambda wc, input: (
            ["--init-from", input.init] if "init" in input.keys() else []
        ),
    shell:
        "{params.launch} train --data {params.data:q} --out {params.out:q}"
        " --arch {params.arch} --stem {params.stem} --teacher-model {input.teacher_model:q}"
        " --teacher-final {input.teacher_final:q} {params.logits:q}"
        " --objective {params.objective:q}"
        " --recipe {params.recipe:q} --seed {wildcards.seed} --meta {params.meta:q}"
        " {params.precision} {params.init:q} {params.tensorboard} --threads {threads} > {log:q} 2>&1"
