"""Profiles, seeding and device choice: the settings every chapter starts from."""

from __future__ import annotations

import os
import random

import numpy as np
import torch

PROFILES = ("full", "quick")


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
