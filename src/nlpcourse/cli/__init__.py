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
import contextlib
import logging
import sys
from collections.abc import Iterator

from . import book, course, grading


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nlpcourse", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for group in (book, course, grading):
        group.register(commands)
    args = parser.parse_args(argv)
    with showing_logs():
        return args.func(args)


@contextlib.contextmanager
def showing_logs() -> Iterator[None]:
    """While the command runs: the package's log messages (INFO and above), one plain line each,
    on its stdout; afterwards the logging setup is as it was."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    package = logging.getLogger("nlpcourse")
    level = package.level
    package.addHandler(handler)
    package.setLevel(logging.INFO)
    try:
        yield
    finally:
        package.removeHandler(handler)
        package.setLevel(level)
