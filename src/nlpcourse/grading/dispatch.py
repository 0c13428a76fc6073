"""Run many execution tasks at once: a pool of threads on this machine, or a Dask cluster.

Every task is independent: ``fn(task) -> outcome`` executes one submission (see
:func:`nlpcourse.grading.execute.execute_notebook`: its own child process, its own
wall-clock limit, never raises for anything the notebook does). This module only decides
where each call runs and gives the outcomes back **in the order of the tasks**, so nothing
downstream depends on the schedule.

- ``jobs=N`` (no scheduler): N threads in this process, each driving its own child process.
- ``scheduler="local"``: a Dask ``LocalCluster`` of N worker processes, one thread each.
- ``scheduler="tcp://host:8786"``: an existing Dask cluster (e.g. started with dask-jobqueue).

A Dask worker that dies (killed, out of memory, its node lost) costs only the task it was
running: that task is reported through ``failed(task, reason)`` and not run again (the
LocalCluster runs with ``allowed-failures: 0``; a cluster that allows retries gets a warning,
and each re-run is logged); tasks that were only waiting on that worker had not started
(each task announces its start as a Dask event), so they are sent again.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TypeVar

from .execute import ExecutionOutcome, ExecutionTask, execute_notebook

T = TypeVar("T")
R = TypeVar("R")
logger = logging.getLogger(__name__)

LOCAL = "local"  # the --scheduler value that starts a LocalCluster on this machine
STARTED = "nlpcourse-task-started"  # Dask event topic: a worker began running a task
MAX_SENDS = 3  # how often a task that never started may be sent again after its worker died


def run_tasks(
    tasks: Sequence[T],
    fn: Callable[[T], R],
    failed: Callable[[T, str], R],
    jobs: int | None = None,
    scheduler: str | None = None,
) -> list[R]:
    """``fn(task)`` for every task, at most ``jobs`` at once; the outcomes in task order.

    ``failed(task, reason)`` stands in for a task whose run could not finish (its worker died,
    or ``fn`` itself raised). Without ``scheduler``, ``jobs`` (default 1) threads run the tasks;
    with ``scheduler="local"``, ``jobs`` (default: the CPU count) Dask worker processes; with a
    scheduler address, the cluster's workers (``jobs`` must then be None).
    """
    check_options(jobs, scheduler)
    if scheduler is None:
        return run_threads(tasks, fn, failed, jobs or 1)
    return run_dask(tasks, fn, failed, scheduler, jobs)


class ImpossibleOptions(ValueError):
    """``jobs`` and ``scheduler`` that cannot run (together)."""


def check_options(jobs: int | None, scheduler: str | None) -> None:
    """Raise :class:`ImpossibleOptions`, in words, for a combination that cannot run."""
    if jobs is not None and jobs < 1:
        raise ImpossibleOptions(f"jobs must be at least 1, not {jobs}")
    if scheduler not in (None, LOCAL) and jobs is not None:
        raise ImpossibleOptions("--jobs sets how many run at once on this machine; "
                         "with a cluster address, the cluster's workers decide")
    if scheduler is not None:
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise ImpossibleOptions("a Dask scheduler needs the grading extra: pip install 'nlpcourse[grade]'") from None


def execution_runner(jobs: int | None = None, scheduler: str | None = None
                     ) -> Callable[[list[ExecutionTask]], list[ExecutionOutcome]]:
    """autograde's ``run_executions``: execute the tasks with ``jobs`` threads or on Dask."""
    check_options(jobs, scheduler)

    def failed(task: ExecutionTask, reason: str) -> ExecutionOutcome:
        return ExecutionOutcome(task.key, None, reason)

    def run(tasks: list[ExecutionTask]) -> list[ExecutionOutcome]:
        return run_tasks(tasks, execute_notebook, failed, jobs, scheduler)

    return run


