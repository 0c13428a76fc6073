"""``nlpcourse grade`` (autograde submissions into a CSV), ``nlpcourse grades`` (the CSV from the
gradebook) and ``nlpcourse sandbox`` (which grading sandbox runs here).

``grade``'s settings flags are aliases of the course's settings in ``nbgrader_config.py``
(:mod:`nlpcourse.grading.settings`): set for one run, in memory.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nlpcourse.course.directory import SourceEdited, default_course_dir
from nlpcourse.grading.autograde import grade
from nlpcourse.grading.dispatch import ImpossibleOptions
from nlpcourse.grading.gradesheet import load_results, write_csv
from nlpcourse.grading.sandbox import SandboxUnavailable, get_sandbox
from nlpcourse.grading.settings import add_aliases, command_line_config

from .options import CONFIG_HELP, command


def summary(results) -> str:
    """How many submissions ended in each status, in words."""
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    return ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "no submissions found"


def grade_submissions(args: argparse.Namespace) -> int:
    if not args.submissions.is_dir():
        print(f"nlpcourse grade: {args.submissions} is not a folder of <student>/<chapter>.ipynb", file=sys.stderr)
        return 2
    try:
        results = grade(args.submissions, args.out, feedback_dir=args.feedback, book_dir=args.book,
                        course_dir=args.course_dir, nbgrader_config=args.config, settings=command_line_config(args))
    except ImpossibleOptions as err:
        print(f"nlpcourse grade: {err}", file=sys.stderr)
        return 2
    except (SourceEdited, SandboxUnavailable) as err:
        print(f"nlpcourse grade: stopped: {err}", file=sys.stderr)
        return 1
    print(f"wrote {args.out}: {summary(results)}")
    return 0


def grades(args: argparse.Namespace) -> int:
    course_dir = args.course_dir or default_course_dir(args.book)
    if not (course_dir / "gradebook.db").exists():
        print(f"nlpcourse grades: no gradebook in {course_dir} (grade first, or pass --course-dir)", file=sys.stderr)
        return 2
    results = load_results(course_dir)
    write_csv(results, args.out)
    print(f"wrote {args.out} from the gradebook: {summary(results)}")
    return 0


def sandbox(args: argparse.Namespace) -> int:
    try:
        chosen = get_sandbox(args.sandbox or "auto")
    except SandboxUnavailable as err:
        print(f"nlpcourse sandbox: {err}", file=sys.stderr)
        return 1
    print(f"learner code runs in the {chosen.name} sandbox here" + (f" ({chosen.warning})" if chosen.warning else ""))
    return 0


def register(commands) -> None:
    p = command(commands, "grade", "autograde <student>/<chapter>.ipynb submissions into a CSV", grade_submissions)
    p.add_argument("submissions", type=Path, help="folder of <student>/<chapter>.ipynb")
    p.add_argument("--out", required=True, type=Path, help="CSV to write (one row per student and chapter)")
    p.add_argument("--feedback", type=Path, help="write <student>/<chapter>.html feedback here")
    p.add_argument("--config", type=Path, help=CONFIG_HELP)
    add_aliases(p)

    p = command(commands, "grades", "write the CSV (manual grades included) from the gradebook, executing nothing",
                grades)
    p.add_argument("--out", required=True, type=Path, help="CSV to write")

    p = command(commands, "sandbox", "say which grading sandbox runs here; exit 1 with the reason when none does",
                sandbox, course=False)
    add_aliases(p, ("sandbox",))
