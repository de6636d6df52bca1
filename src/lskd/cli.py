"""Command-line entry points; every Snakemake rule calls one ``lskd <command>``.

Bad input (a missing dataset, a corrupt checkpoint) ends with one line on stderr and exit code 2.
"""

import argparse
import json
import os
import sys
from pathlib import Path

from lskd.data.errors import CommandFailed, DataError


def _json(text: str):
    return json.loads(text)


def curate(args):
    from lskd.data.manifest import curate

    curate(args.spec, args.out, require_classes=args.require_classes)


def train_teacher(args):
    import torch

    from lskd.losses import LabelSmoothing
    from lskd.train import Recipe, train

    torch.set_num_threads(args.threads)
    recipe = Recipe(**args.recipe)
    train(
        args.data,
        args.out,
        args.arch,
        recipe,
        LabelSmoothing(args.alpha, recipe.cutmix_prob),
        weights=args.weights,
        seed=args.seed,
        stem=args.stem,
        bf16=args.bf16,
        meta=args.meta,
        init_from=args.init_from,
        workers=args.threads,
        tensorboard=not args.no_tensorboard,
    )


def train_student(args):
    import torch

    from lskd import checkpoint, teacher_cache
    from lskd.data.manifest import load_split, read_info
    from lskd.distill import Distillation
    from lskd.inference import load_model
    from lskd.train import Recipe, train

    torch.set_num_threads(args.threads)
    teacher = load_model(args.teacher_model, read_info(args.data))
    cached = None
    if args.teacher_cache:
        n = len(load_split(args.data, "train")[1])
        cached = teacher_cache.load(args.teacher_cache, args.teacher_model, n)
    teacher_final = json.loads(Path(args.teacher_final).read_text())
    meta = {
        **args.meta,
        "teacher_arch": teacher_final["arch"],
        "teacher_recipe": teacher_final.get("recipe"),
        "teacher_alpha": teacher_final["alpha"],
        "teacher_top1": teacher_final["top1"],
        "teacher_top5": teacher_final["top5"],
        "teacher_top3": teacher_final["top3"],
    }
    sha = checkpoint.sha256(args.teacher_model)
    distill = Distillation(teacher, args.lam, args.temperature, cached, teacher_id=sha)
    train(
        args.data,
        args.out,
        args.arch,
        Recipe(**args.recipe),
        distill,
        seed=args.seed,
        stem=args.stem,
        bf16=args.bf16,
        meta=meta,
        init_from=args.init_from,
        workers=args.threads,
        tensorboard=not args.no_tensorboard,
    )


def cache_teacher(args):
    import torch

    from lskd import teacher_cache

    torch.set_num_threads(args.threads)
    teacher_cache.build(args.model, args.data, args.out, bf16=args.bf16)


def evaluate(args):
    import torch

    from lskd.evaluate import evaluate

    torch.set_num_threads(args.threads)
    meta = json.loads(Path(args.final).read_text())
    evaluate(args.model, args.data, args.out, split=args.split, bf16=args.bf16, meta=meta)


def stability_table(args):
    from lskd.paper import stability_tables

    stability_tables.write(args.evals, args.table, args.out, args.infos)


def kd_table(args):
    from lskd.paper import kd_tables

    kd_tables.write(args.finals, args.table, args.out, args.infos)


def kd_figure(args):
    from lskd.paper import kd_figures

    getattr(kd_figures, args.figure)(args.finals, args.out)


def features(args):
    import torch

    from lskd.features import export

    torch.set_num_threads(args.threads)
    export(args.model, args.data, args.out, args.classes, args.per_class, bf16=args.bf16)


def figure(args):
    from lskd.paper import fig1, fig2, fig3

    if args.figure == "fig1":
        fig1.plot(args.without_ls, args.with_ls, args.out, args.distances)
    else:
        {"fig2": fig2, "fig3": fig3}[args.figure].plot(args.out)


