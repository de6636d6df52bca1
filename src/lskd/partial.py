"""Results as runs arrive (``snakemake partial``): every table and figure of lskd.paper.outputs,
CLAIMS.md and the provenance summary, built under results/partial/ from the runs that have
finished so far, while a long study runs or after some of its jobs failed. The full target is
unchanged; nothing here writes outside results/partial/.

Where each missing run stands: a teacher or student that has not finished keeps its row in the
tables built from records alone (a stand-in record with its identity from the config and no
numbers: empty cells), and every output lists the runs it still waits for, under the table in
its Markdown and in results/partial/README.md. An output that cannot be built yet (no run of
its kind has finished) says so there, with the reason.

    python -m lskd.partial --config JSON --out results/partial
"""

import argparse
import dataclasses
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from lskd.paper import outputs
from lskd.workflow import arguments, paths, targets

# Inputs read as JSON records alone: a run not finished gets a stand-in record (a row, no numbers)
STAND_INS = ("teacher_evals", "student_finals")
RUN = re.compile(r"results/(?P<dataset>[^/]+)/(?P<kind>teachers|students)/(?P<name>[^/]+)/"
                 r"seed(?P<seed>\d+)/")  # fmt: skip


@dataclass
class Built:
    """What became of one output: its files, the runs it waits for, why it is not there."""

    label: str
    files: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    problem: str = ""


def run_of(path: str) -> str:
    """The run a record belongs to: its folder under results/ (``imagenet/teachers/r50/seed0``)."""
    folder = path.removeprefix("results/")
    for tail in ("/eval/eval.json", "/final.json", "/test.json", "/dataset.json"):
        folder = folder.removesuffix(tail)
    return folder


def stand_in(config: dict, path: str, like: dict) -> dict | None:
    """The record of a run that has not finished: its identity and settings from the config,
    the keys of ``like`` (a finished record of the same kind) empty, and ``pending``."""
    match = RUN.match(path)
    if not match:
        return None
    kind, name, seed = match["kind"], match["name"], int(match["seed"])
    record = dict.fromkeys(k for k in like if k != "provenance")
    record |= json.loads(arguments.run_meta(config, name, seed, kind))
    entry = config[kind][name]
    record |= {"arch": entry["arch"], "objective": entry["objective"], "pending": True}
    if kind == "students":
        teacher = config["teachers"][paths.teacher_of(entry)]
        record |= {"teacher_arch": teacher["arch"], "teacher_recipe": teacher["recipe"],
                   "teacher_objective": teacher["objective"]}  # fmt: skip
    return record


def _with_stand_ins(config: dict, key: str, expected: list[str], folder: Path) -> list[str]:
    """``expected`` with each missing record replaced by a stand-in written under ``folder``."""
    present = [p for p in expected if Path(p).is_file()]
    if key not in STAND_INS or not present:
        return present
    like = json.loads(Path(present[0]).read_text())
    files = []
    for path in expected:
        record = None if Path(path).is_file() else stand_in(config, path, like)
        if record is not None:
            target = folder / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(record))
            path = str(target)
        if record is not None or Path(path).is_file():
            files.append(path)
    return files


def _none_yet(expected: dict[str, list[str]]) -> str:
    """Why an output cannot be built: the kinds of input of which no file exists yet."""
    helps = {f.name: f.metadata["help"] for f in dataclasses.fields(outputs.Inputs)}
    empty = [k for k, files in expected.items() if not any(Path(p).is_file() for p in files)]
    return "; ".join(f"none of its {helps[k]} yet" for k in empty)


def build_output(config: dict, output: outputs.Output, out: Path) -> Built:
    """One table or figure from the finished runs (with stand-in rows where its builder takes
    them, else without), at the same place under ``out`` as under results/."""
    stem = out / Path(output.stem).relative_to("results")
    stem.parent.mkdir(parents=True, exist_ok=True)
    expected = targets.paper_inputs(config, output.kind, output.name)
    present = {k: [p for p in files if Path(p).is_file()] for k, files in expected.items()}
    done = Built(f"{output.kind} {output.name}")
    done.waiting = sorted(  # the jobs the cost table reads are not runs
        {run_of(p) for k, files in expected.items() if k != "benchmarks"
         for p in files if p not in present[k]}
    )  # fmt: skip
    folder = out / "stand-ins"
    with_rows = {k: _with_stand_ins(config, k, files, folder) for k, files in expected.items()}
    tries = [(True, with_rows)] + ([(False, present)] if with_rows != present else [])
    problems = []
    for stand_ins, given in tries:
        inputs = outputs.Inputs(**{k: tuple(v) for k, v in given.items()})
        try:
            outputs.write(output, inputs, stem)
        except Exception as err:  # noqa: BLE001 (one output's failure must not stop the others)
            problems.append(f"{type(err).__name__}: {err}".splitlines()[0])
            continue
        done.files = [str(Path(stem).with_suffix(s)) for s in outputs.SUFFIXES[output.kind]]
        if output.kind == outputs.TABLE and done.waiting:
            _mark_waiting(Path(f"{stem}.md"), done.waiting, stand_ins)
        return done
    done.problem = _none_yet(expected) or problems[-1]
    return done


