"""Grading submissions: read them, execute them in a sandbox, judge the graded cells, write the
grade sheet and feedback (module map: CONTRIBUTING.md). No chapter imports this package."""
