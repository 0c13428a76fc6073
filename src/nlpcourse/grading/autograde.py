"""Grade a folder of submissions: the TRUSTED side, in the grading process only.

1. Each submission is read (never written), inspected against the released notebook and
   sanitised in memory with nbgrader's own sanitize preprocessors: the notebook to execute.
2. The executions (untrusted code) are handed to ``run_executions``: one child process per
   submission with a wall-clock limit (:mod:`.execute`); sequential by default, any function
   ``list[ExecutionTask] -> list[ExecutionOutcome]`` in the same order can replace it.
3. Serially, per submission, nbgrader's Autograde converter grades it, with :class:`ReplayExecute`
   in place of its Execute: the executed notebook that came back is data to check (exactly the
   cells of nbgrader's own sanitised notebook) whose outputs are copied over; each graded test
   cell is then decided here, outside the learner's kernel (:mod:`.judge`); nbgrader's
   SaveAutoGrades then writes the gradebook. Only this process writes the gradebook, the
   CSV and the feedback.
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

import nbformat
from nbgrader.preprocessors import (CheckCellMetadata, ClearOutput, DeduplicateIds, Execute, NbGraderPreprocessor,
                                    OverwriteCells, OverwriteKernelspec)
from traitlets.config import Config

from nlpcourse.atomic import atomic_path
from nlpcourse.course.directory import load_config, nbgrader_api, prepare_course, settings_file
from .dispatch import execution_runner
from .execute import ExecutionOutcome, ExecutionTask
from .gradesheet import (Result, expected_scores, explain_autograded, fallback_feedback, load_results,
                         store_result, write_csv)
from .judge import autograde_steps
from .messages import last_error_line, short
from .sandbox import get_sandbox
from .settings import Grading
from .submissions import Submission, Unreadable, find_submissions, inspect_submission, read_submission

SANITIZE = (ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells, CheckCellMetadata)
RunExecutions = Callable[[list[ExecutionTask]], list[ExecutionOutcome]]
logger = logging.getLogger(__name__)


class ReplayExecute(NbGraderPreprocessor):
    """Execute's stand-in: checks the executed notebook against the sanitised one, copies outputs."""

    def __init__(self, executed: nbformat.NotebookNode, **kwargs):
        super().__init__(**kwargs)
        self.executed = executed

    def preprocess(self, nb, resources):
        if len(nb.cells) != len(self.executed.cells):
            raise ValueError("the executed notebook does not have the cells of the sanitised submission")
        for index, (cell, done) in enumerate(zip(nb.cells, self.executed.cells)):
            if (cell.cell_type, cell.source, cell.metadata.get("nbgrader")) != (
                    done.cell_type, done.source, done.metadata.get("nbgrader")):
                raise ValueError(f"the executed notebook's cell {index} differs from the sanitised submission")
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = done.outputs, done.execution_count
        return nb, resources


class ReplayRun(NbGraderPreprocessor):
    """Execute's stand-in for a whole grading run: each submission's execution (notebook JSON text,
    by ``student/chapter``) replayed with :class:`ReplayExecute`. Set once per run, not per submission."""

    def __init__(self, executed: dict[str, str], **kwargs):
        super().__init__(**kwargs)
        self.executed = executed

    def preprocess(self, nb, resources):
        key = f"{resources['nbgrader']['student']}/{resources['nbgrader']['assignment']}"
        return ReplayExecute(nbformat.reads(self.executed[key], as_version=4)).preprocess(nb, resources)


def sanitize(nb: nbformat.NotebookNode, sub: Submission, api) -> nbformat.NotebookNode:
    """nbgrader's sanitize step, in memory: outputs cleared, locked and test cells restored."""
    resources = {"nbgrader": {"student": sub.student, "assignment": sub.chapter, "notebook": sub.chapter,
                              "db_url": api.coursedir.db_url}}
    nb = nbformat.from_dict(nb)
    for preprocessor in SANITIZE:
        nb, resources = preprocessor(parent=api).preprocess(nb, resources)
    return nb


def stage(sub: Submission, course_dir: Path, original, copy) -> nbformat.NotebookNode:
    """Put the (repaired) copy where nbgrader's converter reads it, never over the original;
    return the notebook the converter will read."""
    for kind in ("autograded", "feedback"):
        shutil.rmtree(course_dir / kind / sub.student / sub.chapter, ignore_errors=True)
    target = course_dir / "submitted" / sub.student / sub.chapter / f"{sub.chapter}.ipynb"
    if target.exists() and target.samefile(sub.path):
        return original  # graded in place after `nbgrader collect`: nbgrader reads the file as it is
    with atomic_path(target) as tmp:
        nbformat.write(copy, tmp)
    return copy


def prepare(sub: Submission, release, api, cell_timeout: int, wall_timeout: float
            ) -> tuple[Result, ExecutionTask | None]:
    """The result so far and the execution task (None when there is nothing to execute)."""
    result = Result(sub.student, sub.chapter)
    if release is None:
        result.status, result.problems = "rejected", [f"no chapter named {sub.chapter!r} in the book"]
        return result, None
    expected_scores(release, result)
    try:
        nb = read_submission(sub.path)
        result.problems, copy = inspect_submission(nb, release)
        sanitized = sanitize(stage(sub, Path(api.coursedir.root), nb, copy), sub, api)
    except Unreadable as err:
        result.status, result.problems = "rejected", [str(err)]
        return result, None
    except Exception as err:  # noqa: BLE001 (nbgrader rejects the notebook)
        result.status = "failed"
        result.problems.append(f"nbgrader rejected the notebook: {short(last_error_line(str(err)))}: scored 0")
        return result, None
    return result, ExecutionTask(sub.key, nbformat.writes(sanitized), cell_timeout, wall_timeout)


