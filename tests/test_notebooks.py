"""The execution harness: every notebook of the book runs top to bottom in the quick profile."""

import pytest

from notebook_runs import notebook_sources, execute

SOURCES = notebook_sources()


def test_the_book_has_its_chapters():
    names = {path.stem for path in SOURCES}
    expected = {"day1_lstm_tagger", "day2_minibatch_tagger", "day3_lstm_classifier",
                "lab_newsgroups", "lab_imdb"}
    assert expected <= names, f"missing chapters: {sorted(expected - names)}"


@pytest.mark.slow
@pytest.mark.parametrize("path", SOURCES, ids=[path.stem for path in SOURCES])
def test_notebook_runs_in_quick_profile(path):
    run = execute(path)
    print(f"{path.name}: {run.seconds:.1f} s")
    assert run.error is None, f"{path.name} failed:\n{run.error}"
    code_cells = [cell for cell in run.notebook.cells if cell.cell_type == "code"]
    assert all(cell.get("execution_count") for cell in code_cells), "a code cell was not executed"
