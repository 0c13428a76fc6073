"""The ``nlpcourse`` command: build the book, release student/solution versions, build the course, grade.

    nlpcourse book prepare | publish | record [CHAPTER ...] | require
    nlpcourse assignments [--check]
    nlpcourse course [--course-dir DIR]
    nlpcourse grade SUBMISSIONS_DIR --out grades.csv [--feedback DIR] [--course-dir DIR]
    nlpcourse grades --out grades.csv [--course-dir DIR]
    nlpcourse sandbox [--sandbox NAME]

Run from the repository root (or pass ``--book``). See book/instructors.md. One module per
command group (``book``, ``course``, ``grading``), all argparse. The package's modules report
progress through ``logging``; this command shows their messages (INFO and above) on stdout.
"""

from __future__ import annotations

import argparse
import logging
import sys

from . import book, course, grading


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nlpcourse", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for group in (book, course, grading):
        group.register(commands)
    args = parser.parse_args(argv)
    show_logs()
    return args.func(args)


def show_logs() -> None:
    """The package's log messages (INFO and above), one plain line each, on this command's stdout."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    package = logging.getLogger("nlpcourse")
    package.handlers = [handler]  # one handler, writing to the stdout of this call
    package.setLevel(logging.INFO)
