"""What several test modules share, defined once: the repository's paths, the offline data mirror,
nbgrader cells read and written, the points a heading states, the grading sandbox (or a clear
failure), and each book notebook executed once per session.

Test modules import from here (``from helpers import ROOT``), never from one another
(``tests/test_project.py`` checks it); fixtures live in ``conftest.py``.
"""

from __future__ import annotations

import functools
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from nlpcourse.book import book_cache
from nlpcourse.course.chapters import toc_pages
from nlpcourse.grading import sandbox as sb

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
FIXTURE_BOOK = ROOT / "tests" / "fixtures" / "book"
EXECUTION_CACHE = ROOT / ".jupyter_cache"  # the folder _config.yml names
NOTEBOOK_HEADER = "---\njupytext:"


def mirror_path() -> Path:
    """The offline data mirror: ``$NLPCOURSE_DATA`` (relative to the repository), else
    ``../shared/data`` beside the repository; it may not exist."""
    value = os.environ.get("NLPCOURSE_DATA")
    path = Path(value).expanduser() if value else ROOT.parent / "shared" / "data"
    return (path if path.is_absolute() else ROOT / path).resolve()


# --------------------------------------------------------------------------- nbgrader cells


def meta(cell) -> dict:
    """The cell's nbgrader metadata ({} for a plain cell)."""
    return cell.get("metadata", {}).get("nbgrader", {})


def cell_by_id(nb: nbformat.NotebookNode, grade_id: str) -> nbformat.NotebookNode:
    """The (first) cell whose nbgrader ``grade_id`` is ``grade_id``."""
    return next(c for c in nb.cells if meta(c).get("grade_id") == grade_id)


def save(folder: Path, student: str, chapter: str, nb: nbformat.NotebookNode, nested: bool = False) -> None:
    """Write a submission: ``<student>/<chapter>.ipynb``, or nbgrader's ``<student>/<chapter>/<chapter>.ipynb``."""
    path = folder / student / (f"{chapter}/{chapter}.ipynb" if nested else f"{chapter}.ipynb")
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


# --------------------------------------------------------------------------- points a heading states

HEADING = re.compile(
    r"^(?P<level>#{2,4}) (?P<title>(?:Exercise|Assignment) \w+\b.*?)\s*\((?P<points>\d+(?:\.\d+)?) points?\)\s*$"
)
QUESTION = re.compile(  # **Question A (1 point).** or ### Question (1 point, graded by hand)
    r"^(?:\*\*|#{2,4} )(?P<title>Question\b[^(]*?)\s*\((?P<points>\d+(?:\.\d+)?) points?\b[^)]*\)"
)
ANY_HEADING = re.compile(r"^(#{1,6}) ")


def graded(cell) -> float | None:
    """The points of a graded cell, None for any other cell."""
    return float(meta(cell)["points"]) if meta(cell).get("grade") else None


def claimed_points(nb: nbformat.NotebookNode) -> tuple[list[tuple[str, float, float]], list[str]]:
    """((title, points stated, points in the metadata) per exercise and question, unclaimed graded cells)."""
    found: list[list] = []  # [title, stated, metadata sum, heading level or None for a question]
    open_heading: list | None = None
    open_question: list | None = None
    unclaimed: list[str] = []
    in_fence = False
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.split("\n"):
                if line.startswith(("```", "~~~")):
                    in_fence = not in_fence
                if in_fence:
                    continue
                heading, any_heading, question = HEADING.match(line), ANY_HEADING.match(line), QUESTION.match(line)
                if any_heading and open_heading and len(any_heading.group(1)) <= open_heading[3]:
                    open_heading = None
                if heading:
                    open_heading = [heading["title"], float(heading["points"]), 0.0, len(heading["level"])]
                    found.append(open_heading)
                if question:
                    open_question = [question["title"], float(question["points"]), 0.0, None]
                    found.append(open_question)
        points = graded(cell)
        if points is None:
            continue
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        if cell.cell_type == "markdown" and open_question is not None:  # a written answer
            open_question[2] += points
            open_question = None
        elif cell.cell_type == "code" and open_heading is not None:
            open_heading[2] += points
        else:
            unclaimed.append(grade_id)
    return [(title, stated, actual) for title, stated, actual, _ in found], unclaimed


# --------------------------------------------------------------------------- the grading sandbox

SANDBOX_OPTIONAL = "NLPCOURSE_SANDBOX_OPTIONAL"


def require_sandbox(name: str = "auto") -> sb.Sandbox:
    """The sandbox ``name`` (see ``sandbox.NAMES``), for a test that executes learner code in it.

    Without one the test FAILS with the reason and what to install, unless the run says
    sandboxes are optional (``NLPCOURSE_SANDBOX_OPTIONAL=1``); then it skips with that reason.
    CI never sets it (``.ci/run``), so no grading test can silently skip there.
    """
    try:
        return sb.get_sandbox(name)
    except sb.SandboxUnavailable as err:
        if os.environ.get(SANDBOX_OPTIONAL) == "1":
            pytest.skip(f"{err} ({SANDBOX_OPTIONAL}=1)")
        pytest.fail(f"{err} (or set {SANDBOX_OPTIONAL}=1 to skip the tests that need a sandbox)", pytrace=False)


# --------------------------------------------------------------------------- the book's notebooks, run once


def notebook_sources() -> list[Path]:
    """Every MyST notebook of the book's table of contents (plain pages have no jupytext header)."""
    return [path for path in toc_pages(ROOT) if path.read_text().startswith(NOTEBOOK_HEADER)]


@dataclass
class Run:
    notebook: nbformat.NotebookNode
    error: str | None
    seconds: float


@functools.cache
def execute(path: Path) -> Run:
    """Run ``path`` top to bottom in the quick profile, once per session; on success, store it in
    the book's execution cache, keyed exactly as myst-nb keys it, so the book build that follows
    reuses these outputs instead of executing every chapter a second time."""
    os.environ["NLPCOURSE_PROFILE"] = "quick"
    os.environ["NLPCOURSE_PROGRESS"] = "0"
    notebook = book_cache.myst_notebook(path)
    client = NotebookClient(notebook, timeout=900, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    try:
        client.execute()
        error = None
    except CellExecutionError as failure:
        error = str(failure)
    seconds = time.perf_counter() - start
    if error is None:
        book_cache.store(EXECUTION_CACHE, path, notebook, "quick", seconds)
    return Run(notebook, error, seconds)
