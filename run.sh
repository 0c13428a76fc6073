#!/usr/bin/env bash
# The course's commands, on a fresh machine with Python 3.11 (tested; the pins need 3.11+):
#   bash run.sh book   install, build the HTML book (_build/html/index.html); full profile by
#                      default: publishes each chapter's committed execution (results/full/*.ipynb)
#                      while its code is unchanged, executes the others (hours on a CPU for the labs);
#                      NLPCOURSE_PROFILE=quick executes every chapter in the quick profile (minutes)
#   bash run.sh test   install, then run the whole test suite (quick profile); CI runs this
#   bash run.sh test --fast   the same without the tests marked slow: day-to-day work
#   bash run.sh lint   ruff, as pinned in requirements.txt, with pyproject.toml's rules (seconds)
#   bash run.sh student-book   after `book`: the student edition, without solutions or model answers
# Environment: NLPCOURSE_DATA (offline data mirror), NLPCOURSE_PROFILE (full | quick),
# NLPCOURSE_OFFLINE=1 (book and student-book: MathJax served from the build, for a classroom).
set -euo pipefail
cd "$(dirname "$0")"

# The grading sandbox (nlpcourse.grading.sandbox): bubblewrap, plus prlimit and setpriv from
# util-linux. Installed with apt where we are root and they are missing (CI: root on Debian);
# otherwise `sandbox_setup required` stops here with the one line to run. The grading tests skip
# without a sandbox only when NLPCOURSE_SANDBOX_OPTIONAL=1 (CI never sets it).
SANDBOX_ADVICE="the grading tests need a sandbox: run \`sudo apt-get install bubblewrap util-linux\` (or set NLPCOURSE_SANDBOX_OPTIONAL=1 to skip those tests)"
sandbox_tools_missing() {
  ! command -v bwrap >/dev/null || ! command -v prlimit >/dev/null || ! command -v setpriv >/dev/null
}
sandbox_setup() {  # required | wanted
  if sandbox_tools_missing && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -qq && apt-get install -y -qq bubblewrap util-linux; } >/dev/null \
      || echo "bubblewrap could not be installed with apt-get" >&2
  fi
  if sandbox_tools_missing && [ "$1" = required ] && [ "${NLPCOURSE_SANDBOX_OPTIONAL:-0}" != 1 ]; then
    echo "run.sh: $SANDBOX_ADVICE" >&2
    exit 1
  fi
}
sandbox_check() {  # the tools are there: does a sandbox actually run here? (one line if not)
  [ "${NLPCOURSE_SANDBOX_OPTIONAL:-0}" = 1 ] && return 0
  .venv/bin/nlpcourse sandbox >/dev/null \
    || { echo "run.sh: no grading sandbox runs here (the line above says why; or set NLPCOURSE_SANDBOX_OPTIONAL=1 to skip the grading tests)" >&2; exit 1; }
}

install() {
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r requirements.txt
  .venv/bin/python -m pip install --quiet --no-deps -e .
}

case "${1:-}" in
  book)
    sandbox_setup wanted  # building the book grades nothing; `nlpcourse grade` needs it later
    install
    export NLPCOURSE_PROFILE="${NLPCOURSE_PROFILE:-full}" NLPCOURSE_PROGRESS=0
    # The execution cache holds one profile; another profile's outputs are thrown away.
    .venv/bin/nlpcourse book prepare
    if [ "$NLPCOURSE_PROFILE" = full ]; then
      # Into the cache the build reads: the committed executions of chapters whose code is
      # unchanged (no training); the other chapters are executed first, without the build's
      # per-cell timeout, and recorded in results/full/. Says which and why before it starts.
      .venv/bin/nlpcourse book publish
    fi
    # --all: Sphinx re-reads every page, since a page's source can stay the same while its
    # outputs change (another profile, a new recording); outputs come from the cache (seconds)
    .venv/bin/jupyter-book build . -W -n --keep-going --all
    echo "The book is in $(pwd)/_build/html/index.html"
    ;;
  student-book)
    # The student edition (book/instructors.md) into _build/student/_build/html, from the
    # execution cache of `bash run.sh book` with the same profile (run that first).
    install
    export NLPCOURSE_PROFILE="${NLPCOURSE_PROFILE:-full}" NLPCOURSE_PROGRESS=0 NLPCOURSE_EDITION=student
    .venv/bin/nlpcourse book require
    .venv/bin/jupyter-book build . --path-output _build/student -W -n --keep-going --all
    echo "The student edition is in $(pwd)/_build/student/_build/html/index.html"
    ;;
  test)
    sandbox_setup required
    install
    sandbox_check
    export NLPCOURSE_PROFILE="${NLPCOURSE_PROFILE:-quick}" NLPCOURSE_PROGRESS=0
    args=("${@:2}")
    if [ "${2:-}" = --fast ]; then  # no test that executes a chapter, grades for minutes or waits for a limit
      args=(-m "not slow" "${@:3}")
    fi
    .venv/bin/python -m pytest -v --durations=25 ${args[@]+"${args[@]}"}
    ;;
  lint)
    [ -x .venv/bin/python ] || python3 -m venv .venv
    .venv/bin/python -m pip install --quiet "$(grep -E '^ruff==' requirements.txt | cut -d' ' -f1)"
    .venv/bin/ruff check .
    ;;
  *)
    echo "usage: bash run.sh book | student-book | test [--fast] [pytest options] | lint" >&2
    exit 2
    ;;
esac
