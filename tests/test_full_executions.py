"""The committed full-profile executions (results/full/<chapter>.ipynb) match the chapters' code.

Fast: nothing here executes a real chapter. The writer is tested on the fixture chapter.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import nbformat
import pytest

from nlpcourse import cli
from nlpcourse.book import book_cache, full_executions, publish
from nlpcourse.course.chapters import chapter_names
from nlpcourse.book.full_execution_note import add_note

from helpers import FIXTURE_BOOK, ROOT

FIXTURE = FIXTURE_BOOK / "fixture.md"


@pytest.mark.parametrize("chapter", chapter_names(ROOT / "book"))
def test_committed_execution_matches_the_chapter_code(chapter):
    state = full_executions.status(ROOT, chapter)
    if state.provenance is None:
        pytest.skip(f"{chapter}: no full-profile execution committed yet "
                    f"(nlpcourse book record {chapter})")
    assert state.current, (f"{chapter}: {state.reason}; re-record it: nlpcourse book record "
                           f"{chapter}, then commit results/full/")
    for name, record in state.provenance["records"].items():
        on_disk = json.loads((ROOT / "results" / "full" / name).read_text())
        assert on_disk == record, f"results/full/{name} disagrees with the copy in {state.artifact.name}"


def fake_execution(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """``notebook`` as if executed: each code cell prints its position; hidden cells also glue."""
    executed = nbformat.from_dict(json.loads(json.dumps(notebook)))
    for number, cell in enumerate(c for c in executed.cells if c.cell_type == "code"):
        cell.execution_count = number + 1
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"cell {number}\n")]
        if "remove-cell" in cell.metadata.get("tags", []):
            cell.outputs.append(nbformat.v4.new_output(
                "display_data", data={"text/plain": "42"}, metadata={"scrapbook": {"name": f"value{number}"}}))
    executed.metadata["language_info"] = {"name": "python", "version": "3.11.9", "pygments_lexer": "ipython3"}
    return executed


def book_with_fixture(tmp_path: Path) -> Path:
    (tmp_path / "book").mkdir()
    shutil.copy(FIXTURE, tmp_path / "book" / "fixture.md")
    return tmp_path


def record_fake_execution(root: Path) -> None:
    notebook = book_cache.myst_notebook(root / "book" / "fixture.md")
    full_executions.write(root, "fixture", fake_execution(notebook), {"fixture.json": {"chapter": "fixture"}},
                          1.0, "abc1234", "cpu")


def edit(root: Path, old: str, new: str) -> None:
    path = root / "book" / "fixture.md"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_a_code_edit_makes_the_chapter_stale_and_prose_or_comment_edits_do_not(tmp_path):
    root = book_with_fixture(tmp_path)
    record_fake_execution(root)
    assert full_executions.status(root, "fixture").current
    edit(root, "A stand-in chapter", "A rewritten stand-in chapter")  # prose
    edit(root, "    ### BEGIN SOLUTION\n    total_of_values", "    ### BEGIN SOLUTION\n    # a comment\n    total_of_values")
    assert full_executions.status(root, "fixture").current
    edit(root, "tags: [hide-input]", "tags: [hide-input, hide-output]")  # display only
    assert full_executions.status(root, "fixture").current
    edit(root, "return total_of_values / len(xs)", "return total_of_values / max(len(xs), 1)")
    state = full_executions.status(root, "fixture")
    assert not state.current and "code changed" in state.reason


def test_removing_a_hidden_cell_tag_makes_the_chapter_stale(tmp_path):
    root = book_with_fixture(tmp_path)
    record_fake_execution(root)
    edit(root, "tags: [remove-cell]", "tags: []")  # its stripped outputs would now be shown
    assert not full_executions.status(root, "fixture").current


def test_a_chapter_without_artifact_is_not_current(tmp_path):
    state = full_executions.status(book_with_fixture(tmp_path), "fixture")
    assert not state.current and "fixture.ipynb missing" in state.reason


def test_only_the_edited_chapter_goes_stale(tmp_path):
    root = book_with_fixture(tmp_path)
    shutil.copy(FIXTURE, root / "book" / "other.md")
    for chapter in ("fixture", "other"):
        notebook = book_cache.myst_notebook(root / "book" / f"{chapter}.md")
        full_executions.write(root, chapter, fake_execution(notebook), {}, 1.0, "abc1234", "cpu")
    edit(root, "print(f\"profile: {profile}\")", "print(f\"profile is {profile}\")")
    assert not full_executions.status(root, "fixture").current
    assert full_executions.status(root, "other").current


def test_artifact_keeps_shown_outputs_and_glue_and_drops_prose_and_volatile_metadata(tmp_path):
    root = book_with_fixture(tmp_path)
    record_fake_execution(root)
    artifact = full_executions.read(full_executions.artifact_path(root, "fixture"))
    assert all(c.cell_type == "code" and c.execution_count is None for c in artifact.cells)
    hidden = [c for c in artifact.cells if "remove-cell" in c.metadata.get("tags", [])]
    assert hidden and all([o.output_type for o in c.outputs] == ["display_data"] for c in hidden)
    shown = [c for c in artifact.cells if "remove-cell" not in c.metadata.get("tags", [])]
    assert all(c.outputs[0].text.startswith("cell ") for c in shown)
    assert "version" not in artifact.metadata.language_info
    meta = artifact.metadata["nlpcourse"]
    assert (meta["commit"], meta["device"], meta["profile"]) == ("abc1234", "cpu", "full")
    assert meta["records"] == {"fixture.json": {"chapter": "fixture"}}
    assert json.loads((root / "results" / "full" / "fixture.json").read_text()) == {"chapter": "fixture"}


def test_merge_keeps_current_prose_and_takes_the_artifact_outputs(tmp_path):
    root = book_with_fixture(tmp_path)
    record_fake_execution(root)
    edit(root, "A stand-in chapter", "A freshly rewritten stand-in chapter")
    source = book_cache.myst_notebook(root / "book" / "fixture.md")
    merged = full_executions.merge(full_executions.read(full_executions.artifact_path(root, "fixture")), source)
    markdown = "".join(c.source for c in merged.cells if c.cell_type == "markdown")
    assert "A freshly rewritten stand-in chapter" in markdown
    assert [c.source for c in merged.cells] == [c.source for c in source.cells]
    assert [c.metadata for c in merged.cells] == [c.metadata for c in source.cells]
    code = [c for c in merged.cells if c.cell_type == "code"]
    assert [c.outputs[0].get("text") for c in code[:3]] == ["cell 0\n", "cell 1\n", "cell 2\n"]
    edit(root, "import math", "import math, sys")
    with pytest.raises(ValueError, match="execute it again"):
        full_executions.merge(full_executions.read(full_executions.artifact_path(root, "fixture")),
                              book_cache.myst_notebook(root / "book" / "fixture.md"))


def test_published_chapter_is_found_in_the_execution_cache(tmp_path):
    root = book_with_fixture(tmp_path)
    record_fake_execution(root)
    edit(root, "A stand-in chapter", "A rewritten stand-in chapter")
    cache = tmp_path / "cache"
    assert full_executions.publish(root, "fixture", cache).current
    current = book_cache.myst_notebook(root / "book" / "fixture.md")
    assert book_cache.is_cached(cache, current)
    assert (cache / book_cache.PROFILE_MARKER).read_text().strip() == "full"


def test_page_note_names_commit_and_device_in_the_full_profile_only(tmp_path):
    root = book_with_fixture(tmp_path)
    record_fake_execution(root)
    note = full_executions.page_note(root, "fixture", "full")
    assert "abc1234" in note and "cpu" in note
    assert add_note("---\nx: 1\n---\n\n# Title\n\nText", note) == f"---\nx: 1\n---\n\n# Title\n\n{note}\n\nText"
    assert full_executions.page_note(root, "fixture", "quick") is None
    assert full_executions.page_note(root, "fixture", None) is None
    edit(root, "import math", "import math, sys")
    assert full_executions.page_note(root, "fixture", "full") is None  # stale: executed again
    state = full_executions.status(root, "fixture")
    assert state.provenance["commit"] == "abc1234" and not state.current


def test_build_step_says_what_it_executes_and_why_before_it_starts(tmp_path, monkeypatch, capsys):
    root = book_with_fixture(tmp_path)
    shutil.copy(FIXTURE, root / "book" / "other.md")
    record_fake_execution(root)
    cache = tmp_path / "cache"
    executed = []

    def fake_execute(root_, chapter, cache_):
        print(f"executing {chapter}")
        executed.append(chapter)
        return full_executions.artifact_path(root_, chapter), 1.0

    monkeypatch.setattr(publish, "execute", fake_execute)
    assert cli.main(["book", "publish", "--book", str(root / "book"), "--cache", str(cache)]) == 0
    out = capsys.readouterr().out
    assert executed == ["other"]
    assert "fixture: from fixture.ipynb: code unchanged" in out
    assert "other: EXECUTES: no full-profile execution committed (other.ipynb missing)" in out
    assert out.index("other: EXECUTES") < out.index("executing other")
    assert book_cache.is_cached(cache, book_cache.myst_notebook(root / "book" / "fixture.md"))


def test_record_executes_the_chapters_asked_for_and_rejects_unknown_ones(tmp_path, monkeypatch, capsys):
    root = book_with_fixture(tmp_path)
    record_fake_execution(root)  # current: publish would not execute it, record does
    executed = []
    monkeypatch.setattr(publish, "execute", lambda root_, chapter, cache_: executed.append(chapter) or (
        full_executions.artifact_path(root_, chapter), 1.0))
    book = ["--book", str(root / "book"), "--cache", str(tmp_path / "cache")]
    assert cli.main(["book", "record", "fixture", *book]) == 0
    assert executed == ["fixture"] and "fixture: executes (asked for)" in capsys.readouterr().out
    assert cli.main(["book", "record", "day4", *book]) == 2
    assert "unknown chapters ['day4']" in capsys.readouterr().err and executed == ["fixture"]


@pytest.mark.slow
def test_full_profile_writes_the_record_and_the_artifact_together(tmp_path, monkeypatch):
    """Executes the fixture chapter with one recording cell added (about 10 s)."""
    root = book_with_fixture(tmp_path)
    edit(root, 'print(f"profile: {profile}")',
         'print(f"profile: {profile}")\nfrom nlpcourse import report\nreport.record_result("fixture", answer=42)')
    monkeypatch.setenv("NLPCOURSE_DEVICE", "cpu")
    monkeypatch.setenv("NLPCOURSE_RESULTS", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("NLPCOURSE_PROFILE", "quick")
    artifact_file, _ = publish.execute(root, "fixture", tmp_path / "cache")
    record = json.loads((root / "results" / "full" / "fixture.json").read_text())
    assert record["answer"] == 42 and record["profile"] == "full"
    meta = full_executions.read(artifact_file).metadata["nlpcourse"]
    assert meta["records"] == {"fixture.json": record} and meta["device"].startswith("cpu (")
    assert full_executions.status(root, "fixture").current
    assert not (tmp_path / "elsewhere").exists()  # the caller's results folder is left alone
    assert os.environ["NLPCOURSE_RESULTS"] == str(tmp_path / "elsewhere")  # and its environment
    assert os.environ["NLPCOURSE_PROFILE"] == "quick"
    assert book_cache.is_cached(tmp_path / "cache", book_cache.myst_notebook(root / "book" / "fixture.md"))


BOOK_CONFIG = """title: committed executions
only_build_toc_files: true
exclude_patterns: [_build, results, .jupyter_cache]
execute:
  execute_notebooks: cache
  cache: .jupyter_cache
  timeout: 60
