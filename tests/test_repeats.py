"""Tests for `nlpcourse.repeats`: runs in worker processes of one thread, results in order."""

from __future__ import annotations

import math
import os

import pytest
import torch

from nlpcourse.repeats import run_in_processes, spread


def where_and_how(seed):
    print(f"run {seed}")
    return seed, os.getpid(), torch.get_num_threads()


def test_runs_in_parallel_workers_of_one_thread_in_order(capsys):
    results = run_in_processes(where_and_how, [3, 1, 2], processes=2)
    assert [seed for seed, _, _ in results] == [3, 1, 2]
    assert all(pid != os.getpid() for _, pid, _ in results)
    assert len({pid for _, pid, _ in results}) >= 2  # both workers took a run
    assert all(threads == 1 for _, _, threads in results)
    assert capsys.readouterr().out == "run 3\nrun 1\nrun 2\n"


def test_sends_functions_that_pickle_cannot_import():
    """A notebook's functions live in ``__main__``; a lambda is as hard to send."""
    offset = 10
    assert run_in_processes(lambda seed: seed + offset, [0, 1], processes=2) == [10, 11]


def test_one_process_runs_here():
    results = run_in_processes(where_and_how, [0, 1], processes=1)
    assert [pid for _, pid, _ in results] == [os.getpid()] * 2
    with pytest.raises(ValueError, match="at least 1"):
        run_in_processes(where_and_how, [0], processes=0)


def test_spread_is_mean_and_sample_sd():
    mean, sd = spread([0.80, 0.84, 0.88])
    assert mean == pytest.approx(0.84)
    assert sd == pytest.approx(0.04)
    mean, sd = spread([0.8])
    assert mean == 0.8 and math.isnan(sd)
    with pytest.raises(ValueError, match="at least one"):
        spread([])
