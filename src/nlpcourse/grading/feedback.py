"""Feedback without the hidden tests' source: each hidden test says passed or failed, with its message.

:class:`HideHiddenTests` runs inside nbgrader's own ``generate_feedback`` (the course
directory's generated config lists it), so ``nlpcourse grade --feedback`` and a stock
``nbgrader generate_feedback`` agree. Instructors who want the source in the feedback set
``c.HideHiddenTests.show_source = True`` in ``nbgrader_config.py``.
"""

from __future__ import annotations

from nbgrader import utils
from nbgrader.preprocessors import ClearHiddenTests
from traitlets import Bool


class HideHiddenTests(ClearHiddenTests):
    """Replace each hidden-test region by ``# hidden tests: passed|failed``; keep only the error's
    name and message (a traceback would quote the hidden source)."""

    show_source = Bool(False, help="Show the hidden tests' source in feedback (for instructors)").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if self.show_source or not utils.is_grade(cell) or self.begin_test_delimeter not in cell.source:
            return cell, resources
        score, max_score = utils.determine_grade(cell, self.log)
        verdict = "passed" if score is not None and score >= max_score else "failed"
        self._remove_hidden_test_region(cell)
        cell.source = (cell.source.rstrip("\n") + "\n" if cell.source.strip() else "") + f"# hidden tests: {verdict}"
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                output.traceback = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
        return cell, resources
