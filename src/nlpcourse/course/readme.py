"""README.md's block of learner links, rewritten from the course's home by ``nlpcourse assignments``."""

from __future__ import annotations

import re
from pathlib import Path

from nlpcourse.atomic import atomic_path

from .home import CourseHome, read_course_home

README_BEGIN = "<!-- course-home links: generated from _config.yml by `nlpcourse assignments` -->"
README_END = "<!-- end of course-home links -->"


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
    with atomic_path(readme) as tmp:
        tmp.write_text(new, encoding="utf-8")
    return True
