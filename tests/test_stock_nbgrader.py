"""The course directory works with nbgrader's own command line, and feedback keeps hidden tests
hidden. Fixture chapter; about a minute (each nbgrader command starts in a few seconds)."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from nlpcourse import cli

from helpers import FIXTURE_BOOK, ROOT, require_sandbox

FIXTURE = FIXTURE_BOOK / "fixture.md"
HIDDEN_ONLY = "one mean per case"  # words only the hidden tests' source holds


def nbgrader(course_dir: Path, *args: str) -> None:
    env = dict(os.environ, NLPCOURSE_PROFILE="quick", NLPCOURSE_PROGRESS="0")
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env["PATH"]
    run = subprocess.run([str(Path(sys.executable).parent / "nbgrader"), *args], cwd=course_dir, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{run.stdout}\n{run.stderr}"


@pytest.mark.slow  # about 1-2 minutes on 2 cores: six nbgrader commands, three executions
def test_stock_nbgrader_commands_and_lms_zip(tmp_path):
    require_sandbox()  # stock autograde executes in the grading sandbox (nbgrader_config.py)
    (tmp_path / "book").mkdir()
    shutil.copy(FIXTURE, tmp_path / "book" / "fixture.md")
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    shutil.copy(ROOT / "_config.yml", tmp_path / "_config.yml")  # the course's home: links, install cell
    assert cli.main(["course", "--book", str(tmp_path / "book")]) == 0
    course = tmp_path / "course"
    nbgrader(course, "generate_assignment", "fixture", "--force")

    # An LMS bulk download (Moodle's file names): alice hands in the solution, bob the stub,
    # carol a mean that passes the visible test and fails the hidden one, dan a wrong mean and a
    # silenced traceback printer (a test decided inside his kernel would pass; the grader's screen
    # reads it in his cell and sets both tests aside for hand grading).
    solution = nbformat.read(course / "source" / "fixture" / "fixture.ipynb", as_version=4)
    archive = course / "downloaded" / "fixture" / "archive"
    archive.mkdir(parents=True)
    with zipfile.ZipFile(archive / "moodle-download.zip", "w") as zf:
        zf.writestr("alice_1001_assignsubmission_file_fixture.ipynb", nbformat.writes(solution))
        next(c for c in solution.cells if "def mean" in c.source).source = "def mean(xs):\n    return 2"
        zf.writestr("carol_1003_assignsubmission_file_fixture.ipynb", nbformat.writes(solution))
        next(c for c in solution.cells if "def mean" in c.source).source = (
            "def mean(xs):\n    return 0\n\nget_ipython().showtraceback = lambda *args, **kwargs: None")
        zf.writestr("dan_1004_assignsubmission_file_fixture.ipynb", nbformat.writes(solution))
        zf.write(course / "release" / "fixture" / "fixture.ipynb", "bob_1002_assignsubmission_file_fixture.ipynb")
    nbgrader(course, "zip_collect", "fixture")
    for student in ("alice", "bob", "carol", "dan"):
        assert (course / "submitted" / student / "fixture" / "fixture.ipynb").exists()

    nbgrader(course, "autograde", "fixture")
    nbgrader(course, "generate_feedback", "fixture")
    nbgrader(course, "export")

    with open(course / "grades.csv", newline="") as f:
        scores = {row["student_id"]: float(row["raw_score"]) for row in csv.DictReader(f)}
    assert scores == {"alice": 5, "bob": 0, "carol": 3, "dan": 0}  # autograded points; the free answer waits
    pages = {s: (course / "feedback" / s / "fixture" / "fixture.html").read_text() for s in scores}
    for student, verdict in (("alice", "passed"), ("bob", "failed"), ("carol", "failed"), ("dan", "failed")):
        assert f"# hidden tests: {verdict}" in pages[student]
        assert HIDDEN_ONLY not in pages[student], f"{student}: the hidden tests' source is in the feedback"
    assert "gave 2" in pages["carol"]  # the failed hidden test's message
    assert "set aside for hand grading" in pages["dan"] and "IPython shell object" in pages["dan"]

    # The instructors' option: the hidden tests' source in the feedback.
    with open(course / "nbgrader_config.py", "a") as f:
        f.write("c.HideHiddenTests.show_source = True\n")
    nbgrader(course, "generate_feedback", "fixture", "--force")
    assert HIDDEN_ONLY in (course / "feedback" / "alice" / "fixture" / "fixture.html").read_text()


# Submissions graded both ways: right, stub, wrong, decided-in-the-kernel tampering, screened
# tampering in the exercise and in a cell of the learner's own between the exercises; alice's
# extra cell says whether the course directory is in reach (not in the sandbox).
BOTH_WAYS = {
    "bob": None,  # the stub
    "carol": ("fx-mean", "def mean(xs):\n    return 2"),
    "dan": ("fx-mean", "def mean(xs):\n    return 0\n\nget_ipython().showtraceback = lambda *args, **kwargs: None"),
    "erin": ("fx-mean", "import nlpcourse.judging as judging\n\ndef mean(xs):\n    return 0\n\n"
                        "judging.hand_to_grader = lambda judge, **seen: print('all tests passed')"),
}


def gradebook_scores(course: Path, chapter: str, students) -> dict[str, dict[str, float]]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {s: {g.name: float(g.score) for g in gb.find_submission_notebook(chapter, chapter, s).grades
                    if not g.needs_manual_grade} for s in students}


@pytest.mark.slow  # about 1-2 minutes on 2 cores: the same six submissions graded both ways
def test_stock_autograde_grades_as_nlpcourse_grade_in_the_sandbox(tmp_path):
    require_sandbox()
    stock = tmp_path / "stock"
    (stock / "book").mkdir(parents=True)
    shutil.copy(FIXTURE, stock / "book" / "fixture.md")
    shutil.copy(ROOT / "nbgrader_config.py", stock / "nbgrader_config.py")
    shutil.copy(ROOT / "_config.yml", stock / "_config.yml")
    assert cli.main(["course", "--book", str(stock / "book")]) == 0
    course = stock / "course"
    nbgrader(course, "generate_assignment", "fixture", "--force")
    solution = nbformat.read(course / "source" / "fixture" / "fixture.ipynb", as_version=4)
    lab = nbformat.read(course / "release" / "fixture" / "fixture.ipynb", as_version=4)
    probe = nbformat.v4.new_code_cell(f"import os\nprint('course in reach:', os.path.exists({str(course)!r}))")
    submissions = {"alice": nbformat.from_dict(solution), "bob": lab}
    submissions["alice"].cells.append(probe)
    for student, change in BOTH_WAYS.items():
        if change is not None:
            nb = nbformat.from_dict(solution)
            next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == change[0]).source = change[1]
            submissions[student] = nb
    nb = nbformat.from_dict(solution)
    hidden = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "fx-mean-hidden")
    nb.cells.insert(hidden + 1, nbformat.v4.new_code_cell("import sys\nsys.modules['math'].fsum = lambda xs: 0.0"))
    submissions["frank"] = nb
    ours = tmp_path / "submissions"
    for student, nb in submissions.items():
        for folder in (course / "submitted" / student / "fixture", ours / student):
            folder.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, folder / "fixture.ipynb")

    nbgrader(course, "autograde", "fixture")
    assert cli.main(["grade", str(ours), "--out", str(tmp_path / "grades.csv"), "--book", str(stock / "book"),
                     "--course-dir", str(tmp_path / "ours"), "--config", str(ROOT / "nbgrader_config.py")]) == 0

    stock_scores = gradebook_scores(course, "fixture", submissions)
    our_scores = gradebook_scores(tmp_path / "ours", "fixture", submissions)
    assert stock_scores == our_scores
    # not vacuous: full marks, none, one test lost, set aside
    assert stock_scores["alice"] == {"fx-mean-hidden": 2, "fx-logsumexp-hidden": 3}
    assert sum(stock_scores["bob"].values()) == 0
    assert stock_scores["carol"] == {"fx-mean-hidden": 0, "fx-logsumexp-hidden": 3}
    assert stock_scores["dan"] == stock_scores["erin"] == {"fx-mean-hidden": 0, "fx-logsumexp-hidden": 0}
    assert stock_scores["frank"] == {"fx-mean-hidden": 2, "fx-logsumexp-hidden": 0}
    graded = {s: nbformat.read(course / "autograded" / s / "fixture" / "fixture.ipynb", as_version=4)
              for s in ("alice", "erin")}
    said = "\n".join(o.get("text", "") for c in graded["alice"].cells for o in c.get("outputs", []))
    assert "course in reach: False" in said  # the stock execution ran in the sandbox
    verdicts = "\n".join(o.get("evalue", "") for c in graded["erin"].cells for o in c.get("outputs", []))
    assert "set aside for hand grading" in verdicts and "nlpcourse.judging" in verdicts
