"""Execute each book notebook once per test session, in the quick profile, and share the result.

The executed notebook is also stored in the book's execution cache (``.jupyter_cache``, the
folder ``_config.yml`` names), keyed exactly as myst-nb keys it, so the book build that follows
reuses these outputs instead of executing every chapter a second time.
"""

from __future__ import annotations

import functools
import os
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from nlpcourse.book import book_cache
from nlpcourse.course.chapters import toc_pages

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
EXECUTION_CACHE = ROOT / ".jupyter_cache"
NOTEBOOK_HEADER = "---\njupytext:"


def notebook_sources() -> list[Path]:
    """Every MyST notebook of the book's table of contents (plain pages have no jupytext header)."""
    return [path for path in toc_pages(ROOT) if path.read_text().startswith(NOTEBOOK_HEADER)]


@dataclass
class Run:
    notebook: nbformat.NotebookNode
    error: str | None
    seconds: float


@functools.cache
def execute(path: Path) -> Run:
    """Run ``path`` top to bottom in the quick profile; on success, cache it for the book."""
    os.environ["NLPCOURSE_PROFILE"] = "quick"
    os.environ["NLPCOURSE_PROGRESS"] = "0"
    notebook = book_cache.read_chapter(path)
    client = NotebookClient(notebook, timeout=900, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    try:
        client.execute()
        error = None
    except CellExecutionError as failure:
        error = str(failure)
    seconds = time.perf_counter() - start
    if error is None:
        book_cache.store(EXECUTION_CACHE, path, notebook, "quick", seconds)
    return Run(notebook, error, seconds)
