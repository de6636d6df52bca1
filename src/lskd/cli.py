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


def train(args):
    """One image run: its objective (``--objective``, lskd.objectives) is a teacher's or a
    student's; the teacher files are a distillation objective's."""
    import torch

    from lskd import objectives
    from lskd.recipe import Recipe
    from lskd.train import train as run

    torch.set_num_threads(args.threads)
    recipe = Recipe(**args.recipe)
    objective = objectives.parse(args.objective)
    teacher = [Path(p) if p else None for p in (args.teacher_model, args.teacher_final)]
    logits = Path(args.teacher_logits) if args.teacher_logits else None
    objective.prepare(objectives.Sources(recipe.cutmix_prob, Path(args.data), *teacher, logits))
    run(
        args.data,
        args.out,
        args.arch,
        recipe,
        objective,
        weights=args.weights,
        weights_dir=args.weights_dir,
        seed=args.seed,
        stem=args.stem,
        precision=args.precision,
        probe_cache=args.probe_cache,
        meta=args.meta,
        init_from=args.init_from,
        workers=args.threads,
        tensorboard=not args.no_tensorboard,
    )


def teacher_logits(args):
    import torch

    from lskd import teacher_logits

    torch.set_num_threads(args.threads)
    teacher_logits.build(args.model, args.data, args.out, args.precision, args.probe_cache)


def evaluate(args):
    import torch

    from lskd.evaluate import evaluate

    torch.set_num_threads(args.threads)
    meta = json.loads(Path(args.final).read_text())
    evaluate(args.model, args.data, args.out, args.split, args.precision, meta,
             probe_cache=args.probe_cache)  # fmt: skip


def features(args):
    import torch

    from lskd.features import export

    torch.set_num_threads(args.threads)
    export(
        args.model, args.data, args.out, args.classes, args.per_class, args.precision,
        args.probe_cache,
    )  # fmt: skip


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
    claims.write(ev, args.out, args.settings)


def nmt_prepare(args):
    from lskd.nmt.prepare import prepare

    print(json.dumps(prepare(args.spec, args.merges, args.out)))


def nmt_binarize(args):
    from lskd.nmt.runs import binarize

    binarize(args.codes, args.tok, args.out, args.threads)


def nmt_train(args):
    """One fairseq-train run: a teacher (label smoothing) or a word-KD student (distillation)."""
    from lskd.nmt import runs

    cmd = runs.train_command(
        args.data_bin, f"{args.out}/fairseq", args.model, args.train, args.seed
    )
    cmd += runs.criterion_args(args.objective, args.teacher, args.topk_file)
    if args.teacher:  # online: fail here, in one line, rather than inside fairseq-train
        from lskd.nmt.teacher import load_teacher

        load_teacher(args.teacher, data=args.data_bin)
    fp16 = args.train.get("fp16", False)  # the record says so where it could not be honoured
    runs.train(args.out, cmd, args.meta, args.threads, not args.no_tensorboard, fp16)


def nmt_export_topk(args):
    import torch

    from lskd.nmt.teacher import export

    torch.set_num_threads(args.threads)
    node = args.objective  # the student's: its top-k at its temperature
    export(args.teacher, args.data_bin, args.out, node["topk"], node["temperature"])


def nmt_test(args):
    from lskd.nmt.runs import test_bleu

    print(json.dumps(test_bleu(args.data_bin, args.model, args.out, args.beam, args.threads)))


NO_TENSORBOARD_HELP = "write no TensorBoard event files (config key tensorboard: false)"


def fetch_weights(args):
    import yaml

    from lskd.models.released import fetch

    config = yaml.safe_load(Path(args.configfile).read_text())
    for path in fetch(config):
        print(path)


def plan(args):
    from lskd.plan import LOADER_RATE, main

    main(args.configfile, args.throughput, args.loader_rate or LOADER_RATE, args.out)


def environment(args):
    from lskd.paper import environment

    environment.write(args.records, args.out)


def paper(args):
    """One table or figure of lskd/paper/outputs.py, which parses its arguments: the parser
    below does not import it, so that adding an output leaves other commands' code unchanged."""
    from lskd.paper import outputs

    outputs.main(args.kind, args.rest)


def _training_arguments(p: argparse.ArgumentParser) -> None:
    """The arguments every training command takes."""
    p.add_argument("--data", required=True, help="curated dataset folder")
    p.add_argument("--out", required=True)
    p.add_argument("--arch", required=True)
    p.add_argument("--recipe", type=_json, required=True, help="recipe (JSON)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--stem", default="imagenet")
    _precision_arguments(p)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--meta", type=_json, default={}, help="fields copied into final.json")
    p.add_argument("--init-from", help="start from this model.pt (fine-tuning; ReActNet step 2)")
    p.add_argument("--no-tensorboard", action="store_true", help=NO_TENSORBOARD_HELP)


def _precision_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--precision", default="auto", help="auto (the fastest the machine runs "
                   "natively, measured), bf16, fp16 or fp32: lskd.precision")  # fmt: skip
    p.add_argument("--probe-cache", help="JSON file of auto's measurements, shared by jobs "
                   "(the workflow's results/hardware.json); none: measure in this job")  # fmt: skip


