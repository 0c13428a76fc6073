"""Run chapters in the full profile and record their results for the book's results page.

Each chapter writes its headline numbers with ``nlpcourse.report.record_result`` into
``results/full/<chapter>.json`` (accuracy, epochs, epoch time, device, date, commit). The
executed notebooks go into the book's execution cache (so ``bash run.sh book`` publishes
them without executing again) and into ``_build/full/`` for inspection. Cells run without a
time limit here, while the book build stops any cell after ``_config.yml``'s timeout.

    python benchmarks/full_profile.py                       # every chapter
    python benchmarks/full_profile.py day2_minibatch_tagger # one chapter
    python benchmarks/full_profile.py --missing             # only chapters not in the cache
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from nlpcourse.instructor import book_cache
from nlpcourse.instructor.chapters import chapter_names

ROOT = Path(__file__).resolve().parents[1]
EXECUTION_CACHE = ROOT / ".jupyter_cache"
CHAPTERS = tuple(chapter_names(ROOT / "book"))  # the graded chapters of _toc.yml, in book order


def run(chapter: str, missing_only: bool) -> str:
    source = ROOT / "book" / f"{chapter}.md"
    notebook = book_cache.read_chapter(source)
    if missing_only and book_cache.is_cached(EXECUTION_CACHE, notebook):
        return "already in the execution cache"
    start = time.perf_counter()
    NotebookClient(notebook, timeout=None, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(source.parent)}}).execute()
    seconds = time.perf_counter() - start
    book_cache.store(EXECUTION_CACHE, source, notebook, "full", seconds)
    out = ROOT / "_build" / "full" / f"{chapter}.ipynb"
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, out)
    return f"{seconds:.0f} s, results in {os.environ['NLPCOURSE_RESULTS']}/full/"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("chapters", nargs="*", help=f"some of {', '.join(CHAPTERS)} (default: all)")
    parser.add_argument("--missing", action="store_true", help="skip chapters whose code is already cached")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.chapters) - set(CHAPTERS))
    if unknown:
        parser.error(f"unknown chapters {unknown}; choose from {', '.join(CHAPTERS)}")
    args.chapters = args.chapters or list(CHAPTERS)
    return args


def main() -> None:
    args = parse_args()
    os.environ.update(NLPCOURSE_PROFILE="full", NLPCOURSE_PROGRESS="0",
                      NLPCOURSE_RESULTS=os.environ.get("NLPCOURSE_RESULTS", str(ROOT / "results")))
    book_cache.prepare(EXECUTION_CACHE, "full")
    for chapter in args.chapters:
        print(f"{chapter}: {run(chapter, args.missing)}", flush=True)


if __name__ == "__main__":
    main()
