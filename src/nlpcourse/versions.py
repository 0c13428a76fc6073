"""Student and solution versions of the chapters, generated from the one source in ``book/``.

A chapter is a MyST notebook with nbgrader markup in its cell options (see CONTRIBUTING.md).
This module turns every such chapter into an nbgrader course directory (``source/`` and,
through ``nbgrader generate_assignment``, ``release/`` plus the gradebook), then writes:

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
import os
import re
import sys
import tempfile
from pathlib import Path

import jupytext
import nbformat

DEFAULT_REPOSITORY = "https://github.com/nlp-course/pytorch-nlp-course"
DEFAULT_COURSE_ID = "pytorch-nlp"
INSTALL_CELL_ID = "install-nlpcourse"
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
# Cell metadata that belongs in a released notebook; everything else (execution times,
# collapsed/scrolled flags, jupytext leftovers) is dropped so that files never drift.
KEPT_CELL_METADATA = ("deletable", "editable", "nbgrader", "tags")


# --------------------------------------------------------------------------- chapters


def read_chapter(path: str | Path) -> nbformat.NotebookNode:
    """Read a MyST chapter with jupytext (its cell options carry the nbgrader markup)."""
    return jupytext.read(str(path))


def has_exercises(nb: nbformat.NotebookNode) -> bool:
    """True when the notebook has graded or solution cells (nbgrader markup)."""
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") or meta.get("solution"):
            return True
    return False


def find_chapters(book_dir: str | Path) -> list[Path]:
    """The ``*.md`` files of ``book_dir`` that are notebooks with nbgrader cells, sorted by name.

    Decided by content: intro, setup and instructor pages have no jupytext header or no
    nbgrader cells (an example of the markup inside a code fence does not count).
    """
    chapters = []
    for path in sorted(Path(book_dir).glob("*.md")):
        text = path.read_text(encoding="utf-8")
        if "nbgrader" not in text or "kernelspec" not in text:
            continue  # fast path: cannot be a graded notebook
        nb = read_chapter(path)
        if "kernelspec" in nb.metadata and has_exercises(nb):
            chapters.append(path)
    return chapters


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


def _write_if_changed(path: Path, data: bytes) -> bool:
    if path.exists() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return True


# --------------------------------------------------------------------------- nbgrader course


def nbgrader_env() -> None:
    """nbgrader runs the ``alembic`` script by name: make this interpreter's scripts findable."""
    scripts = str(Path(sys.executable).parent)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")


def write_course_config(course_dir: Path, repo_config: Path | None, timeout: int | None = None) -> Path:
    """Write ``course_dir/nbgrader_config.py``: the repository's settings, rooted at ``course_dir``.

    nbgrader commands (``nbgrader formgrader``, ``nbgrader export``...) run inside the course
    directory then see the same settings as ``nlpcourse grade``.
    """
    lines = ["c = get_config()  # noqa: F821  (generated by nlpcourse; do not edit)"]
    if repo_config is not None and repo_config.exists():
        lines.append(f"load_subconfig({str(repo_config.resolve())!r})  # noqa: F821")
    else:
        lines.append(f"c.CourseDirectory.course_id = {DEFAULT_COURSE_ID!r}")
        lines.append("c.Execute.timeout = 600")
        lines.append("c.OverwriteCells.add_missing_cells = True")
    lines.append(f"c.CourseDirectory.root = {str(course_dir.resolve())!r}")
    if timeout is not None:
        lines.append(f"c.Execute.timeout = {int(timeout)}")
    path = course_dir / "nbgrader_config.py"
    course_dir.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def load_course_config(course_dir: Path):
    """The traitlets Config of a course directory (see :func:`write_course_config`)."""
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader("nbgrader_config.py", path=str(course_dir)).load_config()


def nbgrader_api(course_dir: Path):
    """An ``NbGraderAPI`` on ``course_dir`` with its generated config."""
    nbgrader_env()
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    from nbgrader.exchange import ExchangeError, ExchangeFactory

    class NoExchange(ExchangeFactory):
        """nlpcourse moves no files through nbgrader's exchange; without this stand-in the API
        probes the default exchange folder at start and logs a CRITICAL error when it is absent."""

        def List(self, *args, **kwargs):  # noqa: N802 (nbgrader's name)
            class Unused:
                def start(self):
                    raise ExchangeError("the exchange is not used here")

            return Unused()

    config = load_course_config(course_dir)
    coursedir = CourseDirectory(config=config)
    coursedir.root = str(course_dir.resolve())
    return NbGraderAPI(coursedir=coursedir, exchange=NoExchange(config=config), config=config)


def build_course(
    chapters: list[Path],
    course_dir: str | Path,
    repository: str = DEFAULT_REPOSITORY,
    repo_config: Path | None = None,
    timeout: int | None = None,
) -> dict[str, tuple[nbformat.NotebookNode, nbformat.NotebookNode]]:
    """Fill an nbgrader course directory from the chapters and run ``generate_assignment``.

    Each chapter becomes an assignment and a notebook of the same name. Returns, per
    chapter, the (source, release) notebooks, both normalised.
    """
    course_dir = Path(course_dir)
    write_course_config(course_dir, repo_config, timeout)
    api = nbgrader_api(course_dir)
    result = {}
    for path in chapters:
        name = path.stem
        source = read_chapter(path)
        source.cells.insert(0, install_cell(repository))
        normalize(source)
        source_path = course_dir / "source" / name / f"{name}.ipynb"
        _write_if_changed(source_path, notebook_bytes(source))
        outcome = api.generate_assignment(name, force=True, create=True)
        if not outcome["success"]:
            raise RuntimeError(
                f"nbgrader generate_assignment failed for {path}:\n{outcome.get('error', '')}\n{outcome.get('log', '')}"
            )
        release = nbformat.read(course_dir / "release" / name / f"{name}.ipynb", as_version=4)
        result[name] = (source, normalize(release))
    return result


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
    chapters = find_chapters(book_dir)
    written = []
    with tempfile.TemporaryDirectory(prefix="nlpcourse-assign-") as tmp:
        course = build_course(chapters, Path(tmp) / "course", repository, repo_config)
        for name, (source, release) in course.items():
            lab = labs_dir / f"{name}.ipynb"
            sol = solutions_dir / f"{name}.ipynb"
            _write_if_changed(lab, notebook_bytes(release))
            _write_if_changed(sol, notebook_bytes(solution_version(release, source)))
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
