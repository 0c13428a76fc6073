"""nbgrader settings for the course (read by `nlpcourse assignments`, `nlpcourse grade` and by
nbgrader itself when run from the repository root).

The course directory lives under the build folder, never in the source tree: `book/` is the
source of every assignment and `nlpcourse` fills `source/` from it. See book/instructors.md.
"""

import os
from pathlib import Path

c = get_config()  # noqa: F821 (provided by traitlets when nbgrader loads this file)

HERE = Path(__file__).resolve().parent

c.CourseDirectory.course_id = "pytorch-nlp"
c.CourseDirectory.root = str(HERE / "_build" / "nbgrader" / "course")

# Grading runs the quick profile: subsets and few epochs, each chapter a few minutes on CPU.
# The kernels nbgrader starts inherit this environment.
os.environ["NLPCOURSE_PROFILE"] = "quick"
# No progress bars: they write to stderr, and nbgrader scores a test cell with stderr output 0.
os.environ["NLPCOURSE_PROGRESS"] = "0"

# Per-cell limit (nbgrader's default is 30 s). A quick-profile training cell takes up to about
# a minute on 2 CPU cores; 10 minutes leaves room for a slow machine and still stops a
# submission that loops forever.
c.Execute.timeout = 600

# A learner who deletes a graded (test) cell does not escape it: nbgrader puts it back.
c.OverwriteCells.add_missing_cells = True

# The stub that replaces `### BEGIN SOLUTION ... ### END SOLUTION` (nbgrader's default, stated).
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# On a JupyterHub with nbgrader's exchange, uncomment and adapt (see book/instructors.md):
# c.Exchange.root = "/srv/nbgrader/exchange"
# c.Exchange.path_includes_course = True
