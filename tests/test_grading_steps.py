"""Each grading step on its own, on notebooks built in memory (nbgrader's tests/preprocessors style).

A release of two cells of code, a locked visible test, a graded hidden test and a free-text answer
is built with ``nbformat.v4``; each test changes a copy the way a learner might, runs ONE step on
it and checks the result. No kernel runs here: the structural hostile submissions (a deleted,
duplicated or re-typed cell, changed metadata, a file that is not JSON) are decided by these
steps alone, before any execution. ``tests/test_grading.py``'s hostile fixture grades the same
kinds of submission end to end (slow: it executes them in the sandbox).
"""

from __future__ import annotations

import copy
import json
import os
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from nbgrader.api import Gradebook
from nbgrader.preprocessors import ComputeChecksums, SaveCells

from nlpcourse.grading.autograde import SANITIZE, ReplayExecute, prepare
from nlpcourse.grading.feedback import HideHiddenTests
from nlpcourse.grading.gradesheet import Result, explain_autograded, expected_scores, fallback_feedback
from nlpcourse.grading.judge import JudgeOutsideKernel
from nlpcourse.grading.screen import SET_ASIDE
from nlpcourse.grading.submissions import (Submission, Unreadable, find_submissions, inspect_submission,
                                              read_submission)
from nlpcourse.judging import MIME, to_data

from helpers import cell_by_id, meta

HIDDEN = "### BEGIN HIDDEN TESTS\nassert mean([2, 4]) == 3, 'the mean of 2 and 4'\n### END HIDDEN TESTS"


def nbgrader_cell(cell_type: str, source: str, grade_id: str, *, grade: bool = False, solution: bool = False,
                  locked: bool = False, points: float | None = None) -> nbformat.NotebookNode:
    """A cell with nbgrader's metadata, as ``nlpcourse assignments`` writes it (id = grade_id)."""
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution,
            "task": False}
    if points is not None:
        meta["points"] = points
    new_cell = new_code_cell if cell_type == "code" else new_markdown_cell
    return new_cell(source, id=grade_id, metadata={"nbgrader": meta})


def make_release() -> nbformat.NotebookNode:
    """setup | mean (solution) | mean-tests (locked, ungraded) | mean-hidden (graded, 2) | why (answer, 1)."""
    return new_notebook(
        cells=[
            new_code_cell("import math", id="setup"),
            nbgrader_cell("code", "def mean(xs):\n    raise NotImplementedError()", "mean", solution=True),
            nbgrader_cell("code", "assert mean([1, 2, 3]) == 2", "mean-tests", locked=True),
            nbgrader_cell("code", HIDDEN, "mean-hidden", grade=True, locked=True, points=2),
            nbgrader_cell("markdown", "YOUR ANSWER HERE", "why", grade=True, solution=True, points=1),
        ],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    )


RELEASE = make_release()


@pytest.fixture
def submission() -> nbformat.NotebookNode:
    """A right answer to the release, for a test to change."""
    nb = copy.deepcopy(RELEASE)
    cell_by_id(nb, "mean").source = "def mean(xs):\n    return math.fsum(xs) / len(xs)"
    cell_by_id(nb, "why").source = "The largest value bounds every other."
    return nb


def grade_ids(nb) -> list[str | None]:
    return [meta(c).get("grade_id") for c in nb.cells]


# --------------------------------------------------------------------------- finding and reading


