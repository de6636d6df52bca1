# ReActNet (ResNet-18 backbone) distilled from a teacher in two steps; step 2 starts from step 1.


rule bnn_step1:
    """ReActNet step 1: binary activations, real weights, distilled (bnn.objective: Eq. 4)."""
    input:
        teacher_model=f"{paths.TEACHER_DIR}/model.pt",
        teacher_final=f"{paths.TEACHER_DIR}/final.json",
        manifest=f"{paths.DATA_DIR}/manifest.csv",
    output:
        model=f"{paths.pattern('bnn', step=1)}/model.pt",
        metrics=f"{paths.pattern('bnn', step=1)}/metrics.csv",
        final=f"{paths.pattern('bnn', step=1)}/final.json",
    log:
        "results/logs/bnn/{dataset}/{teacher}_seed{seed}_step1.log",
    benchmark:
        "results/benchmarks/bnn_step1/{dataset}/{teacher}_seed{seed}.tsv"
    conda:
        "../../envs/lskd.yaml"
    threads: config["threads"]
    resources:
        **arguments.resources(config, "train"),
    params:
        code=lambda wc: arguments.code(
            "train", arguments.objective(config, wc.teacher, "bnn")
        ),
        tensorboard=arguments.tensorboard_flag(config),
        launch=arguments.launcher(config),
        data=paths.data_dir,
        out=paths.folder,
        arch="reactnet_resnet18_step1",
        init=[],
        recipe=arguments.recipe_json(config, None, "bnn", step=1),
        meta=lambda wc: arguments.run_meta(
            config, wc.teacher, int(wc.seed), "bnn", step=1
        ),
        stem=config["bnn"]["stem"],
        objective=lambda wc: arguments.objective_json(config, wc.teacher, "bnn"),
        precision=arguments.precision_args(config),
    shell:
        "{params.launch} train --data {params.data:q} --out {params.out:q}"
        " --arch {params.arch} --stem {params.stem} {params.init:q} --objective {params.objective:q}"
        " --teacher-model {input.teacher_model:q} --teacher-final {input.teacher_final:q}"
        " --recipe {params.recipe:q} --seed {wildcards.seed} --meta {params.meta:q}"
        " {params.precision} {params.tensorboard} --threads {threads} > {log:q} 2>&1"


# ReActNet step 2: binary weights and activations, initialised from step 1.
use rule bnn_step1 as bnn_step2 with:
    input:
        step1=rules.bnn_step1.output.model,
        teacher_model=f"{paths.TEACHER_DIR}/model.pt",
        teacher_final=f"{paths.TEACHER_DIR}/final.json",
        manifest=f"{paths.DATA_DIR}/manifest.csv",
    output:
        model=f"{paths.pattern('bnn', step=2)}/model.pt",
        metrics=f"{paths.pattern('bnn', step=2)}/metrics.csv",
        final=f"{paths.pattern('bnn', step=2)}/final.json",
    log:
        "results/logs/bnn/{dataset}/{teacher}_seed{seed}_step2.log",
    benchmark:
        "results/benchmarks/bnn_step2/{dataset}/{teacher}_seed{seed}.tsv"
    params:
        arch="reactnet_resnet18",
        init=lambda wc, input: ["--init-from", input.step1],
        recipe=arguments.recipe_json(config, None, "bnn", step=2),
        meta=lambda wc: arguments.run_meta(
            config, wc.teacher, int(wc.seed), "bnn", step=2
        ),
