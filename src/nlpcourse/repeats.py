"""Repeating a training run with several seeds, in parallel processes, and its spread.

One run with one seed is one draw: :func:`run_in_processes` repeats a run for several seeds (or
any other arguments), each in a fresh worker process with one thread, and :func:`spread` sums up
what came back. Workers are started by joblib's ``loky`` backend, which also sends functions and
classes defined in a notebook (plain ``multiprocessing`` with ``spawn`` cannot import those).
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import statistics
from typing import Callable, Iterable, Sequence, TypeVar

import torch

Item = TypeVar("Item")
Result = TypeVar("Result")


def _one_thread(function: Callable[[Item], Result], item: Item) -> tuple[Result, str]:
    """``function(item)`` with one torch thread; its result and what it printed."""
    torch.set_num_threads(1)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        result = function(item)
    return result, printed.getvalue()


def run_in_processes(function: Callable[[Item], Result], items: Iterable[Item],
                     processes: int | None = None) -> list[Result]:
    """``[function(item) for item in items]``, computed in parallel worker processes.

    ``processes`` workers (default: one per item, at most one per CPU core) of one thread each,
    so that runs do not compete for cores; ``processes=1`` runs everything here, one after the
    other. What each call prints is printed afterwards, in the order of ``items``. Results
    travel back by pickling: return tensors on the CPU (a ``state_dict``), not a model whose
    class lives in a notebook.
    """
    items = list(items)
    if processes is None:
        processes = min(len(items), os.cpu_count() or 1)
    if processes < 1:
        raise ValueError(f"processes must be at least 1, got {processes}")
    if processes == 1:
        return [function(item) for item in items]
    import joblib

    outcomes = joblib.Parallel(n_jobs=processes, backend="loky")(
        joblib.delayed(_one_thread)(function, item) for item in items)
    for _, printed in outcomes:
        print(printed, end="")
    return [result for result, _ in outcomes]


def spread(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (``n - 1``) of the results of several runs.

    One run has no spread: its standard deviation is ``nan``.
    """
    if not values:
        raise ValueError("a spread needs at least one value")
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else math.nan
