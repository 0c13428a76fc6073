"""Running many tasks at once (nlpcourse.grading.dispatch) with a small picklable task.

Grading through dispatch, end to end, is tested in test_grading.py; here a task is
``(name, seconds, folder)``: it notes its start in ``folder/starts.log``, sleeps, and answers.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from nlpcourse.grading.dispatch import LOCAL, run_tasks


def work(task):
    name, seconds, folder = task
    with open(Path(folder) / "starts.log", "a") as log:
        log.write(f"{name} {os.getpid()}\n")
    time.sleep(seconds)
    if name == "bug":
        raise RuntimeError("a bug in the task function")
    return f"done {name}"


def failed(task, reason: str) -> str:
    return f"failed {task[0]}: {reason}"


def starts(folder: Path) -> list[tuple[str, int]]:
    path = folder / "starts.log"
    lines = path.read_text().split("\n") if path.exists() else []
    return [(name, int(pid)) for name, pid in (line.split() for line in lines if line)]


def test_threads_run_at_once_and_answer_in_task_order(tmp_path):
    both_running = threading.Barrier(2, timeout=20)  # passes only if two tasks run at the same time

    def meet(task):
        if task[0] in ("x", "y"):
            both_running.wait()
        return work(task)

    tasks = [(name, 0.4 if name == "slow" else 0, tmp_path) for name in ("slow", "x", "y", "bug", "fast")]
    results = run_tasks(tasks, meet, failed, jobs=2)
    assert results[:3] == ["done slow", "done x", "done y"] and results[4] == "done fast"
    assert results[3] == "failed bug: the grader could not run it: RuntimeError: a bug in the task function"
    assert sorted(name for name, _ in starts(tmp_path)) == sorted(t[0] for t in tasks)


def test_jobs_cannot_be_combined_with_a_cluster_address():
    with pytest.raises(ValueError, match="cluster's workers"):
        run_tasks([], work, failed, jobs=2, scheduler="tcp://127.0.0.1:8786")


def test_a_cluster_address_gets_the_tasks_and_a_warning_about_retries(tmp_path, caplog):
    from distributed import LocalCluster

    tasks = [(name, seconds, tmp_path) for name, seconds in [("a", 0.3), ("b", 0.0), ("bug", 0.0), ("c", 0.1)]]
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster, \
            caplog.at_level(logging.WARNING, logger="nlpcourse.grading.dispatch"):
        results = run_tasks(tasks, work, failed, scheduler=cluster.scheduler_address)
    assert results[:2] + results[3:] == ["done a", "done b", "done c"]
    assert results[2].startswith("failed bug: the grader could not run it on Dask: RuntimeError")
    warnings = [r.getMessage() for r in caplog.records if r.name == "nlpcourse.grading.dispatch"]
    assert any("ALLOWED_FAILURES=0" in m for m in warnings), warnings  # the default cluster re-runs


def test_a_killed_worker_fails_only_its_task_and_never_reruns_it(tmp_path):
    """A LocalCluster of 2 worker processes; the worker running ``victim`` is killed mid-run."""
    tasks = [(name, 0.5, tmp_path) for name in ("a", "b")] + [("victim", 120, tmp_path)]
    tasks += [(name, 0.5, tmp_path) for name in ("c", "d", "e")]
    killed: list[int] = []

    def kill_the_victim():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            for name, pid in starts(tmp_path):
                if name == "victim":
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
            time.sleep(0.1)

    killer = threading.Thread(target=kill_the_victim, daemon=True)
    killer.start()
    results = run_tasks(tasks, work, failed, jobs=2, scheduler=LOCAL)
    killer.join(timeout=5)
    assert killed, "the victim never started"
    assert [r for t, r in zip(tasks, results) if t[0] != "victim"] == [f"done {n}" for n in "abcde"]
    assert results[2].startswith("failed victim: the Dask worker running it") and "died mid-run" in results[2]
    assert [name for name, _ in starts(tmp_path)].count("victim") == 1  # not run again elsewhere


@pytest.mark.parametrize("flags", [["--jobs", "0"], ["--jobs", "2", "--scheduler", "tcp://127.0.0.1:8786"]])
def test_grade_refuses_impossible_options_before_doing_anything(tmp_path, capsys, flags):
    from nlpcourse import cli

    (tmp_path / "submissions").mkdir()
    assert cli.main(["grade", str(tmp_path / "submissions"), "--out", str(tmp_path / "grades.csv"), *flags]) == 2
    assert "jobs" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [tmp_path / "submissions"]  # no course directory, no CSV
