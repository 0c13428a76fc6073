"""The book's two editions: the full one, and the student one to publish while exercises are open.

The **full** edition (the default) shows every solution folded and every model answer in a
folded admonition. The **student** edition shows what a learner's notebook shows: each solution
cell's body is replaced by nbgrader's own stub (``ClearSolutions``: the region between
``### BEGIN SOLUTION`` and ``### END SOLUTION``, or the whole cell where it has no such region),
unfolded, and each model answer (an admonition titled *Model answer*) by a short note. Exercises,
visible tests, prose, outputs and figures stay; hidden tests are already removed (``remove-cell``).

Choose it with ``NLPCOURSE_EDITION=student`` or ``nlpcourse_edition: student`` under
``sphinx: config:``; ``bash run.sh student-book`` builds it into ``_build/student/_build/html``
from the execution cache of ``bash run.sh book``. This module is a Sphinx extension acting on
each page's doctree when it is written, so neither the execution cache nor a notebook changes.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from docutils import nodes
from sphinx.errors import ConfigError
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging

from nlpcourse.config import EDITION_ENV, book_edition

EDITIONS = ("full", "student")
MODEL_ANSWER_TITLE = "Model answer"
WITHHELD_CLASS = "model-answer-withheld"
WITHHELD_TITLE = "Your answer"
WITHHELD_TEXT = ("Write it in your notebook. The model answer is published with the solutions, "
                 "once the exercise is closed.")

logger = logging.getLogger(__name__)


def student_source(source: str, nbgrader_metadata: dict) -> str:
    """A solution cell's source as the learner's notebook has it (nbgrader's ``ClearSolutions``)."""
    from nbgrader.preprocessors import ClearSolutions

    cell = nbformat.v4.new_code_cell(source, metadata={"nbgrader": nbgrader_metadata})
    ClearSolutions().preprocess_cell(cell, {"language": "python"}, 0)
    return cell.source


def written_answer_count(source_path: str) -> int:
    """How many written-answer cells (nbgrader markdown ``solution: true``) a chapter has."""
    path = Path(source_path)
    if path.suffix != ".md" or not path.is_file():
        return 0
    text = path.read_text(encoding="utf-8")
    if "nbgrader" not in text:
        return 0
    from myst_nb.core.read import read_myst_markdown_notebook

    notebook = read_myst_markdown_notebook(text, path=str(path))
    return sum(1 for cell in notebook.cells if cell.cell_type == "markdown"
               and cell.metadata.get("nbgrader", {}).get("solution"))


def _is_model_answer(node: nodes.Node) -> bool:
    return (isinstance(node, nodes.admonition) and bool(node.children)
            and isinstance(node[0], nodes.title) and node[0].astext().strip() == MODEL_ANSWER_TITLE)


def _withheld_note() -> nodes.admonition:
    note = nodes.admonition(classes=[WITHHELD_CLASS])
    note += nodes.title(WITHHELD_TITLE, WITHHELD_TITLE)
    note += nodes.paragraph(WITHHELD_TEXT, WITHHELD_TEXT)
    return note


class StudentEdition(SphinxPostTransform):
    """In the student edition: solution cells become nbgrader's stubs, model answers a note."""

    default_priority = 150  # before myst-nb folds hide-input cells (199)

    def run(self, **kwargs) -> None:
        if self.config.nlpcourse_edition != "student":
            return
        for cell in list(self.document.findall(nodes.container)):
            nbgrader = (cell.get("cell_metadata") or {}).get("nbgrader") or {}
            if cell.get("nb_element") == "cell_code" and nbgrader.get("solution"):
                self._clear_solution(cell, nbgrader)
        answers = [node for node in self.document.findall(nodes.admonition) if _is_model_answer(node)]
        for answer in answers:
            answer.parent.replace(answer, _withheld_note())  # not replace_self: it keeps the fold
        expected = written_answer_count(self.document.get("source", ""))
        if len(answers) != expected:
            logger.warning(f"{expected} written-answer cells but {len(answers)} admonitions titled "
                           f"{MODEL_ANSWER_TITLE!r}: the student edition would show a model answer",
                           location=self.document.get("source"))

    @staticmethod
    def _clear_solution(cell: nodes.container, nbgrader: dict) -> None:
        for block in list(cell.findall(nodes.literal_block)):
            if block.parent.get("nb_element") != "cell_code_source":
                continue  # an output, not the cell's code
            stub = student_source(block.astext(), nbgrader)
            block.replace_self(nodes.literal_block(stub, stub, **block.non_default_attributes()))
        # the stub is the exercise: show it rather than fold it
        hide_mode = {"input": None, "input+output": "output"}.get(cell.get("hide_mode"), cell.get("hide_mode"))
        if hide_mode is None:
            cell.attributes.pop("hide_mode", None)
        else:
            cell["hide_mode"] = hide_mode


def _check_edition(app, config) -> None:
    if config.nlpcourse_edition not in EDITIONS:
        raise ConfigError(f"nlpcourse_edition (or ${EDITION_ENV}) must be one of {EDITIONS}, "
                          f"got {config.nlpcourse_edition!r}")
    if config.nlpcourse_edition == "student" and config.html_title:
        config.html_title = f"{config.html_title} (student edition)"


def _reread_all_after_an_edition_change(app, env, added, changed, removed) -> list[str]:
    """Every page again when this output folder last held the other edition (or one before this check).

    Sphinx would otherwise rewrite only the pages whose source changed, and a student edition built
    over a full one would keep the full edition's solutions on every other page.
    """
    marker = Path(app.doctreedir) / "nlpcourse-edition"
    previous = marker.read_text().strip() if marker.exists() else None
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(app.config.nlpcourse_edition + "\n")
    return sorted(env.found_docs) if previous != app.config.nlpcourse_edition else []


def _drop_source_downloads(app, pagename, templatename, context, doctree) -> None:
    """Both editions: no header button offers a page's source (it holds hidden tests and solutions).

    ``html_copy_source: false`` in ``_config.yml`` keeps the sources out of the build; this removes
    the theme's buttons that would link them, keeping its print-to-PDF button.
    """
    for group in context.get("header_buttons", []):
        if group.get("label") == "download-buttons":
            group["buttons"] = [button for button in group["buttons"]
                                if button.get("label") not in {"download-source-button", "download-notebook-button"}]


def setup(app) -> dict:
    """Sphinx extension (``sphinx: extra_extensions`` in ``_config.yml``): the edition setting."""
    app.add_config_value("nlpcourse_edition", book_edition(), "html", [str])
    app.connect("config-inited", _check_edition)
    app.add_post_transform(StudentEdition)
    app.connect("env-get-outdated", _reread_all_after_an_edition_change)
    app.connect("html-page-context", _drop_source_downloads, priority=600)  # after the theme adds them
    return {"parallel_read_safe": True, "parallel_write_safe": True}
