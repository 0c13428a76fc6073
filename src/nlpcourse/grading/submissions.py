"""Find submissions; read one, say in words what it changed, repair a COPY of it.

Submissions are ``<student>/<chapter>.ipynb`` or nbgrader's ``<student>/<chapter>/<chapter>.ipynb``.
The original file is only ever read: repairs happen on the notebook in memory.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .messages import short


@dataclass(frozen=True)
class Submission:
    student: str
    chapter: str
    path: Path

    @property
    def key(self) -> str:
        return f"{self.student}/{self.chapter}"


class Unreadable(ValueError):
    """The file is not a notebook; the message says why, for the CSV."""


def find_submissions(folder: str | Path) -> list[Submission]:
    """``<student>/<chapter>.ipynb`` and ``<student>/<chapter>/<chapter>.ipynb``, sorted."""
    found = []
    for student_dir in sorted(p for p in Path(folder).iterdir() if p.is_dir() and not p.name.startswith(".")):
        found += [Submission(student_dir.name, p.stem, p) for p in sorted(student_dir.glob("*.ipynb"))]
        found += [Submission(student_dir.name, p.stem, p) for p in sorted(student_dir.glob("*/*.ipynb"))
                  if p.parent.name == p.stem]
    return found


def read_submission(path: Path) -> nbformat.NotebookNode:
    """The submitted notebook, or :class:`Unreadable` with the reason."""
    try:
        text = path.read_text(encoding="utf-8")
        json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise Unreadable(f"not valid JSON ({short(err)}): scored 0") from err
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # nbformat renames duplicated cell ids, with a warning
            nb = nbformat.reads(text, as_version=4)
        if not isinstance(nb.get("cells"), list):
            raise ValueError("no list of cells")
    except Exception as err:  # anything that is not a notebook (re-raised as Unreadable)
        raise Unreadable(f"not a Jupyter notebook ({short(err)}): scored 0") from err
    return nb


def grade_cells(nb) -> dict[str, nbformat.NotebookNode]:
    """The cells with a ``grade_id``, by id (the last one of a duplicated id)."""
    return {c.metadata.nbgrader["grade_id"]: c for c in nb.cells if "grade_id" in c.metadata.get("nbgrader", {})}


def _grade_id(cell) -> str | None:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta.get("grade_id") if isinstance(meta, dict) else None


def put_back(copy: nbformat.NotebookNode, release: nbformat.NotebookNode, grade_id: str) -> None:
    """Insert the released cell ``grade_id`` into ``copy`` after the cell it follows in the release."""
    position = 0
    for cell in release.cells:
        if _grade_id(cell) == grade_id:
            break
        before = _grade_id(cell)
        present = [i for i, c in enumerate(copy.cells) if before is not None and _grade_id(c) == before]
        position = present[-1] + 1 if present else position
    copy.cells.insert(position, nbformat.from_dict(next(c for c in release.cells if _grade_id(c) == grade_id)))


def inspect_submission(nb: nbformat.NotebookNode, release: nbformat.NotebookNode
                       ) -> tuple[list[str], nbformat.NotebookNode]:
    """What the submission changed that it should not have, in words; and the copy to grade.

    nbgrader restores edited locked cells by itself. Its ``add_missing_cells`` step crashes on a
    ``grade_id`` pasted twice or one it does not know, and on a deleted graded cell that follows
    a read-only cell, though: those cells lose their nbgrader metadata in the copy (the last copy
    of a duplicate keeps it, as nbgrader's own DeduplicateIds intends) and a deleted graded cell
    is put back in the copy after the cell it followed (nbgrader then restores its source).
    """
    problems: list[str] = []
    expected = grade_cells(release)
    copy = nbformat.from_dict(nb)
    last = {_grade_id(c): i for i, c in enumerate(copy.cells)
            if "nbgrader" in c.get("metadata", {}) and _grade_id(c) in expected}
    counts: dict[str, int] = {}
    for index, cell in enumerate(copy.cells):
        if "nbgrader" not in cell.get("metadata", {}):
            continue
        grade_id = _grade_id(cell)
        counts[grade_id] = counts.get(grade_id, 0) + 1
        if grade_id is not None and grade_id not in expected:
            problems.append(f"unknown grade_id {grade_id!r} in cell {index} (ignored)")
        if last.get(grade_id) != index:
            del cell.metadata["nbgrader"]
    problems += [f"grade_id {g} appears {n} times (the last copy was graded)"
                 for g, n in counts.items() if n > 1 and g in expected]
    submitted = {grade_id: copy.cells[i] for grade_id, i in last.items()}
    for grade_id, original in expected.items():
        meta = original.metadata.nbgrader
        if grade_id not in submitted:
            what = "graded" if meta.get("grade") else "solution" if meta.get("solution") else "read-only"
            problems.append(f"{what} cell {grade_id} was deleted" + (" (put back from the source before grading)"
                                                                     if meta.get("grade") else ""))
            if meta.get("grade"):
                put_back(copy, release, grade_id)
            continue
        cell = submitted[grade_id]
        if meta.get("locked") and cell.get("source", "") != original.source:
            problems.append(f"locked cell {grade_id} was edited (restored from the source before grading)")
        if cell.get("cell_type") != original.cell_type:
            problems.append(f"cell {grade_id} changed type to {cell.get('cell_type')} (restored)")
        points = cell.metadata["nbgrader"].get("points")
        if meta.get("grade") and points is not None and float(points) != float(meta.get("points", 0)):
            problems.append(f"points of {grade_id} changed to {points} (ignored)")
    return problems, copy
