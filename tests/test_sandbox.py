"""The grading sandbox (nlpcourse.instructor.sandbox): what learner code can and cannot see or do.

Unit tests run small Python commands through the bubblewrap backend (skipped where bwrap cannot
run); the container backend is tested at the level of the command it builds (no container
engine runs in CI). The hostile-learner tests grade attackers and honest learners in one run.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from nlpcourse.instructor import sandbox as sb

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bwrap():
    reason = sb.Bubblewrap().unavailable()
    if reason:
        pytest.skip(f"bubblewrap cannot run here: {reason}")
    return sb.get_sandbox("bwrap")


def run_inside(sandbox, workdir: Path, code: str, limits: sb.Limits = sb.Limits(), env=None, timeout=60):
    """Run ``python -c code`` in the sandbox with ``workdir`` as its folder; (returncode, stdout, stderr)."""
    workdir.mkdir(parents=True, exist_ok=True)
    with sandbox.wrap([sys.executable, "-c", textwrap.dedent(code)], workdir, env or os.environ, limits) as w:
        done = subprocess.run(w.argv, env=w.env, cwd=workdir, capture_output=True, text=True, timeout=timeout,
                              **w.popen_kwargs)
    return done.returncode, done.stdout, done.stderr


def test_child_sees_only_its_folder_the_python_environment_and_the_mirror(bwrap, tmp_path, monkeypatch):
    course = tmp_path / "course"
    course.mkdir()
    (course / "gradebook.db").write_text("grades")
    (tmp_path / "other-learner.ipynb").write_text("{}")
    monkeypatch.setenv("GRADER_SECRET_TOKEN", "s3cret")
    code, out, err = run_inside(bwrap, tmp_path / "work", f"""
        import os, sys
        assert os.getuid() != 0, "runs as root"
        assert not os.path.exists({str(course)!r}), "sees the course directory"
        assert not os.path.exists({str(tmp_path / 'other-learner.ipynb')!r}), "sees a sibling file"
        assert os.listdir({str(tmp_path)!r}) == ["work"], os.listdir({str(tmp_path)!r})
        assert "GRADER_SECRET_TOKEN" not in os.environ
        assert os.environ["NLPCOURSE_CACHE"].startswith("/tmp/")
        home = os.path.expanduser("~")
        assert home == "/tmp", home
        top = set(os.listdir("/")) - {{"bin", "dev", "etc", "lib", "lib32", "lib64", "libx32", "proc", "sbin", "tmp",
                                      "usr"}}
        assert top <= {{p.split("/")[1] for p in sys.path + [sys.prefix, sys.base_prefix] if p.count("/") > 1}}, top
        assert os.listdir("/etc") and not os.path.exists("/etc/shadow")
        open("mine.txt", "w").write("ok")  # its own folder is writable
        open("/tmp/scratch", "w").write("ok")  # and a private /tmp
        import nlpcourse, torch  # the Python environment and the package are there
        for target in (sys.prefix, os.path.dirname(nlpcourse.__file__), os.environ.get("NLPCOURSE_DATA", sys.prefix)):
            try:
                open(os.path.join(target, "planted.py"), "w")
            except OSError:
                pass
            else:
                raise AssertionError("wrote into " + target)
        print("all checks passed")
    """)
    assert code == 0 and "all checks passed" in out, err
    assert (tmp_path / "work" / "mine.txt").read_text() == "ok"
    assert not (Path(sys.prefix) / "planted.py").exists()


def test_child_has_no_network(bwrap, tmp_path):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    try:
        code, out, err = run_inside(bwrap, tmp_path / "work", f"""
            import socket
            for address in (("127.0.0.1", {port}), ("1.1.1.1", 53)):
                try:
                    socket.create_connection(address, timeout=3)
                except OSError as err:
                    print("BLOCKED", address, err)
                else:
                    print("REACHED", address)
        """)
    finally:
        server.close()
    assert code == 0, err
    assert "REACHED" not in out and out.count("BLOCKED") == 2


def test_fork_bomb_is_bounded_and_dies_with_the_sandbox(bwrap, tmp_path):
    code, out, err = run_inside(bwrap, tmp_path / "work", """
        import os, time
        children = 0
        for _ in range(1000):
            try:
                if os.fork() == 0:
                    time.sleep(60)
                    os._exit(0)
            except OSError:
                break
            children += 1
        print("children", children)
    """, sb.Limits(processes=24), timeout=30)
    assert code == 0, err
    assert int(out.split()[-1]) < 24
    leftover = subprocess.run(["pgrep", "-f", "time.sleep\\(60\\)"], capture_output=True, text=True).stdout
    assert not leftover.strip(), "sleeping children outlived the sandbox"


def test_memory_and_cpu_are_bounded(bwrap, tmp_path):
    code, out, err = run_inside(bwrap, tmp_path / "work", """
        try:
            block = bytearray(3 << 30)
        except MemoryError:
            print("memory refused")
    """, sb.Limits(memory_bytes=2 << 30))
    assert code == 0 and "memory refused" in out, err
    code, out, err = run_inside(bwrap, tmp_path / "work", "while True: pass", sb.Limits(cpu_seconds=1), timeout=30)
    assert code != 0  # SIGXCPU/SIGKILL after one second of CPU time


def test_read_back_refuses_links_a_child_planted(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("the gradebook")
    (tmp_path / "executed.ipynb").symlink_to(secret)
    assert sb.read_back(tmp_path / "executed.ipynb") is None
    os.link(secret, tmp_path / "hardlink.ipynb")
    assert sb.read_back(tmp_path / "hardlink.ipynb") is None
    (tmp_path / "real.ipynb").write_text("{}")
    assert sb.read_back(tmp_path / "real.ipynb") == "{}"


# --------------------------------------------------------------------------- choosing a sandbox


def test_none_only_by_name_and_with_a_warning():
    none = sb.get_sandbox("none")
    assert none.name == "none" and "WARNING" in none.warning
    with pytest.raises(sb.SandboxUnavailable, match="unknown sandbox"):
        sb.get_sandbox("chroot")


def test_auto_stops_with_advice_when_nothing_is_usable(monkeypatch):
    monkeypatch.setattr(sb.shutil, "which", lambda name: None)
    with pytest.raises(sb.SandboxUnavailable) as err:
        sb.get_sandbox("auto")
    message = str(err.value)
    assert "apt install bubblewrap" in message and "Docker/Podman" in message and "--sandbox none" in message
    assert "docker build -f docker/grader.Dockerfile" in message


# --------------------------------------------------------------------------- container backend (command only)


def test_container_command_isolates_like_bwrap(tmp_path, monkeypatch):
    """Built, not run: no container engine runs in CI; this checks the command it would run."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    monkeypatch.setenv("NLPCOURSE_DATA", str(mirror))
    monkeypatch.setenv("GRADER_SECRET_TOKEN", "s3cret")
    work = tmp_path / "work"
    work.mkdir()
    docker = sb.Container("docker")
    argv = [sys.executable, "-m", "nlpcourse.instructor.kernel_run", str(work / "in.ipynb"), str(work / "out.ipynb")]
    cmd = docker.command(argv, work, os.environ, sb.Limits(memory_bytes=1 << 30, processes=64), (2_000_000_123,) * 2, "box")
    text = " ".join(cmd)
    for flag in ("--network none", "--memory=1073741824", "--memory-swap=1073741824", "--pids-limit=64", "--cpus=1",
                 "--read-only", "--cap-drop=ALL", "--security-opt=no-new-privileges", "--user=2000000123:2000000123",
                 f"-v {work}:{work}:rw", f"-v {mirror}:{mirror}:ro", f"-e NLPCOURSE_DATA={mirror}", "--rm --name box"):
        assert flag in text, flag
    assert "s3cret" not in text and "GRADER_SECRET_TOKEN" not in text
    mounts = [cmd[i + 1] for i, a in enumerate(cmd) if a == "-v"]
    assert all(m.endswith(":ro") for m in mounts if not m.startswith(str(work)))
    image = cmd.index(docker.image())
    assert cmd[image + 1:] == ["python", *argv[1:]]  # the image's own interpreter
    assert docker.image().startswith("nlpcourse-grader:")
    dockerfile = (ROOT / sb.DOCKERFILE).read_text()
    assert "requirements.txt" in dockerfile


