"""The execution harness: every notebook of the book runs top to bottom in the quick profile."""

import pytest

from nlpcourse.course.chapters import chapter_names
from helpers import BOOK, NOTEBOOK_HEADER, execute, notebook_sources

SOURCES = notebook_sources()


def test_every_notebook_of_the_book_is_in_the_toc_and_the_chapters_are_run():
    """_toc.yml is the one list of chapters: a notebook left out of it would be neither
    published, executed here, released to learners nor graded."""
    names = {path.stem for path in SOURCES}
    notebooks = {p.stem for p in BOOK.glob("*.md") if p.read_text().startswith(NOTEBOOK_HEADER)}
    assert notebooks == names, f"notebooks missing from _toc.yml: {sorted(notebooks - names)}"
    chapters = chapter_names(BOOK)
    assert len(chapters) >= 5 and set(chapters) <= names


@pytest.mark.slow
@pytest.mark.parametrize("path", SOURCES, ids=[path.stem for path in SOURCES])
def test_notebook_runs_in_quick_profile(path):
    run = execute(path)
    print(f"{path.name}: {run.seconds:.1f} s")
    assert run.error is None, f"{path.name} failed:\n{run.error}"
    code_cells = [cell for cell in run.notebook.cells if cell.cell_type == "code"]
    assert all(cell.get("execution_count") for cell in code_cells), "a code cell was not executed"
