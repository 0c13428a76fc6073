"""Profiles, seeding and device choice: the settings every chapter starts from.

Every environment variable the package reads is read here, and only here:

- ``NLPCOURSE_PROFILE`` (``full`` | ``quick``): :func:`profile`;
- ``NLPCOURSE_DEVICE`` (e.g. ``cpu``): :func:`device`;
- ``NLPCOURSE_PROGRESS`` (``0``: no progress bars): :func:`progress_bars`;
- ``NLPCOURSE_DATA`` (the offline data mirror) and ``NLPCOURSE_CACHE`` (the cache folder):
  :func:`data_mirror`, :func:`cache_folder`;
- ``NLPCOURSE_RESULTS`` (where chapters record their headline numbers): :func:`results_folder`;
- ``NLPCOURSE_GRADING`` (and nbgrader's ``NBGRADER_EXECUTION``): :func:`grading_run`;
- ``NLPCOURSE_EDITION`` (``full`` | ``student``) and ``NLPCOURSE_OFFLINE`` (``1``): the book
  build's :func:`book_edition` and :func:`offline_build`.

(``NLPCOURSE_INSTALL_FROM`` is read by the install cell of each notebook, before this package
is installed: see ``nlpcourse.course.install_cell``.)
"""

from __future__ import annotations

import os
import random
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

PROFILES = ("full", "quick")
MIRROR_ENV = "NLPCOURSE_DATA"
CACHE_ENV = "NLPCOURSE_CACHE"
EDITION_ENV = "NLPCOURSE_EDITION"
#: The variables that say a grader is running the notebook.
GRADING_ENV = ("NBGRADER_EXECUTION", "NLPCOURSE_GRADING")


_default_announced = False


def default_profile() -> str:
    """The learner's profile when ``NLPCOURSE_PROFILE`` is unset: ``"full"`` where the course trains
    on a GPU, ``"quick"`` on a CPU, so that a first run fits the time each chapter states."""
    forced = os.environ.get("NLPCOURSE_DEVICE", "").strip()
    on_gpu = forced.startswith("cuda") if forced else torch.cuda.is_available()
    return "full" if on_gpu else "quick"


def profile() -> str:
    """The active profile, from ``NLPCOURSE_PROFILE`` (``"full"`` or ``"quick"``), else
    :func:`default_profile`, which is announced once, with how to switch. The book build, CI and
    the grader always set the variable."""
    global _default_announced
    name = os.environ.get("NLPCOURSE_PROFILE", "").strip().lower()
    if not name:
        name = default_profile()
        if not _default_announced:
            _default_announced = True
            other = "quick" if name == "full" else "full"
            where = "a GPU" if name == "full" else "a CPU"
            print(f"profile {name}: the default on {where}; for the {other} profile set "
                  f"NLPCOURSE_PROFILE={other} and restart the kernel")
    if name not in PROFILES:
        raise ValueError(f"NLPCOURSE_PROFILE={name!r}: expected one of {PROFILES}")
    return name


def settings(quick: dict, full: dict) -> dict:
    """Return the settings of the active profile.

    Both profiles must name the same settings, so a chapter never reads a key that only
    one profile defines.
    """
    if set(quick) != set(full):
        raise ValueError(f"quick and full settings differ in keys: {sorted(set(quick) ^ set(full))}")
    chosen = dict(quick if profile() == "quick" else full)
    return chosen


def progress_bars(requested: bool = True) -> bool:
    """Whether to show a progress bar: ``requested`` and not switched off by ``NLPCOURSE_PROGRESS=0``.

    The one switch every progress bar of the package honours (grading turns them off: they
    write to stderr, and nbgrader scores a test cell with stderr output 0).
    """
    return requested and os.environ.get("NLPCOURSE_PROGRESS", "1").strip() != "0"


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and PyTorch (CPU and CUDA) so a run can be repeated."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def device() -> torch.device:
    """The device to train on: the GPU when there is one, else the CPU.

    ``NLPCOURSE_DEVICE`` (e.g. ``cpu``) overrides the choice. Also makes the CPU flush
    denormal floats to zero: backpropagating an LSTM through hundreds of steps produces
    them, and on many CPUs each costs ~100 cycles (a measured 12x slower IMDB epoch here),
    while results do not change.
    """
    torch.set_flush_denormal(True)
    forced = os.environ.get("NLPCOURSE_DEVICE")
    if forced:
        return torch.device(forced)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def data_mirror(environ: Mapping[str, str] | None = None) -> str | None:
    """``NLPCOURSE_DATA`` as given (of ``environ``, default: this process's), None when unset: the
    offline data mirror, which ``nlpcourse._download.mirror_dir`` resolves."""
    return (os.environ if environ is None else environ).get(MIRROR_ENV) or None


def cache_folder() -> str | None:
    """``NLPCOURSE_CACHE`` as given, None when unset (the loaders then use the user's cache folder)."""
    return os.environ.get(CACHE_ENV) or None


def results_folder() -> Path | None:
    """``NLPCOURSE_RESULTS``: where chapters record their headline numbers; None when unset (a
    learner's run records nothing)."""
    folder = os.environ.get("NLPCOURSE_RESULTS")
    return Path(folder) if folder else None


def grading_run() -> bool:
    """Whether a grader runs this process (``NLPCOURSE_GRADING`` or nbgrader's ``NBGRADER_EXECUTION`` set)."""
    return any(os.environ.get(name) for name in GRADING_ENV)


def book_edition() -> str:
    """``NLPCOURSE_EDITION``: the book edition to build (``full`` unless set; the book checks the name)."""
    return os.environ.get(EDITION_ENV, "full")


def offline_build() -> bool:
    """Whether ``NLPCOURSE_OFFLINE`` asks for a book that displays without internet (1, true, yes)."""
    return os.environ.get("NLPCOURSE_OFFLINE", "").strip().lower() in {"1", "true", "yes"}
