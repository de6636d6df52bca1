rule curate:
    """Turn a dataset into a manifest (sample, label, split) and its class names."""
    output:
        manifest=f"{lw.DATA_DIR}/manifest.csv",
        info=f"{lw.DATA_DIR}/dataset.json",
    log:
        "results/logs/curate/{dataset}.log",
    benchmark:
        "results/benchmarks/curate/{dataset}.tsv"
    wildcard_constraints:
        dataset=lw.dataset_pattern(config, pixels=False),
    conda:
        "../../envs/lskd.yaml"
    params:
        code=lw.code("curate"),
        spec=lambda wc: json.dumps(config["datasets"][wc.dataset], sort_keys=True),
        require=lambda wc: lw.required_classes(config, wc.dataset),
        out=lw.folder,
    shell:
        "python -m lskd curate --spec {params.spec:q} --out {params.out:q} {params.require:q}"
        " > {log:q} 2>&1"


# Fashion-MNIST: curation also keeps the decoded pixels of each split, which every job loads.
use rule curate as curate_fashion_mnist with:
    output:
        manifest=f"{lw.DATA_DIR}/manifest.csv",
        info=f"{lw.DATA_DIR}/dataset.json",
        train_pixels=f"{lw.DATA_DIR}/train_pixels.npz",
        val_pixels=f"{lw.DATA_DIR}/val_pixels.npz",
    benchmark:
        "results/benchmarks/curate_fashion_mnist/{dataset}.tsv"
    wildcard_constraints:
        dataset=lw.dataset_pattern(config, pixels=True),
