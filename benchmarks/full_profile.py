"""Run chapters in the full profile and commit their executions and results for the book.

Each chapter writes its headline numbers with ``nlpcourse.report.record_result`` (accuracy,
epochs, epoch time, device, date, commit). This script writes them, with the chapter's executed
notebook, into ``results/full/``: ``<record>.json`` and ``<chapter>.ipynb``, the artifact that
``bash run.sh book`` publishes without training again while the chapter's code is unchanged
(see ``nlpcourse.book.full_executions``). The executed notebook also goes into the book's
execution cache and into ``_build/full/`` for inspection. Cells run without a time limit here,
while the book build stops any cell after ``_config.yml``'s timeout.

    python benchmarks/full_profile.py                       # every chapter
    python benchmarks/full_profile.py day2_minibatch_tagger # one chapter
    python benchmarks/full_profile.py --missing             # only chapters neither cached nor committed
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterator

import nbformat
import torch
from nbclient import NotebookClient

from nlpcourse import config
from nlpcourse.book import book_cache, full_executions
from nlpcourse.course.chapters import chapter_names

ROOT = Path(__file__).resolve().parents[1]
EXECUTION_CACHE = ROOT / ".jupyter_cache"
CHAPTERS = tuple(chapter_names(ROOT / "book"))  # the graded chapters of _toc.yml, in book order


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
    notebook = book_cache.read_chapter(source)
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
    out = root / "_build" / "full" / f"{chapter}.ipynb"
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, out)
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
        if missing_only and book_cache.is_cached(cache, book_cache.read_chapter(root / "book" / f"{chapter}.md")):
            actions[chapter] = "cached"
        elif missing_only and full_executions.status(root, chapter).current:
            actions[chapter] = "committed"
        else:
            actions[chapter] = "execute"
    return actions


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("chapters", nargs="*", help=f"some of {', '.join(CHAPTERS)} (default: all)")
    parser.add_argument("--missing", action="store_true",
                        help="publish committed executions whose code is unchanged; execute only the others")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.chapters) - set(CHAPTERS))
    if unknown:
        parser.error(f"unknown chapters {unknown}; choose from {', '.join(CHAPTERS)}")
    args.chapters = args.chapters or list(CHAPTERS)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    book_cache.prepare(EXECUTION_CACHE, "full")
    actions = plan(ROOT, args.chapters, EXECUTION_CACHE, args.missing)
    print("Full profile, chapter by chapter:", flush=True)
    for chapter, action in actions.items():
        state = full_executions.status(ROOT, chapter)
        last = state.provenance and state.provenance.get("execution_seconds")
        took = f"; its last full run took {last / 60:.0f} min" if last else ""
        why = {"cached": "already in the execution cache", "committed": f"from {state.artifact.name}: {state.reason}",
               "execute": f"EXECUTES: {state.reason}{took}" if args.missing else f"executes (asked for){took}"}
        print(f"  {chapter}: {why[action]}", flush=True)
    for chapter, action in actions.items():
        if action == "committed":
            full_executions.publish(ROOT, chapter, EXECUTION_CACHE)
        elif action == "execute":
            artifact, seconds = execute(ROOT, chapter, EXECUTION_CACHE)
            print(f"{chapter}: executed in {seconds:.0f} s; commit {artifact.relative_to(ROOT)} and its "
                  f"records in results/full/", flush=True)


if __name__ == "__main__":
    main()
