"""The chapters' full-profile executions, committed beside their records in ``results/full/``.

Training every chapter in the full profile takes hours of CPU, so its execution is a committed
artifact: ``results/full/<chapter>.ipynb`` holds the executed code cells (their outputs, with
what the book never shows and volatile metadata stripped) and, in its metadata under
``nlpcourse``, the commit, date, device and profile it was made on, the records the chapter
wrote with ``report.record_result`` (a copy of each ``results/full/<name>.json``) and the
**code hash** of the chapter it was made from.

The code hash (:func:`code_hash`) covers what decides a chapter's outputs and nothing else:

- each code cell's source, as its Python syntax tree (IPython magics translated first; empty
  fields left out, so Python 3.11 and later agree), so comment, blank-line and formatting
  edits do not count, while any change to what runs does (string contents, docstrings
  included); a cell that does not parse counts by its text with trailing spaces stripped;
- the cell's tags among :data:`HASHED_TAGS`: they change what runs (``skip-execution``,
  ``raises-exception``) or which outputs the artifact keeps (``remove-output``,
  ``remove-cell``: only their glued values are kept). Display-only tags (``hide-input``, ...)
  and other cell metadata (nbgrader's) do not count: the page takes them from the source;
- the kernel's name, and the number and order of code cells.

Prose never counts. The package's own code (``src/nlpcourse``) does not either, as in the
book's execution cache: the artifact names the commit it was made at.

A book build (:func:`publish`) merges each matching artifact's outputs into the chapter as it
is now (current prose and markup, the artifact's outputs, cell by cell) and stores it in the
execution cache ``jupyter-book build`` reads; a chapter without an artifact or whose code hash
changed is executed again (``nlpcourse book publish``, :mod:`.publish`).
"""

from __future__ import annotations

import ast
import copy
import datetime
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from nlpcourse.atomic import atomic_path
from nlpcourse.book import book_cache

FOLDER = Path("results") / "full"
METADATA_KEY = "nlpcourse"
HASHED_TAGS = frozenset({"remove-output", "remove-cell", "skip-execution", "raises-exception"})
HIDDEN_OUTPUT_TAGS = frozenset({"remove-output", "remove-cell"})
GLUE_KEY = "scrapbook"  # myst-nb marks a glued value's output with this metadata key
_KEPT_LANGUAGE_INFO = ("name", "mimetype", "file_extension", "pygments_lexer", "codemirror_mode",
                       "nbconvert_exporter")


# --------------------------------------------------------------------------- the code hash


def _tree(node: Any) -> Any:
    """A syntax tree as plain data, empty fields left out (so Python versions that add empty
    fields, as 3.12 did with ``type_params``, or that print them differently, agree)."""
    if isinstance(node, ast.AST):
        fields = {name: _tree(getattr(node, name, None)) for name in node._fields}
        return [type(node).__name__, {k: v for k, v in fields.items() if v not in (None, [])}]
    if isinstance(node, list):
        return [_tree(item) for item in node]
    return None if node is None else repr(node)


