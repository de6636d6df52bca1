"""Every table and figure the workflow writes, declared once.

An entry (``Output``) names the output, the inputs it reads (fields of ``Inputs``), its builder
and its caption. Everything else comes from these entries: the workflow's targets and the
``table``/``figure`` rules' wildcards and inputs (``lskd.workflow.targets``), ``lskd paper``'s
choices and arguments (``main``), the tables' Markdown/LaTeX captions and the report's captions
(workflow/report/table.rst and figure.rst show a rule's ``caption`` param).

A builder is a function of an ``Inputs`` in a module of ``lskd.paper``: a table's returns
(numbers, shown), the rows written to the CSV and the formatted ones written to Markdown and
LaTeX; a figure's returns a matplotlib figure. Entries name it as ``"module:function"``, so
that the workflow reads this file without importing matplotlib, and a rule param holds the
fingerprint of the builder's module alone: an edit to one builder reruns the outputs it builds.

Adding a table: one entry in OUTPUTS, one builder function. A new kind of input: a field of
``Inputs`` and its files in ``lskd.workflow.targets.PAPER_INPUTS``.
"""

import argparse
import dataclasses
import importlib
from dataclasses import dataclass, field
from pathlib import Path

TABLE, FIGURE = "table", "figure"
FOLDERS = {TABLE: "results/tables", FIGURE: "results/figures"}
SUFFIXES = {TABLE: (".csv", ".md", ".tex"), FIGURE: (".png", ".pdf")}


def _files(help: str):
    return field(default=(), metadata={"help": help})


@dataclass(frozen=True)
class Inputs:
    """What an output may read: each field a tuple of file paths, in the workflow's order."""

    teacher_evals: tuple = _files("teachers' eval/eval.json, every teacher and seed")
    student_finals: tuple = _files("students' final.json (metrics.csv beside them)")
    bnn_finals: tuple = _files("ReActNet steps' final.json (metrics.csv beside them)")
    nmt_finals: tuple = _files("NMT runs' final.json (curve.csv beside them)")
    nmt_tests: tuple = _files("NMT runs' test.json, in nmt_finals' order")
    infos: tuple = _files("datasets' dataset.json (no paper values are shown without them)")
    manifests: tuple = _files("datasets' manifest.csv, in infos' order")
    fig1_without_ls: tuple = _files("penultimate.npz of Figure 1's teacher without LS")
    fig1_with_ls: tuple = _files("penultimate.npz of Figure 1's teacher with LS")
    fig4_without_ls: tuple = _files("class_mean_probs.csv of Figure 4's teacher without LS")
    fig4_with_ls: tuple = _files("class_mean_probs.csv of Figure 4's teacher with LS")
    benchmarks: tuple = _files("results/benchmarks/<rule>/<wildcards>.tsv of every other job")


INPUT_NAMES = tuple(f.name for f in dataclasses.fields(Inputs))


@dataclass(frozen=True)
class Output:
    kind: str  # TABLE or FIGURE
    name: str  # the file stem under results/tables/ or results/figures/
    builder: str  # "module:function" in lskd.paper
    inputs: tuple[str, ...]  # fields of Inputs
    caption: str
    rule: str = ""  # the rule that builds it, when not its kind's own rule (`table`, `figure`)

    @property
    def stem(self) -> str:
        return f"{FOLDERS[self.kind]}/{self.name}"

    @property
    def files(self) -> list[str]:
        return [self.stem + suffix for suffix in SUFFIXES[self.kind]]

    @property
    def module(self) -> str:
        return "lskd.paper." + self.builder.partition(":")[0]

    def build(self, inputs: Inputs):
        module, _, function = self.builder.partition(":")
        return getattr(importlib.import_module(f"lskd.paper.{module}"), function)(inputs)


STUDENTS = ("student_finals", "infos")
TEACHERS = ("teacher_evals", "infos")
FIG1 = ("fig1_without_ls", "fig1_with_ls")
COST = "cost"  # the cost rule reads every other job's benchmark file, so it has none of its own

