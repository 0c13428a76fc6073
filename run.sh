#!/usr/bin/env bash
# The course's two commands, on a fresh machine with Python 3.10+:
#   bash run.sh book   install, execute every chapter, build the HTML book (_build/html/index.html)
#   bash run.sh test   install, then run the whole test suite (quick profile)
# Environment: NLPCOURSE_DATA (offline data mirror), NLPCOURSE_PROFILE (full | quick).
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
    export NLPCOURSE_PROGRESS=0
    .venv/bin/jupyter-book build . -W -n --keep-going
    echo "The book is in $(pwd)/_build/html/index.html"
    ;;
  test)
    install
    export NLPCOURSE_PROFILE="${NLPCOURSE_PROFILE:-quick}" NLPCOURSE_PROGRESS=0
    .venv/bin/python -m pytest -v --durations=25 "${@:2}"
    ;;
  *)
    echo "usage: bash run.sh book | test [pytest options]" >&2
    exit 2
    ;;
esac