def _mark_waiting(markdown: Path, waiting: list[str], stand_ins: bool) -> None:
    where = "their rows have empty cells" if stand_ins else "they are not in the table yet"
    lines = [f"\n**Not finished yet** ({len(waiting)} runs; {where}):\n"]
    lines += [f"- `{run}`" for run in waiting]
    markdown.write_text(markdown.read_text() + "\n".join(lines) + "\n")


def build_claims(config: dict, out: Path) -> Built:
    """CLAIMS.md from the finished runs: a claim whose runs are missing is not testable yet."""
    from lskd.paper import claims, evidence

    def present(files):
        return [p for p in files if Path(p).is_file()]

    def evaluated(files):  # an evaluation counts with its per-image predictions beside it
        return [p for p in present(files) if (Path(p).parent / "predictions.npz").is_file()]

    done = Built("CLAIMS.md")
    expected = targets.claims_inputs(config)
    runs = ("teachers", "students", "bnn", "nmt")
    done.waiting = sorted({run_of(p) for k in runs for p in expected[k] if not Path(p).is_file()})
    distances = out / "tables/fig1_distances.csv"
    try:
        ev = evidence.load_run(
            evaluated(expected["teachers"]), evaluated(expected["students"]),
            evaluated(expected["bnn"]), present(expected["infos"]),
            str(distances) if distances.is_file() else None,
            present(expected["fig1_features"]), present(expected["nmt"]),
        )  # fmt: skip
        claims.write(ev, out / "CLAIMS.md", config["claims"])
        done.files = [str(out / "CLAIMS.md")]
    except Exception as err:  # noqa: BLE001
        done.problem = f"{type(err).__name__}: {err}".splitlines()[0]
    return done


def build_environment(config: dict, out: Path) -> Built:
    from lskd.paper import environment

    done = Built("environment")
    records = [p for p in targets.provenance_records(config) if Path(p).is_file()]
    if not records:
        done.problem = "no record yet"
        return done
    environment.write(records, str(out / "environment"))
    done.files = [str(out / "environment.md"), str(out / "environment.csv")]
    return done


def index(built: list[Built], config: dict) -> str:
    runs = sorted({run_of(p) for p in targets.provenance_records(config)})
    finished = [r for r in runs if r not in {w for b in built for w in b.waiting}]
    lines = [
        "# Results so far",
        "",
        f"Built from the {len(finished)} of {len(runs)} runs that have finished "
        "(`snakemake partial` rebuilds this folder whenever another has finished). "
        "The full results are under results/ once every run has finished.",
        "",
        "| output | state | waiting for |",
        "| --- | --- | --- |",
    ]
    for b in built:
        state = f"not built yet: {b.problem}" if b.problem else "built"
        lines.append(f"| {b.label} | {state} | {len(b.waiting)} runs |")
    missing = sorted({w for b in built for w in b.waiting})
    lines += ["", f"## Runs not finished ({len(missing)})", ""] + [f"- `{r}`" for r in missing]
    return "\n".join(lines) + "\n"


def build(config: dict, out: str | Path) -> list[Built]:
    """Every output, CLAIMS.md and the environment summary under ``out``, and its README.md."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    first = sorted(outputs.OUTPUTS, key=lambda o: o.name != "fig1_distances")  # CLAIMS reads it
    built = []
    for output in first:
        built.append(build_output(config, output, out))
        print(f"{built[-1].label}: {built[-1].problem or 'built'}", flush=True)
    built += [build_claims(config, out), build_environment(config, out)]
    (out / "README.md").write_text(index(built, config))
    return built


def main(argv=None) -> None:
    # a module of its own, not an `lskd` command: a new command would change the CLI's
    # parser, which every rule's code fingerprint holds, and rerun the whole study
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", required=True, help="the workflow's config, as one JSON value")
    p.add_argument("--out", default="results/partial")
    args = p.parse_args(argv)
    build(json.loads(args.config), args.out)


if __name__ == "__main__":
    main()