OUTPUTS = (
    Output(TABLE, "table1", "stability_tables:table1", TEACHERS,
           "Accuracy and intra-class variance (1 - S_stability, Algorithm 1; lower is better) of "
           "teachers without and with label smoothing; paper: ImageNet-1K."),
    Output(TABLE, "table10", "stability_tables:table10", TEACHERS,
           "Accuracy and inter-class variance (1 - S^inter_stability, Eq. 5; lower is better) of "
           "teachers without and with label smoothing; paper: ImageNet-1K."),
    Output(TABLE, "table2", "kd_tables:table2", STUDENTS,
           "Students distilled with soft labels only (Eq. 4, T = 1) from ResNet-50 teachers (the "
           "largest teacher architecture where there is no ResNet-50) without and with LS (✔); "
           "paper: ImageNet-1K."),
    Output(TABLE, "table7", "kd_tables:table7", STUDENTS,
           "Students distilled with soft labels only (Eq. 4, T = 1) from every configured "
           "teacher without and with LS (✔); paper: ImageNet-1K (Table 7)."),
    Output(TABLE, "table8", "kd_tables:table8", STUDENTS,
           "The same student from teachers of increasing quality (Eq. 4, T = 1), sorted by "
           "teacher top-1; paper: ImageNet-1K (Table 8)."),
    Output(TABLE, "table9", "kd_tables:table9", STUDENTS,
           "Hard/soft mixtures λ·H(p_S, y) + (1 − λ)·H(p_S, p_T) (Appendix E) from teachers "
           "without and with LS; paper: ResNet-50 → ResNet-18 on ImageNet-1K (Table 9)."),
    Output(TABLE, "temperature", "kd_tables:temperature", STUDENTS,
           "Extension: students at several KD temperatures T (soft term × T²) from teachers "
           "without and with LS (cf. Chandrasegaran et al., ICML 2022). Not in the paper."),
    Output(TABLE, "bnn", "bnn:table", ("bnn_finals", "infos"),
           "Binary ReActNet (ResNet-18 backbone) students distilled (Eq. 4) from teachers "
           "without and with LS; best top-1/top-5 of step 2, beside the paper's ImageNet-1K "
           "63.002 % (teacher without LS) and 63.108 % (teacher with LS)."),
    Output(TABLE, "table3", "dataset_tables:table3", TEACHERS,
           "Teachers without and with LS on long-tailed data (Pareto α = 6); paper: the row's "
           "ImageNet-LT, Places-LT or iNaturalist 2019 numbers (Table 3; a long tail cut by "
           "this run stands beside ImageNet-LT's, built the same way)."),
    Output(TABLE, "table4", "dataset_tables:table4", TEACHERS,
           "Teachers without and with LS on class subsets of one dataset, and the mean LS gain "
           "per number of classes; paper: curated ImageNet-100/500/1K (Table 4)."),
    Output(TABLE, "table5", "dataset_tables:table5", ("infos", "manifests"),
           "The datasets of this run, computed from their manifests, and the paper's."),
    Output(TABLE, "table6", "dataset_tables:table6", STUDENTS,
           "Students distilled (Eq. 4) from the long-tailed, inferior teachers; paper: "
           "iNaturalist 2019 (Table 6)."),
    Output(TABLE, "nmt", "nmt:table", ("nmt_finals", "nmt_tests"),
           "NMT (Figure 7's runs): transformer teachers trained without/with label smoothing "
           "and their word-level KD students: best validation BLEU, validation perplexity (at "
           "the best epoch and the last) and test BLEU. The paper shows these runs as curves "
           "only; Vaswani et al. report that LS raises BLEU while making perplexity worse."),
    Output(TABLE, "fig1_distances", "fig1:distances", FIG1,
           "Figure 1's cluster distances in the plane of the three templates: D1 and D2 from "
           "the different class's centre to each similar class's, Dc between the similar "
           "classes, and each cluster's spread."),
    Output(TABLE, COST, "cost:table", ("benchmarks",),
           "What this run cost, from the benchmark file Snakemake writes for every job: jobs, "
           "wall time summed over the jobs of each rule group, the longest job, CPU time and "
           "the peak resident memory of one job (MB; jobs shorter than Snakemake's first "
           "sample have none). The last rows set the sum over all jobs beside the run's wall "
           "clock (the time during which at least one job ran): their ratio is how many jobs "
           "ran side by side. The cost rule's own job is not counted.", rule=COST),
    Output(FIGURE, "fig1", "fig1:figure", FIG1,
           "Figure 1: penultimate-layer activations of two semantically similar classes and "
           "one different class, for the teacher without (left) and with (right) label "
           "smoothing, on training (top) and validation (bottom) images, projected on the "
           "plane through the three class templates (Müller et al., 2019). The cluster "
           "distances are in the table fig1_distances."),
    Output(FIGURE, "fig2", "fig2:figure", (),
           "Figure 2: knowledge distillation and label smoothing both train against a "
           "softened distribution; KD takes it from a frozen teacher per input, LS from a "
           "constant mixture."),
    Output(FIGURE, "fig3", "fig3:figure", (),
           "Figure 3: the label-smoothed logistic loss (K = 2) for several α against the "
           "standard one (dotted); dots mark each curve's finite minimum."),
    Output(FIGURE, "fig4", "fig4:figure", ("fig4_without_ls", "fig4_with_ls"),
           "Figure 4: mean probability distribution per class for a teacher without (green) "
           "and with (red) label smoothing, averaged over seeds. Left: the major probability "
           "of the true class; right: the minor probabilities given to the other classes (log "
           "scale), which a student sees as soft labels."),
    Output(FIGURE, "fig5", "kd_figures:fig5", ("student_finals",),
           "Figure 5: distillation training loss and test top-1 per epoch for a student of a "
           "teacher without (blue) and with (red) label smoothing; the LS teacher's softer "
           "targets give a higher loss."),
    Output(FIGURE, "fig6", "bnn:figure", ("bnn_finals",),
           "Figure 6: a binary ReActNet (ResNet-18 backbone) distilled from a teacher without "
           "and with label smoothing. Left: training and test distillation loss per epoch "
           "(steps 1 and 2 of the two-step training, separated by the dotted line); right: "
           "test error with each student's best top-1/top-5."),
    Output(FIGURE, "fig7", "nmt:figure", ("nmt_finals",),
           "Figure 7: validation BLEU per epoch of German→English transformers. Left: teachers "
           "trained without and with label smoothing; right: the word-level KD student of "
           "each. The paper's claim: LS raises the teacher's BLEU, and its student's too."),
    Output(FIGURE, "fig8", "kd_figures:fig8", ("student_finals",),
           "Figure 8: teacher top-1 against student top-1, this run (left) and the paper's "
           "Table 8 (right)."),
    Output(FIGURE, "fig9", "dataset_tables:fig9", TEACHERS,
           "Figure 9: the accuracy gain of label smoothing (with minus without, mean over the "
           "architectures present at every count) against the number of classes: this run's "
           "class subsets (left), the paper's ImageNet-100/500/1K (right)."),
    Output(FIGURE, COST, "cost:figure", ("benchmarks",),
           "Wall time per rule group summed over its jobs, then the sum over all jobs beside "
           "the run's wall clock (left), and the peak resident memory of one job in each group "
           "(right), from Snakemake's benchmark files (results/benchmarks/).", rule=COST),
)  # fmt: skip


