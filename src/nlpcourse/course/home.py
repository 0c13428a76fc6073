"""The course's public home, and the links derived from it.

One setting names the home: the ``repository:`` section of ``_config.yml``, its ``url`` (the
GitHub repository learners get) and its ``branch`` (the git ref they get: a branch, or a
release tag so that a notebook and the helper package it installs always match). From it come
the chapter pages' Colab / Binder / download links and the links on the *How to work on a lab*
page: MyST substitutions (``{{ lab_links.<chapter> }}``, ``{{ binder_labs }}``,
``{{ repository_link }}``) that the book defines when it is built (:mod:`nlpcourse.book.links`)
and that :func:`render_links` fills in the generated notebooks. The install cell of every
generated notebook (:mod:`.install_cell`) and README.md's links block (:mod:`.readme`) come from
it too.

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

PLACEHOLDER_OWNER = "your-org"  # the owner in the course's own _config.yml until a fork sets its home
_GITHUB = re.compile(r"https://github\.com/(?P<slug>[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+?)(?:\.git)?/?")
_SUBSTITUTION = re.compile(r"\{\{\s*(?:lab_links\.(?P<chapter>\w+)|(?P<name>\w+))\s*\}\}")


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


# --------------------------------------------------------------------------- links


def render_links(text: str, home: CourseHome) -> str:
    """``text`` with the course-home substitutions replaced by their Markdown links.

    The book renders the same ``{{ ... }}`` through MyST (:mod:`nlpcourse.book.links`); the generated notebooks
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


def substitutions(home: CourseHome, chapters: list[str] = ()) -> dict:
    """The MyST substitutions the book's pages use (chapters: the names ``lab_links`` knows)."""
    return {
        "lab_links": {chapter: home.lab_links(chapter) for chapter in chapters},
        "binder_labs": f"[Binder]({home.binder_url()})",
        "repository_link": f"[{home.slug}]({home.url})",
    }