sphinx:
  extra_extensions: [nlpcourse.book.full_execution_note]
  config: {nb_execution_raise_on_error: true}
"""


@pytest.mark.slow
def test_built_page_shows_the_committed_outputs_and_where_they_were_made(tmp_path, monkeypatch):
    """Builds a one-page book with jupyter-book (about 15 s): the page carries the artifact's
    outputs, not a new execution's, and names the artifact's commit and device under its title."""
    import subprocess
    root = book_with_fixture(tmp_path)
    (root / "_config.yml").write_text(BOOK_CONFIG)
    (root / "_toc.yml").write_text("format: jb-book\nroot: book/fixture\n")
    record_fake_execution(root)
    edit(root, "A stand-in chapter", "A rewritten stand-in chapter")
    monkeypatch.setenv("NLPCOURSE_PROFILE", "full")
    assert full_executions.publish(root, "fixture", root / ".jupyter_cache").current
    build = subprocess.run([str(Path(sys.executable).parent / "jupyter-book"), "build", ".", "-W", "-n"],
                           cwd=root, capture_output=True, text=True, timeout=600)  # the cache path is relative
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    page = (root / "_build" / "html" / "book" / "fixture.html").read_text()
    assert "A rewritten stand-in chapter" in page and "cell 0" in page  # current prose, committed outputs
    assert "profile: full" not in page  # the chapter was not executed again
    assert "Outputs on this page: full profile, executed on cpu" in page and "abc1234" in page
