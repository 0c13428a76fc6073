"""Project-wide rules that no single module test covers."""

import re
import subprocess

from notebook_runs import ROOT

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
