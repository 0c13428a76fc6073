"""Sphinx extension: under a chapter's title, which commit and device produced its outputs.

When the book's execution cache holds the full profile, a chapter page whose committed execution (``results/full/<chapter>.ipynb``)
matches its code gets one line under its title naming the commit, device and date of that
execution (:func:`nlpcourse.book.full_executions.page_note`). The chapter's source is not
touched: the line is added to the text Sphinx reads, in the first markdown cell, so the
notebook's code, and with it its execution-cache key, stays the same.
"""

from __future__ import annotations

from pathlib import Path

from nlpcourse.book import book_cache, full_executions


def add_note(text: str, note: str) -> str:
    """``text`` with ``note`` as a paragraph after its first ``# `` heading (unchanged without one)."""
    lines = text.split("\n")
    for number, line in enumerate(lines):
        if line.startswith("# "):
            return "\n".join(lines[: number + 1] + ["", note] + lines[number + 1:])
    return text


def published_profile(cache: Path) -> str | None:
    """The profile whose executions the book's execution cache holds (None: unknown)."""
    marker = cache / book_cache.PROFILE_MARKER
    return marker.read_text().strip() if marker.exists() else None


def _on_source_read(app, docname: str, source: list[str]) -> None:
    folder, _, chapter = docname.rpartition("/")
    if folder != "book":
        return
    cache = Path(app.config.nb_execution_cache_path or ".jupyter_cache")  # as myst-nb reads it
    note = full_executions.page_note(Path(app.srcdir), chapter, published_profile(cache))
    if note:
        source[0] = add_note(source[0], note)


RECORD_READERS = ("book/results",)  # pages whose code reads results/full/ rather than their own source


def _reread_record_readers(app, env, added, changed, removed) -> list[str]:
    """Sphinx re-reads a page only when its source changed: a page built from the records
    (a re-recorded chapter, a new artifact) is re-read, and so re-executed, on every build."""
    return [doc for doc in RECORD_READERS if doc in env.found_docs]


def setup(app) -> dict:
    """Register the handlers (``sphinx: extra_extensions`` in ``_config.yml``)."""
    app.connect("source-read", _on_source_read)
    app.connect("env-get-outdated", _reread_record_readers)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
