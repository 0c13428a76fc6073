"""Instructor tooling: generating the labs, the nbgrader course and the book, and grading."""