def claims(args):
    from lskd.paper import claims, evidence, reference_evidence
    from lskd.paper.results import reference_dir

    if args.reference is not None:  # the same checks on the paper's own tables
        ev = reference_evidence.load_reference(args.reference or reference_dir())
    else:
        ev = evidence.load_run(
            args.teachers, args.students, args.bnn, args.infos, args.fig1_distances,
            args.fig1_features, args.nmt,
        )  # fmt: skip
    margin = {"top1": args.margin_top1, "bleu": args.margin_bleu}
    claims.write(ev, args.out, {k: v for k, v in margin.items() if v is not None})


def bnn_paper(args):
    from lskd.paper import bnn

    bnn.write(args.finals, args.figure, args.table, args.infos)


def dataset_table(args):
    from lskd.paper import dataset_tables

    if args.table == "fig9":
        from lskd.paper.results import read_jsons

        infos = dataset_tables.read_infos(args.infos)
        dataset_tables.fig9(read_jsons(args.evals), infos, args.out)
    else:
        dataset_tables.write(
            args.table,
            args.out,
            evals=args.evals,
            infos=args.infos,
            finals=args.finals,
            dataset_dirs=args.dataset_dirs,
        )


def fig4(args):
    from lskd.paper import fig4

    fig4.plot(args.without_ls, args.with_ls, args.out, title=args.title)


def nmt_prepare(args):
    from lskd.nmt.prepare import prepare

    print(json.dumps(prepare(args.spec, args.merges, args.out)))


def nmt_binarize(args):
    from lskd.nmt.runs import binarize

    binarize(args.codes, args.tok, args.out, args.threads)


def nmt_train(args):
    """One fairseq-train run: a teacher (label smoothing) or a word-KD student."""
    from lskd.nmt import runs

    cmd = runs.train_command(
        args.data_bin, f"{args.out}/fairseq", args.model, args.train, args.seed
    )
    kd = args.kd if (args.teacher or args.topk_file) else None
    cmd += runs.criterion_args(args.label_smoothing, kd, args.teacher, args.topk_file)
    if args.teacher:  # online: fail here, in one line, rather than inside fairseq-train
        from lskd.nmt.teacher import load_teacher

        load_teacher(args.teacher, data=args.data_bin)
    runs.train(args.out, cmd, args.meta, args.threads, tensorboard=not args.no_tensorboard)


def nmt_export_topk(args):
    import torch

    from lskd.nmt.teacher import export

    torch.set_num_threads(args.threads)
    export(args.teacher, args.data_bin, args.out, args.k, args.temperature)


def nmt_test(args):
    from lskd.nmt.runs import test_bleu

    print(json.dumps(test_bleu(args.data_bin, args.model, args.out, args.beam, args.threads)))


def nmt_paper(args):
    from lskd.paper import nmt

    nmt.fig7(args.finals, args.figure)
    nmt.table(args.finals, args.table)


NO_TENSORBOARD_HELP = "write no TensorBoard event files (config key tensorboard: false)"


def environment(args):
    from lskd.paper import environment

    environment.write(args.records, args.out)


def cost(args):
    from lskd.paper import cost

    cost.write(args.benchmarks, args.table, args.figure)


def _training_arguments(p: argparse.ArgumentParser) -> None:
    """The arguments every training command takes."""
    p.add_argument("--data", required=True, help="curated dataset folder")
    p.add_argument("--out", required=True)
    p.add_argument("--arch", required=True)
    p.add_argument("--recipe", type=_json, required=True, help="recipe (JSON)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--stem", default="imagenet")
    p.add_argument("--bf16", action="store_true")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--meta", type=_json, default={}, help="fields copied into final.json")
    p.add_argument("--init-from", help="start from this model.pt (fine-tuning; ReActNet step 2)")
    p.add_argument("--no-tensorboard", action="store_true", help=NO_TENSORBOARD_HELP)


