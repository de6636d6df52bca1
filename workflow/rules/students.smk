rule cache_teacher:
    """Teacher logits on the unaugmented training images, shared by its cached students."""
    input:
        model=f"{lw.TEACHER_DIR}/model.pt",
        manifest=f"{lw.DATA_DIR}/manifest.csv",
    output:
        f"{lw.TEACHER_DIR}/cache/train_logits.pt",
    log:
        "results/logs/cache/{dataset}/{teacher}_seed{seed}.log",
    benchmark:
        "results/benchmarks/cache_teacher/{dataset}/{teacher}_seed{seed}.tsv"
    conda:
        "../../envs/lskd.yaml"
    threads: config["threads"]
    resources:
        **lw.resources(config, "evaluate"),
    params:
        code=lw.code("cache-teacher"),
        data=lw.data_dir,
        precision=lw.precision_args(config),
    shell:
        "python -m lskd cache-teacher --model {input.model:q} --data {params.data:q}"
        " --out {output:q} {params.precision} --threads {threads} > {log:q} 2>&1"


rule train_student:
    """Distill one student from its frozen teacher (Eq. 4, or Appendix E's mix with lam > 0)."""
    input:
        unpack(lambda wc: lw.student_inputs(config, wc.student, int(wc.seed))),
    output:
        model=f"{lw.STUDENT_DIR}/model.pt",
        metrics=f"{lw.STUDENT_DIR}/metrics.csv",
        final=f"{lw.STUDENT_DIR}/final.json",
    log:
        "results/logs/students/{dataset}/{student}_seed{seed}.log",
    benchmark:
        "results/benchmarks/train_student/{dataset}/{student}_seed{seed}.tsv"
    conda:
        "../../envs/lskd.yaml"
    threads: config["threads"]
    resources:
        **lw.resources(config, "train"),
    params:
        code=lw.code("train-student"),
        tensorboard=lw.tensorboard_flag(config),
        launch=lw.launcher(config),
        data=lw.data_dir,
        out=lw.folder,
        arch=lambda wc: config["students"][wc.student]["arch"],
        lam=lambda wc: config["students"][wc.student]["lam"],
        temperature=lambda wc: config["students"][wc.student]["temperature"],
        stem=lambda wc: config["students"][wc.student]["stem"],
        recipe=lambda wc: lw.recipe_json(config, wc.student, "students"),
        meta=lambda wc: lw.run_meta(config, wc.student, int(wc.seed), "students"),
        cache=lambda wc, input: (
            ["--teacher-cache", input.cache] if "cache" in input.keys() else []
        ),
        precision=lw.precision_args(config),
        init=lambda wc, input: (
            ["--init-from", input.init] if "init" in input.keys() else []
        ),
    shell:
        "{params.launch} train-student --data {params.data:q} --out {params.out:q}"
        " --arch {params.arch} --stem {params.stem} --teacher-model {input.teacher_model:q}"
        " --teacher-final {input.teacher_final:q} {params.cache:q}"
        " --lam {params.lam} --temperature {params.temperature}"
        " --recipe {params.recipe:q} --seed {wildcards.seed} --meta {params.meta:q}"
        " {params.precision} {params.init:q} {params.tensorboard} --threads {threads} > {log:q} 2>&1"
