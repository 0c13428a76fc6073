"""Autograde a folder of submissions with nbgrader and write one CSV (student x exercise).

Submissions are ``<student>/<chapter>.ipynb`` (or nbgrader's own
``<student>/<chapter>/<chapter>.ipynb``). The course directory is built from ``book/``
(see :mod:`nlpcourse.versions`), then every submission is graded **on its own**: one
``autograde`` call each, in a child process watched by a wall-clock limit, killed and
restarted when a submission hangs it. A raw ``nbgrader autograde`` over a folder stops at the
first notebook whose metadata it rejects, and a notebook that hangs or kills its kernel must
not cost the other students their grades.

Before grading, each submission is compared with the released notebook, so the CSV can say
in words what nbgrader only logs: a test cell edited (nbgrader restores it), a graded cell
deleted (nbgrader puts it back), a ``grade_id`` duplicated (nbgrader keeps the last copy).
"""

from __future__ import annotations

import csv
import html
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .versions import build_course, find_chapters, nbgrader_env, repository_url

STUDENT_TIMEOUT_S = 3600  # wall-clock limit for one submission, all cells together
GRADING_PROFILE = "quick"
MAX_MESSAGE = 120


@dataclass
class Submission:
    student: str
    chapter: str
    path: Path


@dataclass
class Result:
    """One row of the CSV."""

    student: str
    chapter: str
    status: str = "graded"  # graded | flagged | rejected | failed
    scores: dict[str, float | None] = field(default_factory=dict)  # grade_id -> points (None: manual, pending)
    max_scores: dict[str, float] = field(default_factory=dict)
    auto_ids: list[str] = field(default_factory=list)  # grade cells graded by tests
    problems: list[str] = field(default_factory=list)  # what was wrong with the submission
    lost: list[str] = field(default_factory=list)  # why autograded points were lost
    seconds: float = 0.0

    @property
    def reason(self) -> str:
        return "; ".join(self.problems + self.lost)

    def total(self, ids=None) -> float:
        ids = self.scores if ids is None else ids
        return sum(self.scores.get(i) or 0.0 for i in ids)

    def row(self, grade_ids: list[str]) -> dict[str, str]:
        manual = [i for i in self.max_scores if i not in self.auto_ids]
        pending = [i for i in manual if self.scores.get(i) is None]
        row = {
            "student": self.student,
            "chapter": self.chapter,
            "status": self.status,
            "score": _fmt(self.total()),
            "max_score": _fmt(sum(self.max_scores.values())),
            "auto_score": _fmt(self.total(self.auto_ids)),
            "auto_max_score": _fmt(sum(self.max_scores[i] for i in self.auto_ids)),
            "manual_pending": _fmt(sum(self.max_scores[i] for i in pending)),
        }
        for grade_id in grade_ids:
            value = self.scores.get(grade_id)
            row[grade_id] = "" if value is None else _fmt(value)
        row["reason"] = self.reason
        return row


def _fmt(x: float) -> str:
    return f"{x:g}"


