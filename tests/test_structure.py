"""The package's structure (issue #24): no import cycle, small folders, one module map.

The import graph is read from the source (``ast``), not from a running interpreter, so an import
inside a function counts as much as one at the top: a cycle hidden by a function-level import is
still a cycle. An edge goes from a module to each ``nlpcourse`` module it names
(``from nlpcourse.x import y`` names ``nlpcourse.x.y`` when that is a module, else ``nlpcourse.x``).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from helpers import ROOT

PACKAGE = ROOT / "src" / "nlpcourse"
MAX_MODULES_PER_FOLDER = 15


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported_modules(name: str, source: str, is_package: bool = False) -> set[str]:
    """The ``nlpcourse`` modules module ``name`` imports anywhere in ``source`` (functions included)."""
    package = name if is_package else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            found.update(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names)
    return {module for module in found if module in MODULES and module != name}


GRAPH = {name: imported_modules(name, path.read_text(encoding="utf-8"), path.name == "__init__.py")
         for name, path in MODULES.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for child in sorted(graph[node]):
            if child not in index:
                visit(child)
                low[node] = min(low[node], low[child])
            elif child in stack:
                low[node] = min(low[node], index[child])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_imports_inside_functions():
    source = "def grade():\n    from .autograde import grade\n    from nlpcourse.grading import sandbox, screen\n"
    assert imported_modules("nlpcourse.grading.x", source) == {"nlpcourse.grading.autograde",
                                                              "nlpcourse.grading.sandbox", "nlpcourse.grading.screen"}
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle():
    assert cycles(GRAPH) == []


def test_no_folder_holds_more_than_15_modules():
    folders: dict[Path, list[str]] = {}
    for path in MODULES.values():
        if path.name != "__init__.py":
            folders.setdefault(path.parent, []).append(path.stem)
    crowded = {str(folder.relative_to(ROOT)): len(names) for folder, names in folders.items()
               if len(names) > MAX_MODULES_PER_FOLDER}
    assert not crowded, f"folders over {MAX_MODULES_PER_FOLDER} modules: {crowded}"


def test_the_packages_follow_the_flow():
    """course <- grading, course <- book, and the command line over all three: no package imports
    one that imports it back (the learner's modules are imported from anywhere)."""
    flow = {"nlpcourse.course": set(), "nlpcourse.grading": {"nlpcourse.course"},
            "nlpcourse.book": {"nlpcourse.course"},
            "nlpcourse.cli": {"nlpcourse.course", "nlpcourse.grading", "nlpcourse.book"}}
    for name, imports in GRAPH.items():
        package = ".".join(name.split(".")[:2])
        if package in flow:
            reached = {".".join(m.split(".")[:2]) for m in imports} & set(flow) - {package}
            assert reached <= flow[package], f"{name} imports {sorted(reached - flow[package])}"


def test_the_learner_modules_import_no_instructor_package():
    """The chapters import the top-level modules; those never reach the book, course or grading."""
    instructor = ("nlpcourse.book", "nlpcourse.course", "nlpcourse.grading", "nlpcourse.cli")
    for name, imports in GRAPH.items():
        if name.count(".") == 1 and not name.startswith(instructor):
            assert not {m for m in imports if m.startswith(instructor)}, name


def test_the_module_map_in_contributing_lists_every_module():
    """CONTRIBUTING.md's module map: a row per module (package, file names, job), none missing,
    none that does not exist (a package's ``__init__.py`` is listed when it does a job)."""
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    listed = set()
    for package, files in re.findall(r"^\| `(nlpcourse[\w.]*)` \| ((?:`\w+\.py`(?:, )?)+) \|", text, re.M):
        listed |= {(package, name) for name in re.findall(r"`(\w+\.py)`", files)}
    present = {(module_name(path.parent / "__init__.py"), path.name) for path in MODULES.values()}
    assert listed - present == set(), "listed in the module map, but no such module"
    unlisted = {entry for entry in present - listed if entry[1] != "__init__.py"}
    assert unlisted == set(), "modules missing from CONTRIBUTING.md's module map"
