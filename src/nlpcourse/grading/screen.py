"""Read the learner's own code before trusting what it did: the grader's static screen.

The hidden tests watch the learner's functions from inside the kernel (the operation recorder of
:mod:`nlpcourse.exercise_checks`). A learner's cell that can reach or replace that watcher, or
that hides code from this screen, makes the verdict undecidable. :func:`screen_cells` reads the
source of the cells the learner wrote or changed (solution cells, and every unlocked cell whose
source is not one of the released notebook's own: nbgrader restores locked cells from the
gradebook) with :mod:`ast`, IPython magics translated first, and names what it found:

* PyTorch's private internals and its dispatch machinery (``torch._C``, ``torch._VF``,
  ``torch.ops``, ``torch.overrides``, ``torch.library``, ``torch.utils._python_dispatch``, any
  ``_private`` attribute of torch), compilers and other threads or processes (``torch.jit``,
  ``torch.compile``, ``threading``, ``multiprocessing``, ``subprocess``, ...), where an
  operation would run unseen;
* the course's grading and instructor code (``nlpcourse.judging``, ``nlpcourse.exercise_checks``,
  ``nlpcourse.grading``, ``nlpcourse.course``, ``nlpcourse.book``, ``nlpcourse.cli``), or a name the
  tests import from it rebound;
* reaching or editing function internals (``__defaults__``, ``__kwdefaults__``, ``__code__``,
  ``__globals__``, ``__closure__``, ...), frames (``gc``, ``inspect``, ``sys._getframe``,
  ``f_globals``, ``tb_frame``), ``sys.modules``, the import machinery (``importlib``,
  ``__import__``), code built from strings (``exec``, ``eval``, ``compile``, ``pickle``,
  ``marshal``), ``ctypes``, ``builtins``, the IPython shell object, a magic whose code is not
  Python, or a module the grader cannot find (one the learner may have written);
* an attribute assigned or deleted on an imported module, or on anything reached through one
  (``torch.allclose = ...``, ``F.log_softmax = ...``, ``nn.LSTM.forward = ...``,
  ``nlpcourse.x.y = ...``, ``setattr(torch, ...)``); a class that defines
  ``__torch_function__`` or ``__torch_dispatch__``;
* source that does not parse.

:func:`set_aside` turns the findings into verdicts: a finding in a cell sets aside every graded
test cell AFTER it (what a cell changes lasts for the rest of the kernel's life; the cells before
it ran before it). An exercise's graded cells follow its solution cells, so a finding in an
exercise sets aside that exercise and every later one. The grader scores them 0 and says they
were set aside for hand grading (:class:`.judge.JudgeOutsideKernel`).
"""

from __future__ import annotations

import ast
import importlib.util
import re
from dataclasses import dataclass

from .screen_rules import (BUILTIN_NAMES, CODE_MAGICS, FLAGGED_ATTRIBUTES, HARMLESS_MAGICS, PUBLIC_DUNDERS,
                           SHELL_METHODS, module_reason, under)

SET_ASIDE = "SetAsideForHandGrading"  # the error name of a set-aside graded cell's verdict


@dataclass(frozen=True)
class Finding:
    """One construct that makes the cell's effect undecidable, in words."""

    line: int
    what: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.what}"


def python_source(source: str) -> str:
    """The cell as the kernel runs it: IPython magics and shell escapes translated to Python."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


def imported_names(sources: list[str]) -> dict[str, str]:
    """Local name -> dotted module path (or module attribute) of every import in ``sources``."""
    names: dict[str, str] = {}
    for source in sources:
        try:
            tree = ast.parse(python_source(source))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        names[alias.asname] = alias.name
                    else:
                        top = alias.name.split(".")[0]
                        names[top] = top
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _dotted(node: ast.AST) -> list[str] | None:
    """``a.b.c`` as ["a", "b", "c"]; None when the chain does not start at a name."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return [node.id, *reversed(parts)]


