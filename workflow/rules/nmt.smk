# German-English NMT (Section 5, Figure 7): fairseq transformer teachers with and without label
# smoothing, then a word-level KD student of each (the --user-dir criterion word_kd).
from lskd.nmt import LANGS, SPLITS

NMT = paths.NMT_DIR
NMT_TEACHER = paths.pattern("nmt", role="teachers")
NMT_STUDENT = paths.pattern("nmt", role="students")


rule nmt_prepare:
    """Moses tokenisation, lowercasing, cleaning, splits and joint BPE codes."""
    output:
        tok=expand(f"{NMT}/corpus/{{split}}.{{lang}}", split=SPLITS, lang=LANGS),
        codes=f"{NMT}/corpus/codes.txt",
        info=f"{NMT}/corpus/corpus.json",
    log:
        "results/logs/nmt/prepare.log",
    benchmark:
        "results/benchmarks/nmt_prepare.tsv"
    conda:
        "../../envs/lskd.yaml"
    params:
        code=arguments.code("nmt-prepare"),
        spec=arguments.as_json(config["nmt"]["corpus"]),
        merges=config["nmt"]["bpe_merges"],
        out=paths.folder,
    shell:
        "python -m lskd nmt-prepare --spec {params.spec:q} --merges {params.merges}"
        " --out {params.out:q} > {log:q} 2>&1"


rule nmt_binarize:
    """BPE-encode the splits and build fairseq's binary dataset (fairseq-preprocess)."""
    input:
        rules.nmt_prepare.output.tok,
        codes=rules.nmt_prepare.output.codes,
    output:
        directory(f"{NMT}/data-bin"),
    log:
        "results/logs/nmt/binarize.log",
    benchmark:
        "results/benchmarks/nmt_binarize.tsv"
    conda:
        "../../envs/lskd.yaml"
    threads: config["threads"]
    params:
        code=arguments.code("nmt-binarize"),
        tok=lambda wc, input: os.path.dirname(input.codes),
    shell:
        "python -m lskd nmt-binarize --codes {input.codes:q} --tok {params.tok:q} --out {output:q}"
        " --threads {threads} > {log:q} 2>&1"


rule nmt_teacher:
    """fairseq-train a teacher with label smoothing; BLEU on valid after each epoch."""
    input:
        data_bin=rules.nmt_binarize.output,
    output:
        model=f"{NMT_TEACHER}/model.pt",
        curve=f"{NMT_TEACHER}/curve.csv",
        final=f"{NMT_TEACHER}/final.json",
    log:
        "results/logs/nmt/teachers/{teacher}_seed{seed}.log",
    benchmark:
        "results/benchmarks/nmt_teacher/{teacher}_seed{seed}.tsv"
    conda:
        "../../envs/lskd.yaml"
    threads: config["threads"]
    resources:
        **arguments.resources(config, "nmt"),
    params:
        code=arguments.code("nmt-train"),
        tensorboard=arguments.tensorboard_flag(config),
        model=arguments.as_json(config["nmt"]["model"]),
        train=arguments.as_json(config["nmt"]["train"]),
        objective=lambda wc: arguments.objective_json(
            config, wc.teacher, "nmt_teachers"
        ),
        meta=lambda wc: arguments.nmt_meta(config, "teacher", wc.teacher, int(wc.seed)),
        out=paths.folder,
    shell:
        "python -m lskd nmt-train --data-bin {input.data_bin:q} --out {params.out:q}"
        " --model {params.model:q} --train {params.train:q} --objective {params.objective:q}"
        " --seed {wildcards.seed} --meta {params.meta:q} {params.tensorboard} --threads {threads}"
        " > {log:q} 2>&1"


rule nmt_export_topk:
    """The teacher's top-k soft labels on every training sentence, computed once."""
    input:
        teacher=rules.nmt_teacher.output.model,
        data_bin=rules.nmt_binarize.output,
    output:
        f"{NMT_TEACHER}/{paths.NMT_TOPK}",
    log:
        "results/logs/nmt/teachers/{teacher}_seed{seed}_topk.log",
    benchmark:
        "results/benchmarks/nmt_export_topk/{teacher}_seed{seed}.tsv"
    conda:
        "../../envs/lskd.yaml"
    threads: config["threads"]
    resources:
        **arguments.resources(config, "evaluate"),
    params:
        code=arguments.code("nmt-export-topk"),
        objective=lambda wc: arguments.objective_json(
            config, wc.teacher, "nmt_students"
        ),
    shell:
        "python -m lskd nmt-export-topk --teacher {input.teacher:q} --data-bin {input.data_bin:q}"
        " --objective {params.objective:q} --out {output:q}"
        " --threads {threads} > {log:q} 2>&1"


rule nmt_student:
    """fairseq-train a student of a teacher with the word_kd criterion."""
    input:
        unpack(lambda wc: paths.nmt_student_inputs(config, wc.teacher, int(wc.seed))),
    output:
        model=f"{NMT_STUDENT}/model.pt",
        curve=f"{NMT_STUDENT}/curve.csv",
        final=f"{NMT_STUDENT}/final.json",
    log:
        "results/logs/nmt/students/{teacher}_seed{seed}.log",
    benchmark:
        "results/benchmarks/nmt_student/{teacher}_seed{seed}.tsv"
    conda:
        "../../envs/lskd.yaml"
    threads: config["threads"]
    resources:
        **arguments.resources(config, "nmt"),
    params:
        code=arguments.code("nmt-train"),
        tensorboard=arguments.tensorboard_flag(config),
        model=arguments.as_json(config["nmt"]["model"]),
        train=arguments.as_json(config["nmt"]["train"]),
        objective=lambda wc: arguments.objective_json(
            config, wc.teacher, "nmt_students"
        ),
        source=lambda wc, input: (
            ["--topk-file", input.topk]
            if "topk" in input.keys()
            else ["--teacher", input.teacher]
        ),
        meta=lambda wc: arguments.nmt_meta(config, "student", wc.teacher, int(wc.seed)),
        out=paths.folder,
    shell:
        "python -m lskd nmt-train --data-bin {input.data_bin:q} --out {params.out:q}"
        " --model {params.model:q} --train {params.train:q} --objective {params.objective:q}"
        " {params.source:q} --seed {wildcards.seed} --meta {params.meta:q}"
        " {params.tensorboard} --threads {threads} > {log:q} 2>&1"


rule nmt_test:
    """BLEU of a teacher or student on the test split (fairseq-generate, beam search)."""
    input:
        model=f"{paths.pattern('nmt')}/model.pt",
        data_bin=rules.nmt_binarize.output,
    output:
        bleu=f"{paths.pattern('nmt')}/test.json",
        generated=f"{paths.pattern('nmt')}/test.generate.txt",
    log:
        "results/logs/nmt/{role}/{teacher}_seed{seed}_test.log",
    benchmark:
        "results/benchmarks/nmt_test/{role}/{teacher}_seed{seed}.tsv"
    wildcard_constraints:
        role="teachers|students",
    conda:
        "../../envs/lskd.yaml"
    threads: config["threads"]
    resources:
        **arguments.resources(config, "evaluate"),
    params:
        code=arguments.code("nmt-test"),
        beam=config["nmt"]["train"]["beam"],
    shell:
        "python -m lskd nmt-test --data-bin {input.data_bin:q} --model {input.model:q} --beam {params.beam}"
        " --out {output.bleu:q} --threads {threads} > {log:q} 2>&1"
