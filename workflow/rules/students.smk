rule cache_teacher:
    """Teacher logits on the unaugmented training images, shared by its cached students."""
    input:
        model="results/{dataset}/teachers/{teacher}/seed{seed}/model.pt",
        manifest="results/data/{dataset}/manifest.csv",
    output:
        "results/{dataset}/teachers/{teacher}/seed{seed}/cache/train_logits.pt",
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
        bf16="--bf16" if config["bf16"] else "",
    shell:
        "python -m lskd cache-teacher --model {input.model:q} --data results/data/{wildcards.dataset:q}"
        " --out {output:q} {params.bf16} --threads {threads} > {log:q} 2>&1"


rule train_student:
    """Distill one student from its frozen teacher (Eq. 4, or Appendix E's mix with lam > 0)."""
    input:
        unpack(lambda wc: lw.student_inputs(config, wc.student, int(wc.seed))),
    output:
        model="results/{dataset}/students/{student}/seed{seed}/model.pt",
        metrics="results/{dataset}/students/{student}/seed{seed}/metrics.csv",
        final="results/{dataset}/students/{student}/seed{seed}/final.json",
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
        tensorboard="" if config["tensorboard"] else "--no-tensorboard",
        launch=lw.launcher(config),
        arch=lambda wc: config["students"][wc.student]["arch"],
        lam=lambda wc: config["students"][wc.student]["lam"],
        temperature=lambda wc: config["students"][wc.student]["temperature"],
        stem=lambda wc: config["students"][wc.student]["stem"],
        recipe=lambda wc: lw.recipe_json(config, wc.student, "students"),
        meta=lambda wc: lw.run_meta(config, wc.student, int(wc.seed), "students"),
        cache=lambda wc, input: (
            ["--teacher-cache", input.cache] if "cache" in input.keys() else []
        ),
        bf16="--bf16" if config["bf16"] else "",
        init=lambda wc, input: (
            ["--init-from", input.init] if "init" in input.keys() else []
        ),
    shell:
        "{params.launch} train-student --data results/data/{wildcards.dataset:q}"
        " --out results/{wildcards.dataset:q}/students/{wildcards.student:q}/seed{wildcards.seed}"
        " --arch {params.arch} --stem {params.stem} --teacher-model {input.teacher_model:q}"
        " --teacher-final {input.teacher_final:q} {params.cache:q}"
        " --lam {params.lam} --temperature {params.temperature}"
        " --recipe {params.recipe:q} --seed {wildcards.seed} --meta {params.meta:q}"
        " {params.bf16} {params.init:q} {params.tensorboard} --threads {threads} > {log:q} 2>&1"
