"""The book's publish step: the full profile's executions into the execution cache the build reads.

``nlpcourse book publish`` stores each chapter's committed execution
(``results/full/<chapter>.ipynb``, :mod:`.full_executions`) while the chapter's code is
unchanged, and executes the others first. ``nlpcourse book record CHAPTER`` executes chapters
in the full profile whatever their state. An execution writes what the chapter recorded with
``nlpcourse.report.record_result`` and its executed notebook into ``results/full/`` together
(the artifact to commit), into the execution cache and into ``_build/full/`` for inspection.
Cells run without a time limit here, while the book build stops any cell after
``_config.yml``'s timeout.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import platform
import re
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import nbformat
import torch
from nbclient import NotebookClient

from nlpcourse import config
from nlpcourse.atomic import atomic_path
from nlpcourse.book import book_cache, full_executions

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def environment(**variables: str) -> Iterator[None]:
    """Set environment variables (the kernel inherits them) and restore them afterwards."""
    before = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def execute(root: Path, chapter: str, cache: Path) -> tuple[Path, float]:
    """Execute ``book/<chapter>.md`` in the full profile; write its artifact and records together.

    The chapter records into a fresh folder, so exactly what this run recorded is copied into
    ``results/full/`` and embedded in the artifact.
    """
    source = root / "book" / f"{chapter}.md"
    notebook = book_cache.myst_notebook(source)
    with tempfile.TemporaryDirectory(prefix="full-profile-") as recorded, \
            environment(NLPCOURSE_PROFILE="full", NLPCOURSE_PROGRESS="0", NLPCOURSE_RESULTS=recorded):
        start = time.perf_counter()
        NotebookClient(notebook, timeout=None, kernel_name="python3", record_timing=False,
                       resources={"metadata": {"path": str(source.parent)}}).execute()
        seconds = time.perf_counter() - start
        records = {p.name: json.loads(p.read_text()) for p in sorted((Path(recorded) / "full").glob("*.json"))}
    devices = sorted({str(r["device"]) for r in records.values() if "device" in r}) or [config.device().type]
    artifact = full_executions.write(root, chapter, notebook, records, seconds, commit_of(root, chapter),
                                     f"{', '.join(devices)} ({machine()})")
    book_cache.store(cache, source, notebook, "full", seconds)
    with atomic_path(root / "_build" / "full" / f"{chapter}.ipynb") as tmp:
        nbformat.write(notebook, tmp)
    return artifact, seconds


def commit_of(root: Path, chapter: str) -> str:
    """The commit checked out in ``root``, marked ``+uncommitted`` when the chapter or the
    package differ from it (the artifact then holds code that no commit has yet)."""
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=10,
                                  check=True).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""
    head = git("rev-parse", "--short", "HEAD") or "unknown"
    changed = git("status", "--porcelain", "--", f"book/{chapter}.md", "src")
    return f"{head}+uncommitted" if changed else head


def machine() -> str:
    """This machine in a few words: the GPU's or the CPU's model, and the torch version."""
    if torch.cuda.is_available():
        model = torch.cuda.get_device_name()
    else:
        cpuinfo = Path("/proc/cpuinfo")
        names = re.findall(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.M) if cpuinfo.exists() else []
        model = names[0].strip() if names else platform.processor() or platform.machine()
    return f"{model}, torch {torch.__version__}"


def plan(root: Path, chapters: list[str], cache: Path, missing_only: bool) -> dict[str, str]:
    """What happens to each chapter, and why: ``cached``, ``committed`` or ``execute``."""
    actions = {}
    for chapter in chapters:
        if missing_only and book_cache.is_cached(cache, book_cache.myst_notebook(root / "book" / f"{chapter}.md")):
            actions[chapter] = "cached"
        elif missing_only and full_executions.status(root, chapter).current:
            actions[chapter] = "committed"
        else:
            actions[chapter] = "execute"
    return actions


def run(root: Path, chapters: list[str], cache: Path, missing_only: bool) -> None:
    """Say what happens to each chapter and why, then do it: publish a committed execution
    (``missing_only``, code unchanged) or execute the chapter (every one without ``missing_only``)."""
    book_cache.prepare(cache, "full")
    actions = plan(root, chapters, cache, missing_only)
    logger.info("Full profile, chapter by chapter:")
    for chapter, action in actions.items():
        state = full_executions.status(root, chapter)
        last = state.provenance and state.provenance.get("execution_seconds")
        took = f"; its last full run took {last / 60:.0f} min" if last else ""
        why = {"cached": "already in the execution cache", "committed": f"from {state.artifact.name}: {state.reason}",
               "execute": f"EXECUTES: {state.reason}{took}" if missing_only else f"executes (asked for){took}"}
        logger.info(f"  {chapter}: {why[action]}")
    for chapter, action in actions.items():
        if action == "committed":
            full_executions.publish(root, chapter, cache)
        elif action == "execute":
            artifact, seconds = execute(root, chapter, cache)
            logger.info(f"{chapter}: executed in {seconds:.0f} s; commit {artifact.relative_to(root)} and its "
                        f"records in results/full/")
