"""Run chapters in the full profile and record their results for the book's results page.

Each chapter writes its headline numbers with ``nlpcourse.report.record_result`` into
``results/full/<chapter>.json`` (accuracy, epochs, epoch time, device, date, commit). The
executed notebooks are kept in ``_build/full/`` for inspection.

    python benchmarks/full_profile.py                       # every chapter
    python benchmarks/full_profile.py day2_minibatch_tagger # one chapter
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ("day1_lstm_tagger", "day2_minibatch_tagger", "day3_lstm_classifier", "lab_newsgroups", "lab_imdb")


def run(chapter: str) -> float:
    source = ROOT / "book" / f"{chapter}.md"
    notebook = jupytext.read(source)
    start = time.perf_counter()
    NotebookClient(notebook, timeout=None, kernel_name="python3",
                   resources={"metadata": {"path": str(source.parent)}}).execute()
    out = ROOT / "_build" / "full" / f"{chapter}.ipynb"
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, out)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("chapters", nargs="*", default=CHAPTERS, choices=CHAPTERS)
    args = parser.parse_args()
    os.environ.update(NLPCOURSE_PROFILE="full", NLPCOURSE_PROGRESS="0",
                      NLPCOURSE_RESULTS=os.environ.get("NLPCOURSE_RESULTS", str(ROOT / "results")))
    for chapter in args.chapters:
        print(f"{chapter}: {run(chapter):.0f} s, results in {os.environ['NLPCOURSE_RESULTS']}/full/", flush=True)


if __name__ == "__main__":
    main()
