#!/usr/bin/env bash
# The course's two commands, on a fresh machine with Python 3.11 (tested; the pins need 3.11+):
#   bash run.sh book   install, build the HTML book (_build/html/index.html); full profile by
#                      default: publishes each chapter's committed execution (results/full/*.ipynb)
#                      while its code is unchanged, executes the others (hours on a CPU for the labs);
#                      NLPCOURSE_PROFILE=quick executes every chapter in the quick profile (minutes)
#   bash run.sh test   install, then run the whole test suite (quick profile)
#   bash run.sh student-book   after `book`: the student edition, without solutions or model answers
# Environment: NLPCOURSE_DATA (offline data mirror), NLPCOURSE_PROFILE (full | quick),
# NLPCOURSE_OFFLINE=1 (book and student-book: MathJax served from the build, for a classroom).
set -euo pipefail
cd "$(dirname "$0")"

install() {
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r requirements.txt
  .venv/bin/python -m pip install --quiet --no-deps -e .
}

case "${1:-}" in
  book)
    install
    export NLPCOURSE_PROFILE="${NLPCOURSE_PROFILE:-full}" NLPCOURSE_PROGRESS=0
    # The execution cache holds one profile; another profile's outputs are thrown away.
    .venv/bin/python -c "import os, pathlib; from nlpcourse.instructor import book_cache; \
book_cache.prepare(pathlib.Path('.jupyter_cache'), os.environ['NLPCOURSE_PROFILE'])"
    if [ "$NLPCOURSE_PROFILE" = full ]; then
      # Into the cache the build reads: the committed executions of chapters whose code is
      # unchanged (no training); the other chapters are executed first, without the build's
      # per-cell timeout, and recorded in results/full/. Says which and why before it starts.
      .venv/bin/python benchmarks/full_profile.py --missing
    fi
    .venv/bin/jupyter-book build . -W -n --keep-going
    echo "The book is in $(pwd)/_build/html/index.html"
    ;;
  student-book)
    # The student edition (book/instructors.md) into _build/student/_build/html, from the
    # execution cache of `bash run.sh book` with the same profile (run that first).
    install
    export NLPCOURSE_PROFILE="${NLPCOURSE_PROFILE:-full}" NLPCOURSE_PROGRESS=0 NLPCOURSE_EDITION=student
    .venv/bin/python -m nlpcourse.instructor.book_cache require .jupyter_cache "$NLPCOURSE_PROFILE"
    .venv/bin/jupyter-book build . --path-output _build/student -W -n --keep-going
    echo "The student edition is in $(pwd)/_build/student/_build/html/index.html"
    ;;
  test)
    install
    export NLPCOURSE_PROFILE="${NLPCOURSE_PROFILE:-quick}" NLPCOURSE_PROGRESS=0
    .venv/bin/python -m pytest -v --durations=25 "${@:2}"
    ;;
  *)
    echo "usage: bash run.sh book | student-book | test [pytest options]" >&2
    exit 2
    ;;
esac
