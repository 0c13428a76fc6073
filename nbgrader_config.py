"""nbgrader settings for the course (read by `nlpcourse assignments`, `nlpcourse course`,
`nlpcourse grade` and by nbgrader itself when run from the repository root).

The course directory (gradebook included) is `course/` at the repository root: outside `_build/`,
so `jupyter-book clean` never touches it, and git-ignored, since it holds students' work.
`book/` is the source of every assignment and `nlpcourse course` fills `source/` from it.
This file sets nbgrader options only and leaves the environment alone (a Jupyter server started
here loads it): `nlpcourse grade` gives the quick profile and NLPCOURSE_PROGRESS=0 to the
notebooks it executes, and to them alone. See book/instructors.md.
"""

from pathlib import Path

c = get_config()  # noqa: F821 (provided by traitlets when nbgrader loads this file)

HERE = Path(__file__).resolve().parent

c.CourseDirectory.course_id = "pytorch-nlp"
c.CourseDirectory.root = str(HERE / "course")

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

# `nbgrader zip_collect` (see book/instructors.md): the file names of an LMS's bulk download.
# Moodle names each file "<full name>_<id>_assignsubmission_file_<file name>"; adapt for another LMS.
c.FileNameCollectorPlugin.named_regexp = r".*/(?P<student_id>[^/]+?)_\d+_assignsubmission_file_(?P<file_id>[^/]+)$"

# `nbgrader autograde` grades as `nlpcourse grade` does: learner code runs in the grading
# sandbox (nlpcourse.grading.sandboxed_execute), then every graded test cell is decided outside
# the learner's kernel, in nbgrader's own process, after the static screen of the learner's
# cells (nlpcourse.grading.judge, nlpcourse.grading.screen).
#
# Both read nlpcourse's grading settings, set here like nbgrader's own: c.Grading.sandbox,
# .submission_timeout, .sandbox_memory, .jobs, .scheduler (defaults and help text in
# nlpcourse.grading.settings; `nlpcourse grade --help` lists them, and its flags set them for
# one run without writing anything, e.g. --sandbox-memory 4).
from nlpcourse.grading.judge import autograde_steps  # noqa: E402
from nlpcourse.grading.sandboxed_execute import SandboxedExecute  # noqa: E402

c.Autograde.autograde_preprocessors = autograde_steps(SandboxedExecute)
