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

Settings (``nbgrader_config.py``): ``c.Execute.timeout`` (per cell, as for Execute),
``c.SandboxedExecute.sandbox`` (a name of :data:`nlpcourse.grading.sandbox.NAMES`, default ``auto``) and
``c.SandboxedExecute.wall_timeout`` (seconds for the whole notebook).
"""

from __future__ import annotations

import nbformat
from nbgrader.preprocessors import Execute
from traitlets import Float, Unicode

from .execute import STUDENT_TIMEOUT_S, ExecutionTask, execute_notebook


class SandboxedExecute(Execute):
    """Execute the notebook in the grading sandbox (a child process) and take its outputs."""

    sandbox = Unicode("auto", help="the sandbox learner code runs in (nlpcourse.grading.sandbox.NAMES)"
                      ).tag(config=True)
    wall_timeout = Float(STUDENT_TIMEOUT_S, help="seconds for the whole notebook").tag(config=True)

    def preprocess(self, nb, resources):
        from .autograde import ReplayExecute

        info = resources.get("nbgrader", {})
        key = f"{info.get('student', '?')}/{info.get('assignment', '?')}"
        task = ExecutionTask(key, nbformat.writes(nb), int(self.timeout or 30), self.wall_timeout, sandbox=self.sandbox)
        outcome = execute_notebook(task)
        if not outcome.ok:
            raise RuntimeError(f"{key}: {outcome.failure}\n{outcome.log}")
        return ReplayExecute(nbformat.reads(outcome.notebook, as_version=4)).preprocess(nb, resources)
