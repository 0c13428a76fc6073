"""Decide each graded test cell outside the learner's kernel (the grader's half of
:mod:`nlpcourse.judging`).

:class:`JudgeOutsideKernel` runs in nbgrader's Autograde converter right after the execution,
on the sanitised notebook, whose test cells nbgrader restored from the gradebook's source. For
each graded test cell it takes the cell's ``judge`` (and the cell's top-level imports,
literal constants and ``def`` statements) from that source, the data the cell handed over from its output, and runs
the judge here. The cell's outputs are then replaced by the verdict: nothing the kernel printed,
raised or swallowed counts, and a cell without a judge, or that handed nothing over, scores 0.

Before any judge runs, the learner's own cells are read (:mod:`.screen`): a graded test cell
after a cell that reaches the course's grading code, PyTorch's private dispatch machinery or
function internals (what would make the verdict undecidable) scores 0, SET ASIDE FOR HAND
GRADING with what was found, whatever its judge would say.
"""

from __future__ import annotations

import ast
import math

from nbformat.v4 import new_output
from pathlib import Path

import nbformat
from nbgrader.converters import Autograde
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from nbgrader.utils import is_grade, is_solution

from ..judging import MIME, from_data
from .screen import SET_ASIDE, set_aside


def _is_constant(node: ast.stmt) -> bool:
    """``NAME = <literal>`` (numbers, strings, tuples, lists, dicts of them)."""
    if not (isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets)):
        return False
    try:
        ast.literal_eval(node.value)
    except ValueError:
        return False
    return True


def judge_source(cell_source: str) -> str | None:
    """The cell's top-level imports, literal constants and function definitions, if one of the
    functions is ``judge``."""
    try:
        tree = ast.parse(cell_source)
    except SyntaxError:
        return None
    kept = [node for node in tree.body
            if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef)) or _is_constant(node)]
    if not any(isinstance(node, ast.FunctionDef) and node.name == "judge" for node in kept):
        return None
    return ast.unparse(ast.Module(body=kept, type_ignores=[]))


def handed_over(outputs) -> list:
    """The data blocks the cell handed to the grader."""
    return [o.data[MIME] for o in outputs if o.get("output_type") == "display_data" and MIME in o.get("data", {})]


def verdict(cell_source: str, outputs) -> str | None:
    """None when the test passes; otherwise the reason it fails."""
    source = judge_source(cell_source)
    if source is None:
        return "this graded test cell has no judge function: ask the instructor"
    data = handed_over(outputs)
    if len(data) != 1:
        if data:
            return "the test handed over its results more than once"
        errors = [f"{o.get('ename')}: {o.get('evalue')}" for o in outputs if o.get("output_type") == "error"]
        # the error first: the grades sheet shortens each reason, and the error is what explains it
        return (f"{errors[-1]} (so the test stopped before it handed your results to the grader)" if errors
                else "the test stopped before it handed your results to the grader")
    import torch

    namespace = {"__name__": "nlpcourse_judge", "torch": torch, "nn": torch.nn, "F": torch.nn.functional,
                 "math": math}
    try:
        exec(compile(source, "<judge>", "exec"), namespace)  # noqa: S102 (the instructor's own test code)
        namespace["judge"](from_data(data[0]))
    except AssertionError as err:
        return str(err) or "a check of the test failed"
    except Exception as err:  # noqa: BLE001 (a malformed result is a failed test)
        return f"{type(err).__name__}: {err}"
    return None


def released_sources(config, resources) -> set[str] | None:
    """The sources of the assignment's own code cells other than solutions, from the course's
    source folder (None when it cannot be read: every unlocked cell is then the learner's)."""
    info = resources.get("nbgrader", {})
    coursedir = CourseDirectory(config=config)
    path = Path(coursedir.format_path(coursedir.source_directory, ".", info.get("assignment", ""))) / (
        f"{info.get('notebook', '')}.ipynb")
    try:
        source = nbformat.read(path, as_version=4)
    except (OSError, ValueError):
        return None
    return {c.source for c in source.cells if c.cell_type == "code" and not is_solution(c)}


class JudgeOutsideKernel(NbGraderPreprocessor):
    """Replace each graded test cell's outputs by the judge's verdict, decided here; a cell
    after a learner's cell the screen flags is set aside for hand grading instead."""

    def preprocess(self, nb, resources):
        self.set_aside = set_aside(nb, released_sources(self.config, resources))
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not is_grade(cell) or is_solution(cell):
            return cell, resources
        if index in self.set_aside:
            found = self.set_aside[index]
            reason = f"set aside for hand grading: {found}"
            cell.outputs = [new_output("error", ename=SET_ASIDE, evalue=reason, traceback=[reason])]
            return cell, resources
        reason = verdict(cell.source, cell.outputs)
        kept = [o for o in cell.outputs if o.get("output_type") == "display_data" and MIME in o.get("data", {})]
        if reason is None:
            cell.outputs = kept[:1] + [new_output("stream", name="stdout", text="passed (decided by the grader)\n")]
        else:
            cell.outputs = [new_output("error", ename="TestFailed", evalue=reason,
                                       traceback=[f"failed (decided by the grader): {reason}"])]
        return cell, resources


def autograde_steps(execute=Execute) -> list:
    """nbgrader's autograde preprocessors with the judge right after the execution step
    (``execute`` stands in for nbgrader's Execute)."""
    return [step for default in Autograde.class_traits()["autograde_preprocessors"].default()
            for step in ((execute, JudgeOutsideKernel) if default is Execute else (default,))]
