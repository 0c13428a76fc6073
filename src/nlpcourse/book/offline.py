"""A book that displays without internet: MathJax served from the build itself.

By default the pages load MathJax from a CDN, so a classroom without internet sees raw LaTeX.
With ``NLPCOURSE_OFFLINE=1`` in the environment of the build, this Sphinx extension hands the job to ``sphinx-mathjax-offline`` (a PyPI package that ships MathJax
3, pinned in requirements.txt): the pages load ``_static/mathjax/tex-chtml.js``, which the build
copies into its output (about 24 MB).
"""

from __future__ import annotations

from nlpcourse import config

MATHJAX_EXTENSION = "sphinx-mathjax-offline"  # its module name has hyphens; Sphinx imports it by name
LOCAL_MATHJAX = "mathjax/tex-chtml.js"  # under _static/, where the extension copies MathJax


def setup(app) -> dict:
    """Sphinx extension (``sphinx: extra_extensions`` in ``_config.yml``)."""
    if config.offline_build():
        app.setup_extension(MATHJAX_EXTENSION)
        app.config.mathjax_path = LOCAL_MATHJAX
    return {"parallel_read_safe": True, "parallel_write_safe": True}
