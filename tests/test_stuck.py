"""A stuck learner goes on (issue #25): named stubs, the reference fallback, grading unchanged.

The student version of a chapter names each exercise in its stub's error and, after an exercise
with a reference, lets the following cells run the course's reference while the exercise is
unsolved (:mod:`nlpcourse.stuck`); grading still counts only the learner's code.
"""

from __future__ import annotations

import ast
import copy
import os
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from nlpcourse import config, stuck
from nlpcourse import cli
from nlpcourse.course.chapters import read_chapter
from nlpcourse.course.home import read_course_home
from nlpcourse.course.install_cell import install_cell_source
from nlpcourse.grading.gradesheet import read_csv
from nlpcourse.course.versions import FALLBACK_TAG, exercise_names, generate_versions, stub_functions
from helpers import ROOT, mirror_path

CHAPTER = "day1_lstm_tagger"


# --------------------------------------------------------------------------- the library


def unsolved(exercise: str, reference: str | None):
    def answer(x):
        """The learner's function, still a stub."""
        raise NotImplementedError(stuck.stub_message(exercise, reference))

    return answer


def reference_forward(self, x):
    return self, x


@pytest.fixture
def learner(monkeypatch):
    for name in config.GRADING_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(stuck, "_announced", set())
    return {}


def test_an_unsolved_function_runs_the_reference_and_says_so_once(learner, capsys):
    learner["double"] = unsolved("Exercise 1 (double)", "operator.neg")
    stuck.fall_back("double", "operator.neg", "Exercise 1 (double)", learner)
    assert learner["double"](3) == -3 and learner["double"](4) == -4
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 1 and "Exercise 1 (double) is not solved yet" in printed[0]
    assert "operator.neg" in printed[0] and "only your own code" in printed[0]


def test_a_method_falls_back_and_a_solved_one_is_the_learners(learner):
    class Model:
        def forward(self, x):
            raise NotImplementedError(stuck.stub_message("Exercise 2 (forward)", "test_stuck.reference_forward"))

    learner["Model"] = Model
    stuck.fall_back("Model.forward", "test_stuck.reference_forward", "Exercise 2 (forward)", learner)
    model = Model()
    assert model.forward(2) == (model, 2)  # the reference, called with the learner's arguments

    learner["solved"] = lambda x: x + 1
    stuck.fall_back("solved", "operator.neg", "Exercise 3 (solved)", learner)
    assert learner["solved"](1) == 2


@pytest.mark.parametrize("variable", config.GRADING_ENV)
def test_grading_never_falls_back(learner, monkeypatch, variable):
    learner["double"] = unsolved("Exercise 1 (double)", "operator.neg")
    stuck.fall_back("double", "operator.neg", "Exercise 1 (double)", learner)
    monkeypatch.setenv(variable, "autograde")
    with pytest.raises(NotImplementedError, match="Exercise 1 \\(double\\) is not solved yet"):
        learner["double"](3)
    learner["again"] = answer = unsolved("Exercise 2 (again)", "operator.neg")
    stuck.fall_back("again", "operator.neg", "Exercise 2 (again)", learner)
    assert learner["again"] is answer, "while grading, the learner's function is left as it is"


def test_grading_never_falls_back_while_a_hidden_test_checks(learner):
    from nlpcourse import exercise_checks

    learner["double"] = unsolved("Exercise 1 (double)", "operator.neg")
    stuck.fall_back("double", "operator.neg", "Exercise 1 (double)", learner)
    with pytest.raises(NotImplementedError), \
            exercise_checks.forbidden("nlpcourse.batching.last_hidden", exercise="Exercise 9"):
        learner["double"](3)  # a hidden test's block is running: no reference


def test_other_errors_and_missing_targets_are_left_alone(learner):
    def half_done(x):
        raise NotImplementedError("my own placeholder")

    learner["half_done"] = half_done
    stuck.fall_back("half_done", "operator.neg", "Exercise 1 (half)", learner)
    with pytest.raises(NotImplementedError, match="my own placeholder"):
        learner["half_done"](1)
    stuck.fall_back("Missing.forward", "operator.neg", "Exercise 2", learner)  # its cell failed: nothing
    stuck.fall_back("missing", "operator.neg", "Exercise 3", learner)
    assert set(learner) == {"half_done"}


def test_a_stub_without_reference_says_so():
    assert "no reference" in stuck.stub_message("Exercise 4 (x)", None)
    assert "no reference" not in stuck.stub_message("Exercise 4 (x)", "a.b")