def _figure_and_table(sub, name: str, help: str, runs: str, func) -> argparse.ArgumentParser:
    """A command that turns runs' final.json files into one figure and one table."""
    p = sub.add_parser(name, help=help)
    p.add_argument("--finals", nargs="+", required=True, help=f"{runs} final.json files")
    p.add_argument("--figure", required=True, help="figure stem (writes .png, .pdf)")
    p.add_argument("--table", required=True, help="table stem (writes .csv, .md, .tex)")
    p.set_defaults(func=func)
    return p


# the paper's numbers stand beside a dataset's results only where it matches the paper's dataset
INFOS_HELP = "datasets' dataset.json files (without them, no paper values are shown)"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lskd", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("curate", help="write manifest.csv + dataset.json for one dataset")
    c.add_argument("--spec", type=_json, required=True, help="the dataset's config entry (JSON)")
    c.add_argument("--out", required=True)
    c.add_argument(
        "--require-classes", nargs="+", default=(), help="class names it must have (Figure 1's)"
    )
    c.set_defaults(func=curate)

    t = sub.add_parser("train-teacher", help="train one teacher with Eq. 1 label smoothing")
    _training_arguments(t)
    t.add_argument("--alpha", type=float, default=0.0)
    t.add_argument(
        "--weights",
        choices=["torchvision"],
        help="torchvision's released ImageNet model: validated as a finished teacher, not trained",
    )
    t.set_defaults(func=train_teacher)

    st = sub.add_parser("train-student", help="distill a student from a frozen teacher (Eq. 4)")
    _training_arguments(st)
    st.add_argument("--teacher-model", required=True, help="the teacher's model.pt")
    st.add_argument("--teacher-final", required=True, help="the teacher's final.json")
    st.add_argument("--teacher-cache", help="cached teacher logits (then no augmentation)")
    st.add_argument("--lam", type=float, default=0.0, help="weight of the hard-label term")
    st.add_argument("--temperature", type=float, default=1.0)
    st.set_defaults(func=train_student)

    ct = sub.add_parser("cache-teacher", help="teacher logits on the unaugmented train split")
    ct.add_argument("--model", required=True)
    ct.add_argument("--data", required=True)
    ct.add_argument("--out", required=True)
    ct.add_argument("--bf16", action="store_true")
    ct.add_argument("--threads", type=int, default=os.cpu_count())
    ct.set_defaults(func=cache_teacher)

    e = sub.add_parser("evaluate", help="accuracy, stability metrics, class-mean probabilities")
    e.add_argument("--model", required=True)
    e.add_argument("--final", required=True, help="the run's final.json (its metadata is kept)")
    e.add_argument("--data", required=True)
    e.add_argument("--out", required=True)
    e.add_argument("--split", default="val")
    e.add_argument("--bf16", action="store_true")
    e.add_argument("--threads", type=int, default=os.cpu_count())
    e.set_defaults(func=evaluate)

    s = sub.add_parser("stability-table", help="Table 1 (intra-class) or Table 10 (inter-class)")
    s.add_argument("--table", choices=["table1", "table10"], required=True)
    s.add_argument("--evals", nargs="+", required=True, help="eval.json files")
    s.add_argument("--infos", nargs="*", default=[], help=INFOS_HELP)
    s.add_argument("--out", required=True, help="output stem (writes .csv, .md, .tex)")
    s.set_defaults(func=stability_table)

    k = sub.add_parser("kd-table", help="Tables 2, 7, 8, 9 or the temperature sweep")
    k.add_argument(
        "--table", choices=["table2", "table7", "table8", "table9", "temperature"], required=True
    )
    k.add_argument("--finals", nargs="+", required=True, help="the students' final.json files")
    k.add_argument("--infos", nargs="*", default=[], help=INFOS_HELP)
    k.add_argument("--out", required=True, help="output stem (writes .csv, .md, .tex)")
    k.set_defaults(func=kd_table)

    kf = sub.add_parser("kd-figure", help="Figure 5 (KD curves) or Figure 8 (teacher vs student)")
    kf.add_argument("--figure", choices=["fig5", "fig8"], required=True)
    kf.add_argument("--finals", nargs="+", required=True, help="the students' final.json files")
    kf.add_argument("--out", required=True, help="output stem (writes .png, .pdf)")
    kf.set_defaults(func=kd_figure)

    fe = sub.add_parser("features", help="penultimate activations of chosen classes (Fig. 1)")
    fe.add_argument("--model", required=True)
    fe.add_argument("--data", required=True)
    fe.add_argument("--classes", nargs=3, required=True, help="similar, similar, different")
    fe.add_argument("--per-class", type=int, default=200)
    fe.add_argument("--out", required=True, help="the .npz file")
    fe.add_argument("--bf16", action="store_true")
    fe.add_argument("--threads", type=int, default=os.cpu_count())
    fe.set_defaults(func=features)

    fg = sub.add_parser("figure", help="Figure 1 (projection), 2 (diagram) or 3 (loss curves)")
    fg.add_argument("--figure", choices=["fig1", "fig2", "fig3"], required=True)
    fg.add_argument("--without-ls", help="fig1: penultimate.npz of the teacher without LS")
    fg.add_argument("--with-ls", help="fig1: penultimate.npz of the teacher with LS")
    fg.add_argument("--distances", help="fig1: CSV of the cluster distances D1, D2, Dc")
    fg.add_argument("--out", required=True, help="output stem (writes .png, .pdf)")
    fg.set_defaults(func=figure)

    cl = sub.add_parser("claims", help="CLAIMS.md: the paper's claims (a)-(m), checked")
    cl.add_argument("--reference", nargs="?", const="", help="check the CSV tables in this "
                    "folder (the format of lskd/paper/reference/; none given: those) instead of "
                    "a run's files")  # fmt: skip
    cl.add_argument("--teachers", nargs="*", default=[], help="teachers' eval/eval.json")
    cl.add_argument("--students", nargs="*", default=[], help="students' eval/eval.json")
    cl.add_argument("--bnn", nargs="*", default=[], help="ReActNet step-2 eval/eval.json")
    cl.add_argument("--infos", nargs="*", default=[], help="datasets' dataset.json")
    cl.add_argument("--fig1-distances", help="results/tables/fig1_distances.csv")
    cl.add_argument("--fig1-features", nargs="*", default=[], help="penultimate.npz w/o, w/ LS")
    cl.add_argument("--nmt", nargs="*", default=[], help="NMT runs' final.json")
    cl.add_argument("--margin-top1", type=float, help="non-inferiority margin, top-1 points")
    cl.add_argument("--margin-bleu", type=float, help="non-inferiority margin, BLEU points")
    cl.add_argument("--out", required=True)
    cl.set_defaults(func=claims)

    bp = _figure_and_table(sub, "bnn-paper", "Figure 6 and the BNN table", "ReActNet", bnn_paper)
    bp.add_argument("--infos", nargs="*", default=[], help=INFOS_HELP)

    dt = sub.add_parser("dataset-table", help="Tables 3-6 and Figure 9 (long tail, #classes)")
    dt.add_argument(
        "--table", choices=["table3", "table4", "table5", "table6", "fig9"], required=True
    )
    dt.add_argument("--evals", nargs="*", default=[], help="teachers' eval.json files")
    dt.add_argument("--infos", nargs="*", default=[], help="datasets' dataset.json files")
    dt.add_argument("--finals", nargs="*", default=[], help="students' final.json files")
    dt.add_argument("--dataset-dirs", nargs="*", default=[], help="curated dataset folders")
    dt.add_argument("--out", required=True, help="output stem")
    dt.set_defaults(func=dataset_table)

    f = sub.add_parser("fig4", help="Figure 4: class-mean probabilities without/with LS")
    f.add_argument("--without-ls", nargs="+", required=True, help="class_mean_probs.csv files")
    f.add_argument("--with-ls", nargs="+", required=True, help="class_mean_probs.csv files")
    f.add_argument("--title", default="")
    f.add_argument("--out", required=True, help="output stem (writes .png, .pdf)")
    f.set_defaults(func=fig4)
    n = sub.add_parser("nmt-prepare", help="tokenise, clean, split and learn BPE (NMT)")
    n.add_argument("--spec", type=_json, required=True, help="the nmt.corpus entry (JSON)")
    n.add_argument("--merges", type=int, required=True, help="BPE merge operations")
    n.add_argument("--out", required=True)
    n.set_defaults(func=nmt_prepare)

    nb = sub.add_parser("nmt-binarize", help="apply BPE, then fairseq-preprocess")
    nb.add_argument("--codes", required=True)
    nb.add_argument("--tok", required=True, help="folder of tokenised {train,valid,test}.{de,en}")
    nb.add_argument("--out", required=True)
    nb.add_argument("--threads", type=int, default=1)
    nb.set_defaults(func=nmt_binarize)

    nt = sub.add_parser("nmt-train", help="fairseq-train a teacher, or a student with word_kd")
    nt.add_argument("--data-bin", required=True)
    nt.add_argument("--out", required=True)
    nt.add_argument("--model", type=_json, required=True, help="nmt.model (JSON)")
    nt.add_argument("--train", type=_json, required=True, help="nmt.train (JSON)")
    nt.add_argument(
        "--label-smoothing", type=float, required=True, help="label smoothing on the reference"
    )
    nt.add_argument("--kd", type=_json, help="nmt.kd (JSON), for a student")
    nt.add_argument("--teacher", help="student: the teacher's model.pt, run online")
    nt.add_argument("--topk-file", help="student: the teacher's exported top-k")
    nt.add_argument("--seed", type=int, default=0)
    nt.add_argument("--meta", type=_json, default={}, help="fields copied into final.json")
    nt.add_argument("--threads", type=int, default=os.cpu_count())
    nt.add_argument("--no-tensorboard", action="store_true", help=NO_TENSORBOARD_HELP)
    nt.set_defaults(func=nmt_train)

    ne = sub.add_parser("nmt-export-topk", help="the teacher's top-k on the training set")
    ne.add_argument("--teacher", required=True)
    ne.add_argument("--data-bin", required=True)
    ne.add_argument("--k", type=int, required=True)
    ne.add_argument("--temperature", type=float, default=1.0)
    ne.add_argument("--out", required=True)
    ne.add_argument("--threads", type=int, default=os.cpu_count())
    ne.set_defaults(func=nmt_export_topk)

    ng = sub.add_parser("nmt-test", help="fairseq-generate on the test split: BLEU")
    ng.add_argument("--data-bin", required=True)
    ng.add_argument("--model", required=True)
    ng.add_argument("--beam", type=int, default=5)
    ng.add_argument("--out", required=True, help="test.json")
    ng.add_argument("--threads", type=int, default=os.cpu_count())
    ng.set_defaults(func=nmt_test)

    _figure_and_table(sub, "nmt-paper", "Figure 7 and the NMT table", "NMT runs'", nmt_paper)

    en = sub.add_parser("environment", help="the records' provenance, and where they disagree")
    en.add_argument("--records", nargs="+", required=True,
                    help="final.json, eval.json, NMT final.json and test.json files")  # fmt: skip
    en.add_argument("--out", required=True, help="output stem (writes .md, .csv)")
    en.set_defaults(func=environment)

    co = sub.add_parser("cost", help="wall time and peak memory per rule group (benchmarks)")
    co.add_argument("--benchmarks", nargs="+", required=True,
                    help="results/benchmarks/<rule>/<wildcards>.tsv files")  # fmt: skip
    co.add_argument("--table", required=True, help="table stem (writes .csv, .md, .tex)")
    co.add_argument("--figure", required=True, help="figure stem (writes .png, .pdf)")
    co.set_defaults(func=cost)
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        args.func(args)
    except (DataError, CommandFailed, ValueError) as err:
        print(f"lskd {args.command}: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a full disk, a folder that cannot be written
        print(f"lskd {args.command}: error: {err.filename}: {err.strerror}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
