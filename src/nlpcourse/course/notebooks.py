"""Notebook files that never drift: :func:`normalize` (stable cell ids, no outputs, no volatile
metadata, claims shown as their words), the bytes nbformat writes, and a write only when they changed.

The student and solution versions (:mod:`.versions`) and the course directory's ``source/``
(:mod:`.directory`) are written through it, so regenerating gives byte-identical files: jupytext
draws a new random cell ``id`` at each conversion, so ids are rebuilt from the ``grade_id`` (or the
cell's position).
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

from nlpcourse.atomic import atomic_path

INSTALL_CELL_ID = "install-nlpcourse"
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
# Cell metadata that belongs in a released notebook; everything else (execution times,
# collapsed/scrolled flags, jupytext leftovers) is dropped so that files never drift.
KEPT_CELL_METADATA = ("deletable", "editable", "nbgrader", "tags")
# A book-build check in a sentence (``{claim}`words|expression```, see nlpcourse.book.claims): a
# notebook shows its words only.
_CLAIM = re.compile(r"\{claim\}`([^`]*)\|[^`|]*`")


def claim_words(markdown: str) -> str:
    """``markdown`` with each claim replaced by the words it shows."""
    return _CLAIM.sub(r"\1", markdown)


def clean_id(text: str) -> str:
    """``text`` as a cell id nbformat accepts (letters, digits, ``-`` and ``_``; at most 64)."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", text)[:64] or "cell"


def normalize(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Make ``nb`` deterministic in place: stable cell ids, no outputs, no volatile metadata."""
    nb.nbformat, nb.nbformat_minor = 4, 5
    kernelspec = dict(nb.metadata.get("kernelspec") or KERNELSPEC)
    nb.metadata = nbformat.NotebookNode(
        kernelspec=nbformat.NotebookNode(kernelspec),
        language_info=nbformat.NotebookNode(name="python"),
    )
    used: set[str] = set()
    for index, cell in enumerate(nb.cells):
        meta = cell.metadata
        grade_id = meta.get("nbgrader", {}).get("grade_id")
        if index == 0 and cell.source.startswith("# On Colab or Binder"):
            base = INSTALL_CELL_ID
        else:
            base = clean_id(grade_id) if grade_id else f"cell-{index}"
        cell_id, n = base, 1
        while cell_id in used:
            n += 1
            cell_id = clean_id(f"{base}-{n}")
        used.add(cell_id)
        cell.id = cell_id
        cell.metadata = nbformat.NotebookNode({k: meta[k] for k in KEPT_CELL_METADATA if k in meta})
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        else:
            cell.source = claim_words(cell.source)
    return nb


def notebook_bytes(nb: nbformat.NotebookNode) -> bytes:
    """The file content nbformat writes (sorted keys, indent 1), ending in a newline."""
    text = nbformat.writes(nb, version=4)
    return (text if text.endswith("\n") else text + "\n").encode("utf-8")


def write_if_changed(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` (atomically) unless it holds them already; whether it wrote."""
    if path.exists() and path.read_bytes() == data:
        return False
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return True
