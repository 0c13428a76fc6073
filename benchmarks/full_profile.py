"""Run chapters in the full profile and record their executions: ``nlpcourse book record``.

Kept for the commands written before the ``nlpcourse book`` group existed; it runs the same
code (``nlpcourse.book.publish``):

    python benchmarks/full_profile.py                       # nlpcourse book record
    python benchmarks/full_profile.py day2_minibatch_tagger # nlpcourse book record day2_minibatch_tagger
    python benchmarks/full_profile.py --missing             # nlpcourse book publish
"""

from __future__ import annotations

import sys
from pathlib import Path

from nlpcourse import cli

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    action = "publish" if "--missing" in args else "record"
    chapters = [a for a in args if a != "--missing"]
    return cli.main(["book", action, *chapters, "--book", str(ROOT / "book")])


if __name__ == "__main__":
    sys.exit(main())
