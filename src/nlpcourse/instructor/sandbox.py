"""Sandboxes for the untrusted side of grading: the command that executes a learner's notebook.

A backend wraps a command (``python -m nlpcourse.instructor.kernel_run IN OUT ...``) so that it
sees only its private working folder (read-write), the Python environment and the data mirror
(read-only) and a private ``/tmp``; no network, no course directory, gradebook, other
submissions or home folder; memory, processes and CPU time bounded.

* ``bwrap`` (default on Linux): bubblewrap namespaces. Paths are bound at their own place, so
  the command's arguments stay valid. Limits are rlimits set inside the sandbox by ``prlimit``
  (util-linux): address space per process, processes, CPU seconds, file size. Run as root,
  bwrap keeps no user namespace and the child drops to a fresh unprivileged uid with
  ``setpriv``: the kernel ignores RLIMIT_NPROC for root (also root mapped into a user
  namespace), and a uid of its own gives each submission its own process count. Run as
  another user, bwrap maps that user into a new user namespace, where the count is per
  namespace. cgroups are not used: they are often read-only (containers, CI) and need a
  delegated subtree.
* ``docker`` / ``podman``: one container per submission from the image built by
  ``docker/grader.Dockerfile`` (the course's pinned requirements), ``--network none``,
  ``--memory``, ``--pids-limit``, ``--cpus``, a read-only root.
* ``none``: the command unchanged, only when asked for by name; it carries a warning.

Loader caches: the child gets a private, empty ``NLPCOURSE_CACHE`` in its ``/tmp``; a cache
shared between submissions would be a channel between learners (the loaders unpickle it).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterator, Mapping

NAMES = ("auto", "bwrap", "docker", "podman", "none")
GiB = 1 << 30
PRIVATE_TMP = "/tmp"
PRIVATE_CACHE = "/tmp/nlpcourse-cache"
SHM_BYTES = 256 << 20  # /dev/shm: semaphores (joblib, torch), not storage
SANDBOX_UID_RANGE = (2_000_000_000, 2_100_000_000)  # fresh uids for children of a root grader
DOCKERFILE = "docker/grader.Dockerfile"
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
    return Path(__file__).resolve().parents[1]


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


class Sandbox:
    """A way to run the execution child. ``wrap`` is a context manager (it may hold resources)."""

    name = "sandbox"
    warning = ""

    def unavailable(self) -> str | None:
        """Why this sandbox cannot run here, or None when it can."""
        return None

    @contextlib.contextmanager
    def wrap(self, argv: list[str], workdir: Path, env: Mapping[str, str], limits: Limits) -> Iterator[Wrapped]:
        raise NotImplementedError
        yield


class NoSandbox(Sandbox):
    """The command as it is: learner code runs with the grader's permissions."""

    name = "none"
    warning = NONE_WARNING

    @contextlib.contextmanager
    def wrap(self, argv, workdir, env, limits):
        yield Wrapped(list(argv), dict(env))


def prlimit_command(limits: Limits) -> list[str]:
    return ["prlimit", f"--as={limits.memory_bytes}", f"--nproc={limits.processes}",
            f"--cpu={limits.cpu_seconds}", f"--fsize={limits.file_bytes}", "--core=0", "--"]


class Bubblewrap(Sandbox):
    """bubblewrap: namespaces, read-only binds of exactly the paths needed, rlimits inside."""

    name = "bwrap"

    def unavailable(self) -> str | None:
        tools = ["bwrap", "prlimit"] + (["setpriv"] if os.geteuid() == 0 else [])
        missing = [t for t in tools if shutil.which(t) is None]
        if missing:
            return f"{', '.join(missing)} not found"
        return _probe(self)

    def command(self, argv: list[str], workdir: Path, env: Mapping[str, str], limits: Limits,
                ids: tuple[int, int] | None, data_fds: Mapping[str, int] = {}) -> list[str]:
        """The full bwrap command line (``data_fds``: synthetic /etc files as readable fds)."""
        mirror = data_mirror(env)
        cmd = ["bwrap", "--die-with-parent", "--new-session"]
        if ids is None:  # not root: a user namespace of our own
            cmd += ["--unshare-all"]
        else:  # root: no user namespace, so the child can drop to a uid of its own
            cmd += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
                    "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        cmd += ["--ro-bind", "/usr", "/usr"]
        for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            host = Path("/") / name
            if host.is_symlink():
                cmd += ["--symlink", os.readlink(host), str(host)]
            elif host.is_dir():
                cmd += ["--ro-bind", str(host), str(host)]
        cmd += ["--perms", "0755", "--dir", "/etc"]
        for etc in ("/etc/ld.so.cache", "/etc/localtime", "/etc/fonts"):  # fonts: matplotlib's fontconfig
            if Path(etc).exists():
                cmd += ["--ro-bind", etc, etc]
        for dest, fd in data_fds.items():
            cmd += ["--perms", "0644", "--ro-bind-data", str(fd), dest]
        cmd += ["--proc", "/proc", "--dev", "/dev"]
        for tmpfs, size in (("/dev/shm", SHM_BYTES), (PRIVATE_TMP, limits.tmp_bytes)):  # memory-backed, bounded
            cmd += ["--perms", "1777", "--size", str(size), "--tmpfs", tmpfs]
        made = {Path("/"), Path("/usr"), Path(PRIVATE_TMP)}
        binds = [(p, "--ro-bind") for p in python_paths()]
        binds += [(mirror, "--ro-bind")] if mirror else []
        binds += [(workdir.resolve(), "--bind")]
        for path, how in binds:
            for parent in reversed(path.parents):  # own, world-readable parents (bwrap copies modes)
                if parent not in made:
                    cmd += ["--perms", "0755", "--dir", str(parent)]
                    made.add(parent)
            cmd += [how, str(path), str(path)]
            made.add(path)
        cmd += ["--chdir", str(workdir.resolve())]
        if ids is not None:
            cmd += ["setpriv", f"--reuid={ids[0]}", f"--regid={ids[1]}", "--clear-groups", "--no-new-privs",
                    "--inh-caps=-all", "--bounding-set=-all"]
        return cmd + prlimit_command(limits) + list(argv)

    @contextlib.contextmanager
    def wrap(self, argv, workdir, env, limits):
        ids = child_uid()
        if ids is not None:
            os.chown(workdir, *ids)
        uid, gid = ids or (os.getuid(), os.getgid())
        files = {"/etc/passwd": f"learner:x:{uid}:{gid}:learner:{PRIVATE_TMP}:/usr/sbin/nologin\n",
                 "/etc/group": f"learner:x:{gid}:\n", "/etc/hosts": "127.0.0.1 localhost\n::1 localhost\n"}
        fds = {}
        try:
            for dest, text in files.items():
                read, write = os.pipe()
                os.write(write, text.encode())
                os.close(write)
                fds[dest] = read
            cmd = self.command(argv, workdir, env, limits, ids, fds)
            child = child_env(env, PRIVATE_TMP, str(Path(sys.executable).parent), data_mirror(env))
            yield Wrapped(cmd, child, {"pass_fds": tuple(fds.values())})
        finally:
            for fd in fds.values():
                os.close(fd)


