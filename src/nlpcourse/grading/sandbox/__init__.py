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

from functools import lru_cache

from .base import GiB, NONE_WARNING, Limits, NoSandbox, Sandbox, SandboxUnavailable, Wrapped, package_dir, read_back
from .bwrap import Bubblewrap
from .container import Container

__all__ = ["GiB", "NAMES", "NONE_WARNING", "Limits", "Sandbox", "SandboxUnavailable", "Wrapped", "get_sandbox",
           "package_dir", "read_back"]

NAMES = ("auto", "bwrap", "docker", "podman", "none")
HOW_TO_GET_ONE = (
    "Install a sandbox: on Debian/Ubuntu `apt install bubblewrap` (util-linux provides prlimit and "
    "setpriv); or Docker/Podman, then build the grading image with `{build}`; or, knowingly, grade "
    "with `--sandbox none` (learner code then runs with your permissions)."
)


@lru_cache(maxsize=None)
def _backend(name: str) -> Sandbox:
    """One instance per name, so each is probed once per process."""
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