def get(kind: str, name: str) -> Output:
    for output in OUTPUTS:
        if (output.kind, output.name) == (kind, name):
            return output
    known = ", ".join(names(kind))
    raise ValueError(f"no {kind} named {name!r} in lskd/paper/outputs.py ({known})")


def names(kind: str, rule: str | None = None) -> list[str]:
    """The names of every ``kind`` output; with ``rule``, of those that ``rule`` builds (""
    for the kind's own rule)."""
    return [o.name for o in OUTPUTS if o.kind == kind and rule in (None, o.rule)]


def write(output: Output, inputs: Inputs, stem: str | Path) -> None:
    from lskd.paper.output import save_figure, write_table

    built = output.build(inputs)
    if output.kind == TABLE:
        write_table(*built, stem, output.caption)
    else:
        save_figure(built, stem)


def parser(kind: str) -> argparse.ArgumentParser:
    """``lskd paper <kind>``'s arguments: the output's name, its stem, and every kind of input."""
    p = argparse.ArgumentParser(prog=f"lskd paper {kind}", description=f"Write one {kind}.")
    p.add_argument("name", choices=names(kind))
    p.add_argument("--out", required=True, help=f"file stem (writes {', '.join(SUFFIXES[kind])})")
    for f in dataclasses.fields(Inputs):
        flag = "--" + f.name.replace("_", "-")
        p.add_argument(flag, nargs="*", default=[], help=f.metadata["help"])
    return p


def main(kind: str, argv: list[str]) -> None:
    """Build the output that ``argv`` names from the files it gives (``lskd paper``)."""
    args = parser(kind).parse_args(argv)
    output = get(kind, args.name)
    given = {name: tuple(getattr(args, name)) for name in INPUT_NAMES}
    unread = [name for name, files in given.items() if files and name not in output.inputs]
    if unread:
        flags = ", ".join("--" + n.replace("_", "-") for n in unread)
        raise ValueError(f"{kind} {output.name} reads none of {flags} (lskd/paper/outputs.py)")
    write(output, Inputs(**given), args.out)