def test_submissions_are_found_flat_and_nested(tmp_path):
    for path in ("alice/fixture.ipynb", "victor/fixture/fixture.ipynb", "mallory/other/fixture.ipynb",
                 ".hidden/fixture.ipynb", "alice/notes.txt"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("{}")
    found = find_submissions(tmp_path)
    assert [(s.student, s.chapter, s.path.relative_to(tmp_path).as_posix()) for s in found] == [
        ("alice", "fixture", "alice/fixture.ipynb"), ("victor", "fixture", "victor/fixture/fixture.ipynb")]
    assert found[0].key == "alice/fixture"


def test_a_truncated_upload_is_unreadable(tmp_path, submission):
    path = tmp_path / "heidi.ipynb"
    path.write_text(nbformat.writes(submission)[:700])
    with pytest.raises(Unreadable, match="not valid JSON .*: scored 0"):
        read_submission(path)


@pytest.mark.parametrize("text", ["[1, 2]", '{"cells": "none", "nbformat": 4, "nbformat_minor": 5, "metadata": {}}'])
def test_json_that_is_no_notebook_is_unreadable(tmp_path, text):
    path = tmp_path / "not-a-notebook.ipynb"
    path.write_text(text)
    with pytest.raises(Unreadable, match="not a Jupyter notebook"):
        read_submission(path)


def test_a_duplicated_cell_id_is_read_without_a_warning(tmp_path, submission, recwarn):
    submission.cells.insert(1, copy.deepcopy(submission.cells[1]))
    path = tmp_path / "ivan.ipynb"
    path.write_text(json.dumps(submission))  # as pasted: nbformat.write would renumber the ids
    assert path.read_text().count('"id": "mean"') == 2
    nb = read_submission(path)
    assert len(nb.cells) == len(submission.cells)
    assert not recwarn.list


# --------------------------------------------------------------------------- inspect_submission


def test_an_untouched_submission_has_no_problems(submission):
    problems, repaired = inspect_submission(submission, RELEASE)
    assert problems == []
    assert repaired == submission and repaired is not submission


def test_an_edited_locked_cell_is_reported(submission):
    cell_by_id(submission, "mean-tests").source = "assert True"
    problems, _ = inspect_submission(submission, RELEASE)
    assert problems == ["locked cell mean-tests was edited (restored from the source before grading)"]


def test_a_deleted_graded_cell_is_put_back_where_it_was(submission):
    submission.cells.remove(cell_by_id(submission, "mean-hidden"))
    before = copy.deepcopy(submission)
    problems, repaired = inspect_submission(submission, RELEASE)
    assert problems == ["graded cell mean-hidden was deleted (put back from the source before grading)"]
    assert grade_ids(repaired) == grade_ids(RELEASE)
    assert cell_by_id(repaired, "mean-hidden").source == HIDDEN
    assert submission == before  # the submission itself is never changed


def test_a_deleted_read_only_or_solution_cell_is_reported_not_put_back(submission):
    submission.cells.remove(cell_by_id(submission, "mean-tests"))
    submission.cells.remove(cell_by_id(submission, "mean"))
    problems, repaired = inspect_submission(submission, RELEASE)
    assert problems == ["solution cell mean was deleted", "read-only cell mean-tests was deleted"]
    assert grade_ids(repaired) == [None, "mean-hidden", "why"]


def test_a_cell_pasted_twice_keeps_its_metadata_in_the_last_copy_only(submission):
    pasted = copy.deepcopy(cell_by_id(submission, "mean"))
    pasted.source = "def mean(xs):\n    return 0"
    submission.cells.insert(1, pasted)
    problems, repaired = inspect_submission(submission, RELEASE)
    assert problems == ["grade_id mean appears 2 times (the last copy was graded)"]
    assert grade_ids(repaired) == [None, None, "mean", "mean-tests", "mean-hidden", "why"]
    assert "return 0" in repaired.cells[1].source  # the first copy stays, as a plain cell


def test_an_unknown_grade_id_is_ignored(submission):
    cell_by_id(submission, "mean-tests").metadata.nbgrader["grade_id"] = "made-up"
    problems, repaired = inspect_submission(submission, RELEASE)
    assert problems == ["unknown grade_id 'made-up' in cell 2 (ignored)", "read-only cell mean-tests was deleted"]
    assert "nbgrader" not in repaired.cells[2].metadata


def test_a_changed_cell_type_and_changed_points_are_reported(submission):
    cell_by_id(submission, "mean-tests").cell_type = "markdown"
    cell_by_id(submission, "mean-hidden").metadata.nbgrader["points"] = 20
    problems, _ = inspect_submission(submission, RELEASE)
    assert problems == ["cell mean-tests changed type to markdown (restored)",
                        "points of mean-hidden changed to 20 (ignored)"]


# --------------------------------------------------------------------------- sanitising (nbgrader's own steps)


@pytest.fixture(scope="module")
def resources(tmp_path_factory) -> dict:
    """A gradebook holding the release's cells, as ``nbgrader generate_assignment`` leaves it
    (the sanitising steps only read it)."""
    db_url = f"sqlite:///{tmp_path_factory.mktemp('course') / 'gradebook.db'}"
    with pytest.MonkeyPatch.context() as patch:  # a new gradebook runs nbgrader's `alembic` script
        patch.setenv("PATH", str(Path(sys.executable).parent), prepend=os.pathsep)
        with Gradebook(db_url) as gb:
            gb.add_assignment("ps")
    resources = {"nbgrader": {"db_url": db_url, "assignment": "ps", "notebook": "ps", "student": "learner"}}
    release, _ = ComputeChecksums().preprocess(copy.deepcopy(RELEASE), resources)
    SaveCells().preprocess(release, resources)
    return resources


def sanitized(nb, resources) -> nbformat.NotebookNode:
    """The inspected copy through autograde's SANITIZE steps: the notebook that would be executed."""
    _, repaired = inspect_submission(nb, RELEASE)
    for step in SANITIZE:
        repaired, _ = step().preprocess(repaired, resources)
    return repaired


def test_sanitising_restores_every_cell_the_learner_must_not_change(submission, resources):
    cell_by_id(submission, "mean-tests").source = "assert True"
    cell_by_id(submission, "mean-tests").cell_type = "markdown"
    cell_by_id(submission, "mean-hidden").metadata.nbgrader["points"] = 20
    submission.cells.remove(cell_by_id(submission, "mean-hidden"))
    submission.cells[0].outputs = [new_output("stream", name="stdout", text="stale")]
    submission.metadata.kernelspec = {"name": "evil", "display_name": "evil", "language": "python"}
    nb = sanitized(submission, resources)
    assert grade_ids(nb) == grade_ids(RELEASE)
    for grade_id in ("mean-tests", "mean-hidden"):
        assert cell_by_id(nb, grade_id).source == cell_by_id(RELEASE, grade_id).source
        assert cell_by_id(nb, grade_id).cell_type == "code"
    assert cell_by_id(nb, "mean-hidden").metadata.nbgrader["points"] == 2
    assert nb.cells[0].outputs == []
    assert nb.metadata.kernelspec.name == "python3"
    assert "math.fsum" in cell_by_id(nb, "mean").source  # the answer is the learner's


def test_sanitising_a_pasted_cell_leaves_one_graded_copy(submission, resources):
    submission.cells.insert(3, copy.deepcopy(cell_by_id(submission, "mean-hidden")))
    nb = sanitized(submission, resources)
    assert grade_ids(nb) == [None, "mean", "mean-tests", None, "mean-hidden", "why"]
    assert cell_by_id(nb, "mean-hidden").metadata.nbgrader["points"] == 2


# --------------------------------------------------------------------------- before any execution


def test_a_submission_of_no_chapter_is_rejected_before_execution(tmp_path):
    result, task = prepare(Submission("karl", "no_such_chapter", tmp_path / "x.ipynb"), None, None, 8, 40)
    assert task is None
    assert (result.status, result.reason) == ("rejected", "no chapter named 'no_such_chapter' in the book")


def test_an_unreadable_submission_is_rejected_with_zero_and_feedback(tmp_path):
    path = tmp_path / "heidi" / "ps.ipynb"
    path.parent.mkdir()
    path.write_text('{"cells": [')
    result, task = prepare(Submission("heidi", "ps", path), RELEASE, None, 8, 40)
    assert task is None and result.status == "rejected" and result.reason.startswith("not valid JSON")
    assert (result.max_scores, result.auto_ids) == ({"mean-hidden": 2.0, "why": 1.0}, ["mean-hidden"])
    page = fallback_feedback(result)
    assert "<h1>ps: not graded</h1>" in page and "Score: 0 / 3." in page and "not valid JSON" in page


# --------------------------------------------------------------------------- ReplayExecute


def executed_copy(nb) -> nbformat.NotebookNode:
    """``nb`` as the sandbox hands it back: every code cell with an output and a count."""
    done = copy.deepcopy(nb)
    for count, cell in enumerate((c for c in done.cells if c.cell_type == "code"), start=1):
        cell.outputs, cell.execution_count = [new_output("stream", name="stdout", text=f"cell {count}")], count
    return done


def test_replay_copies_the_outputs_of_the_executed_notebook(submission):
    done = executed_copy(submission)
    nb, _ = ReplayExecute(done).preprocess(copy.deepcopy(submission), {})
    assert nb == done


@pytest.mark.parametrize("change", ["a cell added", "a source changed", "nbgrader metadata changed", "a type changed"])
def test_replay_refuses_an_executed_notebook_that_differs(submission, change):
    done = executed_copy(submission)
    if change == "a cell added":
        done.cells.append(new_code_cell("print('extra')"))
        match = "does not have the cells"
    elif change == "a source changed":
        done.cells[2].source = "assert True"
        match = "cell 2 differs"
    elif change == "nbgrader metadata changed":
        done.cells[3].metadata.nbgrader["points"] = 20
        match = "cell 3 differs"
    else:
        done.cells[4].cell_type = "code"
        match = "cell 4 differs"
    with pytest.raises(ValueError, match=match):
        ReplayExecute(done).preprocess(copy.deepcopy(submission), {})


# --------------------------------------------------------------------------- JudgeOutsideKernel

JUDGED = ("### BEGIN HIDDEN TESTS\nfrom nlpcourse.judging import hand_to_grader\n\n\ndef judge(seen):\n"
          "    assert seen['mean'] == 3, f\"mean([2, 4]) gave {seen['mean']}\"\n\n\n"
          "hand_to_grader(judge, mean=mean([2, 4]))\n### END HIDDEN TESTS")


def handed(mean_value) -> nbformat.NotebookNode:
    """The output a test cell leaves when it hands ``{"mean": mean_value}`` to the grader."""
    return new_output("display_data", data={MIME: to_data({"mean": mean_value}), "text/plain": "handed over"})


def judged(submission, *outputs, monkeypatch, tmp_path) -> nbformat.NotebookNode:
    """The graded test cell after JudgeOutsideKernel, which sees ``outputs`` as the kernel's."""
    monkeypatch.chdir(tmp_path)  # no course source/ here: every unlocked cell is read as the learner's
    cell = cell_by_id(submission, "mean-hidden")
    cell.source, cell.outputs = JUDGED, list(outputs)
    nb, _ = JudgeOutsideKernel().preprocess(submission, {"nbgrader": {"assignment": "ps", "notebook": "ps"}})
    return cell_by_id(nb, "mean-hidden")


def test_the_judge_passes_what_the_cell_handed_over(submission, monkeypatch, tmp_path):
    cell = judged(submission, handed(3.0), new_output("stream", name="stderr", text="noise"),
                  monkeypatch=monkeypatch, tmp_path=tmp_path)
    assert [o.output_type for o in cell.outputs] == ["display_data", "stream"]
    assert cell.outputs[1].text == "passed (decided by the grader)\n"


def test_the_judge_fails_a_wrong_value_whatever_the_kernel_printed(submission, monkeypatch, tmp_path):
    cell = judged(submission, handed(0.0), new_output("stream", name="stdout", text="all tests passed"),
                  monkeypatch=monkeypatch, tmp_path=tmp_path)
    assert [(o.ename, o.evalue) for o in cell.outputs] == [("TestFailed", "mean([2, 4]) gave 0.0")]


def test_a_cell_that_handed_nothing_over_fails_with_its_error(submission, monkeypatch, tmp_path):
    cell = judged(submission, new_output("error", ename="NameError", evalue="name 'mean' is not defined",
                                         traceback=[]), monkeypatch=monkeypatch, tmp_path=tmp_path)
    assert cell.outputs[0].evalue == ("NameError: name 'mean' is not defined "
                                      "(so the test stopped before it handed your results to the grader)")


def test_a_flagged_learner_cell_sets_the_tests_after_it_aside(submission, monkeypatch, tmp_path):
    cell_by_id(submission, "mean").source += "\n\nimport builtins\nbuiltins.abs = lambda x: 0"
    cell = judged(submission, handed(3.0), monkeypatch=monkeypatch, tmp_path=tmp_path)
    assert cell.outputs[0].ename == SET_ASIDE
    assert cell.outputs[0].evalue.startswith("set aside for hand grading: mean, line")


# --------------------------------------------------------------------------- feedback


def graded_hidden_cell(*outputs) -> nbformat.NotebookNode:
    cell = copy.deepcopy(cell_by_id(RELEASE, "mean-hidden"))
    cell.source = "from math import fsum\n" + HIDDEN
    cell.outputs = list(outputs)
    return cell


def test_feedback_shows_a_passed_hidden_test_without_its_source():
    cell, _ = HideHiddenTests().preprocess_cell(graded_hidden_cell(), {}, 0)
    assert cell.source == "from math import fsum\n# hidden tests: passed"


def test_feedback_keeps_a_failed_hidden_test_s_message_not_its_traceback():
    error = new_output("error", ename="AssertionError", evalue="the mean of 2 and 4",
                       traceback=["Traceback", "assert mean([2, 4]) == 3, 'the mean of 2 and 4'"])
    cell, _ = HideHiddenTests().preprocess_cell(graded_hidden_cell(error), {}, 0)
    assert cell.source.endswith("# hidden tests: failed") and "assert mean" not in cell.source
    assert cell.outputs[0].traceback == ["AssertionError: the mean of 2 and 4"]


def test_feedback_for_instructors_may_show_the_hidden_source():
    cell, _ = HideHiddenTests(show_source=True).preprocess_cell(graded_hidden_cell(), {}, 0)
    assert cell.source == "from math import fsum\n" + HIDDEN


def test_feedback_leaves_cells_without_hidden_tests_alone():
    for cell in (copy.deepcopy(c) for c in RELEASE.cells if "BEGIN HIDDEN" not in c.source):
        assert HideHiddenTests().preprocess_cell(copy.deepcopy(cell), {}, 0)[0] == cell


def test_a_fallback_page_escapes_what_it_quotes():
    result = Result("mallory", "<script>", status="failed", max_scores={"a": 1.0},
                    problems=["<b>killed</b> its kernel: scored 0"])
    page = fallback_feedback(result)
    assert "<script>" not in page and "&lt;b&gt;killed&lt;/b&gt;" in page


# --------------------------------------------------------------------------- explaining an autograded notebook


def autograded(**outputs) -> nbformat.NotebookNode:
    """The release with the given outputs per grade_id ("setup" for the first cell)."""
    nb = copy.deepcopy(RELEASE)
    for grade_id, cell_outputs in outputs.items():
        cell = nb.cells[0] if grade_id == "setup" else cell_by_id(nb, grade_id.replace("_", "-"))
        cell.outputs = cell_outputs
    return nb


def explained(nb) -> Result:
    result = Result("learner", "ps")
    expected_scores(RELEASE, result)
    explain_autograded(nb, result)
    return result


def error(ename: str, evalue: str = "") -> nbformat.NotebookNode:
    return new_output("error", ename=ename, evalue=evalue, traceback=[])


def test_a_clean_notebook_needs_no_explanation():
    assert explained(autograded()).reason == ""


def test_a_failed_test_and_the_first_error_outside_the_tests_are_explained():
    result = explained(autograded(setup=[error("ModuleNotFoundError", "No module named 'x'")],
                                  mean_tests=[error("NameError", "name 'mean' is not defined")],
                                  mean_hidden=[error("AssertionError", "the mean of 2 and 4")]))
    assert result.problems == []
    assert result.lost == ["mean-hidden: AssertionError: the mean of 2 and 4",
                           "first error outside the tests: cell 0: ModuleNotFoundError: No module named 'x'"]


def test_a_timeout_is_a_problem_and_costs_the_test():
    result = explained(autograded(mean_hidden=[error("CellTimeoutError")]))
    assert result.problems == ["mean-hidden ran past the per-cell time limit and was interrupted"]
    assert result.lost == ["mean-hidden: timed out"]


def test_stderr_in_a_graded_cell_is_explained():
    result = explained(autograded(mean_hidden=[new_output("stream", name="stderr", text="debug")]))
    assert result.lost == ["mean-hidden: wrote to stderr (nbgrader counts that as a failure)"]


def test_a_set_aside_is_said_once_as_a_problem():
    verdict = "set aside for hand grading: mean, line 2: builtins"
    result = explained(autograded(mean_hidden=[error(SET_ASIDE, verdict)], mean_tests=[error(SET_ASIDE, verdict)]))
    assert result.problems == [verdict]
    assert result.lost == ["mean-tests: set aside for hand grading", "mean-hidden: set aside for hand grading"]
