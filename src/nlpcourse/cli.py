"""The ``nlpcourse`` command: build the book, release student/solution versions, build the course, grade.

    nlpcourse book prepare | publish | record [CHAPTER ...] | require
    nlpcourse sandbox [--sandbox NAME]
    nlpcourse assignments [--check]
    nlpcourse course [--course-dir DIR]
    nlpcourse grade SUBMISSIONS_DIR --out grades.csv [--feedback DIR] [--course-dir DIR]
    nlpcourse grades --out grades.csv [--course-dir DIR]

Run from the repository root (or pass ``--book``). See book/instructors.md. The modules report
progress through ``logging``; this command shows their messages (INFO and above) on stdout.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path


from nlpcourse.grading.sandbox import NAMES

COURSE_DIR_HELP = "nbgrader course directory with the gradebook (default: course/ beside the book folder)"


def _book(args: argparse.Namespace) -> int:
    from nlpcourse import config
    from nlpcourse.book import book_cache, publish
    from nlpcourse.course.chapters import chapter_names

    root = args.book.resolve().parent
    cache = args.cache or root / ".jupyter_cache"
    if args.profile not in (None, *config.PROFILES):
        print(f"nlpcourse book: --profile {args.profile!r}: expected one of {config.PROFILES}", file=sys.stderr)
        return 2
    if args.action == "prepare":  # the execution cache holds one profile; another's outputs are thrown away
        book_cache.prepare(cache, args.profile or config.profile())
    elif args.action == "require":
        book_cache.require(cache, args.profile or config.profile())
    else:
        known = chapter_names(args.book)
        unknown = sorted(set(args.chapters) - set(known))
        if unknown:
            print(f"nlpcourse book {args.action}: unknown chapters {unknown}; choose from {', '.join(known)}",
                  file=sys.stderr)
            return 2
        publish.run(root, args.chapters or known, cache, missing_only=args.action == "publish")
    return 0


def _sandbox(args: argparse.Namespace) -> int:
    from nlpcourse.grading.sandbox import SandboxUnavailable, get_sandbox

    try:
        chosen = get_sandbox(args.sandbox)
    except SandboxUnavailable as err:
        print(f"nlpcourse sandbox: {err}", file=sys.stderr)
        return 1
    print(f"learner code runs in the {chosen.name} sandbox here" + (f" ({chosen.warning})" if chosen.warning else ""))
    return 0


def _assignments(args: argparse.Namespace) -> int:
    from nlpcourse.course.chapters import find_chapters
    from nlpcourse.course.home import update_readme
    from nlpcourse.course.versions import check_versions, generate_versions

    started = time.monotonic()
    chapters = find_chapters(args.book)
    if args.check:
        problems = check_versions(args.book, args.labs, args.solutions)
        for line in problems:
            print(line)
        print(f"checked {len(chapters)} chapter(s) in {time.monotonic() - started:.0f} s: "
              + ("labs/ and solutions/ are up to date" if not problems else f"{len(problems)} difference(s)"))
        return 1 if problems else 0
    for path in generate_versions(args.book, args.labs, args.solutions):
        print(path)
    if update_readme(Path(args.book).resolve().parent):
        print("README.md: links updated from repository: in _config.yml")
    print(f"{len(chapters)} chapter(s) -> {args.labs}/ and {args.solutions}/ in {time.monotonic() - started:.0f} s")
    return 0


def _course(args: argparse.Namespace) -> int:
    from nlpcourse.course.directory import SourceEdited, prepare_course

    try:
        course_dir, releases = prepare_course(args.book, args.course_dir, args.config,
                                              replace_edited=args.replace_edited_source)
    except SourceEdited as err:
        print(f"nlpcourse course: stopped: {err}", file=sys.stderr)
        return 1
    print(f"{course_dir}: {len(releases)} assignment(s) in release/: {', '.join(releases)}")
    return 0


def _summary(results) -> str:
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    return ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "no submissions found"


def _grade(args: argparse.Namespace) -> int:
    from nlpcourse.grading.autograde import STUDENT_TIMEOUT_S, grade
    from nlpcourse.grading.dispatch import execution_runner
    from nlpcourse.course.directory import SourceEdited
    from nlpcourse.grading.sandbox import GiB, Limits, SandboxUnavailable

    if not args.submissions.is_dir():
        print(f"nlpcourse grade: {args.submissions} is not a folder of <student>/<chapter>.ipynb", file=sys.stderr)
        return 2
    limits = Limits(memory_bytes=int(args.sandbox_memory * GiB)) if args.sandbox_memory else Limits()
    try:
        run_executions = execution_runner(args.jobs, args.scheduler)
    except ValueError as err:
        print(f"nlpcourse grade: {err}", file=sys.stderr)
        return 2
    try:
        results = grade(args.submissions, args.out, feedback_dir=args.feedback, book_dir=args.book,
                        course_dir=args.course_dir, timeout=args.timeout,
                        student_timeout=args.submission_timeout or STUDENT_TIMEOUT_S, nbgrader_config=args.config,
                        run_executions=run_executions, sandbox=args.sandbox, limits=limits)
    except (SourceEdited, SandboxUnavailable) as err:
        print(f"nlpcourse grade: stopped: {err}", file=sys.stderr)
        return 1
    print(f"wrote {args.out}: {_summary(results)}")
    return 0


def _grades(args: argparse.Namespace) -> int:
    from nlpcourse.course.directory import default_course_dir
    from nlpcourse.grading.gradesheet import load_results, write_csv

    course_dir = args.course_dir or default_course_dir(args.book)
    if not (course_dir / "gradebook.db").exists():
        print(f"nlpcourse grades: no gradebook in {course_dir} (grade first, or pass --course-dir)", file=sys.stderr)
        return 2
    results = load_results(course_dir)
    write_csv(results, args.out)
    print(f"wrote {args.out} from the gradebook: {_summary(results)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nlpcourse", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help: str, func, course: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help)
        p.add_argument("--book", default="book", type=Path, help="folder of MyST chapters (default: book)")
        if course:
            p.add_argument("--course-dir", type=Path, help=COURSE_DIR_HELP)
        p.set_defaults(func=func)
        return p

    p = command("book", "the book's execution cache: prepare it, publish the full profile into it, require it",
                _book, False)
    p.add_argument("action", choices=("prepare", "publish", "record", "require"),
                   help="prepare: empty the cache when it holds another profile's executions; "
                        "publish: store each chapter's committed full-profile execution (results/full/) while its "
                        "code is unchanged, execute and record the others; record: execute and record CHAPTERs in "
                        "the full profile (default: every chapter); require: stop unless the cache holds the "
                        "profile's executions")
    p.add_argument("chapters", nargs="*", metavar="CHAPTER",
                   help="publish, record: some of the book's graded chapters (default: all)")
    p.add_argument("--cache", type=Path, help="the execution cache (default: .jupyter_cache beside the book folder)")
    p.add_argument("--profile",
                   help="prepare, require: full or quick (default: NLPCOURSE_PROFILE, else the device's default)")

    p = command("sandbox", "say which grading sandbox runs here; exit 1 with the reason when none does",
                _sandbox, False)
    p.add_argument("--sandbox", choices=NAMES, default="auto", help="the sandbox to check (default: auto)")

    p = command("assignments", "write labs/ (student) and solutions/ notebooks from book/", _assignments, False)
    p.add_argument("--labs", default="labs", type=Path, help="student notebooks (default: labs)")
    p.add_argument("--solutions", default="solutions", type=Path, help="solution notebooks (default: solutions)")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 if labs/ or solutions/ differ from a fresh generation")

    for p in (command("course", "build the nbgrader course directory (source/, release/, gradebook)", _course),
              command("grade", "autograde <student>/<chapter>.ipynb submissions into a CSV", _grade)):
        p.add_argument("--config", type=Path,
                       help="nbgrader settings (default: nbgrader_config.py beside the book folder)")
    sub.choices["course"].add_argument(
        "--replace-edited-source", action="store_true",
        help="overwrite source/ notebooks edited since the last build (each kept in edited-source/)")

    p = sub.choices["grade"]
    p.add_argument("submissions", type=Path, help="folder of <student>/<chapter>.ipynb")
    p.add_argument("--out", required=True, type=Path, help="CSV to write (one row per student and chapter)")
    p.add_argument("--feedback", type=Path, help="write <student>/<chapter>.html feedback here")
    p.add_argument("--timeout", type=int, help="per-cell time limit in seconds (default: the nbgrader settings)")
    p.add_argument("--submission-timeout", type=float,
                   help="wall-clock limit for one submission in seconds (default: 3600)")
    p.add_argument("--jobs", type=int, metavar="N",
                   help="grade N submissions at once on this machine (default: 1; with --scheduler local: one per core)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run the submissions on Dask: 'local' starts a LocalCluster of --jobs worker processes; "
                        "an address (tcp://host:8786) uses a running cluster")
    p.add_argument("--sandbox", choices=NAMES, default="auto",
                   help="where learner code runs (default: auto = bwrap, else docker, else podman; "
                        "none runs it with your permissions; see book/instructors.md)")
    p.add_argument("--sandbox-memory", type=float, metavar="GIB",
                   help="memory bound in GiB (bwrap: address space of each process; containers: all of it; default: 8)")

    p = command("grades", "write the CSV (manual grades included) from the gradebook, executing nothing", _grades)
    p.add_argument("--out", required=True, type=Path, help="CSV to write")

    args = parser.parse_args(argv)
    show_logs()
    return args.func(args)


def show_logs() -> None:
    """The package's log messages (INFO and above), one plain line each, on this command's stdout."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    package = logging.getLogger("nlpcourse")
    package.handlers = [handler]  # one handler, on the stdout of this call
    package.setLevel(logging.INFO)
    package.propagate = False


if __name__ == "__main__":
    sys.exit(main())
