"""The container backend of :mod:`nlpcourse.grading.sandbox`: Docker or Podman, for machines without bubblewrap.

One container per submission from the image ``docker/grader.Dockerfile`` builds from the
course's pinned requirements: no network, bounded memory, processes and CPUs, a read-only root,
the same paths as bubblewrap mounted (read-only but for the working folder).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Mapping

from .base import PRIVATE_TMP, Limits, Sandbox, Wrapped, child_uid, data_mirror, package_dir, sandbox_env

DOCKERFILE = "docker/grader.Dockerfile"


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
        inside = sandbox_env(env, PRIVATE_TMP, "/usr/local/bin", mirror)
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