def _normalised_code(source: str) -> Any:
    """A cell's code as its syntax tree (comments and formatting ignored), else its stripped text."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
        return _tree(ast.parse(TransformerManager().transform_cell(source)))
    except (SyntaxError, ValueError):
        return "\n".join(line.rstrip() for line in source.strip().splitlines())


def _hashed_cell(cell: nbformat.NotebookNode) -> dict:
    tags = sorted(HASHED_TAGS.intersection(cell.get("metadata", {}).get("tags", [])))
    return {"code": _normalised_code(cell.source), "tags": tags}


def code_hash(notebook: nbformat.NotebookNode) -> str:
    """The hash of what decides ``notebook``'s outputs: code cells and :data:`HASHED_TAGS`."""
    hashed = {"kernel": notebook.metadata.get("kernelspec", {}).get("name"),
              "cells": [_hashed_cell(c) for c in notebook.cells if c.cell_type == "code"]}
    text = json.dumps(hashed, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


# --------------------------------------------------------------------------- the artifact


def artifact_path(root: Path, chapter: str) -> Path:
    """Where ``chapter``'s full-profile execution is committed."""
    return Path(root) / FOLDER / f"{chapter}.ipynb"


def _stripped_outputs(cell: nbformat.NotebookNode) -> list:
    outputs = cell.get("outputs", [])
    if HIDDEN_OUTPUT_TAGS.intersection(cell.metadata.get("tags", [])):
        outputs = [o for o in outputs if GLUE_KEY in o.get("metadata", {})]  # the page quotes these
    for output in outputs:
        if "execution_count" in output:
            output["execution_count"] = None
    return outputs


def strip(executed: nbformat.NotebookNode, made: dict) -> nbformat.NotebookNode:
    """The artifact of an executed chapter: its code cells' sources, tags and shown outputs."""
    cells = []
    for number, cell in enumerate(c for c in executed.cells if c.cell_type == "code"):
        tags = cell.metadata.get("tags", [])
        new = nbformat.v4.new_code_cell(cell.source, metadata={"tags": tags} if tags else {},
                                        outputs=_stripped_outputs(copy.deepcopy(cell)))
        new.id = f"code-{number}"  # stable: a re-recording's diff shows outputs, not new random ids
        cells.append(new)
    language = {k: v for k, v in executed.metadata.get("language_info", {}).items() if k in _KEPT_LANGUAGE_INFO}
    metadata = {"kernelspec": dict(executed.metadata.get("kernelspec", {})), "language_info": language,
                METADATA_KEY: made}
    return nbformat.v4.new_notebook(cells=cells, metadata=metadata)


def write(root: Path, chapter: str, executed: nbformat.NotebookNode, records: dict[str, dict],
          seconds: float, commit: str, device: str) -> Path:
    """Write ``chapter``'s artifact and its records (``results/full/<name>.json``) together.

    ``records`` maps each record file name to what the chapter recorded; the artifact embeds a
    copy of each, so ``tests/test_full_executions.py`` tells a record that disagrees with it. Every
    file is written atomically (:func:`nlpcourse.atomic.atomic_path`), the artifact last.
    """
    folder = Path(root) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    made = {"chapter": chapter, "profile": "full", "commit": commit, "device": device,
                  "date": datetime.date.today().isoformat(), "execution_seconds": round(seconds, 1),
                  "code_hash": code_hash(executed), "records": records}
    artifact = strip(executed, made)
    written = [(folder / name, json.dumps(record, indent=2, sort_keys=True) + "\n")
               for name, record in sorted(records.items())]
    written.append((artifact_path(root, chapter), nbformat.writes(artifact) + "\n"))
    for path, text in written:
        with atomic_path(path) as tmp:
            tmp.write_text(text)
    return artifact_path(root, chapter)


def read(path: Path) -> nbformat.NotebookNode:
    """An artifact (nbformat 4)."""
    return nbformat.read(str(path), as_version=4)


# --------------------------------------------------------------------------- staleness and merge


@dataclass(frozen=True)
class Status:
    """Whether ``chapter``'s committed execution can be published as it is."""

    chapter: str
    artifact: Path
    provenance: dict | None  # the artifact's metadata, None without an artifact
    current: bool

    @property
    def reason(self) -> str:
        if self.provenance is None:
            return f"no full-profile execution committed ({self.artifact.name} missing)"
        made = f"{self.provenance['commit']}, {self.provenance['device']}, {self.provenance['date']}"
        if self.current:
            return f"code unchanged since its full execution ({made})"
        return f"its code changed since its full execution ({made})"


def status(root: Path, chapter: str) -> Status:
    """Compare ``book/<chapter>.md``'s code hash with its artifact's."""
    path = artifact_path(root, chapter)
    if not path.exists():
        return Status(chapter, path, None, False)
    provenance = read(path).metadata.get(METADATA_KEY, {})
    current = provenance.get("code_hash") == code_hash(book_cache.myst_notebook(Path(root) / "book" / f"{chapter}.md"))
    return Status(chapter, path, provenance, current)


def merge(artifact: nbformat.NotebookNode, source: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The chapter as it is now (prose, code, markup) with the artifact's outputs, cell by cell.

    Refuses (ValueError) when the code cells do not correspond, i.e. the hashes differ.
    """
    merged = copy.deepcopy(source)
    code = [c for c in merged.cells if c.cell_type == "code"]
    executed = [c for c in artifact.cells if c.cell_type == "code"]
    if len(code) != len(executed) or any(_hashed_cell(a) != _hashed_cell(b) for a, b in zip(code, executed)):
        raise ValueError("the artifact was made from other code than this chapter's: execute it again")
    for cell, done in zip(code, executed):
        cell.outputs = copy.deepcopy(done.outputs)
        cell.execution_count = None
    for key in ("kernelspec", "language_info"):
        merged.metadata.setdefault(key, copy.deepcopy(artifact.metadata.get(key, {})))
    return merged


def publish(root: Path, chapter: str, cache: Path) -> Status:
    """Store ``chapter``'s artifact, merged into its current source, in the execution cache."""
    state = status(root, chapter)
    if state.current:
        source_path = Path(root) / "book" / f"{chapter}.md"
        merged = merge(read(state.artifact), book_cache.myst_notebook(source_path))
        book_cache.store(cache, source_path, merged, "full", state.provenance.get("execution_seconds", 0.0))
    return state


def page_note(root: Path, chapter: str, published_profile: str | None) -> str | None:
    """The line a chapter page shows under its title when the book publishes the full profile
    (``published_profile``: the execution cache's) and the chapter's execution is current."""
    if published_profile != "full":
        return None
    if not (Path(root) / "book" / f"{chapter}.md").exists():
        return None
    state = status(root, chapter)
    if not state.current:
        return None
    meta = state.provenance
    return (f"*Outputs on this page: full profile, executed on {meta['device']} at commit "
            f"`{meta['commit']}` on {meta['date']} (`results/full/{chapter}.ipynb`).*")
