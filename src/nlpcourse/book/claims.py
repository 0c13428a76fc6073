"""Sphinx extension: sentences about measured results, checked against the run at build time.

A chapter's prose writes a comparison as ``{claim}`closer to the averaging model|expression```:
the page shows the words before the last ``|``, and the build checks the expression (a
comparison over the page's glued values, e.g. ``abs(ng_broken_test - ng_avg_test) <
abs(ng_broken_test - ng_majority)``) against the outputs it publishes. When the expression is
false, the build warns, naming the page, the words and the numbers, so ``jupyter-book build -W``
fails. The claims speak of the full profile (the published book): a build that publishes the
quick profile shows the words and checks nothing (an info line says so).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxRole

CHECKED_PROFILE = "full"
ROLE = re.compile(r"\{claim\}`([^`]*)`")
FUNCTIONS = {"abs": abs, "min": min, "max": max, "round": round}
ALLOWED = (ast.Expression, ast.Compare, ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.Name, ast.Load, ast.Constant,
           ast.Call, ast.Tuple, ast.And, ast.Or, ast.Not, ast.USub, ast.UAdd, ast.Add, ast.Sub, ast.Mult, ast.Div,
           ast.Pow, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Eq, ast.NotEq, ast.In, ast.NotIn)
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Claim:
    """The words a page shows and the expression over its glued values that must hold."""

    words: str
    expression: str


class ClaimError(ValueError):
    """A claim that cannot be read, or names a value the page does not glue."""


def parse(text: str) -> Claim:
    """``"words|expression"`` as a :class:`Claim` (the last ``|`` separates them)."""
    words, bar, expression = text.rpartition("|")
    if not bar or not words.strip() or not expression.strip():
        raise ClaimError(f"{{claim}}`{text}`: expected `words|expression`")
    return Claim(words.strip(), expression.strip())


def claims_in(markdown: str) -> list[Claim]:
    """Every ``{claim}`...``` of a chapter's source, in order."""
    return [parse(text) for text in ROLE.findall(markdown)]


def glued_value(data: dict) -> Any:
    """A glued output as a Python value: its ``text/plain`` read as a literal, else its text."""
    plain = data.get("text/plain", "")
    try:
        return ast.literal_eval(plain)
    except (ValueError, SyntaxError):
        return data.get("text/markdown", plain)


def glue_values(notebook: nbformat.NotebookNode) -> dict[str, Any]:
    """The values an executed notebook glued (myst-nb's ``scrapbook`` outputs), by key."""
    values = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            scrapbook = output.get("metadata", {}).get("scrapbook")
            if scrapbook:
                prefix = scrapbook.get("mime_prefix", "")
                values[scrapbook["name"]] = glued_value({k[len(prefix):]: v for k, v in output["data"].items()})
    return values


def names_in(expression: str) -> list[str]:
    """The glue keys an expression reads, in order of first use."""
    tree = ast.parse(expression, mode="eval")
    found = [node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and node.id not in FUNCTIONS]
    return list(dict.fromkeys(found))


def holds(claim: Claim, values: dict[str, Any]) -> bool:
    """Whether the claim's expression is true for ``values``; :class:`ClaimError` if it cannot say."""
    try:
        tree = ast.parse(claim.expression, mode="eval")
    except SyntaxError as error:
        raise ClaimError(f"claim {claim.words!r}: {claim.expression!r} is not an expression ({error.msg})") from None
    for node in ast.walk(tree):
        calls_other = isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS)
        if not isinstance(node, ALLOWED) or calls_other:
            raise ClaimError(f"claim {claim.words!r}: {ast.dump(node)[:40]} is not allowed in {claim.expression!r}")
    missing = [name for name in names_in(claim.expression) if name not in values]
    if missing:
        raise ClaimError(f"claim {claim.words!r}: no glued value {', '.join(missing)} on this page")
    namespace = {name: values[name] for name in names_in(claim.expression)}
    return bool(eval(compile(tree, "<claim>", "eval"), {"__builtins__": {}, **FUNCTIONS}, namespace))


def describe(claim: Claim, values: dict[str, Any]) -> str:
    """The claim with the numbers it was checked against, for a build error."""
    numbers = ", ".join(f"{name} = {values.get(name)!r}" for name in names_in(claim.expression))
    return f"{claim.words!r} needs {claim.expression}, but {numbers}"


def published_profile(app) -> str:
    """The profile whose outputs this build publishes: the execution cache's, else ``NLPCOURSE_PROFILE``."""
    from nlpcourse import config
    from nlpcourse.book.full_execution_note import published_profile as cache_profile

    return cache_profile(Path(app.config.nb_execution_cache_path or ".jupyter_cache")) or config.profile()


class ClaimRole(SphinxRole):
    """``{claim}`words|expression```: shows the words, warns when the expression is false."""

    def run(self) -> tuple[list[nodes.Node], list[nodes.system_message]]:
        """The words as plain text; a warning (a failed ``-W`` build) when the run contradicts them."""
        try:
            claim = parse(self.text)
        except ClaimError as error:
            logger.warning(str(error), location=self.get_location(), type="nlpcourse", subtype="claim")
            return [nodes.Text(self.text)], []
        if published_profile(self.env.app) != CHECKED_PROFILE:
            logger.info(f"claim {claim.words!r} not checked: this build publishes the "
                        f"{published_profile(self.env.app)} profile", location=self.get_location())
            return [nodes.Text(claim.words)], []
        renderer = self.inliner.document.get("nb_renderer")
        values = {key: glued_value(output["data"]) for key, output in renderer.renderer.nb_client.glue_data.items()} \
            if renderer is not None else {}
        try:
            if not holds(claim, values):
                logger.warning(f"the {CHECKED_PROFILE}-profile run contradicts the claim {describe(claim, values)}",
                               location=self.get_location(), type="nlpcourse", subtype="claim")
        except ClaimError as error:
            logger.warning(str(error), location=self.get_location(), type="nlpcourse", subtype="claim")
        return [nodes.Text(claim.words)], []


def setup(app) -> dict:
    """Register the ``claim`` role (``sphinx: extra_extensions`` in ``_config.yml``)."""
    app.add_role("claim", ClaimRole())
    return {"parallel_read_safe": True, "parallel_write_safe": True}
