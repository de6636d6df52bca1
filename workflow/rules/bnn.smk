# ReActNet (ResNet-18 backbone) distilled from a teacher in two steps; step 2 starts from step 1.
BNN_DIR = "results/{dataset}/bnn/{teacher}/seed{seed}"


rule bnn_step1:
    """ReActNet step 1: binary activations, real weights, soft-label KD (Eq. 4)."""
    input:
        teacher_model="results/{dataset}/teachers/{teacher}/seed{seed}/model.pt",
        teacher_final="results/{dataset}/teachers/{teacher}/seed{seed}/final.json",
        manifest="results/data/{dataset}/manifest.csv",
    output:
        model=f"{BNN_DIR}/step1/model.pt",
        metrics=f"{BNN_DIR}/step1/metrics.csv",
        final=f"{BNN_DIR}/step1/final.json",
    log:
        "results/logs/bnn/{dataset}/{teacher}_seed{seed}_step1.log",
    benchmark:
        "results/benchmarks/bnn_step1/{dataset}/{teacher}_seed{seed}.tsv"
    conda:
        "../../envs/lskd.yaml"
    threads: config["threads"]
    resources:
        **lw.resources(config, "train"),
    params:
        code=lw.code("train-student"),
        tensorboard="" if config["tensorboard"] else "--no-tensorboard",
        launch=lw.launcher(config),
        recipe=lambda wc: json.dumps(
            config["recipes"][config["bnn"]["step1"]], sort_keys=True
        ),
        meta=lambda wc: json.dumps(
            {"teacher": wc.teacher, "dataset": wc.dataset, "step": 1}
        ),
        stem=config["bnn"]["stem"],
        out=lambda wc, output: os.path.dirname(output.model),
        bf16="--bf16" if config["bf16"] else "",
    shell:
        "{params.launch} train-student --data results/data/{wildcards.dataset:q} --out {params.out:q}"
        " --arch reactnet_resnet18_step1 --stem {params.stem}"
        " --teacher-model {input.teacher_model:q} --teacher-final {input.teacher_final:q}"
        " --recipe {params.recipe:q} --seed {wildcards.seed} --meta {params.meta:q}"
        " {params.bf16} {params.tensorboard} --threads {threads} > {log:q} 2>&1"


rule bnn_step2:
    """ReActNet step 2: binary weights and activations, initialised from step 1."""
    input:
        step1=f"{BNN_DIR}/step1/model.pt",
        teacher_model="results/{dataset}/teachers/{teacher}/seed{seed}/model.pt",
        teacher_final="results/{dataset}/teachers/{teacher}/seed{seed}/final.json",
    output:
        model=f"{BNN_DIR}/step2/model.pt",
        metrics=f"{BNN_DIR}/step2/metrics.csv",
        final=f"{BNN_DIR}/step2/final.json",
    log:
        "results/logs/bnn/{dataset}/{teacher}_seed{seed}_step2.log",
    benchmark:
        "results/benchmarks/bnn_step2/{dataset}/{teacher}_seed{seed}.tsv"
    conda:
        "../../envs/lskd.yaml"
    threads: config["threads"]
    resources:
        **lw.resources(config, "train"),
    params:
        code=lw.code("train-student"),
        tensorboard="" if config["tensorboard"] else "--no-tensorboard",
        launch=lw.launcher(config),
        recipe=lambda wc: json.dumps(
            config["recipes"][config["bnn"]["step2"]], sort_keys=True
        ),
        meta=lambda wc: json.dumps(
            {"teacher": wc.teacher, "dataset": wc.dataset, "step": 2}
        ),
        stem=config["bnn"]["stem"],
        out=lambda wc, output: os.path.dirname(output.model),
        bf16="--bf16" if config["bf16"] else "",
    shell:
        "{params.launch} train-student --data results/data/{wildcards.dataset:q} --out {params.out:q}"
        " --arch reactnet_resnet18 --stem {params.stem} --init-from {input.step1:q}"
        " --teacher-model {input.teacher_model:q} --teacher-final {input.teacher_final:q}"
        " --recipe {params.recipe:q} --seed {wildcards.seed} --meta {params.meta:q}"
        " {params.bf16} {params.tensorboard} --threads {threads} > {log:q} 2>&1"


rule bnn_paper:
    """Figure 6 (distillation loss and test error curves) and the BNN table."""
    input:
        finals=lw.bnn_finals(config),
        infos=lw.dataset_infos(config),
    output:
        report(
            multiext("results/figures/fig6", ".png", ".pdf"),
            caption="../report/fig6.rst",
            category="Figures",
        ),
        report(
            multiext("results/tables/bnn", ".csv", ".md", ".tex"),
            caption="../report/bnn_table.rst",
            category="Tables",
        ),
    log:
        "results/logs/paper/bnn.log",
    benchmark:
        "results/benchmarks/bnn_paper.tsv"
    conda:
        "../../envs/lskd.yaml"
    params:
        code=lw.code("bnn-paper"),
    shell:
        "python -m lskd bnn-paper --finals {input.finals:q} --infos {input.infos:q}"
        " --figure results/figures/fig6 --table results/tables/bnn > {log:q} 2>&1"