class _Screen(ast.NodeVisitor):
    def __init__(self, imported: dict[str, str], protected: set[str]):
        self.imported = dict(imported)  # grows with aliases: G = torch.nn.functional
        self.protected = protected
        self.found: list[Finding] = []
        self.depth = 0  # inside a function or class: rebinding a name there leaves the global one

    def flag(self, node: ast.AST, what: str) -> None:
        self.found.append(Finding(getattr(node, "lineno", 0), what))

    def resolve(self, node: ast.AST) -> str | None:
        """The dotted path of ``node`` with an imported root replaced by its module, else None."""
        parts = _dotted(node)
        if not parts or parts[0] not in self.imported:
            return None
        return ".".join([self.imported[parts[0]], *parts[1:]])

    # ----------------------------------------------------------------- imports

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._import(node, alias.name)
            top = alias.name.split(".")[0]
            self.imported[alias.asname or top] = alias.name if alias.asname else top

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            self.flag(node, "a relative import (a module the grader cannot see)")
            return
        module = node.module or ""
        self._import(node, module)
        for alias in node.names:
            path = f"{module}.{alias.name}"
            if alias.name == "*":
                continue
            reason = module_reason(path)
            if reason:
                self.flag(node, f"imports {path}: {reason}")
            self.imported[alias.asname or alias.name] = path

    def _import(self, node: ast.AST, module: str) -> None:
        reason = module_reason(module)
        if reason:
            self.flag(node, f"imports {module}: {reason}")
        elif not _findable(module):
            self.flag(node, f"imports {module}, a module the grader cannot find (one written by the notebook?)")

    # ----------------------------------------------------------------- names and attributes

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in BUILTIN_NAMES and node.id not in self.imported:
            self.flag(node, f"uses {BUILTIN_NAMES[node.id]}")
        if isinstance(node.ctx, (ast.Store, ast.Del)) and node.id in self.protected:
            self.flag(node, f"rebinds {node.id}, a name the tests import from the course's grading code")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        path = self.resolve(node)
        reason = module_reason(path) if path else None
        if reason:
            self.flag(node, f"uses {path}: {reason}")
            return  # one finding per chain
        if node.attr in FLAGGED_ATTRIBUTES and not (node.attr == "__dict__" and _is_self(node.value)):
            self.flag(node, f"reaches .{node.attr} (function, frame or class internals)")
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            self._assigned(node, node.value, f".{node.attr}")
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            self._assigned(node, node.value, "[...]")
        self.generic_visit(node)

    def _assigned(self, node: ast.AST, base: ast.AST, what: str) -> None:
        path = self.resolve(base)
        if path is not None:
            self.flag(node, f"changes {path}{what}, reached through an imported module (monkeypatching)")
        elif _dotted(base) is None and _carries_import(base, self.imported):
            self.flag(node, "changes an object built from an imported module (monkeypatching)")
        elif isinstance(base, ast.Call) and isinstance(base.func, ast.Name) and base.func.id in ("type", "getattr"):
            self.flag(node, f"changes what {base.func.id}() returned (a class or module: monkeypatching)")

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str):
            text = node.value
            if text in FLAGGED_ATTRIBUTES or text in ("_C", "_VF", "_ops"):
                self.flag(node, f"names {text!r} in a string")
            elif re.fullmatch(r"[\w.]+", text) and "." in text and module_reason(text):
                self.flag(node, f"names {text!r} in a string: {module_reason(text)}")

    # ----------------------------------------------------------------- assignments and definitions

    def visit_Assign(self, node: ast.Assign) -> None:
        if _carries_import(node.value, self.imported):  # may hold a module: G = F, mods = [torch.nn]
            self._alias_if_carried(node.targets, node.value)
        elif self.depth == 0:  # data = [...] at the top: `data` is no longer the module
            for target in node.targets:
                for name in _bound_names(target):
                    self.imported.pop(name, None)
        self.generic_visit(node)

    def _alias_if_carried(self, targets: list[ast.AST], value: ast.AST) -> None:
        """Names bound from something that may hold a module become aliases of it."""
        if _carries_import(value, self.imported):
            for target in targets:
                for name in _bound_names(target):
                    self.imported[name] = self.resolve(value) or ast.unparse(value)[:60]

    def visit_For(self, node: ast.For | ast.AsyncFor | ast.comprehension) -> None:
        self._alias_if_carried([node.target], node.iter)  # for m in [torch.nn.functional]: ...
        self.generic_visit(node)

    visit_AsyncFor = visit_comprehension = visit_For

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self._alias_if_carried([node.target], node.value)
        self.generic_visit(node)

    def _scope(self, node: ast.AST) -> None:
        arguments = getattr(node, "args", None)
        if isinstance(arguments, ast.arguments):  # def f(m=torch.nn.functional): m.x = ...
            positional = arguments.posonlyargs + arguments.args
            pairs = list(zip(positional[len(positional) - len(arguments.defaults):], arguments.defaults))
            pairs += [(a, d) for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults) if d is not None]
            for argument, default in pairs:
                self._alias_if_carried([ast.Name(argument.arg, ast.Store())], default)
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        if node.name in ("__torch_function__", "__torch_dispatch__"):
            self.flag(node, f"defines {node.name} (takes over PyTorch's dispatch)")
        if node.name in self.protected:
            self.flag(node, f"rebinds {node.name}, a name the tests import from the course's grading code")
        self._scope(node)

    visit_AsyncFunctionDef = visit_FunctionDef
    visit_Lambda = _scope

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        if node.name in self.protected:
            self.flag(node, f"rebinds {node.name}, a name the tests import from the course's grading code")
        self._scope(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id in ("setattr", "delattr") and node.args:
            path = self.resolve(node.args[0])
            if path is not None:
                self.flag(node, f"{func.id}() on {path}, reached through an imported module (monkeypatching)")
        if isinstance(func, ast.Name) and func.id in ("getattr", "setattr", "delattr", "hasattr") and len(node.args) > 1:
            name = node.args[1]
            if not isinstance(name, ast.Constant) and self.resolve(node.args[0]) is not None:
                self.flag(node, f"{func.id}() on a module with a computed name")
            elif isinstance(name, ast.Constant) and isinstance(name.value, str) and name.value.startswith("_") \
                    and name.value not in PUBLIC_DUNDERS:
                self.flag(node, f"{func.id}() of the private attribute {name.value!r}")
        if isinstance(func, ast.Attribute) and _is_shell(func.value):
            self._magic(node, func.attr)
            for arg in node.args[1:] + [k.value for k in node.keywords]:
                self.visit(arg)
            return
        if self._unpickles(node):
            self.flag(node, "loads pickled objects (code run from bytes)")
        self.generic_visit(node)

    def _unpickles(self, node: ast.Call) -> bool:
        path = self.resolve(node.func) or ""
        kwargs = {k.arg: k.value for k in node.keywords}
        if path.endswith((".read_pickle", "joblib.load")):
            return True
        switch = {"torch.load": ("weights_only", False), "numpy.load": ("allow_pickle", True)}.get(path)
        if switch is None or switch[0] not in kwargs:
            return False
        value = kwargs[switch[0]]
        return not (isinstance(value, ast.Constant) and value.value is not switch[1])

    def _magic(self, node: ast.Call, method: str) -> None:
        """``get_ipython().<method>(...)``: the translation of a magic or of ``!cmd``."""
        args = [a.value if isinstance(a, ast.Constant) and isinstance(a.value, str) else None for a in node.args]
        if method == "run_line_magic" and len(args) >= 2 and args[0] in HARMLESS_MAGICS | CODE_MAGICS:
            if args[0] in CODE_MAGICS and args[1] is not None:
                self._code(node, _without_options(args[1]))
            elif args[1] is None:
                self.flag(node, f"the %{args[0]} magic with a computed argument")
            return
        if method == "run_cell_magic" and len(args) >= 3 and args[0] in CODE_MAGICS and args[2] is not None:
            self._code(node, args[2])
            return
        if method in SHELL_METHODS:
            self.flag(node, "a shell command (another process)")
            return
        magic = f"the %{args[0]} magic" if method.endswith("_magic") and args and args[0] else (
            f"the IPython shell object (get_ipython().{method})")
        self.flag(node, f"uses {magic}, which runs code the grader cannot read")

    def _code(self, node: ast.AST, code: str) -> None:
        try:
            tree = ast.parse(python_source(code))
        except SyntaxError as err:
            self.flag(node, f"a magic's code does not parse ({err.msg})")
            return
        self.visit(tree)


def _findable(module: str) -> bool:
    """Whether the grader's own Python finds the top-level package of ``module``."""
    try:
        return importlib.util.find_spec(module.split(".")[0]) is not None
    except (ImportError, ValueError):
        return False


def _carries_import(node: ast.AST, imported: dict[str, str]) -> bool:
    """Whether ``node`` mentions an imported name outside a call (``[torch.nn][0]`` may be the
    module; ``torch.zeros(3)`` is a new tensor)."""
    if isinstance(node, ast.Name):
        return node.id in imported
    if isinstance(node, ast.Call):  # a call makes a new value (what it may return is left open)
        return False
    return any(_carries_import(child, imported) for child in ast.iter_child_nodes(node))


def _bound_names(target: ast.AST) -> list[str]:
    """The names an assignment target binds (``a``, ``a, (b, *c)``), not ``a.x`` or ``a[0]``."""
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, ast.Starred):
        return _bound_names(target.value)
    if isinstance(target, (ast.Tuple, ast.List)):
        return [n for element in target.elts for n in _bound_names(element)]
    return []