class Container(Sandbox):
    """Docker or Podman: a container per submission from the course's grading image."""

    def __init__(self, engine: str):
        self.name = self.engine = engine

    def image(self) -> str:
        """``nlpcourse-grader:<hash of requirements.txt>``: a new image whenever the pins change."""
        requirements = package_dir().parents[1] / "requirements.txt"
        tag = hashlib.sha256(requirements.read_bytes()).hexdigest()[:12] if requirements.exists() else "latest"
        return f"nlpcourse-grader:{tag}"

    def build_command(self) -> str:
        return f"{self.engine} build -f {DOCKERFILE} -t {self.image()} ."

    def unavailable(self) -> str | None:
        if shutil.which(self.engine) is None:
            return f"{self.engine} not found"
        for check, problem in (([self.engine, "info"], f"the {self.engine} engine does not answer (is its daemon running?)"),
                               ([self.engine, "image", "inspect", self.image()],
                                f"image {self.image()} missing: build it with `{self.build_command()}` at the repository root")):
            try:
                done = subprocess.run(check, capture_output=True, timeout=60)
            except (OSError, subprocess.TimeoutExpired):
                return problem
            if done.returncode != 0:
                return problem
        return None

    def command(self, argv: list[str], workdir: Path, env: Mapping[str, str], limits: Limits,
                ids: tuple[int, int] | None, container_name: str) -> list[str]:
        mirror = data_mirror(env)
        uid, gid = ids or (os.getuid(), os.getgid())
        work = str(workdir.resolve())
        cmd = [self.engine, "run", "--rm", "--name", container_name, "--network", "none",
               f"--memory={limits.memory_bytes}", f"--memory-swap={limits.memory_bytes}",
               f"--pids-limit={limits.processes}", "--cpus=1", f"--ulimit=fsize={limits.file_bytes}",
               "--ulimit=core=0", "--read-only", f"--tmpfs={PRIVATE_TMP}:rw,size={limits.tmp_bytes},mode=1777",
               f"--user={uid}:{gid}", "--cap-drop=ALL", "--security-opt=no-new-privileges",
               "-v", f"{work}:{work}:rw", "-v", f"{package_dir()}:/opt/nlpcourse/nlpcourse:ro", "-w", work]
        if mirror:
            cmd += ["-v", f"{mirror}:{mirror}:ro"]
        inside = child_env(env, PRIVATE_TMP, "/usr/local/bin", mirror)
        inside["PYTHONPATH"] = "/opt/nlpcourse"
        for key, value in sorted(inside.items()):
            cmd += ["-e", f"{key}={value}"]
        program = ["python" if argv[0] == sys.executable else argv[0], *argv[1:]]
        return cmd + [self.image(), *program]

    @contextlib.contextmanager
    def wrap(self, argv, workdir, env, limits):
        ids = child_uid()
        if ids is not None:
            os.chown(workdir, *ids)
        name = f"nlpcourse-grade-{secrets.token_hex(6)}"
        try:
            yield Wrapped(self.command(argv, workdir, env, limits, ids, name), dict(os.environ))
        finally:  # killing the client does not stop the container
            subprocess.run([self.engine, "rm", "-f", name], capture_output=True, timeout=120)


# --------------------------------------------------------------------------- choosing one


@lru_cache(maxsize=None)
def _probe(sandbox: Sandbox) -> str | None:
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
    return {"bwrap": Bubblewrap, "none": NoSandbox}.get(name, lambda: Container(name))()


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
    build = Container("docker").build_command()
    raise SandboxUnavailable(f"no usable sandbox ({'; '.join(reasons)}). " + HOW_TO_GET_ONE.format(build=build))
