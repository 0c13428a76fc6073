"""Project-wide rules that no single module test covers."""

import ast
import re
import subprocess
import tomllib

from helpers import ROOT

NOQA = re.compile(r"#\s*noqa:\s*([A-Z]+[0-9]+(?:\s*,\s*[A-Z]+[0-9]+)*)")
TORCHTEXT_IMPORT = re.compile(r"^\s*(import torchtext|from torchtext\b)", re.MULTILINE)


def tracked_sources() -> list:
    names = subprocess.run(["git", "ls-files", "*.py", "*.md", "*.ipynb", "*.txt", "*.toml", "*.cfg"],
                           cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    return [ROOT / name for name in names]


def test_nothing_imports_or_requires_torchtext():
    sources = tracked_sources()
    assert any(path.name == "lab_imdb.md" for path in sources)
    offenders = [str(path.relative_to(ROOT)) for path in sources
                 if TORCHTEXT_IMPORT.search(path.read_text().replace('"', ""))]
    assert not offenders, f"torchtext is imported in {offenders}"
    requirements = (ROOT / "requirements.txt").read_text().lower()
    assert "torchtext" not in requirements


def test_no_test_module_imports_another():
    """Shared test code lives in tests/helpers.py (fixtures in conftest.py), never in a test module."""
    tests = ROOT / "tests"
    test_modules = {path.stem for path in tests.glob("test_*.py")} | {"conftest"}
    offenders = []
    for path in sorted(tests.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            offenders += [f"{path.name}:{node.lineno} imports {name}" for name in names
                          if name.split(".")[0] in test_modules or name.startswith("tests.")]
    assert len(test_modules) > 20, "no test module found"
    assert not offenders, offenders


def test_the_linter_checks_every_rule_a_noqa_comment_names():
    """A `# noqa: RULE` silences a rule ruff runs (pyproject.toml), else it would be noise."""
    selected = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ruff"]["lint"]["select"]
    named = {rule.strip() for path in tracked_sources() if path.suffix == ".py"
             for match in NOQA.finditer(path.read_text()) for rule in match.group(1).split(",")}
    assert {"BLE001", "E402", "F821"} <= named, "the noqa comments were not found"
    assert not sorted(rule for rule in named if not any(rule.startswith(prefix) for prefix in selected))
