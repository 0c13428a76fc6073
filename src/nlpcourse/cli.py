"""The ``nlpcourse`` command: release student/solution versions and grade submissions.

    nlpcourse assignments [--check]
    nlpcourse course
    nlpcourse grade SUBMISSIONS_DIR --out grades.csv [--feedback DIR]

Run from the repository root (or pass ``--book``). See book/instructors.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def _assignments(args: argparse.Namespace) -> int:
    from .versions import check_versions, find_chapters, generate_versions

    started = time.monotonic()
    chapters = find_chapters(args.book)
    if args.check:
        problems = check_versions(args.book, args.labs, args.solutions)
        for line in problems:
            print(line)
        print(f"checked {len(chapters)} chapter(s) in {time.monotonic() - started:.0f} s: "
              + ("labs/ and solutions/ are up to date" if not problems else f"{len(problems)} difference(s)"))
        return 1 if problems else 0
    written = generate_versions(args.book, args.labs, args.solutions)
    for path in written:
        print(path)
    print(f"{len(chapters)} chapter(s) -> {args.labs}/ and {args.solutions}/ in {time.monotonic() - started:.0f} s")
    return 0


def _course(args: argparse.Namespace) -> int:
    from .grading import prepare_course

    course_dir, releases = prepare_course(args.book, args.course_dir, args.config)
    print(f"{course_dir}: {len(releases)} assignment(s) in release/: {', '.join(releases)}")
    return 0


def _grade(args: argparse.Namespace) -> int:
    from .grading import STUDENT_TIMEOUT_S, grade

    results = grade(
        args.submissions,
        args.out,
        feedback_dir=args.feedback,
        book_dir=args.book,
        course_dir=args.course_dir,
        timeout=args.timeout,
        student_timeout=args.submission_timeout or STUDENT_TIMEOUT_S,
        nbgrader_config=args.config,
    )
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "no submissions found"
    print(f"wrote {args.out}: {summary}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nlpcourse", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("assignments", help="write labs/ (student) and solutions/ notebooks from book/")
    p.add_argument("--book", default="book", type=Path, help="folder of MyST chapters (default: book)")
    p.add_argument("--labs", default="labs", type=Path, help="student notebooks (default: labs)")
    p.add_argument("--solutions", default="solutions", type=Path, help="solution notebooks (default: solutions)")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 if labs/ or solutions/ differ from a fresh generation")
    p.set_defaults(func=_assignments)

    p = sub.add_parser("course", help="build the nbgrader course directory (source/, release/, gradebook)")
    p.add_argument("--book", default="book", type=Path, help="folder of MyST chapters (default: book)")
    p.add_argument("--course-dir", type=Path,
                   help="nbgrader course directory (default: _build/nbgrader/course beside the book)")
    p.add_argument("--config", type=Path,
                   help="nbgrader settings (default: nbgrader_config.py beside the book folder)")
    p.set_defaults(func=_course)

    p = sub.add_parser("grade", help="autograde <student>/<chapter>.ipynb submissions into a CSV")
    p.add_argument("submissions", type=Path, help="folder of <student>/<chapter>.ipynb")
    p.add_argument("--out", required=True, type=Path, help="CSV to write (one row per student and chapter)")
    p.add_argument("--feedback", type=Path, help="write <student>/<chapter>.html feedback here")
    p.add_argument("--book", default="book", type=Path, help="folder of MyST chapters (default: book)")
    p.add_argument("--course-dir", type=Path,
                   help="nbgrader course directory (default: _build/nbgrader/course beside the book)")
    p.add_argument("--config", type=Path,
                   help="nbgrader settings (default: nbgrader_config.py beside the book folder)")
    p.add_argument("--timeout", type=int, help="per-cell time limit in seconds (default: the nbgrader settings)")
    p.add_argument("--submission-timeout", type=float,
                   help="wall-clock limit for one submission in seconds (default: 3600)")
    p.set_defaults(func=_grade)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
