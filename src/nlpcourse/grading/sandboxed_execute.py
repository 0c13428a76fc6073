"""nbgrader's Execute step, run in the grading sandbox: what stock ``nbgrader autograde`` uses
with the course's ``nbgrader_config.py``.

:class:`SandboxedExecute` takes Execute's place in the autograde steps
(:func:`.judge.autograde_steps`). It hands the sanitised notebook to
:func:`.execute.execute_notebook` (the child that ``nlpcourse grade`` starts: nbgrader's own
Execute in a fresh kernel, inside the sandbox, the quick profile, a wall-clock limit), then copies
the outputs back as :class:`.autograde.ReplayExecute` does for ``nlpcourse grade``. The judge and
the static screen follow in this process, so both commands grade a submission alike. A
submission that cannot be executed (no sandbox here, a dead kernel, past the limit) stops
nbgrader's autograde of that submission with the reason.

Settings (``nbgrader_config.py``): ``c.Execute.timeout`` (per cell, as for Execute) and the
grading settings ``nlpcourse grade`` reads too (:class:`.settings.Grading`: ``sandbox``,
``submission_timeout``, ``sandbox_memory``).
"""

from __future__ import annotations

import nbformat
from nbgrader.preprocessors import Execute

from .autograde import ReplayExecute
from .execute import ExecutionTask, execute_notebook
from .settings import Grading


class SandboxedExecute(Execute):
    """Execute the notebook in the grading sandbox (a child process) and take its outputs."""

    def preprocess(self, nb, resources):
        info = resources.get("nbgrader", {})
        key = f"{info.get('student', '?')}/{info.get('assignment', '?')}"
        grading = Grading(parent=self)
        task = ExecutionTask(key, nbformat.writes(nb), int(self.timeout or 30), grading.submission_timeout,
                             sandbox=grading.sandbox, limits=grading.limits())
        outcome = execute_notebook(task)
        if not outcome.ok:
            raise RuntimeError(f"{key}: {outcome.failure}\n{outcome.log}")
        return ReplayExecute(nbformat.reads(outcome.notebook, as_version=4)).preprocess(nb, resources)