def finish(sub: Submission, result: Result, outcome: ExecutionOutcome | None, api, feedback_dir: Path | None) -> None:
    """Grade the executed notebook with nbgrader, explain lost points, store the result, write feedback."""
    course_dir = Path(api.coursedir.root)
    if outcome is not None:
        result.seconds = outcome.seconds
        failure = outcome.failure
        if outcome.ok:  # the run's ReplayRun hands nbgrader this execution
            graded = api.autograde(sub.chapter, sub.student, force=True, create=True)
            failure = "" if graded["success"] else "nbgrader could not grade it: " + short(
                last_error_line((graded.get("error") or "") + "\n" + (graded.get("log") or "")))
        if failure:
            result.status = "failed"
            result.problems.append(failure + ": scored 0")
        else:
            path = course_dir / "autograded" / sub.student / sub.chapter / f"{sub.chapter}.ipynb"
            explain_autograded(nbformat.read(path, as_version=4), result)
            result.status = "flagged" if result.problems else "graded"
    store_result(course_dir, result)
    if feedback_dir is not None:
        write_feedback(sub, result, api, feedback_dir)


def write_feedback(sub: Submission, result: Result, api, feedback_dir: Path) -> None:
    target = feedback_dir / sub.student / f"{sub.chapter}.html"
    made = Path(api.coursedir.root) / "feedback" / sub.student / sub.chapter / f"{sub.chapter}.html"
    if result.status in ("graded", "flagged") and api.generate_feedback(sub.chapter, sub.student, force=True)[
            "success"] and made.exists():
        with atomic_path(target) as tmp:
            shutil.copyfile(made, tmp)
    else:
        with atomic_path(target) as tmp:
            tmp.write_text(fallback_feedback(result), encoding="utf-8")


def grade(
    submissions_dir: str | Path,
    out_csv: str | Path,
    feedback_dir: str | Path | None = None,
    book_dir: str | Path = "book",
    course_dir: str | Path | None = None,
    nbgrader_config: str | Path | None = None,
    settings: Config | None = None,
    run_executions: RunExecutions | None = None,
) -> list[Result]:
    """Grade every submission in ``submissions_dir``; write ``out_csv``; return the rows.

    The course directory (default: ``course/`` beside ``book/``) keeps the gradebook, so manual
    grades given in nbgrader's formgrader survive a re-run. The settings are those of
    ``nbgrader_config.py`` (by default the one beside ``book/``) with ``settings`` (the command
    line's) over them, for this run only: ``Execute.timeout`` per cell and :class:`.settings.Grading`.
    Learner code runs in ``Grading.sandbox``; when that sandbox cannot run here, `SandboxUnavailable`
    is raised before anything is graded. ``run_executions`` defaults to ``Grading.jobs`` threads or
    ``Grading.scheduler``'s Dask workers (:func:`.dispatch.execution_runner`).
    """
    settings = settings or Config()
    config = load_config(settings_file(book_dir, nbgrader_config))
    config.merge(settings)
    grading = Grading(config=config)
    chosen = get_sandbox(grading.sandbox)
    run_executions = run_executions or execution_runner(grading.jobs, grading.scheduler)
    submissions = find_submissions(submissions_dir)
    course_dir, releases = prepare_course(book_dir, course_dir, nbgrader_config,
                                          only={s.chapter for s in submissions})
    api = nbgrader_api(course_dir, settings)
    cell_timeout = Execute(config=api.config).timeout
    prepared = [prepare(s, releases.get(s.chapter), api, cell_timeout, grading.submission_timeout)
                for s in submissions]
    prepared = [(result, task and replace(task, sandbox=chosen.name, limits=grading.limits()))
                for result, task in prepared]
    tasks = [task for _, task in prepared if task is not None]
    logger.info(f"executing {len(tasks)} submission(s) in the {chosen.name} sandbox ...")
    if chosen.warning:
        logger.info(chosen.warning)
    outcomes = run_executions(tasks)
    api.config.Autograde.autograde_preprocessors = autograde_steps(
        ReplayRun({o.key: o.notebook for o in outcomes if o.ok}))
    outcomes = iter(outcomes)
    started = time.monotonic()
    with open(course_dir / "grading.log", "a", encoding="utf-8") as grading_log:
        grading_log.write(f"\n===== grading run, sandbox: {chosen.name} =====\n{chosen.warning}\n")
        for sub, (result, task) in zip(submissions, prepared):
            outcome = next(outcomes) if task is not None else None
            if outcome is not None:
                grading_log.write(f"\n===== {sub.key} ({outcome.seconds:.1f} s) =====\n{outcome.log}\n")
            finish(sub, result, outcome, api, Path(feedback_dir) if feedback_dir else None)
            logger.info(f"  {sub.key}: {result.status} {('- ' + result.reason) if result.reason else ''}")
    logger.info(f"graded {len(submissions)} submission(s) in {time.monotonic() - started:.0f} s after execution")
    results = load_results(course_dir, [(s.student, s.chapter) for s in submissions])
    write_csv(results, out_csv)
    return results
