"""``nlpcourse book prepare | publish | record | require``: the book's execution cache."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nlpcourse import config
from nlpcourse.book import book_cache, publish
from nlpcourse.course.chapters import chapter_names

from .options import command


def run(args: argparse.Namespace) -> int:
    root = args.book.resolve().parent
    cache = args.cache or root / ".jupyter_cache"
    if args.action == "prepare":  # the execution cache holds one profile; another's outputs are thrown away
        book_cache.prepare(cache, args.profile or config.profile())
    elif args.action == "require":
        book_cache.require(cache, args.profile or config.profile())
    else:
        known = chapter_names(args.book)
        unknown = sorted(set(args.chapters) - set(known))
        if unknown:
            print(f"nlpcourse book {args.action}: unknown chapters {unknown}; choose from {', '.join(known)}",
                  file=sys.stderr)
            return 2
        publish.run(root, args.chapters or known, cache, missing_only=args.action == "publish")
    return 0


def register(commands) -> None:
    p = command(commands, "book", "the book's execution cache: prepare it, publish the full profile into it, "
                "require it", run, course=False)
    p.add_argument("action", choices=("prepare", "publish", "record", "require"),
                   help="prepare: empty the cache when it holds another profile's executions; "
                        "publish: store each chapter's committed full-profile execution (results/full/) while its "
                        "code is unchanged, execute and record the others; record: execute and record CHAPTERs in "
                        "the full profile (default: every chapter); require: stop unless the cache holds the "
                        "profile's executions")
    p.add_argument("chapters", nargs="*", metavar="CHAPTER",
                   help="publish, record: some of the book's graded chapters (default: all)")
    p.add_argument("--cache", type=Path, help="the execution cache (default: .jupyter_cache beside the book folder)")
    p.add_argument("--profile", choices=config.PROFILES,
                   help="prepare, require: the profile (default: NLPCOURSE_PROFILE, else the device's default)")