def _inference_arguments(p: argparse.ArgumentParser, out_help: str | None = None) -> None:
    """The arguments every command that runs a trained model takes."""
    p.add_argument("--model", required=True, help="the run's model.pt")
    p.add_argument("--data", required=True, help="curated dataset folder")
    p.add_argument("--out", required=True, help=out_help)
    _precision_arguments(p)
    p.add_argument("--threads", type=int, default=os.cpu_count())


def _image_commands(sub) -> None:
    """Curation, training, and the commands that run a trained image model."""
    c = sub.add_parser("curate", help="write manifest.csv + dataset.json for one dataset")
    c.add_argument("--spec", type=_json, required=True, help="the dataset's config entry (JSON)")
    c.add_argument("--out", required=True)
    c.add_argument(
        "--require-classes", nargs="+", default=(), help="class names it must have (Figure 1's)"
    )
    c.set_defaults(func=curate)

    t = sub.add_parser("train", help="train one model: a teacher (label smoothing, Eq. 1) or a "
                       "student distilled from a frozen teacher (Eq. 4)")  # fmt: skip
    _training_arguments(t)
    t.add_argument("--objective", type=_json, required=True,
                   help="the run's objective node (JSON): lskd.objectives")  # fmt: skip
    t.add_argument(
        "--weights",
        choices=["torchvision"],
        help="torchvision's released ImageNet model: validated as a finished teacher, not trained",
    )
    t.add_argument("--weights-dir", help="folder of the released weight files (config key "
                   "torchvision_weights); default: torch.hub's cache")  # fmt: skip
    t.add_argument("--teacher-model", help="distillation: the teacher's model.pt")
    t.add_argument("--teacher-final", help="distillation: the teacher's final.json")
    t.add_argument("--teacher-logits", help="distillation with teacher_logits cached: the file "
                   "of lskd teacher-logits")  # fmt: skip
    t.set_defaults(func=train)

    ct = sub.add_parser("teacher-logits", help="a teacher's logits on the unaugmented train split")
    _inference_arguments(ct)
    ct.set_defaults(func=teacher_logits)

    e = sub.add_parser("evaluate", help="accuracy, stability metrics, class-mean probabilities")
    _inference_arguments(e)
    e.add_argument("--final", required=True, help="the run's final.json (its metadata is kept)")
    e.add_argument("--split", default="val")
    e.set_defaults(func=evaluate)

    fe = sub.add_parser("features", help="penultimate activations of chosen classes (Fig. 1)")
    _inference_arguments(fe, "the .npz file")
    fe.add_argument("--classes", nargs=3, required=True, help="similar, similar, different")
    fe.add_argument("--per-class", type=int, default=200)
    fe.set_defaults(func=features)


def _nmt_commands(sub) -> None:
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
    nt.add_argument("--objective", type=_json, required=True, help="the run's objective node "
                    "(JSON): a teacher's label_smoothing, a student's distillation")  # fmt: skip
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
    ne.add_argument("--objective", type=_json, required=True,
                    help="the students' objective node (JSON): its topk, temperature")  # fmt: skip
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


def _setup_commands(sub) -> None:
    fw = sub.add_parser("fetch-weights", help="download torchvision's released weights that a "
                        "config's teachers use, once, on a node with internet")  # fmt: skip
    fw.add_argument("--configfile", required=True, help="e.g. configs/paper.yaml")
    fw.set_defaults(func=fetch_weights)

    pl = sub.add_parser("plan", help="the bill before the run: jobs, image passes, FLOPs and "
                        "GPU-hours per rule group, and jobs over their time limit")  # fmt: skip
    pl.add_argument("--configfile", required=True, help="e.g. configs/paper.yaml")
    pl.add_argument("--throughput", help="images/s per architecture on your GPU (the JSON of "
                    "benchmarks/gpu_throughput.py); none: scaled from ResNet-50's")  # fmt: skip
    pl.add_argument("--loader-rate", type=float,
                    help="images/s one loader worker decodes (default 150)")  # fmt: skip
    pl.add_argument("--out", help="also write this Markdown file (and the jobs beside, .csv)")
    pl.set_defaults(func=plan)


def _report_commands(sub) -> None:
    """The paper's tables and figures, its claims checked, and the records' provenance."""
    pp = sub.add_parser("paper", help="one table or figure declared in lskd/paper/outputs.py")
    pp.add_argument("kind", choices=["table", "figure"])
    pp.add_argument("rest", nargs=argparse.REMAINDER,
                    help="its name, --out and its inputs ('lskd paper table --help')")  # fmt: skip
    pp.set_defaults(func=paper)

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
    cl.add_argument("--settings", type=_json, help="the config's `claims` node (JSON): margins "
                    "with their reasons, competence floors; default: the schema's")  # fmt: skip
    cl.add_argument("--out", required=True)
    cl.set_defaults(func=claims)

    en = sub.add_parser("environment", help="the records' provenance, and where they disagree")
    en.add_argument("--records", nargs="+", required=True,
                    help="final.json, eval.json, NMT final.json and test.json files")  # fmt: skip
    en.add_argument("--out", required=True, help="output stem (writes .md, .csv)")
    en.set_defaults(func=environment)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lskd", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    for add_commands in (_image_commands, _nmt_commands, _report_commands, _setup_commands):
        add_commands(sub)
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
