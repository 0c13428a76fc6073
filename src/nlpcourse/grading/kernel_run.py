"""The execution child: ``python -m nlpcourse.grading.kernel_run IN OUT --timeout N``.

Executes notebook IN with nbgrader's own Execute preprocessor (a fresh kernel, errors kept as
outputs, a cell past N seconds interrupted) and writes the executed notebook to OUT. Exits
non-zero, with the traceback on stderr, when nbgrader gives up (the kernel died, an interrupt
was ignored). See :mod:`nlpcourse.grading.execute`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import nbformat
from nbgrader.preprocessors import Execute


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m nlpcourse.grading.kernel_run", description=__doc__)
    parser.add_argument("input", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--timeout", type=int, required=True, help="per-cell limit in seconds")
    args = parser.parse_args(argv)
    nb = nbformat.read(args.input, as_version=4)
    Execute(timeout=args.timeout).preprocess(nb, {"metadata": {"path": str(args.input.parent)}})
    nbformat.write(nb, args.output)


if __name__ == "__main__":
    main()
