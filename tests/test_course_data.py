"""Nothing an instructor has is lost: the gradebook outlives rebuilds, cleans and regrades, and
regenerating ``source/`` never silently discards an edit made there. Fixture chapter, ~1 min."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from nlpcourse import cli
from nlpcourse.grading.gradesheet import read_csv

from helpers import FIXTURE_BOOK, ROOT

FIXTURE = FIXTURE_BOOK / "fixture.md"


@pytest.fixture
def repo(tmp_path):
    """A small course repository: book/ with the fixture chapter and the course's nbgrader_config.py."""
    (tmp_path / "book").mkdir()
    shutil.copy(FIXTURE, tmp_path / "book" / "fixture.md")
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    shutil.copy(ROOT / "_config.yml", tmp_path / "_config.yml")  # the course's home: links, install cell
    return tmp_path


def course(repo: Path, *extra: str) -> int:
    return cli.main(["course", "--book", str(repo / "book"), *extra])


def test_manual_grade_survives_rebuild_clean_and_regrade(repo, tmp_path_factory):
    from nbgrader.api import Gradebook

    assert course(repo) == 0
    course_dir = repo / "course"  # the documented default: beside book/, outside _build/
    assert (course_dir / "gradebook.db").exists() and not (repo / "_build" / "nbgrader").exists()
    subs = tmp_path_factory.mktemp("submissions")
    (subs / "alice").mkdir()
    shutil.copy(course_dir / "source" / "fixture" / "fixture.ipynb", subs / "alice" / "fixture.ipynb")
    grade = ["grade", str(subs), "--book", str(repo / "book"), "--timeout", "8"]
    settings = (course_dir / "nbgrader_config.py").read_bytes()
    assert cli.main([*grade, "--out", str(repo / "first.csv")]) == 0
    assert (course_dir / "nbgrader_config.py").read_bytes() == settings, "--timeout is for this run only"
    assert read_csv(repo / "first.csv")[("alice", "fixture")]["fx-why-max"] == ""  # waits for a manual grade
    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gb:
        gb.find_grade("fx-why-max", "fixture", "fixture", "alice").manual_score = 0.5  # as formgrader does
        gb.db.commit()

    assert course(repo) == 0  # rebuild the course
    (repo / "_build" / "html").mkdir(parents=True)
    (repo / "_build" / "html" / "index.html").write_text("<html></html>")
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    subprocess.run([str(jupyter_book), "clean", "--all", str(repo)], check=True, capture_output=True)
    assert not (repo / "_build" / "html").exists()  # the clean did clean
    assert cli.main([*grade, "--out", str(repo / "again.csv")]) == 0  # regrade

    row = read_csv(repo / "again.csv")[("alice", "fixture")]
    # Graded in place, as after `nbgrader collect`: the file in submitted/ is only read.
    collected = course_dir / "submitted" / "alice" / "fixture" / "fixture.ipynb"
    before = collected.read_bytes()
    assert cli.main(["grade", str(course_dir / "submitted"), "--book", str(repo / "book"), "--timeout", "8",
                     "--out", str(repo / "in-place.csv")]) == 0
    assert collected.read_bytes() == before
    assert read_csv(repo / "in-place.csv")[("alice", "fixture")] == row
    assert row["fx-why-max"] == "0.5" and row["manual_pending"] == "0", row
    assert cli.main(["grades", "--book", str(repo / "book"), "--out", str(repo / "final.csv")]) == 0
    assert read_csv(repo / "final.csv")[("alice", "fixture")] == row


def test_regenerating_source_keeps_formgrader_edits_or_stops(repo, capsys):
    assert course(repo) == 0
    source = repo / "course" / "source" / "fixture" / "fixture.ipynb"
    fresh = source.read_bytes()
    nb = nbformat.reads(fresh.decode(), as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell("A hint added in the formgrader."))
    nbformat.write(nb, source)
    edited = source.read_bytes()

    assert course(repo) == 1
    assert "was edited after nlpcourse wrote it" in capsys.readouterr().err
    assert source.read_bytes() == edited  # nothing discarded

    assert course(repo, "--replace-edited-source") == 0
    assert (repo / "course" / "edited-source" / "fixture.ipynb").read_bytes() == edited
    assert source.read_bytes() == fresh
    assert course(repo) == 0  # what nlpcourse wrote itself is replaced without a word


def test_missing_gradebook_or_submissions_give_a_clear_error_and_write_nothing(tmp_path, capsys):
    out = tmp_path / "grades.csv"
    assert cli.main(["grades", "--course-dir", str(tmp_path / "nowhere"), "--out", str(out)]) == 2
    assert cli.main(["grade", str(tmp_path / "nowhere"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "no gradebook in" in err and "is not a folder" in err
    assert not out.exists() and not (tmp_path / "nowhere").exists()