def _is_self(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id == "self"


def _is_shell(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "get_ipython"


def _without_options(line: str) -> str:
    """The code of a ``%timeit -n 10 -r 3 code`` line: its leading options dropped."""
    return re.sub(r"^\s*(?:-[a-zA-Z](?:\s*\d+)?\s+)*", "", line)


def _screen_into(screen: _Screen, source: str) -> list[Finding]:
    """Screen one cell with ``screen`` (which keeps the imports and aliases it saw)."""
    screen.found = []
    try:
        tree = ast.parse(python_source(source))
    except SyntaxError as err:
        return [Finding(err.lineno or 0, f"the cell does not parse ({err.msg}), so the grader cannot read it")]
    screen.visit(tree)
    return sorted(set(screen.found), key=lambda f: (f.line, f.what))


def screen_source(source: str, imported: dict[str, str] | None = None, protected: set[str] = frozenset()
                  ) -> list[Finding]:
    """What in one cell's ``source`` makes delegation undecidable (empty: nothing).

    ``imported``: names the notebook's earlier cells imported; ``protected``: names the tests
    import from the course's grading code.
    """
    return _screen_into(_Screen(imported or {}, set(protected)), source)


def learner_cells(nb, released_sources: set[str] | None) -> list[int]:
    """Indices of the code cells the learner wrote or may have changed: solution cells, and unlocked
    cells whose source is not one of the release's own (every unlocked cell when the release is
    unknown). Locked cells are not: nbgrader restores them from the gradebook before execution."""
    kept = []
    for index, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code":
            continue
        if meta.get("solution") or (not meta.get("locked") and not meta.get("grade")
                                    and (released_sources is None or cell.source not in released_sources)):
            kept.append(index)
    return kept


def protected_names(nb) -> set[str]:
    """Names the notebook's locked cells import from the course's grading code."""
    locked = [c.source for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("locked")]
    return {name for name, path in imported_names(locked).items()
            if under(path, "nlpcourse.judging") or under(path, "nlpcourse.exercise_checks")}


def screen_cells(nb, released_sources: set[str] | None = None) -> dict[int, list[Finding]]:
    """Cell index -> findings, for each learner cell of ``nb`` with any. The cells are read in
    order, all of them, so that each sees the imports and aliases of the cells before it."""
    screen, learner = _Screen({}, protected_names(nb)), set(learner_cells(nb, released_sources))
    found = {}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            findings = _screen_into(screen, cell.source)
            if findings and index in learner:
                found[index] = findings
    return found


def set_aside(nb, released_sources: set[str] | None = None) -> dict[int, str]:
    """Graded test cell index -> why it is set aside for hand grading (what the first flagged
    cell before it holds)."""
    found = screen_cells(nb, released_sources)
    reasons = {}
    for index, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution"):
            continue
        earlier = [i for i in found if i < index]
        if earlier:
            first = earlier[0]
            name = nb.cells[first].metadata.get("nbgrader", {}).get("grade_id") or f"cell {first}"
            reasons[index] = f"{name}, " + ", ".join(map(str, found[first]))
    return reasons