def test_bwrap_command_binds_exactly_the_needed_paths(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    monkeypatch.setenv("NLPCOURSE_DATA", str(mirror))
    work = tmp_path / "work"
    cmd = sb.Bubblewrap().command(["python", "x.py"], work, os.environ, sb.Limits(), (2_000_000_123,) * 2)
    binds = {cmd[i + 1]: a for i, a in enumerate(cmd) if a in ("--bind", "--ro-bind")}
    assert binds[str(work)] == "--bind" and binds[str(mirror)] == "--ro-bind"
    assert [p for p, how in binds.items() if how == "--bind"] == [str(work)]
    assert str(ROOT) not in binds and str(Path.home()) not in binds  # not the repository, not the home
    assert str(sb.package_dir()) in binds
    assert "--unshare-net" in cmd or "--unshare-all" in cmd
    assert cmd[-2:] == ["python", "x.py"] and "prlimit" in cmd


NON_ROOT_CHECK = """
import os, subprocess, sys, tempfile
from pathlib import Path
from nlpcourse.instructor import sandbox as sb
bomb = "import os\\nn = 0\\nwhile n < 1000:\\n    try:\\n        pid = os.fork()\\n    except OSError:\\n        break\\n    if pid == 0:\\n        os.pause()\\n    n += 1\\nprint('children', n, os.getuid())"
with tempfile.TemporaryDirectory() as tmp:
    with sb.Bubblewrap().wrap([sys.executable, "-c", bomb], Path(tmp), {}, sb.Limits(processes=20)) as w:
        assert "--unshare-all" in w.argv and "setpriv" not in w.argv
        done = subprocess.run(w.argv, env=w.env, cwd=tmp, capture_output=True, text=True, timeout=60, **w.popen_kwargs)
print(done.returncode, done.stdout.strip(), done.stderr.strip()[-300:])
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become another user")
def test_unprivileged_grader_gets_a_user_namespace_with_its_own_process_count(tmp_path):
    """The path taken when the instructor is not root: bwrap's own user namespace, prlimit inside."""
    python = Path("/usr/bin/python3")
    if not python.exists() or sb.Bubblewrap().unavailable():
        pytest.skip("needs /usr/bin/python3 and a working bwrap")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(sb.package_dir().parent)}
    done = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", str(python), "-c",
                           NON_ROOT_CHECK], env=env, cwd="/", capture_output=True, text=True, timeout=120)
    if "Permission denied" in done.stderr and "nlpcourse" in done.stderr:
        pytest.skip("the checkout is not readable by an unprivileged user")
    assert done.returncode == 0, done.stderr
    code, _, children, uid = done.stdout.split()[:4]  # "<exit code> children <n> <uid>"
    assert code == "0" and int(children) < 20 and uid == "65534", done.stdout
