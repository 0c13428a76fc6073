"""``nlpcourse assignments`` (labs/ and solutions/ from book/) and ``nlpcourse course`` (the nbgrader course)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from nlpcourse.course.chapters import find_chapters
from nlpcourse.course.directory import SourceEdited, prepare_course
from nlpcourse.course.readme import update_readme
from nlpcourse.course.versions import check_versions, generate_versions

from .options import CONFIG_HELP, command


def assignments(args: argparse.Namespace) -> int:
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


def course(args: argparse.Namespace) -> int:
    try:
        course_dir, releases = prepare_course(args.book, args.course_dir, args.config,
                                              replace_edited=args.replace_edited_source)
    except SourceEdited as err:
        print(f"nlpcourse course: stopped: {err}", file=sys.stderr)
        return 1
    print(f"{course_dir}: {len(releases)} assignment(s) in release/: {', '.join(releases)}")
    return 0


def register(commands) -> None:
    p = command(commands, "assignments", "write labs/ (student) and solutions/ notebooks from book/", assignments,
                course=False)
    p.add_argument("--labs", default="labs", type=Path, help="student notebooks (default: labs)")
    p.add_argument("--solutions", default="solutions", type=Path, help="solution notebooks (default: solutions)")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 if labs/ or solutions/ differ from a fresh generation")

    p = command(commands, "course", "build the nbgrader course directory (source/, release/, gradebook)", course)
    p.add_argument("--config", type=Path, help=CONFIG_HELP)
    p.add_argument("--replace-edited-source", action="store_true",
                   help="overwrite source/ notebooks edited since the last build (each kept in edited-source/)")
