"""What every grading sandbox shares: the limits, the wrapped command, what the child sees (the
Python environment, the data mirror, its environment variables), the probe, and reading back
what the child wrote. The backends (:mod:`.bwrap`, :mod:`.container`, :class:`NoSandbox`) build
on it; the package (:mod:`nlpcourse.grading.sandbox`) chooses one.
"""

from __future__ import annotations

import abc
import contextlib
import os
import secrets
import stat
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Mapping

from nlpcourse._download import mirror_dir

GiB = 1 << 30
PRIVATE_TMP = "/tmp"
PRIVATE_CACHE = "/tmp/nlpcourse-cache"
SHM_BYTES = 256 << 20  # /dev/shm: semaphores (joblib, torch), not storage
SANDBOX_UID_RANGE = (2_000_000_000, 2_100_000_000)  # fresh uids for children of a root grader
# Environment variables the child keeps; everything else (tokens, the instructor's paths) is dropped.
KEPT_ENV = ("LANG", "LC_ALL", "LC_CTYPE", "TZ", "PYTHONUNBUFFERED", "PYTHONHASHSEED", "PYTHONIOENCODING")
KEPT_ENV_PREFIXES = ("NLPCOURSE_", "NBGRADER_", "OMP_", "MKL_", "OPENBLAS_")
NONE_WARNING = ("WARNING: --sandbox none: learner code ran with the grader's own permissions; it could "
                "read or change the course directory, the gradebook and other submissions")


class SandboxUnavailable(RuntimeError):
    """The requested sandbox cannot run here; the message says how to get one."""


@dataclass(frozen=True)
class Limits:
    """Bounds for one submission's execution (all its processes)."""

    memory_bytes: int = 8 * GiB  # bwrap: address space of each process; containers: the whole container
    processes: int = 256  # processes and threads
    cpu_seconds: int = 3600  # bwrap: CPU time of each process; containers get one CPU instead
    file_bytes: int = 2 * GiB  # largest file the child may write
    tmp_bytes: int = 1 * GiB  # the private /tmp (memory-backed), cache included


@dataclass
class Wrapped:
    """A wrapped command: pass ``argv``, ``env`` and ``popen_kwargs`` to `subprocess.Popen`."""

    argv: list[str]
    env: dict[str, str]
    popen_kwargs: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- what the child sees


def python_paths() -> list[Path]:
    """The Python environment: interpreter prefixes, the venv, and this package's sources."""
    paths = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)}
    paths.add(Path(sys.executable).resolve().parent)
    paths.add(Path(sysconfig.get_paths()["purelib"]).resolve())
    paths.add(package_dir())
    # keep only the outermost folders, and not the system folders bound anyway
    found = sorted((p for p in paths if p.exists() and p != Path("/")), key=lambda p: len(p.parts))
    kept: list[Path] = []
    for path in found:
        if not any(path == k or k in path.parents for k in kept):
            kept.append(path)
    return [p for p in kept if not any(p == s or s in p.parents for s in (Path("/usr"),))]


def package_dir() -> Path:
    """The ``nlpcourse`` package folder (only it, not the repository around it)."""
    return Path(__file__).resolve().parents[2]  # from src/nlpcourse/grading/sandbox/


def data_mirror(env: Mapping[str, str]) -> Path | None:
    """The data mirror ``NLPCOURSE_DATA`` names in ``env``, resolved as the loaders resolve it
    (:func:`nlpcourse._download.mirror_dir`); None when unset or not a folder."""
    try:
        return mirror_dir(env)
    except FileNotFoundError:
        return None


def sandbox_env(env: Mapping[str, str], home: str, python_dir: str, mirror: Path | None) -> dict[str, str]:
    """The environment inside the sandbox: the grading settings, nothing of the instructor's."""
    kept = {k: v for k, v in env.items() if k in KEPT_ENV or k.startswith(KEPT_ENV_PREFIXES)}
    kept.pop("NLPCOURSE_DATA", None)
    kept.update(
        HOME=home, USER="learner", LOGNAME="learner", TMPDIR=PRIVATE_TMP,
        PATH=os.pathsep.join([python_dir, "/usr/local/bin", "/usr/bin", "/bin"]),
        PYTHONPATH=str(package_dir().parent), PYTHONNOUSERSITE="1", PYTHONDONTWRITEBYTECODE="1",
        NLPCOURSE_CACHE=PRIVATE_CACHE, MPLCONFIGDIR=f"{PRIVATE_TMP}/matplotlib",
    )
    if mirror is not None:
        kept["NLPCOURSE_DATA"] = str(mirror)
    return kept


def child_uid() -> tuple[int, int] | None:
    """(uid, gid) the child runs as: a fresh unprivileged one when the grader is root, else None (ours)."""
    if os.geteuid() != 0:
        return None
    uid = SANDBOX_UID_RANGE[0] + secrets.randbelow(SANDBOX_UID_RANGE[1] - SANDBOX_UID_RANGE[0])
    return uid, uid


def read_back(path: Path, limit: int = 512 << 20, tail: bool = False) -> str | None:
    """Read a file the child wrote, as data: not through a link, a regular file, at most ``limit``
    bytes (its last ones with ``tail``); None when it is missing or not such a file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
            return None
        if tail:
            handle.seek(max(0, info.st_size - limit))
        return handle.read(limit).decode("utf-8", errors="replace")


# --------------------------------------------------------------------------- backends


class Sandbox(abc.ABC):
    """A way to run the execution child."""

    name = "sandbox"
    warning = ""

    def unavailable(self) -> str | None:
        """Why this sandbox cannot run here, or None when it can."""
        return None

    @abc.abstractmethod
    def wrap(self, argv: list[str], workdir: Path, env: Mapping[str, str],
             limits: Limits) -> contextlib.AbstractContextManager[Wrapped]:
        """A context manager giving ``argv`` wrapped to run in ``workdir`` (it may hold resources)."""


class NoSandbox(Sandbox):
    """The command as it is: learner code runs with the grader's permissions."""

    name = "none"
    warning = NONE_WARNING

    @contextlib.contextmanager
    def wrap(self, argv, workdir, env, limits):
        yield Wrapped(list(argv), dict(env))


# --------------------------------------------------------------------------- probing one


@lru_cache(maxsize=None)
def probe(sandbox: Sandbox) -> str | None:
    """Run ``python -c pass`` in the sandbox once; why it failed, or None."""
    with tempfile.TemporaryDirectory(prefix="nlpcourse-probe-") as tmp:
        with sandbox.wrap([sys.executable, "-c", "pass"], Path(tmp), os.environ, Limits()) as wrapped:
            try:
                done = subprocess.run(wrapped.argv, env=wrapped.env, cwd=tmp, capture_output=True, text=True,
                                      timeout=120, **wrapped.popen_kwargs)
            except (OSError, subprocess.TimeoutExpired) as err:
                return f"a test run failed ({err})"
    if done.returncode != 0:
        return f"a test run failed: {' '.join(done.stderr.split())[:300]}"
    return None
