"""The grade sheet: one CSV row per student and chapter, a column per graded cell, a reason.

Scores come from the gradebook (so manual grades given in the formgrader appear), the status
and the reason from ``<course>/reasons/<chapter>/<student>.json``, written at grading time. The
CSV can therefore be rebuilt at any time without executing anything (``nlpcourse grades``).
"""

from __future__ import annotations

import csv
import html
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from nlpcourse.atomic import atomic_path

from .messages import short
from .screen import SET_ASIDE

FIELDS = ["student", "chapter", "status", "score", "max_score", "auto_score", "auto_max_score", "manual_pending"]


@dataclass
class Result:
    """One row of the CSV; ``scores`` maps grade_id -> points (None: a manual grade pending)."""

    student: str
    chapter: str
    status: str = "graded"  # graded | flagged | rejected | failed
    max_scores: dict[str, float] = field(default_factory=dict)
    auto_ids: list[str] = field(default_factory=list)  # grade cells graded by tests
    problems: list[str] = field(default_factory=list)  # what was wrong with the submission
    lost: list[str] = field(default_factory=list)  # why autograded points were lost
    seconds: float = 0.0
    scores: dict[str, float | None] = field(default_factory=dict)

    @property
    def reason(self) -> str:
        return "; ".join(self.problems + self.lost)

    def total(self, ids=None) -> float:
        return sum(self.scores.get(i) or 0.0 for i in (self.scores if ids is None else ids))

    def row(self, grade_ids: list[str]) -> dict[str, str]:
        pending = [i for i in self.max_scores if i not in self.auto_ids and self.scores.get(i) is None]
        row = dict(zip(FIELDS, [self.student, self.chapter, self.status, _fmt(self.total()),
                                _fmt(sum(self.max_scores.values())), _fmt(self.total(self.auto_ids)),
                                _fmt(sum(self.max_scores[i] for i in self.auto_ids)),
                                _fmt(sum(self.max_scores[i] for i in pending))]))
        row.update({g: "" if self.scores.get(g) is None else _fmt(self.scores[g]) for g in grade_ids})
        row["reason"] = self.reason
        return row


def _fmt(x: float) -> str:
    return f"{x:g}"


def expected_scores(release: nbformat.NotebookNode, result: Result) -> None:
    """Fill the maximum points and the autograded cells of ``result`` from the released notebook."""
    for cell in release.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            result.max_scores[meta["grade_id"]] = float(meta["points"])
            if cell.cell_type == "code" and not meta.get("solution"):
                result.auto_ids.append(meta["grade_id"])


def explain_autograded(nb: nbformat.NotebookNode, result: Result) -> None:
    """Add to ``result`` why tests failed, timeouts, the first error outside the tests, and what
    set graded cells aside for hand grading (a problem: the submission is then ``flagged``)."""
    first_other = None
    for index, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader", {})
        outputs = cell.get("outputs", [])
        error = next((o for o in outputs if o.get("output_type") == "error"), None)
        if error is None:
            if meta.get("grade") and cell.cell_type == "code" and any(
                    o.get("output_type") == "stream" and o.get("name") == "stderr" for o in outputs):
                result.lost.append(f"{meta['grade_id']}: wrote to stderr (nbgrader counts that as a failure)")
            continue
        if error.get("ename") in ("CellTimeoutError", "KeyboardInterrupt"):
            result.problems.append(f"{meta.get('grade_id') or f'cell {index}'} ran past the per-cell time limit"
                                   " and was interrupted")
            if meta.get("grade"):
                result.lost.append(f"{meta['grade_id']}: timed out")
            continue
        message = f"{error.get('ename', 'Error')}: {error.get('evalue', '')}".rstrip(": ")
        if error.get("ename") == SET_ASIDE:  # the screen's verdict: said once, in full, as a problem
            if not any(p.startswith("set aside for hand grading") for p in result.problems):
                result.problems.append(short(error.get("evalue", ""), 200))
            result.lost.append(f"{meta.get('grade_id')}: set aside for hand grading")
            continue
        if meta.get("grade"):
            result.lost.append(f"{meta['grade_id']}: {short(message)}")
        elif first_other is None:
            first_other = f"first error outside the tests: {meta.get('grade_id') or f'cell {index}'}: {short(message)}"
    if first_other:
        result.lost.append(first_other)


def _reason_path(course_dir: Path, chapter: str, student: str) -> Path:
    return Path(course_dir) / "reasons" / chapter / f"{student}.json"


def store_result(course_dir: Path, result: Result) -> None:
    """Keep the status and reason of a graded submission in the course directory (atomically)."""
    data = {k: v for k, v in asdict(result).items() if k != "scores"}
    with atomic_path(_reason_path(course_dir, result.chapter, result.student)) as tmp:
        tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def load_results(course_dir: Path, keys: list[tuple[str, str]] | None = None) -> list[Result]:
    """The stored results (all, or those of the (student, chapter) ``keys``), their scores read
    from the gradebook; nothing is executed."""
    course_dir = Path(course_dir)
    if keys is None:
        keys = sorted((p.stem, p.parent.name) for p in (course_dir / "reasons").glob("*/*.json"))
    results = [Result(**json.loads(_reason_path(course_dir, c, s).read_text(encoding="utf-8"))) for s, c in keys]
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gb:
        for result in results:
            result.scores = {i: 0.0 for i in result.max_scores}
            if result.status not in ("graded", "flagged"):
                continue
            try:
                notebook = gb.find_submission_notebook(result.chapter, result.chapter, result.student)
            except MissingEntry:
                continue
            for grade in notebook.grades:
                pending = grade.needs_manual_grade and grade.manual_score is None
                result.scores[grade.name] = None if pending else float(grade.score)
    return results


def write_csv(results: list[Result], path: str | Path) -> None:
    """One row per student and chapter; a column per graded cell of every chapter, in order."""
    grade_ids = list(dict.fromkeys(g for r in results for g in r.max_scores))
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=[*FIELDS, *grade_ids, "reason"])
        writer.writeheader()
        writer.writerows(r.row(grade_ids) for r in results)


def read_csv(path: str | Path) -> dict[tuple[str, str], dict[str, str]]:
    """The CSV back, keyed by (student, chapter)."""
    with open(path, newline="", encoding="utf-8") as f:
        return {(row["student"], row["chapter"]): row for row in csv.DictReader(f)}


def fallback_feedback(result: Result) -> str:
    """The feedback page of a submission nbgrader could not grade: the score and the reason."""
    title = html.escape(result.chapter)
    return ("<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>" f"{title}</title></head><body>\n"
            f"<h1>{title}: not graded</h1>\n<p>Score: {_fmt(result.total())} / {_fmt(sum(result.max_scores.values()))}.</p>\n"
            f"<p>{html.escape(result.reason or 'no feedback could be generated')}</p>\n</body></html>\n")
