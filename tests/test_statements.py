"""Every contract of an exercise is in its statement, and no hint gives the answer away.

- A stub (a solution cell's code with its solution regions cleared, what the learner starts from)
  uses only names the learner can know: Python's builtins, names defined or imported by an
  earlier code cell of the notebook, names the stub binds itself, and names the statement shows
  as code (in backticks or a code fence). The statement is the markdown of the exercise, from its
  heading (or the previous solution cell) to the solution cell. ``self.<name>`` counts as a name:
  a stub that reads ``self.labels`` needs a statement that names `labels`.
- No ``{hint}`` block of an exercise contains a line of that exercise's solution regions.
"""

from __future__ import annotations

import ast
import builtins
import re

import jupytext
import nbformat
import pytest

from nlpcourse.course.chapters import find_chapters

from helpers import HEADING, ROOT

CHAPTERS = find_chapters(ROOT / "book")
REGION = re.compile(r"^(?P<indent>[ \t]*)### BEGIN SOLUTION\n.*?^[ \t]*### END SOLUTION[ \t]*$", re.S | re.M)
CODE_SPAN = re.compile(r"``?([^`]+?)``?")
FENCE = re.compile(r"^\s*(```+|~~~+|:::+)(.*)$")
HINT = re.compile(r"^```\{hint\}.*?\n(.*?)^```|^:::\{admonition\} Hint.*?\n(.*?)^:::", re.S | re.M)
IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
SHORTEST_TELLING_LINE = 12  # shorter solution lines (`return x`, `else:`) give nothing away


def stub(source: str) -> str:
    """The learner's version of a solution cell: each solution region replaced by the stub's raise."""
    return REGION.sub(lambda m: f"{m['indent']}raise NotImplementedError()", source)


def regions(source: str) -> list[str]:
    """The statements inside the solution regions of a cell, one a line, stripped, comments removed
    (a line that is only a piece of a statement, such as `dtype=torch.long)`, is left out)."""
    lines = []
    for match in REGION.finditer(source):
        for line in match.group(0).split("\n")[1:-1]:
            code = line.split("  #")[0].strip()
            if code and not code.startswith("#") and _statement(code):
                lines.append(code)
    return lines


def _statement(line: str) -> bool:
    """Whether a line is a whole statement, or the head of a block (`with torch.no_grad():`)."""
    for candidate in (line, line + "\n    pass"):
        try:
            ast.parse(candidate)
            return True
        except SyntaxError:
            pass
    return False


def parse(source: str) -> ast.Module:
    """A code cell as Python (IPython magics and shell lines dropped)."""
    return ast.parse("\n".join(line for line in source.split("\n") if not line.lstrip().startswith(("%", "!"))))


def bound_names(tree: ast.AST) -> set[str]:
    """Every name a piece of code binds anywhere: assignments, loop and `with` targets, arguments,
    `def`/`class`, imports, `self.<attribute> = ...`."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and _on_self(node):
            names.add("self." + node.attr)
    return names


def _on_self(node: ast.Attribute) -> bool:
    return isinstance(node.value, ast.Name) and node.value.id == "self"


def used_names(tree: ast.AST) -> set[str]:
    """The names a piece of code reads, and the `self.<attribute>`s it reads."""
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    names |= {"self." + n.attr for n in ast.walk(tree)
              if isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Load) and _on_self(n)}
    return names


def code_names(markdown: str) -> set[str]:
    """The identifiers a statement shows as code: inline code, and code fences (a directive's
    fence, ```{hint} or :::{admonition}, holds markdown, read for its inline code)."""
    code: list[str] = []
    fences: list[tuple[str, bool]] = []  # (the fence's marks, whether it holds code)
    for line in markdown.split("\n"):
        fence = FENCE.match(line)
        if fence and fences and fence[1] == fences[-1][0] and not fence[2].strip():
            fences.pop()
        elif fence and not (fences and fences[-1][1]):
            fences.append((fence[1], not fence[2].strip().startswith("{") and fence[1][0] != ":"))
        elif fences and fences[-1][1]:
            code.append(line)
        elif not line.lstrip().startswith(":"):  # a directive's options (:class: dropdown) are not code
            code += CODE_SPAN.findall(line)
    return set(IDENTIFIER.findall(" ".join(code)))


def exercises(nb: nbformat.NotebookNode):
    """(grade_id, the solution cell's source, its statement, names defined by the earlier code cells)
    for each code solution cell."""
    known: set[str] = set()
    statement: list[str] = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            lines = cell.source.split("\n")
            headings = [i for i, line in enumerate(lines) if HEADING.match(line)]
            if headings:  # the statement starts at the exercise's heading
                statement = []
                lines = lines[headings[-1]:]
            statement.append("\n".join(lines))
            continue
        meta = cell.metadata.get("nbgrader", {})
        source = stub(cell.source) if meta.get("solution") else cell.source
        if meta.get("solution"):
            yield meta["grade_id"], cell.source, "\n".join(statement), set(known)
            statement = []
        known |= {name for name in bound_names(parse(source)) if not name.startswith("self.")}


def unknown_names(source: str, statement: str, known: set[str]) -> list[str]:
    """The names a stub reads that neither Python, the notebook so far, the stub nor the statement gives."""
    tree = parse(stub(source))
    given = known | bound_names(tree) | set(dir(builtins)) | code_names(statement)
    given |= {"self." + name for name in code_names(statement)}
    return sorted(name for name in used_names(tree) - given if name != "self")


def hints_with_solution_lines(source: str, statement: str) -> list[str]:
    """The solution lines (long enough to tell) that a hint of the statement contains."""
    hints = " ".join(" ".join((a or b).split()) for a, b in HINT.findall(statement))
    return [line for line in regions(source)
            if len(line) >= SHORTEST_TELLING_LINE and " ".join(line.split()) in hints]


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_every_stub_uses_only_names_its_statement_gives(chapter):
    nb = jupytext.read(str(chapter))
    problems = {grade_id: unknown_names(source, statement, known)
                for grade_id, source, statement, known in exercises(nb)}
    assert problems, "no solution cell found"
    assert {k: v for k, v in problems.items() if v} == {}, "name these in the statement, as code"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_no_hint_is_a_line_of_the_solution(chapter):
    nb = jupytext.read(str(chapter))
    found = {grade_id: hints_with_solution_lines(source, statement)
             for grade_id, source, statement, _ in exercises(nb)}
    assert {k: v for k, v in found.items() if v} == {}


def test_the_checks_find_an_unnamed_stub_name_and_a_hint_that_gives_the_answer():
    source = ("class Data:\n    def __init__(self, items):\n        ### BEGIN SOLUTION\n"
              "        self.labels = [int(x) for x in items]\n        ### END SOLUTION\n\n"
              "    def __len__(self):\n        return len(self.labels)\n\nprint(total_loss)")
    assert unknown_names(source, "Write `Data(items)`.", set()) == ["self.labels", "total_loss"]
    assert unknown_names(source, "Store them in `self.labels`; print `total_loss`.", set()) == []
    hint = "```{hint}\nWrite `self.labels = [int(x) for x in items]`.\n```"
    assert hints_with_solution_lines(source, hint) == ["self.labels = [int(x) for x in items]"]
    assert hints_with_solution_lines(source, "```{hint}\nEach label as an `int`.\n```") == []
