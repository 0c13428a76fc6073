"""The points a learner reads are the points the grader gives.

Each exercise heading (``### Exercise 3 — a stable log_softmax (3 points)``) must state the sum
of the points of the graded test cells under it, up to the next heading of the same or a higher
level; each written question (``**Question A (1 point).**`` or a ``### Question (1 point, ...)`` heading) the points of the answer cell after
it. Every graded cell belongs to exactly one of them, so the chapter's maximum score is the sum
of what its headings and questions say.
"""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted(p for p in (ROOT / "book").glob("*.md") if "nbgrader:" in p.read_text(encoding="utf-8"))

HEADING = re.compile(
    r"^(?P<level>#{2,4}) (?P<title>(?:Exercise|Assignment) \w+\b.*?)\s*\((?P<points>\d+(?:\.\d+)?) points?\)\s*$"
)
QUESTION = re.compile(  # **Question A (1 point).** or ### Question (1 point, graded by hand)
    r"^(?:\*\*|#{2,4} )(?P<title>Question\b[^(]*?)\s*\((?P<points>\d+(?:\.\d+)?) points?\b[^)]*\)"
)
ANY_HEADING = re.compile(r"^(#{1,6}) ")


def graded(cell) -> float | None:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return float(meta["points"]) if meta.get("grade") else None


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


def mismatches(nb: nbformat.NotebookNode) -> list[str]:
    claims, unclaimed = claimed_points(nb)
    problems = [f"{title}: the heading says {stated:g} points, its graded cells carry {actual:g}"
                for title, stated, actual in claims if stated != actual]
    problems += [f"graded cell {grade_id} is under no exercise heading or question" for grade_id in unclaimed]
    return problems


def test_there_are_chapters_with_exercises():
    assert len(CHAPTERS) == 6, [p.name for p in CHAPTERS]


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_every_heading_states_the_points_of_its_graded_cells(chapter):
    nb = jupytext.read(str(chapter))
    claims, _ = claimed_points(nb)
    assert any(title.startswith(("Exercise", "Assignment")) for title, _, _ in claims), "no exercise heading found"
    assert mismatches(nb) == []
    total = sum(graded(c) or 0 for c in nb.cells)
    assert total == sum(stated for _, stated, _ in claims), "the chapter's maximum is not the sum of its headings"


def _chapter(*cells) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    for kind, source, points in cells:
        cell = (nbformat.v4.new_markdown_cell if kind == "md" else nbformat.v4.new_code_cell)(source)
        if points is not None:
            cell.metadata["nbgrader"] = {"grade": True, "grade_id": f"c{len(nb.cells)}", "points": points}
        nb.cells.append(cell)
    return nb


def test_a_mismatch_is_found():
    nb = _chapter(
        ("md", "### Exercise 1 — twice the points (2 points)", None),
        ("code", "assert True", 2), ("code", "### BEGIN HIDDEN TESTS", 2),
        ("md", "**Question A (1 point).** Why?", None), ("md", "answer", 1),
        ("md", "## Next section\n### Exercise 2: right (1 point)", None), ("code", "", 0.5), ("code", "", 0.5),
        ("md", "## Outside any exercise", None), ("code", "assert 1", 1),
    )
    assert mismatches(nb) == [
        "Exercise 1 — twice the points: the heading says 2 points, its graded cells carry 4",
        "graded cell c9 is under no exercise heading or question",
    ]
