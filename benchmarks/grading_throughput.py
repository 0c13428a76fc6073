"""Grading throughput: the same folder of submissions graded with 1 and with 2 jobs, side by side.

The folder holds ``--submissions`` copies of one chapter's solution notebook (default: 4 of
``day1_lstm_tagger``, quick profile, as ``nlpcourse grade`` always runs). Each job count
grades it from a fresh course directory through ``nlpcourse.grading.autograde.grade``
with dispatch's thread pool; the CSVs of all runs must be identical. Per job count the
table gives the wall time of the whole ``grade`` call (course build, executions, nbgrader's
serial grading), the time of the execution phase alone, submissions per minute, the
speed-up over one job, and the projected hours for a class of 300 learners x 5 chapters
(1,500 submissions) at that rate.

    NLPCOURSE_DATA=../shared/data .venv/bin/python benchmarks/grading_throughput.py

Every notebook gets one PyTorch thread (``OMP_NUM_THREADS=1``, set by the script), so
two jobs on two cores compare like with like. The load average before and after is
recorded: on a shared machine the speed-up is a lower bound.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, write_results

from traitlets.config import Config

from nlpcourse.grading.autograde import grade
from nlpcourse.grading.dispatch import execution_runner
from nlpcourse.grading.sandbox import get_sandbox
from nlpcourse.course.versions import generate_versions

ROOT = Path(__file__).resolve().parents[1]
CLASS_SUBMISSIONS = 300 * 5  # learners x chapters


def make_folder(book: Path, chapter: str, count: int, out: Path) -> Path:
    """``count`` students, each submitting the chapter's solution notebook."""
    generate_versions(book, out / "labs", out / "solutions")
    solution = nbformat.read(out / "solutions" / f"{chapter}.ipynb", as_version=4)
    folder = out / "submissions"
    for i in range(count):
        path = folder / f"student{i:02d}" / f"{chapter}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(solution, path)
    return folder


def timed_grade(folder: Path, book: Path, jobs: int, sandbox: str, out: Path) -> dict:
    run = execution_runner(jobs=jobs)
    phase = {}

    def timed_run(tasks):
        started = time.perf_counter()
        outcomes = run(tasks)
        phase["execution_s"] = time.perf_counter() - started
        return outcomes

    started = time.perf_counter()
    results = grade(folder, out / f"grades_{jobs}.csv", book_dir=book, course_dir=out / f"course_{jobs}",
                    nbgrader_config=ROOT / "nbgrader_config.py", run_executions=timed_run,
                    settings=Config({"Grading": {"sandbox": sandbox}}))
    wall = time.perf_counter() - started
    statuses = sorted({r.status for r in results})
    return {"wall_s": wall, **phase, "statuses": statuses,
            "csv": (out / f"grades_{jobs}.csv").read_text(encoding="utf-8")}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--book", type=Path, default=ROOT / "book")
    parser.add_argument("--chapter", default="day1_lstm_tagger")
    parser.add_argument("--submissions", type=int, default=4)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--sandbox", default="auto", help="where learner code runs (see nlpcourse grade --sandbox)")
    parser.add_argument("--name", default="grading_throughput_quick", help="result file name")
    args = parser.parse_args(argv)
    os.environ["OMP_NUM_THREADS"] = "1"  # every notebook's kernel inherits it
    torch.set_num_threads(1)

    sandbox = get_sandbox(args.sandbox).name
    load_before = os.getloadavg()
    runs = {}
    with tempfile.TemporaryDirectory(prefix="grading-throughput-") as tmp:
        folder = make_folder(args.book, args.chapter, args.submissions, Path(tmp))
        for jobs in args.jobs:
            print(f"grading {args.submissions} submission(s) of {args.chapter} with {jobs} job(s) ...", flush=True)
            runs[jobs] = timed_grade(folder, args.book, jobs, sandbox, Path(tmp))
            print(f"  {runs[jobs]['wall_s']:.0f} s in all, {runs[jobs]['execution_s']:.0f} s executing", flush=True)
    load_after = os.getloadavg()

    first = runs[args.jobs[0]]
    if any(run["csv"] != first["csv"] for run in runs.values()):
        raise SystemExit("the CSVs differ between job counts: a grading bug, not a timing")
    rows = []
    for jobs, run in runs.items():
        per_minute = 60 * args.submissions / run["wall_s"]
        rows.append({
            "jobs": jobs, "submissions": args.submissions, "wall_s": run["wall_s"],
            "execution_s": run["execution_s"], "submissions_per_min": per_minute,
            "speedup": first["wall_s"] / run["wall_s"],
            "execution_speedup": first["execution_s"] / run["execution_s"],
            "class_hours_300x5": CLASS_SUBMISSIONS / per_minute / 60,
        })
    cores = os.cpu_count()
    shared = load_before[0] > 0.5  # other work on the machine before this run started
    meta = {**machine(), "cpu_cores": cores, "chapter": args.chapter, "profile": "quick",
            "notebook_threads": 1, "sandbox": sandbox, "statuses": first["statuses"],
            "load_average_1min_before_after": [round(load_before[0], 2), round(load_after[0], 2)],
            "machine_shared": shared}
    note = (f"{args.submissions} copies of the {args.chapter} solution (quick profile), graded from a fresh "
            f"course directory with 1 and 2 jobs on a {cores}-core machine, learner code in the {sandbox} "
            "sandbox, one PyTorch thread per notebook; "
            "identical CSVs. wall_s is the whole `grade` call (course build, executions, nbgrader's serial "
            "grading), execution_s the executions alone; class_hours_300x5 projects 1,500 submissions "
            "of this chapter at the rate of wall_s, one-off course build included (so slightly pessimistic)."
            + (" The machine was shared with other jobs (see the load averages), so the speed-up is a "
               "lower bound." if shared else ""))
    path = write_results(args.name, rows, meta, note)
    print(path.read_text())


if __name__ == "__main__":
    main()
