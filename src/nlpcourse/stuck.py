"""A stuck learner goes on: an unsolved exercise falls back on the course's reference.

In a student notebook (``labs/``, written by ``nlpcourse assignments``) every exercise's stub
raises ``NotImplementedError`` with the message :func:`stub_message` (it names the exercise),
and a generated cell right after the exercise calls :func:`fall_back`. From then on, a call of
the learner's function that still raises *that* message runs the course's reference instead,
and says so once, in one line; the tests and the cells after the exercise go on. A learner's
own code, finished or not, is always run first; any other error is the learner's to see.

Grading never falls back: not while nbgrader executes a notebook (``NBGRADER_EXECUTION``, set
by ``nbgrader autograde`` and ``validate``), nor where ``NLPCOURSE_GRADING`` is set, nor while a
hidden test checks an exercise (:func:`nlpcourse.exercise_checks.checking`).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable

from .config import grading_run
from .exercise_checks import _resolve, checking

_announced: set[str] = set()


def stub_message(exercise: str, reference: str | None) -> str:
    """What an unsolved exercise's stub raises, e.g. ``stub_message("Exercise 3 (last_hidden)", ...)``.

    It names the exercise and what to do; without a ``reference`` it also says that the cells
    which use the exercise need it solved.
    """
    message = f"{exercise} is not solved yet: write your code in place of this line, then run the tests below"
    if reference is None:
        message += " (the course has no reference to run instead: the cells that use it need your solution)"
    return message


def grading() -> bool:
    """True while a grader runs the notebook (then nothing falls back)."""
    return grading_run() or checking()


def resolve(path: str) -> object:
    """The object a dotted path names: ``package.module.attribute[.attribute]``."""
    return getattr(*_resolve(path))


def with_reference(function: Callable, reference: str | None, exercise: str) -> Callable:
    """``function``, except that its unsolved stub's error runs ``reference`` (a dotted path).

    Without a reference, or while grading, the stub's error is raised as it is.
    """

    @functools.wraps(function)
    def run(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except NotImplementedError as error:
            if reference is None or grading() or error.args != (stub_message(exercise, reference),):
                raise
            if exercise not in _announced:
                _announced.add(exercise)
                print(f"{exercise} is not solved yet: this cell and the ones after it use the course's "
                      f"reference ({reference}); your grade counts only your own code.")
            return resolve(reference)(*args, **kwargs)

    run.__nlpcourse_fallback__ = exercise
    return run


def fall_back(target: str, reference: str | None, exercise: str, namespace: dict | None = None) -> None:
    """Make ``target`` (``name`` or ``Class.method``) of the learner's namespace (default: the
    notebook's, ``__main__``) fall back on ``reference``.

    While grading, or where the target is missing (its cell failed, or was deleted) or already
    falls back, this does nothing; it never raises, so the generated cell that calls it never
    stops a notebook.
    """
    if grading():
        return
    if namespace is None:
        namespace = vars(sys.modules["__main__"])
    owner_name, _, method = target.rpartition(".")
    owner = namespace.get(owner_name) if owner_name else None
    if owner_name and owner is None:
        return
    current = getattr(owner, method, None) if owner is not None else namespace.get(method)
    if not callable(current) or hasattr(current, "__nlpcourse_fallback__"):
        return
    wrapped = with_reference(current, reference, exercise)
    if owner is not None:
        setattr(owner, method, wrapped)
    else:
        namespace[method] = wrapped
