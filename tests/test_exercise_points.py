"""The points a learner reads are the points the grader gives.

Each exercise heading (``### Exercise 3 — a stable log_softmax (3 points)``) must state the sum
of the points of the graded test cells under it, up to the next heading of the same or a higher
level; each written question (``**Question A (1 point).**`` or a ``### Question (1 point, ...)`` heading) the points of the answer cell after
it. Every graded cell belongs to exactly one of them, so the chapter's maximum score is the sum
of what its headings and questions say.
"""

from __future__ import annotations

import jupytext
import nbformat
import pytest

from helpers import BOOK, claimed_points, graded

CHAPTERS = sorted(p for p in BOOK.glob("*.md") if "nbgrader:" in p.read_text(encoding="utf-8"))


def mismatches(nb: nbformat.NotebookNode) -> list[str]:
    claims, unclaimed = claimed_points(nb)
    problems = [f"{title}: the heading says {stated:g} points, its graded cells carry {actual:g}"
                for title, stated, actual in claims if stated != actual]
    problems += [f"graded cell {grade_id} is under no exercise heading or question" for grade_id in unclaimed]
    return problems


def test_there_are_chapters_with_exercises():
    assert len(CHAPTERS) == 7, [p.name for p in CHAPTERS]


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