# --------------------------------------------------------------------------- the student version


def test_exercise_names_and_stub_places():
    chapter = read_chapter(ROOT / "book" / f"{CHAPTER}.md")
    names = exercise_names(chapter)
    assert names["day1-tagger-forward"] == "Exercise 1 (the forward pass)"
    assert names["day1-lstm-step"] == "Exercise 5 (one LSTM step by hand)"
    assert stub_functions("class A:\n    def f(self):\n        raise NotImplementedError()\n") == ["A.f"]
    assert stub_functions("x = 1\nraise NotImplementedError()\n") == [""]


def synthetic(reference: str | None, stub_body: str = "    raise NotImplementedError()") -> tuple:
    """A release notebook and its chapter: one exercise, a glue cell no one needs, one a later cell needs."""
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    def notebook(solution_body: str):
        solution = new_code_cell(f"def double(x):\n{solution_body}\n")
        solution.metadata = {"nbgrader": {"grade_id": "ex-double", "solution": True, "grade": False}}
        if reference:
            solution.metadata["nlpcourse"] = {"reference": reference}
        glue = new_code_cell("value = double(2)\nreport.glue_all({'value': value})")
        glue.metadata = {"tags": ["remove-cell"]}
        kept = new_code_cell("seen = [x for x in range(3)]")
        kept.metadata = {"tags": ["remove-cell"]}
        return new_notebook(cells=[new_code_cell("# install"), new_markdown_cell("### Exercise 7 — double it (2 points)"),
                                   solution, glue, kept, new_code_cell("print(seen)")])

    return notebook(stub_body), notebook("    return 2 * x")


def test_the_student_version_of_a_small_chapter():
    from nlpcourse.course.versions import student_version

    release, chapter = synthetic("operator.neg")
    student = student_version(release, chapter)
    sources = [c.source for c in student.cells]
    assert raised_messages(sources[2]) == [stuck.stub_message("Exercise 7 (double it)", "operator.neg")]
    assert "stuck.fall_back('double', 'operator.neg'," in sources[3] and FALLBACK_TAG in student.cells[3].metadata.tags
    assert not any("glue_all" in source for source in sources), "a glue cell no later cell needs is left out"
    assert any(source.startswith("seen =") for source in sources), "a hidden cell a later cell needs stays"
    assert release.cells[2].source.endswith("raise NotImplementedError()\n"), "the release itself is not changed"

    release, chapter = synthetic(None)
    student = student_version(release, chapter)
    assert not any(FALLBACK_TAG in c.metadata.get("tags", []) for c in student.cells)
    assert "no reference" in raised_messages(student.cells[2].source)[0]
    with pytest.raises(ValueError, match="a reference needs one stub"):
        student_version(*synthetic("operator.neg", "    raise NotImplementedError()\n    raise NotImplementedError()"))


def test_the_stubs_of_one_class_fall_back_on_a_class_method_by_method():
    from nlpcourse.course.versions import fallback_cell

    source = fallback_cell("ex-data", "Exercise 4 (a Dataset)", "pkg.Reference", ["Data.__init__", "Data.__len__"]).source
    assert "stuck.fall_back('Data.__init__', 'pkg.Reference.__init__'," in source
    assert "stuck.fall_back('Data.__len__', 'pkg.Reference.__len__'," in source
    with pytest.raises(ValueError, match="a reference needs one stub"):
        fallback_cell("ex-mixed", "Exercise 5", "pkg.f", ["Data.__init__", "helper"])


@pytest.fixture(scope="module")
def day1_versions(tmp_path_factory) -> Path:
    """Day 1's student and solution versions, generated from a copy of the course with Day 1 alone."""
    root = tmp_path_factory.mktemp("stuck") / "course"
    (root / "book").mkdir(parents=True)
    for name in ("_config.yml", "_toc.yml", "nbgrader_config.py"):
        shutil.copy(ROOT / name, root / name)
    shutil.copy(ROOT / "book" / f"{CHAPTER}.md", root / "book")
    generate_versions(root / "book", root / "labs", root / "solutions")
    return root


def raised_messages(source: str) -> list[str]:
    """The messages of the ``raise NotImplementedError("...")`` statements in ``source``."""
    return [node.exc.args[0].value for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and node.exc.args
            and isinstance(node.exc.args[0], ast.Constant)]