def _short(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."


# --------------------------------------------------------------------------- submissions


def find_submissions(folder: str | Path) -> list[Submission]:
    """``<student>/<chapter>.ipynb`` and ``<student>/<chapter>/<chapter>.ipynb``, sorted."""
    found = []
    for student_dir in sorted(p for p in Path(folder).iterdir() if p.is_dir() and not p.name.startswith(".")):
        for path in sorted(student_dir.glob("*.ipynb")):
            found.append(Submission(student_dir.name, path.stem, path))
        for path in sorted(student_dir.glob("*/*.ipynb")):
            if path.parent.name == path.stem:
                found.append(Submission(student_dir.name, path.stem, path))
    return found


def _grade_cells(nb) -> dict[str, nbformat.NotebookNode]:
    return {c.metadata.nbgrader["grade_id"]: c for c in nb.cells if "grade_id" in c.metadata.get("nbgrader", {})}


def _grade_id(cell) -> str | None:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta.get("grade_id") if isinstance(meta, dict) else None


def inspect_submission(
    nb: nbformat.NotebookNode, release: nbformat.NotebookNode
) -> tuple[list[str], nbformat.NotebookNode | None]:
    """What the submission changed that it should not have, in words; and a repaired copy.

    nbgrader restores edited locked cells and puts deleted graded cells back by itself. It
    does not survive everything, though: a ``grade_id`` pasted twice or one it does not know
    crashes its ``add_missing_cells`` step, so those cells lose their nbgrader metadata here
    (the last copy of a duplicate keeps it, as nbgrader's own DeduplicateIds intends). The
    repaired copy is None when nothing needed repair.
    """
    problems: list[str] = []
    expected = _grade_cells(release)
    repaired = nbformat.from_dict(nb)
    last: dict[str, int] = {}
    for index, cell in enumerate(repaired.cells):
        if "nbgrader" in cell.get("metadata", {}):
            grade_id = _grade_id(cell)
            if grade_id in expected:
                last[grade_id] = index
    changed = False
    counts: dict[str, int] = {}
    for index, cell in enumerate(repaired.cells):
        if "nbgrader" not in cell.get("metadata", {}):
            continue
        grade_id = _grade_id(cell)
        counts[grade_id] = counts.get(grade_id, 0) + 1
        if grade_id is not None and grade_id not in expected:
            problems.append(f"unknown grade_id {grade_id!r} in cell {index} (ignored)")
        if last.get(grade_id) != index:
            del cell.metadata["nbgrader"]
            changed = True
    for grade_id, count in counts.items():
        if count > 1 and grade_id in expected:
            problems.append(f"grade_id {grade_id} appears {count} times (the last copy was graded)")
    submitted = {grade_id: repaired.cells[i] for grade_id, i in last.items()}
    for grade_id, original in expected.items():
        meta = original.metadata.nbgrader
        if grade_id not in submitted:
            if meta.get("grade"):
                problems.append(f"graded cell {grade_id} was deleted (put back from the source before grading)")
            else:
                problems.append(f"solution cell {grade_id} was deleted")
            continue
        cell = submitted[grade_id]
        if meta.get("locked") and cell.get("source", "") != original.source:
            problems.append(f"locked cell {grade_id} was edited (restored from the source before grading)")
        if cell.get("cell_type") != original.cell_type:
            problems.append(f"cell {grade_id} changed type to {cell.get('cell_type')} (restored)")
        points = cell.metadata["nbgrader"].get("points")
        if meta.get("grade") and points is not None and float(points) != float(meta.get("points", 0)):
            problems.append(f"points of {grade_id} changed to {points} (ignored)")
    return problems, (repaired if changed else None)


def _errors(nb: nbformat.NotebookNode) -> list[tuple[int, nbformat.NotebookNode, dict]]:
    found = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                found.append((index, cell, output))
                break
    return found


def explain_autograded(nb: nbformat.NotebookNode, result: Result) -> None:
    """Add to ``result`` why tests failed, timeouts, and the first error outside the tests."""
    first_other = None
    for index, cell, output in _errors(nb):
        meta = cell.metadata.get("nbgrader", {})
        message = f"{output.get('ename', 'Error')}: {output.get('evalue', '')}".rstrip(": ")
        if output.get("ename") in ("CellTimeoutError", "KeyboardInterrupt"):
            where = meta.get("grade_id") or f"cell {index}"
            result.problems.append(f"{where} ran past the per-cell time limit and was interrupted")
            if meta.get("grade"):
                result.lost.append(f"{meta['grade_id']}: timed out")
            continue
        if meta.get("grade"):
            result.lost.append(f"{meta['grade_id']}: {_short(message)}")
        elif first_other is None:
            first_other = f"first error outside the tests: {meta.get('grade_id') or f'cell {index}'}: {_short(message)}"
    for index, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and cell.cell_type == "code" and not any(
            o.get("output_type") == "error" for o in cell.get("outputs", [])
        ):
            if any(o.get("output_type") == "stream" and o.get("name") == "stderr" for o in cell.get("outputs", [])):
                result.lost.append(f"{meta['grade_id']}: wrote to stderr (nbgrader counts that as a failure)")
    if first_other:
        result.lost.append(first_other)


# --------------------------------------------------------------------------- the grading process

MARKER = "NLPCOURSE-RESULT "


def _worker_main(course_dir: str) -> None:
    """Child process: read one task per stdin line, answer one JSON line per task.

    Importing nbgrader takes seconds, so one process grades many submissions in a row;
    each submission is still its own ``autograde`` call, and the parent kills and restarts
    this process when a submission runs past its wall-clock limit.
    """
    import traceback

    from .versions import nbgrader_api

    api = nbgrader_api(Path(course_dir))
    print(MARKER + json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        chapter, student, feedback = json.loads(line)
        try:
            outcome = {"autograde": api.autograde(chapter, student, force=True, create=True)}
            if feedback and outcome["autograde"]["success"]:
                outcome["feedback"] = api.generate_feedback(chapter, student, force=True)
        except BaseException:  # noqa: BLE001 (report anything; the parent decides)
            outcome = {"autograde": {"success": False, "error": traceback.format_exc(), "log": ""}}
        print(MARKER + json.dumps(outcome), flush=True)


class GradingProcess:
    """One child process that autogrades submissions in turn (see :func:`_worker_main`)."""

    def __init__(self, course_dir: Path, log_path: Path, start_timeout: float = 900):
        self.course_dir, self.log_path, self.start_timeout = course_dir, log_path, start_timeout
        self.proc: subprocess.Popen | None = None

    def _start(self) -> None:
        # Quick profile; no progress bars: nbgrader scores a test cell that writes to stderr 0.
        env = dict(os.environ, NLPCOURSE_PROFILE=GRADING_PROFILE, NLPCOURSE_PROGRESS="0", PYTHONUNBUFFERED="1")
        env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
        src = str(Path(__file__).resolve().parents[1])  # this package, also when not installed
        env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self.log = open(self.log_path, "a", encoding="utf-8")  # noqa: SIM115 (closed in close())
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "nlpcourse.grading", "--worker", str(self.course_dir)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True,
            env=env, cwd=self.course_dir, start_new_session=True,
        )
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, args=(self.proc.stdout, self.lines), daemon=True).start()
        ready, failure = self._answer(self.start_timeout)
        if ready is None:
            raise RuntimeError(f"the grading process did not start: {failure} (see {self.log_path})")

    def _read(self, stream, lines: queue.Queue) -> None:
        for line in stream:
            lines.put(line)
        lines.put(None)

    def _answer(self, timeout: float) -> tuple[dict | None, str]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.kill()
                return None, f"grading ran past the {timeout:g} s limit for one submission and was stopped"
            if line is None:
                code = self.proc.wait()
                self.close()
                return None, f"the grading process died (exit code {code}; see {self.log_path})"
            if line.startswith(MARKER):
                return json.loads(line[len(MARKER):]), ""
            self.log.write(line)  # whatever a kernel printed on the inherited stdout

    def run(self, chapter: str, student: str, feedback: bool, timeout: float) -> tuple[dict | None, str]:
        """Autograde one submission; (outcome, "") or (None, why it could not be graded)."""
        if self.proc is None:
            self._start()
        self.log.write(f"\n===== {student}/{chapter} =====\n")
        self.log.flush()
        self.proc.stdin.write(json.dumps([chapter, student, feedback]) + "\n")
        self.proc.stdin.flush()
        outcome, failure = self._answer(timeout)
        if self.proc is not None:
            for step in (outcome or {}).values():
                self.log.write((step.get("log") or "") + (step.get("error") or ""))
            self.log.flush()
        elif failure:
            with open(self.log_path, "a", encoding="utf-8") as log:
                log.write(failure + "\n")
        return outcome, failure

    def kill(self) -> None:
        if self.proc is not None:
            _kill_tree(self.proc)
        self.close()

    def close(self) -> None:
        if self.proc is not None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=60)
            except (OSError, subprocess.TimeoutExpired):
                _kill_tree(self.proc)
            self.log.close()
        self.proc = None


