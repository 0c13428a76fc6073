"""Sphinx extension: the course-home substitutions (``{{ lab_links.<chapter> }}``, ``{{ binder_labs }}``,
``{{ repository_link }}``) defined for every page from ``_config.yml``'s ``repository:`` section
(:mod:`nlpcourse.course.home`)."""

from __future__ import annotations

from pathlib import Path

from nlpcourse.course.home import read_course_home, substitutions


def _add_substitutions(app, config) -> None:
    root = Path(app.srcdir)
    chapters = sorted(p.stem for p in (root / "book").glob("*.md"))  # book/ holds every chapter
    config.myst_substitutions = {**substitutions(read_course_home(root), chapters), **config.myst_substitutions}


def setup(app) -> dict:
    """Sphinx extension (``sphinx: extra_extensions`` in ``_config.yml``): define the substitutions."""
    app.connect("config-inited", _add_substitutions)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
