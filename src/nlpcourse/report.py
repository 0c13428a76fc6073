"""Numbers for the prose (myst-nb ``glue``) and for the book's results page."""

from __future__ import annotations

import datetime
import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import config
from .atomic import atomic_path


def _plain(value: Any) -> Any:
    """NumPy and 0-d PyTorch scalars as Python numbers (for JSON and format specs); others as they are."""
    if isinstance(value, np.generic) or (isinstance(value, (np.ndarray, torch.Tensor)) and value.ndim == 0):
        return value.item()
    return value


def glue(name: str, value: Any, display: bool = False) -> Any:
    """Make ``value`` quotable in the book's prose as ``{glue:text}`name```.

    Outside a Jupyter Book build (a learner's Jupyter, Colab) myst-nb may be absent: then this
    does nothing. NumPy and 0-d PyTorch scalars are stored as Python numbers, so format specs
    such as ``:.1%`` work on them. Returns ``value`` so it can wrap an expression.
    """
    value = _plain(value)
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        return value
    myst_glue(name, value, display=display)
    return value


def glue_all(values: dict[str, Any]) -> None:
    """:func:`glue` each ``name: value`` of ``values``: one call for the numbers a cell quotes,
    made in a cell the page does not show (``tags: [remove-cell]``)."""
    for name, value in values.items():
        glue(name, value)


def _commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=5, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def record_result(chapter: str, **metrics: Any) -> Path | None:
    """Write a chapter's headline metrics to ``$NLPCOURSE_RESULTS/<profile>/<chapter>.json``.

    Does nothing when ``NLPCOURSE_RESULTS`` is unset, so a learner's run writes no files.
    Profile, date and commit are added so the results page can say where a number came from.
    """
    folder = config.results_folder()
    if folder is None:
        return None
    metrics = {name: _plain(value) for name, value in metrics.items()}
    record = {"chapter": chapter, "profile": config.profile(),
              "date": datetime.date.today().isoformat(), "commit": _commit(), **metrics}
    path = folder / config.profile() / f"{chapter}.json"
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(record, indent=2, sort_keys=True, default=str) + "\n")
    return path
