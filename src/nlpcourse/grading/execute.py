"""Run ONE notebook in a child process with a wall-clock limit: the untrusted side of grading.

:func:`execute_notebook` takes an :class:`ExecutionTask` (notebook JSON text in) and returns an
:class:`ExecutionOutcome` (executed notebook JSON text, or why there is none). The child is
``python -m nlpcourse.grading.kernel_run IN OUT --timeout N`` (nbgrader's Execute: a fresh
kernel, a per-cell limit) started in a private temporary folder with the grading environment
set for it alone, inside the sandbox the task names (:mod:`nlpcourse.grading.sandbox`; what comes back is read
as data, never through a link the child planted). Past the wall-clock limit the whole process
tree is killed. Nothing the
notebook does makes this function raise. Both dataclasses are small and picklable, so a
dispatcher can send tasks to threads or to other machines.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from .messages import last_error_line, short
from .sandbox import Limits, SandboxUnavailable, get_sandbox, read_back

# Quick profile; no progress bars: nbgrader scores a test cell that writes to stderr 0.
GRADING_ENV = {"NLPCOURSE_PROFILE": "quick", "NLPCOURSE_PROGRESS": "0", "NBGRADER_EXECUTION": "autograde",
               "PYTHONUNBUFFERED": "1"}
LOG_TAIL = 4000  # characters of the child's output kept in an outcome


@dataclass(frozen=True)
class ExecutionTask:
    key: str  # who and what, e.g. "alice/day1_lstm_tagger"
    notebook: str  # the sanitised notebook, JSON text
    cell_timeout: int  # seconds for one cell (nbgrader's Execute.timeout)
    wall_timeout: float  # seconds for the whole notebook
    sandbox: str = "auto"  # a name of sandbox.NAMES, resolved where the task runs
    limits: Limits = field(default_factory=Limits)  # memory, processes, ... (CPU time follows wall_timeout)


@dataclass(frozen=True)
class ExecutionOutcome:
    key: str
    notebook: str | None  # the executed notebook, JSON text; None when it could not run
    failure: str = ""  # why there is no executed notebook, in words
    seconds: float = 0.0
    log: str = ""  # the tail of the child's output

    @property
    def ok(self) -> bool:
        return self.notebook is not None


def child_command(input_path: Path, output_path: Path, cell_timeout: int) -> list[str]:
    """The command that executes one notebook (a sandbox wraps this)."""
    return [sys.executable, "-m", "nlpcourse.grading.kernel_run", str(input_path), str(output_path),
            "--timeout", str(cell_timeout)]


def grading_env() -> dict[str, str]:
    """This environment plus the grading settings; this package importable even when not installed."""
    env = dict(os.environ, **GRADING_ENV)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    src = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def execute_notebook(task: ExecutionTask) -> ExecutionOutcome:
    """Execute ``task.notebook`` in a child process; never raises for what the notebook does."""
    started = time.monotonic()
    try:
        sandbox = get_sandbox(task.sandbox)
    except SandboxUnavailable as err:
        return ExecutionOutcome(task.key, None, f"not executed: {err}")
    # a process can use at most wall time x cores of CPU before the wall-clock limit stops it
    limits = replace(task.limits, cpu_seconds=int(task.wall_timeout * (os.cpu_count() or 1)) + 1)
    with tempfile.TemporaryDirectory(prefix="nlpcourse-run-") as tmp:
        work = Path(tmp)
        (work / "submission.ipynb").write_text(task.notebook, encoding="utf-8")
        log_path = work / "run.log"
        command = child_command(work / "submission.ipynb", work / "executed.ipynb", task.cell_timeout)
        with open(log_path, "wb") as log, sandbox.wrap(command, work, grading_env(), limits) as wrapped:
            proc = subprocess.Popen(
                wrapped.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=wrapped.env, cwd=work, start_new_session=True, **wrapped.popen_kwargs,
            )
            try:
                code = proc.wait(timeout=task.wall_timeout)
            except subprocess.TimeoutExpired:
                kill_tree(proc)
                code = None
        text = read_back(log_path, 4 * LOG_TAIL, tail=True) or ""
        notebook = read_back(work / "executed.ipynb") if code == 0 else None
    seconds = time.monotonic() - started
    if code is None:
        failure = f"ran past the {task.wall_timeout:g} s limit for one submission and was stopped"
    elif notebook is None:
        failure = explain_failure(text)
    else:
        failure = ""
    warning = sandbox.warning + "\n" if sandbox.warning else ""
    return ExecutionOutcome(task.key, notebook, failure, seconds, warning + text[-LOG_TAIL:])


def kill_tree(proc: subprocess.Popen) -> None:
    """Kill ``proc`` and every process below it (jupyter starts kernels in a new session)."""
    import psutil

    try:
        family = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        family = []
    for p in family:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def explain_failure(log: str) -> str:
    """Why the child produced no executed notebook, from its output."""
    if "DeadKernelError" in log or "Kernel died" in log:
        return "the notebook killed its Python kernel (os._exit, a crash or out of memory); no cell could be graded"
    if "CellTimeoutError" in log:
        return "a cell ran past the per-cell time limit and did not stop when interrupted, so nbgrader gave up on the notebook"
    return "the notebook could not be executed: " + short(last_error_line(log))