def grade_ids(nb, **flags) -> list[str]:
    return [c.metadata["nbgrader"]["grade_id"] for c in nb.cells
            if all(c.metadata.get("nbgrader", {}).get(k) == v for k, v in flags.items())]


def test_every_stub_names_its_exercise_and_every_reference_has_its_cell(day1_versions):
    lab = nbformat.read(day1_versions / "labs" / f"{CHAPTER}.ipynb", as_version=4)
    assert lab.cells[0].source == install_cell_source(read_course_home(day1_versions)), "Day 1: no word vectors"
    assert "[vectors]" not in lab.cells[0].source
    names = exercise_names(lab)
    for index, cell in enumerate(lab.cells):
        grader = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and grader.get("solution"):
            name = names[grader["grade_id"]]
            assert raised_messages(cell.source) == [stuck.stub_message(name, "nlpcourse.references")]
            follower = lab.cells[index + 1]
            assert FALLBACK_TAG in follower.metadata.get("tags", []), f"{grader['grade_id']}: no fallback cell"
            assert follower.metadata["editable"] is False
    glue_only = [c for c in lab.cells if "remove-cell" in c.metadata.get("tags", []) and "nbgrader" not in c.metadata
                 and all(isinstance(node, ast.Expr) and ast.unparse(node).startswith("report.glue")
                         for node in ast.parse(c.source).body)]
    assert not glue_only, "a hidden cell that only glues numbers for the book binds nothing: left out"


def first_exercise_unsolved(lab, solution):
    """The student notebook with every exercise solved but the first."""
    nb = copy.deepcopy(lab)
    first, *others = grade_ids(lab, solution=True)
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in solution.cells if "nbgrader" in c.metadata}
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") in others:
            cell.source = answers[cell.metadata["nbgrader"]["grade_id"]]
    return nb, first


@pytest.mark.slow  # about 2 minutes: Day 1 runs once in the quick profile, then nbgrader grades it
def test_a_stuck_learner_runs_the_whole_chapter_and_grading_counts_only_their_code(day1_versions, tmp_path,
                                                                                  monkeypatch):
    if "NLPCOURSE_DATA" not in os.environ and mirror_path().is_dir():
        monkeypatch.setenv("NLPCOURSE_DATA", str(mirror_path()))
    monkeypatch.setenv("NLPCOURSE_PROFILE", "quick")
    monkeypatch.setenv("NLPCOURSE_PROGRESS", "0")
    for name in config.GRADING_ENV:
        monkeypatch.delenv(name, raising=False)
    lab = nbformat.read(day1_versions / "labs" / f"{CHAPTER}.ipynb", as_version=4)
    solution = nbformat.read(day1_versions / "solutions" / f"{CHAPTER}.ipynb", as_version=4)
    nb, first = first_exercise_unsolved(lab, solution)
    exercise = exercise_names(lab)[first]

    # the learner: "Run all" goes through every cell; the fallback is announced once
    ran = copy.deepcopy(nb)
    NotebookClient(ran, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in ran.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    printed = "".join(o.get("text", "") for c in ran.cells if c.cell_type == "code" for o in c.outputs)
    assert printed.count(f"{exercise} is not solved yet: this cell and the ones after it use") == 1
    stub_cell = next(c for c in ran.cells if c.metadata.get("nbgrader", {}).get("grade_id") == first)
    assert raised_messages(stub_cell.source) == [stuck.stub_message(exercise, "nlpcourse.references")]

    # the grader: that exercise scores 0, every other one its points
    submissions = tmp_path / "submissions"
    (submissions / "stuck").mkdir(parents=True)
    nbformat.write(nb, submissions / "stuck" / f"{CHAPTER}.ipynb")
    csv_path = tmp_path / "grades.csv"
    assert cli.main(["grade", str(submissions), "--out", str(csv_path), "--book", str(day1_versions / "book"),
                     "--jobs", "1", "--course-dir", str(tmp_path / "course")]) == 0
    row = read_csv(csv_path)[("stuck", CHAPTER)]
    assert row["status"] == "graded", row["reason"]
    points = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"]
              for c in lab.cells if c.metadata.get("nbgrader", {}).get("grade")
              and not c.metadata["nbgrader"].get("solution") and c.cell_type == "code"}
    lost = {grade_id for grade_id in points if grade_id.startswith(first)}
    assert lost == {f"{first}-hidden"}
    for grade_id, full in points.items():
        assert float(row[grade_id]) == (0 if grade_id in lost else full), (grade_id, row["reason"])
