"""Student and solution versions of the chapters, generated from the one source in ``book/``.

A chapter is a MyST notebook with nbgrader markup in its cell options (see CONTRIBUTING.md).
Every chapter goes through a temporary nbgrader course directory (:mod:`.course`), then:

- ``labs/<chapter>.ipynb``: nbgrader's student version (solutions replaced by stubs, hidden
  tests dropped, outputs cleared);
- ``solutions/<chapter>.ipynb``: the same notebook with the solutions put back: solutions and
  visible tests, never the hidden tests.

Both start with a cell that installs ``nlpcourse`` on Colab or Binder. Regenerating gives
byte-identical files: jupytext draws a new random cell ``id`` at each conversion, so ids are
rebuilt from the ``grade_id`` (or the cell's position), and volatile metadata is dropped.
"""

from __future__ import annotations

import filecmp
import re
import tempfile
from pathlib import Path

import nbformat

DEFAULT_REPOSITORY = "https://github.com/nlp-course/pytorch-nlp-course"
INSTALL_CELL_ID = "install-nlpcourse"
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
# Cell metadata that belongs in a released notebook; everything else (execution times,
# collapsed/scrolled flags, jupytext leftovers) is dropped so that files never drift.
KEPT_CELL_METADATA = ("deletable", "editable", "nbgrader", "tags")


def repository_url(root: str | Path) -> str:
    """``repository.url`` from the book's ``_config.yml``, else the course's default."""
    config = Path(root) / "_config.yml"
    if config.exists():
        import yaml

        data = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
        url = (data.get("repository") or {}).get("url")
        if url:
            return str(url).rstrip("/")
    return DEFAULT_REPOSITORY


def install_cell(url: str) -> nbformat.NotebookNode:
    """A first code cell that installs ``nlpcourse`` where it is missing (Colab, Binder)."""
    source = (
        "# On Colab or Binder, this installs the course's helper package `nlpcourse`; the data\n"
        "# sets download on first use. Where nlpcourse is already installed it does nothing.\n"
        "import importlib.util\n"
        "\n"
        'if importlib.util.find_spec("nlpcourse") is None:\n'
        f'    %pip install -q "nlpcourse @ git+{url}"'
    )
    return nbformat.v4.new_code_cell(source)


# --------------------------------------------------------------------------- normalising


def _clean_id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", text)[:64] or "cell"


def normalize(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Make ``nb`` deterministic in place: stable cell ids, no outputs, no volatile metadata."""
    nb.nbformat, nb.nbformat_minor = 4, 5
    kernelspec = dict(nb.metadata.get("kernelspec") or KERNELSPEC)
    nb.metadata = nbformat.NotebookNode(
        kernelspec=nbformat.NotebookNode(kernelspec),
        language_info=nbformat.NotebookNode(name="python"),
    )
    used: set[str] = set()
    for index, cell in enumerate(nb.cells):
        meta = cell.metadata
        grade_id = meta.get("nbgrader", {}).get("grade_id")
        if index == 0 and cell.source.startswith("# On Colab or Binder"):
            base = INSTALL_CELL_ID
        else:
            base = _clean_id(grade_id) if grade_id else f"cell-{index}"
        cell_id, n = base, 1
        while cell_id in used:
            n += 1
            cell_id = _clean_id(f"{base}-{n}")
        used.add(cell_id)
        cell.id = cell_id
        cell.metadata = nbformat.NotebookNode({k: meta[k] for k in KEPT_CELL_METADATA if k in meta})
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nb


def notebook_bytes(nb: nbformat.NotebookNode) -> bytes:
    """The file content nbformat writes (sorted keys, indent 1), ending in a newline."""
    text = nbformat.writes(nb, version=4)
    return (text if text.endswith("\n") else text + "\n").encode("utf-8")


def write_if_changed(path: Path, data: bytes) -> bool:
    if path.exists() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return True


def solution_version(release: nbformat.NotebookNode, source: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """nbgrader's release notebook with the source's solutions put back.

    The release has no hidden tests (nbgrader strips ``### BEGIN/END HIDDEN TESTS``) and no
    outputs; only solution cells differ from the source, so the result holds the solutions
    and the visible tests and nothing of the hidden tests.
    """
    if len(release.cells) != len(source.cells):
        raise RuntimeError("release and source notebooks differ in their number of cells")
    solution = nbformat.from_dict(release)
    for cell, original in zip(solution.cells, source.cells):
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade_id") != original.metadata.get("nbgrader", {}).get("grade_id"):
            raise RuntimeError(f"cells out of step at grade_id {meta.get('grade_id')!r}")
        if meta.get("solution"):
            cell.source = original.source
    return normalize(solution)


# --------------------------------------------------------------------------- labs/ and solutions/


def generate_versions(
    book_dir: str | Path = "book",
    labs_dir: str | Path = "labs",
    solutions_dir: str | Path = "solutions",
    repository: str | None = None,
    repo_config: Path | None = None,
) -> list[Path]:
    """Write ``labs/<chapter>.ipynb`` and ``solutions/<chapter>.ipynb`` for every chapter.

    Notebooks of chapters that no longer exist are removed. Returns the files written or
    left unchanged, in order.
    """
    book_dir, labs_dir, solutions_dir = Path(book_dir), Path(labs_dir), Path(solutions_dir)
    root = book_dir.resolve().parent
    repository = repository or repository_url(root)
    if repo_config is None and (root / "nbgrader_config.py").exists():
        repo_config = root / "nbgrader_config.py"
    from .course import build_course  # the course imports this module's normalising helpers
    from .chapters import find_chapters

    chapters = find_chapters(book_dir)
    written = []
    with tempfile.TemporaryDirectory(prefix="nlpcourse-assign-") as tmp:
        course = build_course(chapters, Path(tmp) / "course", repository, repo_config)
        for name, (source, release) in course.items():
            lab = labs_dir / f"{name}.ipynb"
            sol = solutions_dir / f"{name}.ipynb"
            write_if_changed(lab, notebook_bytes(release))
            write_if_changed(sol, notebook_bytes(solution_version(release, source)))
            written += [lab, sol]
    for folder in (labs_dir, solutions_dir):
        for stale in sorted(folder.glob("*.ipynb")):
            if stale not in written:
                stale.unlink()
    return written


def check_versions(
    book_dir: str | Path = "book",
    labs_dir: str | Path = "labs",
    solutions_dir: str | Path = "solutions",
    repository: str | None = None,
) -> list[str]:
    """Regenerate into a temporary folder; return the differences with labs/ and solutions/."""
    problems = []
    with tempfile.TemporaryDirectory(prefix="nlpcourse-check-") as tmp:
        fresh_labs, fresh_solutions = Path(tmp) / "labs", Path(tmp) / "solutions"
        fresh_labs.mkdir()
        fresh_solutions.mkdir()
        generate_versions(book_dir, fresh_labs, fresh_solutions, repository)
        for fresh, committed in ((fresh_labs, Path(labs_dir)), (fresh_solutions, Path(solutions_dir))):
            names = {p.name for p in fresh.glob("*.ipynb")} | {p.name for p in committed.glob("*.ipynb")}
            for name in sorted(names):
                a, b = fresh / name, committed / name
                if not b.exists():
                    problems.append(f"{b}: missing (run `nlpcourse assignments`)")
                elif not a.exists():
                    problems.append(f"{b}: no chapter in {book_dir} makes it (stale)")
                elif not filecmp.cmp(a, b, shallow=False):
                    problems.append(f"{b}: differs from a fresh generation (run `nlpcourse assignments`)")
    return problems
