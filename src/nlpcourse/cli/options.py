"""What every ``nlpcourse`` command shares: the book folder and the course directory options."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

COURSE_DIR_HELP = "nbgrader course directory with the gradebook (default: course/ beside the book folder)"
CONFIG_HELP = "nbgrader settings (default: nbgrader_config.py beside the book folder)"


def command(commands, name: str, help: str, func: Callable[[argparse.Namespace], int],
            course: bool = True) -> argparse.ArgumentParser:
    """Add the subcommand ``name`` running ``func(args)``, with ``--book`` (and ``--course-dir``)."""
    parser = commands.add_parser(name, help=help)
    parser.add_argument("--book", default="book", type=Path, help="folder of MyST chapters (default: book)")
    if course:
        parser.add_argument("--course-dir", type=Path, help=COURSE_DIR_HELP)
    parser.set_defaults(func=func)
    return parser
