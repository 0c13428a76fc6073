"""THE list of chapters: the pages of ``_toc.yml`` that are notebooks with nbgrader exercises.

The toc check, the tests, ``nlpcourse book publish | record``, the student/solution versions and
grading all read :func:`find_chapters`; a chapter is added to the course by adding it to
``_toc.yml``. Whether a page is a graded chapter is decided by its content: the intro, setup
and instructor pages have no jupytext header or no nbgrader cells (an example of the markup in
a code fence does not count).
"""

from __future__ import annotations

from pathlib import Path

import jupytext
import nbformat
import yaml


def read_chapter(path: str | Path) -> nbformat.NotebookNode:
    """Read a MyST chapter with jupytext (its cell options carry the nbgrader markup)."""
    return jupytext.read(str(path))


def has_exercises(nb: nbformat.NotebookNode) -> bool:
    """True when the notebook has graded or solution cells (nbgrader markup)."""
    return any(c.metadata.get("nbgrader", {}).get(k) for c in nb.cells for k in ("grade", "solution"))


def toc_pages(root: str | Path) -> list[Path]:
    """Every page of ``root/_toc.yml`` (root page first), as ``.md`` paths, in book order."""
    toc = yaml.safe_load((Path(root) / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [entry["file"] for entry in part.get("chapters", [])]
    return [Path(root) / f"{name}.md" for name in files]


def is_chapter(path: Path) -> bool:
    """A MyST notebook with nbgrader cells."""
    text = path.read_text(encoding="utf-8")
    if "nbgrader" not in text or "kernelspec" not in text:
        return False  # fast path: cannot be a graded notebook
    nb = read_chapter(path)
    return "kernelspec" in nb.metadata and has_exercises(nb)


def find_chapters(book_dir: str | Path) -> list[Path]:
    """The graded chapters of ``book_dir``: in ``_toc.yml`` order when the folder above has
    one listing pages of ``book_dir``, else every ``*.md`` of the folder sorted by name."""
    book_dir = Path(book_dir).resolve()
    root = book_dir.parent
    pages = toc_pages(root) if (root / "_toc.yml").exists() else []
    pages = [p for p in pages if p.parent == book_dir and p.exists()] or sorted(book_dir.glob("*.md"))
    return [p for p in pages if is_chapter(p)]


def chapter_names(book_dir: str | Path) -> list[str]:
    """The chapters' names (file stems), in book order."""
    return [p.stem for p in find_chapters(book_dir)]
