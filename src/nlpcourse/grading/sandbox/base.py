"""Sandboxes for the untrusted side of grading: the command that executes a learner's notebook.

A backend wraps a command (``python -m nlpcourse.grading.kernel_run IN OUT ...``) so that it
sees only its private working folder (read-write), the Python environment and the data mirror
(read-only) and a private ``/tmp``; no network, no course directory, gradebook, other
submissions or home folder; memory, processes and CPU time bounded.

* ``bwrap`` (default on Linux; :mod:`.bwrap`): bubblewrap namespaces. Paths are bound at their own place, so
  the command's arguments stay valid. Limits are rlimits set inside the sandbox by ``prlimit``
  (util-linux): address space per process, processes, CPU seconds, file size. Run as root,
  bwrap keeps no user namespace and the child drops to a fresh unprivileged uid with
  ``setpriv``: the kernel ignores RLIMIT_NPROC for root (also root mapped into a user
  namespace), and a uid of its own gives each submission its own process count. Run as
  another user, bwrap maps that user into a new user namespace, where the count is per
  namespace. cgroups are not used: they are often read-only (containers, CI) and need a
  delegated subtree.
* ``docker`` / ``podman`` (:mod:`.container`): one container per submission from the image built by
  ``docker/grader.Dockerfile`` (the course's pinned requirements), ``--network none``,
  ``--memory``, ``--pids-limit``, ``--cpus``, a read-only root.
* ``none``: the command unchanged, only when asked for by name; it carries a warning.

Loader caches: the child gets a private, empty ``NLPCOURSE_CACHE`` in its ``/tmp``; a cache
shared between submissions would be a channel between learners (the loaders unpickle it).
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

NAMES = ("auto", "bwrap", "docker", "podman", "none")
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
HOW_TO_GET_ONE = (
    "Install a sandbox: on Debian/Ubuntu `apt install bubblewrap` (util-linux provides prlimit and "
    "setpriv); or Docker/Podman, then build the grading image with `{build}`; or, knowingly, grade "
    "with `--sandbox none` (learner code then runs with your permissions)."
)


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
    """The data mirror ``NLPCOURSE_DATA`` names, resolved as the loaders do (a relative path from
    the current folder, else from the repository); None when unset or not a folder."""
    value = env.get("NLPCOURSE_DATA")
    if not value:
        return None
    path = Path(value).expanduser()
    candidates = [path] if path.is_absolute() else [Path.cwd() / path, package_dir().parents[1] / path]
    return next((c.resolve() for c in candidates if c.is_dir()), None)


def child_env(env: Mapping[str, str], home: str, python_dir: str, mirror: Path | None) -> dict[str, str]:
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


# --------------------------------------------------------------------------- choosing one


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


@lru_cache(maxsize=None)
def _backend(name: str) -> Sandbox:
    """One instance per name, so each is probed once per process."""
    from .bwrap import Bubblewrap
    from .container import Container

    if name == "bwrap":
        return Bubblewrap()
    if name == "none":
        return NoSandbox()
    return Container(name)


def get_sandbox(name: str = "auto") -> Sandbox:
    """The sandbox called ``name`` (see `NAMES`), checked to work here.

    ``auto`` takes bubblewrap if it works, else Docker, else Podman. Raises `SandboxUnavailable`
    with how to get one; never falls back to ``none`` by itself.
    """
    if name not in NAMES:
        raise SandboxUnavailable(f"unknown sandbox {name!r}: choose one of {', '.join(NAMES)}")
    candidates = ["bwrap", "docker", "podman"] if name == "auto" else [name]
    reasons = []
    for candidate in candidates:
        sandbox = _backend(candidate)
        reason = sandbox.unavailable()
        if reason is None:
            return sandbox
        reasons.append(f"{candidate}: {reason}")
    build = _backend("docker").build_command()
    raise SandboxUnavailable(f"no usable sandbox ({'; '.join(reasons)}). " + HOW_TO_GET_ONE.format(build=build))