def _kill_tree(proc: subprocess.Popen) -> None:
    """Kill the worker and every process below it (jupyter starts kernels in a new session)."""
    import psutil

    try:
        family = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        family = []
    for p in family:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def _nbgrader_failure(outcome: dict) -> str:
    text = (outcome.get("error") or "") + "\n" + (outcome.get("log") or "")
    if "DeadKernelError" in text or "Kernel died" in text:
        return "the notebook killed its Python kernel (os._exit, a crash or out of memory); no cell could be graded"
    if "CellTimeoutError" in text:
        return ("a cell ran past the per-cell time limit and did not stop when interrupted, "
                "so nbgrader gave up on the notebook")
    if "failed to validate" in text or "ValidationError" in text:
        return "nbgrader rejected the notebook's metadata: " + _short(_last_error_line(text))
    return "nbgrader could not grade it: " + _short(_last_error_line(text))


def _last_error_line(text: str) -> str:
    """The exception line of a traceback (``SomethingError: message``), else the last line."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for line in reversed(lines):
        if re.match(r"^[\w.]+(Error|Exception|Exit)\b", line):
            return line
    return lines[-1] if lines else "unknown error"


# --------------------------------------------------------------------------- the course


def _read_scores(course_dir: Path, chapter: str, student: str, result: Result) -> None:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gb:
        notebook = gb.find_submission_notebook(chapter, chapter, student)
        for grade in notebook.grades:
            if grade.needs_manual_grade and grade.manual_score is None:
                result.scores[grade.name] = None
            else:
                result.scores[grade.name] = float(grade.score)


def _expected(release: nbformat.NotebookNode, result: Result) -> None:
    for grade_id, cell in _grade_cells(release).items():
        meta = cell.metadata.nbgrader
        if meta.get("grade"):
            result.max_scores[grade_id] = float(meta["points"])
            if cell.cell_type == "code" and not meta.get("solution"):
                result.auto_ids.append(grade_id)


def grade_one(
    sub: Submission,
    course_dir: Path,
    release: nbformat.NotebookNode | None,
    feedback_dir: Path | None,
    wall_timeout: float,
    process: GradingProcess,
) -> Result:
    """Grade one submission; never raises for anything the submission does."""
    started = time.monotonic()
    result = Result(sub.student, sub.chapter)
    outcome = _grade_into(result, sub, course_dir, release, feedback_dir is not None, wall_timeout, process)
    if feedback_dir is not None:
        _write_feedback(course_dir, sub, result, outcome, feedback_dir)
    result.seconds = time.monotonic() - started
    return result


def _grade_into(
    result: Result,
    sub: Submission,
    course_dir: Path,
    release: nbformat.NotebookNode | None,
    feedback: bool,
    wall_timeout: float,
    process: GradingProcess,
) -> dict | None:
    if release is None:
        result.status, result.problems = "rejected", [f"no chapter named {sub.chapter!r} in the book"]
        return None
    _expected(release, result)
    result.scores = {i: 0.0 for i in result.max_scores}
    try:
        text = sub.path.read_text(encoding="utf-8")
        json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        result.status, result.problems = "rejected", [f"not valid JSON ({_short(err)}): scored 0"]
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # nbformat renames duplicated cell ids, with a warning
            nb = nbformat.reads(text, as_version=4)
        if not isinstance(nb.get("cells"), list):
            raise ValueError("no list of cells")
        result.problems, repaired = inspect_submission(nb, release)
    except Exception as err:  # noqa: BLE001 (anything that is not a notebook)
        result.status, result.problems = "rejected", [f"not a Jupyter notebook ({_short(err)}): scored 0"]
        return None

    # nbgrader grades <course>/submitted/<student>/<chapter>/<chapter>.ipynb. The submission may
    # already be there (after `nbgrader collect`), so it is written from memory, never deleted.
    for folder in (course_dir / "autograded" / sub.student / sub.chapter,
                   course_dir / "feedback" / sub.student / sub.chapter):
        shutil.rmtree(folder, ignore_errors=True)
    submitted = course_dir / "submitted" / sub.student / sub.chapter / f"{sub.chapter}.ipynb"
    submitted.parent.mkdir(parents=True, exist_ok=True)
    if repaired is None:
        submitted.write_text(text, encoding="utf-8")
    else:
        submitted.write_text(nbformat.writes(repaired), encoding="utf-8")

    outcome, failure = process.run(sub.chapter, sub.student, feedback, wall_timeout)
    if outcome is not None and not outcome["autograde"]["success"]:
        failure = _nbgrader_failure(outcome["autograde"])
    if failure:
        result.status = "failed"
        result.scores = {i: 0.0 for i in result.max_scores}
        result.problems.append(failure + ": scored 0")
    else:
        _read_scores(course_dir, sub.chapter, sub.student, result)
        graded = course_dir / "autograded" / sub.student / sub.chapter / f"{sub.chapter}.ipynb"
        explain_autograded(nbformat.read(graded, as_version=4), result)
        result.status = "flagged" if result.problems else "graded"
    return outcome


def _write_feedback(course_dir: Path, sub: Submission, result: Result, outcome, feedback_dir: Path) -> None:
    target = feedback_dir / sub.student / f"{sub.chapter}.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    made = course_dir / "feedback" / sub.student / sub.chapter / f"{sub.chapter}.html"
    if outcome and outcome.get("feedback", {}).get("success") and made.exists():
        shutil.copyfile(made, target)
        return
    target.write_text(
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>"
        f"{html.escape(sub.chapter)}</title></head><body>\n<h1>{html.escape(sub.chapter)}: not graded</h1>\n"
        f"<p>Score: {_fmt(result.total())} / {_fmt(sum(result.max_scores.values()))}.</p>\n"
        f"<p>{html.escape(result.reason or 'no feedback could be generated')}</p>\n</body></html>\n",
        encoding="utf-8",
    )


def default_course_dir(book_dir: str | Path) -> Path:
    return Path(book_dir).resolve().parent / "_build" / "nbgrader" / "course"


def prepare_course(
    book_dir: str | Path = "book",
    course_dir: str | Path | None = None,
    nbgrader_config: str | Path | None = None,
    timeout: int | None = None,
    log=print,
    only: set[str] | None = None,
) -> tuple[Path, dict[str, nbformat.NotebookNode]]:
    """Build (or refresh) the nbgrader course directory from ``book/``.

    Returns the course directory and each chapter's released notebook (of the chapters named
    in ``only``, when given). The directory then serves nbgrader's own commands too
    (``release_assignment``, ``collect``, formgrader).
    """
    book_dir = Path(book_dir)
    root = book_dir.resolve().parent
    course_dir = Path(course_dir or default_course_dir(book_dir)).resolve()
    repo_config = Path(nbgrader_config) if nbgrader_config else root / "nbgrader_config.py"
    os.environ["NLPCOURSE_PROFILE"] = GRADING_PROFILE
    nbgrader_env()
    chapters = find_chapters(book_dir)
    if only is not None:
        chapters = [c for c in chapters if c.stem in only]
    log(f"building the course directory {course_dir} from {len(chapters)} chapter(s) in {book_dir}")
    course = build_course(
        chapters, course_dir, repository_url(root), repo_config if repo_config.exists() else None, timeout
    )
    return course_dir, {name: release for name, (_, release) in course.items()}


def grade(
    submissions_dir: str | Path,
    out_csv: str | Path,
    feedback_dir: str | Path | None = None,
    book_dir: str | Path = "book",
    course_dir: str | Path | None = None,
    timeout: int | None = None,
    student_timeout: float = STUDENT_TIMEOUT_S,
    nbgrader_config: str | Path | None = None,
    log=print,
) -> list[Result]:
    """Grade every submission in ``submissions_dir``; write ``out_csv``; return the rows.

    ``course_dir`` defaults to ``_build/nbgrader/course`` beside ``book/``; it keeps the
    gradebook, so manual grades given in nbgrader's formgrader survive a re-run. ``timeout``
    overrides the per-cell limit of ``nbgrader_config.py`` (by default the one beside ``book/``).
    """
    submissions = find_submissions(submissions_dir)
    course_dir, releases = prepare_course(
        book_dir, course_dir, nbgrader_config, timeout, log, only={s.chapter for s in submissions}
    )
    results = []
    process = GradingProcess(course_dir, course_dir / "grading.log")
    try:
        for sub in submissions:
            log(f"grading {sub.student}/{sub.chapter} ...")
            result = grade_one(
                sub, course_dir, releases.get(sub.chapter),
                Path(feedback_dir) if feedback_dir else None, student_timeout, process,
            )
            log(f"  {result.status}: {_fmt(result.total())}/{_fmt(sum(result.max_scores.values()))}"
                f" in {result.seconds:.0f} s {('- ' + result.reason) if result.reason else ''}")
            results.append(result)
    finally:
        process.close()
    write_csv(results, out_csv, [i for rel in releases.values() for i in _graded_ids(rel)])
    return results


def _graded_ids(release) -> list[str]:
    return [gid for gid, c in _grade_cells(release).items() if c.metadata.nbgrader.get("grade")]


def write_csv(results: list[Result], path: str | Path, grade_ids: list[str]) -> None:
    """One row per student and chapter; a column per graded cell of every chapter."""
    fields = ["student", "chapter", "status", "score", "max_score", "auto_score", "auto_max_score",
              "manual_pending", *grade_ids, "reason"]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        for result in results:
            writer.writerow(result.row(grade_ids))


def read_csv(path: str | Path) -> dict[tuple[str, str], dict[str, str]]:
    """The CSV back, keyed by (student, chapter)."""
    with open(path, newline="", encoding="utf-8") as f:
        return {(row["student"], row["chapter"]): row for row in csv.DictReader(f)}


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "--worker":
    _worker_main(sys.argv[2])
