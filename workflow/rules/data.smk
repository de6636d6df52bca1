rule curate:
    """Turn a dataset into a manifest (sample, label, split) and its class names."""
    output:
        manifest="results/data/{dataset}/manifest.csv",
        info="results/data/{dataset}/dataset.json",
    log:
        "results/logs/curate/{dataset}.log",
    benchmark:
        "results/benchmarks/curate/{dataset}.tsv"
    conda:
        "../../envs/lskd.yaml"
    params:
        code=lw.code("curate"),
        spec=lambda wc: json.dumps(config["datasets"][wc.dataset], sort_keys=True),
        require=lambda wc: lw.required_classes(config, wc.dataset),
    shell:
        "python -m lskd curate --spec {params.spec:q} --out results/data/{wildcards.dataset:q} {params.require:q} > {log:q} 2>&1"
