"""The book's execution cache: each chapter executed once, then reused by ``jupyter-book build``.

Jupyter Book keys a cached execution by the notebook's code, not by the environment, so a
chapter executed in the quick profile would be published as if it were the full one. The
cache therefore records the profile it holds and is emptied when another profile uses it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn
from myst_nb.core.read import read_myst_markdown_notebook

from nlpcourse.atomic import atomic_path

PROFILE_MARKER = "nlpcourse-profile"


def myst_notebook(source: Path) -> nbformat.NotebookNode:
    """A MyST chapter as the notebook myst-nb builds from it (so cache keys match the build's)."""
    return read_myst_markdown_notebook(source.read_text(), path=str(source))


def prepare(folder: Path, profile: str) -> None:
    """Make ``folder`` a cache for ``profile``: empty it if it holds another profile's outputs."""
    marker = folder / PROFILE_MARKER
    if folder.exists() and (not marker.exists() or marker.read_text().strip() != profile):
        shutil.rmtree(folder)
    with atomic_path(marker) as tmp:
        tmp.write_text(profile + "\n")


def store(folder: Path, source: Path, notebook: nbformat.NotebookNode, profile: str, seconds: float) -> None:
    """Store an executed chapter so the next book build of ``profile`` reuses it."""
    prepare(folder, profile)
    bundle = CacheBundleIn(notebook, str(source), data={"execution_seconds": seconds, "profile": profile})
    get_cache(str(folder)).cache_notebook_bundle(bundle, check_validity=False, overwrite=True)


def is_cached(folder: Path, notebook: nbformat.NotebookNode) -> bool:
    """Whether ``folder`` holds an execution of exactly this notebook's code."""
    if not folder.exists():
        return False
    try:
        get_cache(str(folder)).match_cache_notebook(notebook)
    except KeyError:
        return False
    return True


def require(folder: Path, profile: str) -> None:
    """Stop with a clear message unless ``folder`` holds executions of ``profile``."""
    marker = folder / PROFILE_MARKER
    held = marker.read_text().strip() if marker.exists() else None
    if held != profile:
        raise SystemExit(f"{folder} holds {'no executions' if held is None else held + '-profile executions'}, "
                         f"not {profile!r} ones: build the book first (NLPCOURSE_PROFILE={profile} bash run.sh book)")

