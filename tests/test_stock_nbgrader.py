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

from nlpcourse.instructor import cli

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "book" / "fixture.md"
HIDDEN_ONLY = "one mean per case"  # words only the hidden tests' source holds


def nbgrader(course_dir: Path, *args: str) -> None:
    env = dict(os.environ, NLPCOURSE_PROFILE="quick", NLPCOURSE_PROGRESS="0")
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env["PATH"]
    run = subprocess.run([str(Path(sys.executable).parent / "nbgrader"), *args], cwd=course_dir, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{run.stdout}\n{run.stderr}"


@pytest.mark.slow  # about 1-2 minutes on 2 cores: six nbgrader commands, three executions
def test_stock_nbgrader_commands_and_lms_zip(tmp_path):
    (tmp_path / "book").mkdir()
    shutil.copy(FIXTURE, tmp_path / "book" / "fixture.md")
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    shutil.copy(ROOT / "_config.yml", tmp_path / "_config.yml")  # the course's home: links, install cell
    assert cli.main(["course", "--book", str(tmp_path / "book")]) == 0
    course = tmp_path / "course"
    nbgrader(course, "generate_assignment", "fixture", "--force")

    # An LMS bulk download (Moodle's file names): alice hands in the solution, bob the stub,
    # carol a mean that passes the visible test and fails the hidden one, dan a wrong mean and a
    # silenced traceback printer (a test decided inside his kernel would pass).
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
    assert scores == {"alice": 5, "bob": 0, "carol": 3, "dan": 3}  # autograded points; the free answer waits
    pages = {s: (course / "feedback" / s / "fixture" / "fixture.html").read_text() for s in scores}
    for student, verdict in (("alice", "passed"), ("bob", "failed"), ("carol", "failed"), ("dan", "failed")):
        assert f"# hidden tests: {verdict}" in pages[student]
        assert HIDDEN_ONLY not in pages[student], f"{student}: the hidden tests' source is in the feedback"
    assert "gave 2" in pages["carol"] and "gave 0" in pages["dan"]  # the failed hidden test's message

    # The instructors' option: the hidden tests' source in the feedback.
    with open(course / "nbgrader_config.py", "a") as f:
        f.write("c.HideHiddenTests.show_source = True\n")
    nbgrader(course, "generate_feedback", "fixture", "--force")
    assert HIDDEN_ONLY in (course / "feedback" / "alice" / "fixture" / "fixture.html").read_text()
