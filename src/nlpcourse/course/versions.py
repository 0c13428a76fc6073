"""Student and solution versions of the chapters, generated from the one source in ``book/``.

A chapter is a MyST notebook with nbgrader markup in its cell options (see CONTRIBUTING.md).
Every chapter goes through a temporary nbgrader course directory (:mod:`.directory`), then:

- ``labs/<chapter>.ipynb``: nbgrader's student version (solutions replaced by stubs, hidden
  tests dropped, outputs cleared), made for a learner who may get stuck (:func:`student_version`):
  each stub's error names its exercise, a generated cell after an exercise with a reference
  (``nlpcourse: {reference: <dotted path>}`` in the solution cell's metadata) lets the cells
  after it run the reference while the exercise is unsolved (:mod:`nlpcourse.stuck`), and the
  book's hidden bookkeeping cells that no later cell needs are left out;
- ``solutions/<chapter>.ipynb``: the same notebook with the solutions put back: solutions and
  visible tests, never the hidden tests.

Both start with the cell that installs ``nlpcourse`` on Colab or Binder (with the optional
dependencies the chapter needs, :func:`.home.chapter_extras`), and their links come
from the course's home (:mod:`.home`). Regenerating gives byte-identical files
(:mod:`.notebooks`).
"""

from __future__ import annotations

import ast
import filecmp
import re
import tempfile
import textwrap
from pathlib import Path

import nbformat

from .chapters import find_chapters, read_chapter
from .directory import build_course
from .home import read_course_home
from .install_cell import chapter_extras, install_cell_source
from .notebooks import clean_id, normalize, notebook_bytes, write_if_changed

STUB = "raise NotImplementedError()"  # the stub's last line (nbgrader_config.py: ClearSolutions.code_stub)
FALLBACK_TAG = "nlpcourse-fallback"
_EXERCISE = re.compile(r"^#+\s*(?P<kind>Exercise|Assignment)\s+(?P<number>\d+)\s*[—:–-]\s*(?P<title>.*?)"
                       r"\s*(?:\([^()]*points?[^()]*\))?\s*$")


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


# --------------------------------------------------------------------------- the student version


def exercise_names(nb: nbformat.NotebookNode) -> dict[str, str]:
    """``grade_id`` -> the exercise's name, e.g. ``"Exercise 1 (the forward pass)"``, for each
    solution cell, from the last Markdown heading before it (its ``grade_id`` without one)."""
    names, heading = {}, None
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    match = _EXERCISE.match(line)
                    heading = f"{match['kind']} {match['number']} ({match['title']})" if match else None
        grader = cell.metadata.get("nbgrader", {})
        if grader.get("solution"):
            names[grader["grade_id"]] = heading or grader["grade_id"]
    return names


def stub_functions(source: str) -> list[str]:
    """The functions (``name`` or ``Class.method``) whose body holds the stub; ``[""]`` for a stub
    at the top level of the cell."""
    tree = ast.parse(source)
    found = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.Raise) and ast.unparse(child) == STUB:
                found.append(prefix.rstrip("."))
            else:
                visit(child, prefix)

    visit(tree, "")
    return found


def _named_stub(source: str, message: str) -> str:
    """The stub raising ``message``, as string pieces of at most 60 characters, one per line."""
    indent = re.search(rf"^([ \t]*){re.escape(STUB)}", source, re.MULTILINE)[1]
    pieces = textwrap.wrap(message, 60, drop_whitespace=False, break_on_hyphens=False)
    return "raise NotImplementedError(\n" + "\n".join(f"{indent}    {p!r}" for p in pieces) + ")"


def fallback_cell(grade_id: str, exercise: str, reference: str, targets: list[str]) -> nbformat.NotebookNode:
    """The generated, locked cell after an exercise: its stubs fall back on ``reference``.

    One stub: ``reference`` is the function (or method) in its place. Several stubs, all
    methods of one class: ``reference`` is a class, whose method of the same name takes each
    one's place.
    """
    if len(targets) == 1 and targets[0]:
        pairs = [(targets[0], reference)]
    elif all(target.count(".") == 1 for target in targets) and len({t.split(".")[0] for t in targets}) == 1:
        pairs = [(target, f"{reference}.{target.split('.')[1]}") for target in targets]
    else:
        raise ValueError(f"{grade_id}: a reference needs one stub inside a function, or stubs in methods "
                         f"of one class; found {targets}")
    calls = "".join(f"stuck.fall_back({target!r}, {path!r},\n                {exercise!r})\n" for target, path in pairs)
    source = (f"# While {exercise} is not solved, the cells below run\n"
              f"# the course's reference, {reference}, in its place;\n"
              "# your grade counts only your own code.\n"
              "from nlpcourse import stuck\n\n" + calls.rstrip("\n"))
    cell = nbformat.v4.new_code_cell(source, id=clean_id(f"{grade_id}-fallback"))
    cell.metadata = nbformat.NotebookNode(deletable=False, editable=False, tags=[FALLBACK_TAG])
    return cell


