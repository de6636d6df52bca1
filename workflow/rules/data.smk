rule curate:
    """Turn a dataset into a manifest (sample, label, split) and its class names."""
    output:
        manifest=f"{paths.DATA_DIR}/manifest.csv",
        info=f"{paths.DATA_DIR}/dataset.json",
    log:
        "results/logs/curate/{dataset}.log",
    benchmark:
        "results/benchmarks/curate/{dataset}.tsv"
    wildcard_constraints:
        dataset=paths.dataset_pattern(config, pixels=False),
    conda:
        "../../envs/lskd.yaml"
    params:
        code=arguments.code("curate"),
        spec=lambda wc: arguments.as_json(config["datasets"][wc.dataset]),
        require=lambda wc: arguments.required_classes(config, wc.dataset),
        out=paths.folder,
    shell:
        "python -m lskd curate --spec {params.spec:q} --out {params.out:q} {params.require:q}"
        " > {log:q} 2>&1"


# Fashion-MNIST: curation also keeps the decoded pixels of each split, which every job loads.
use rule curate as curate_fashion_mnist with:
    output:
        manifest=f"{paths.DATA_DIR}/manifest.csv",
        info=f"{paths.DATA_DIR}/dataset.json",
        train_pixels=f"{paths.DATA_DIR}/train_pixels.npz",
        val_pixels=f"{paths.DATA_DIR}/val_pixels.npz",
    benchmark:
        "results/benchmarks/curate_fashion_mnist/{dataset}.tsv"
    wildcard_constraints:
        dataset=paths.dataset_pattern(config, pixels=True),
