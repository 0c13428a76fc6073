"""The course from ``book/``: the chapters, their student and solution versions, the nbgrader
course directory and the course's home (module map: CONTRIBUTING.md). No chapter imports it."""