def _without_needless_bookkeeping(cells: list, graded: str) -> list:
    """``cells`` without the cells the book hides (``remove-cell``, not graded) that bind no name
    a later kept cell, or the ``graded`` cells' text (the hidden tests nbgrader puts back), uses.

    Read from the end, so that a cell needed only by a dropped cell is dropped too.
    """
    used = set(re.findall(r"\w+", graded))
    kept = []
    for cell in reversed(cells):
        hidden = (cell.cell_type == "code" and "nbgrader" not in cell.metadata
                  and "remove-cell" in cell.metadata.get("tags", []))
        if hidden:
            try:
                needed = bool(_bound_names(ast.parse(cell.source)) & used)
            except SyntaxError:
                needed = True
            if not needed:
                continue
        kept.append(cell)
        if cell.cell_type == "code":
            used |= set(re.findall(r"\w+", cell.source))
    return kept[::-1]


def _bound_names(node: ast.AST) -> set[str]:
    """The names a statement binds in its namespace (not those of its comprehensions or functions)."""
    if isinstance(node, ast.Name):
        return {node.id} if isinstance(node.ctx, ast.Store) else set()
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
        return set()
    return set().union(*(_bound_names(child) for child in ast.iter_child_nodes(node)))


def student_version(release: nbformat.NotebookNode, chapter: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """nbgrader's release notebook (normalised) made for a learner who may get stuck.

    ``chapter`` is the chapter as read from ``book/`` (its cells' ``nlpcourse`` metadata name
    the references). Every stub raises :func:`nlpcourse.stuck.stub_message`; after each solution
    cell with a reference comes a :func:`fallback_cell`; hidden bookkeeping cells that no later
    cell needs (the book's glue) are dropped, so they cannot fail in a learner's notebook.
    """
    from nlpcourse.stuck import stub_message

    references = {c.metadata["nbgrader"]["grade_id"]: c.metadata.get("nlpcourse", {}).get("reference")
                  for c in chapter.cells if c.metadata.get("nbgrader", {}).get("solution")}
    names = exercise_names(release)
    student = nbformat.from_dict(release)
    graded = "\n".join(c.source for c in chapter.cells if c.metadata.get("nbgrader", {}).get("grade"))
    cells = _without_needless_bookkeeping(student.cells, graded)
    student.cells = []
    for cell in cells:
        student.cells.append(cell)
        grader = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not grader.get("solution"):
            continue
        grade_id = grader["grade_id"]
        exercise, reference = names[grade_id], references.get(grade_id)
        if reference:
            student.cells.append(fallback_cell(grade_id, exercise, reference, stub_functions(cell.source)))
        cell.source = cell.source.replace(STUB, _named_stub(cell.source, stub_message(exercise, reference)))
    return student


# --------------------------------------------------------------------------- labs/ and solutions/


def generate_versions(
    book_dir: str | Path = "book",
    labs_dir: str | Path = "labs",
    solutions_dir: str | Path = "solutions",
    repo_config: Path | None = None,
) -> list[Path]:
    """Write ``labs/<chapter>.ipynb`` and ``solutions/<chapter>.ipynb`` for every chapter.

    Notebooks of chapters that no longer exist are removed. Returns the files written or
    left unchanged, in order.
    """
    book_dir, labs_dir, solutions_dir = Path(book_dir), Path(labs_dir), Path(solutions_dir)
    root = book_dir.resolve().parent
    if repo_config is None and (root / "nbgrader_config.py").exists():
        repo_config = root / "nbgrader_config.py"
    chapters = find_chapters(book_dir)
    written = []
    with tempfile.TemporaryDirectory(prefix="nlpcourse-assign-") as tmp:
        home = read_course_home(root)
        course = build_course(chapters, Path(tmp) / "course", home, repo_config)
        for name, (source, release) in course.items():
            lab = labs_dir / f"{name}.ipynb"
            sol = solutions_dir / f"{name}.ipynb"
            chapter = read_chapter(book_dir / f"{name}.md")
            student, solution = student_version(release, chapter), solution_version(release, source)
            for nb in (student, solution):  # the chapter's own install: its extras, nothing more
                nb.cells[0].source = install_cell_source(home, chapter_extras(chapter))
            write_if_changed(lab, notebook_bytes(student))
            write_if_changed(sol, notebook_bytes(solution))
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
) -> list[str]:
    """Regenerate into a temporary folder; return the differences with labs/ and solutions/."""
    problems = []
    with tempfile.TemporaryDirectory(prefix="nlpcourse-check-") as tmp:
        fresh_labs, fresh_solutions = Path(tmp) / "labs", Path(tmp) / "solutions"
        fresh_labs.mkdir()
        fresh_solutions.mkdir()
        generate_versions(book_dir, fresh_labs, fresh_solutions)
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
