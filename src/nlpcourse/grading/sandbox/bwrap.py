"""The bubblewrap backend of :mod:`nlpcourse.grading.sandbox` (the default on Linux).

Paths are bound read-only at their own place (the command's arguments stay valid), the working
folder read-write; namespaces for everything but, as root, the user (so the child can drop to a
fresh uid with ``setpriv``: the kernel ignores RLIMIT_NPROC for root); rlimits set by
``prlimit`` inside, after the namespaces exist, so the process count is the sandbox's own.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from pathlib import Path
from typing import Mapping

from .base import (PRIVATE_TMP, SHM_BYTES, Limits, Sandbox, Wrapped, child_uid, data_mirror, probe, python_paths,
                   sandbox_env)


def prlimit_command(limits: Limits) -> list[str]:
    """util-linux's prlimit: set the rlimits, then exec the rest of the command line."""
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
        return probe(self)

    def command(self, argv: list[str], workdir: Path, env: Mapping[str, str], limits: Limits,
                ids: tuple[int, int] | None, data_fds: Mapping[str, int] | None = None) -> list[str]:
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
        for dest, fd in (data_fds or {}).items():
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
            child = sandbox_env(env, PRIVATE_TMP, str(Path(sys.executable).parent), data_mirror(env))
            yield Wrapped(cmd, child, {"pass_fds": tuple(fds.values())})
        finally:
            for fd in fds.values():
                os.close(fd)