def run_threads(tasks: Sequence[T], fn: Callable[[T], R], failed: Callable[[T, str], R], jobs: int) -> list[R]:
    """Run the tasks on ``jobs`` threads of this process."""
    results: list = [None] * len(tasks)
    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="nlpcourse-job")
    try:
        futures = {pool.submit(fn, task): i for i, task in enumerate(tasks)}
        for future in as_completed(futures):
            i = futures[future]
            try:
                results[i] = future.result()
            except Exception as err:  # noqa: BLE001 (one task's bug must not cost the others)
                results[i] = failed(tasks[i], f"the grader could not run it: {type(err).__name__}: {err}")
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return results


def run_dask(
    tasks: Sequence[T],
    fn: Callable[[T], R],
    failed: Callable[[T, str], R],
    scheduler: str,
    workers: int | None,
) -> list[R]:
    """Run the tasks on a Dask cluster: ``scheduler`` is an address or ``"local"``."""
    import dask
    from distributed import Client, LocalCluster

    if scheduler != LOCAL:
        with Client(scheduler) as client:
            _warn_about_retries(client, scheduler)
            return _gather(client, tasks, fn, failed)
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            logger.info(f"Dask LocalCluster: {len(cluster.workers)} worker process(es), one thread each")
            return _gather(client, tasks, fn, failed)


def _gather(client, tasks: Sequence[T], fn, failed) -> list[R]:
    from distributed import as_completed as dask_completed
    from distributed.scheduler import KilledWorker

    run_id = uuid.uuid4().hex[:12]  # keys unique on a cluster that other runs share
    results: list = [None] * len(tasks)
    sends = [0] * len(tasks)
    index = {}

    def send(i: int):
        sends[i] += 1
        key = f"nlpcourse-{run_id}-{i}-{sends[i]}"
        future = client.submit(_announce_and_run, fn, tasks[i], key, key=key, pure=False, retries=0)
        index[future.key] = i
        return future

    pending = dask_completed([send(i) for i in range(len(tasks))])
    for future in pending:
        i = index[future.key]
        try:
            results[i] = future.result()  # fetched at once: a result held by a worker dies with it
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as err:  # noqa: BLE001 (the task's error, KilledWorker, or a cancellation)
            started = _starts(client).get(future.key, 0) > 0
            if isinstance(err, KilledWorker) and not started and sends[i] < MAX_SENDS:
                logger.info(f"task {i}: its Dask worker died before it started; sending it again")
                pending.add(send(i))
            else:
                results[i] = failed(tasks[i], _reason(err, started))
        future.release()
    for key, count in _starts(client).items():
        if key in index and count > 1:
            logger.info(f"task {index[key]} ran {count} times: the scheduler re-ran it after its worker died")
    return results


def _announce_and_run(fn, task, key: str):
    """On a worker: tell the scheduler this task has started, then run it."""
    from distributed import get_worker

    worker = get_worker()
    worker.log_event(STARTED, {"key": key, "worker": worker.address})
    return fn(task)


def _starts(client) -> dict[str, int]:
    """How many times each task key has started, from the workers' announcements."""
    counts: dict[str, int] = {}
    for _, msg in client.get_events(STARTED):
        counts[msg["key"]] = counts.get(msg["key"], 0) + 1
    return counts


def _reason(err: BaseException, started: bool) -> str:
    from distributed.scheduler import KilledWorker

    if isinstance(err, KilledWorker):
        where = err.last_worker.address
        if not started:
            return f"the Dask workers it was sent to died before it started ({MAX_SENDS} times, last {where})"
        return (f"the Dask worker running it ({where}) died mid-run (killed, out of memory, or its machine "
                "was lost); it was not run again")
    name = type(err).__name__
    if "Cancelled" in name:
        return "Dask cancelled it (was the connection to the scheduler lost?)"
    return f"the grader could not run it on Dask: {name}: {err}"


def _warn_about_retries(client, address: str) -> None:
    allowed = client.run_on_scheduler(_allowed_failures)
    if allowed:
        logger.warning(f"warning: the scheduler at {address} runs a task again (up to {allowed} times) when its worker "
            "dies; start it with DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=0 so such a submission is "
            "reported as failed instead")


def _allowed_failures(dask_scheduler=None) -> int:
    return dask_scheduler.allowed_failures
