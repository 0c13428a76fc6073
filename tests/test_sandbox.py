"""The grading sandbox (nlpcourse.grading.sandbox): what learner code can and cannot see or do.

Unit tests run small Python commands through the bubblewrap backend (where bwrap cannot run they
fail, or skip when NLPCOURSE_SANDBOX_OPTIONAL=1: ``helpers.require_sandbox``); the container
backend is tested at the level of the command it builds (no container engine runs in CI). The hostile-learner tests grade attackers and honest learners in one run.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import uuid
from pathlib import Path

import nbformat
import pytest

from nlpcourse import cli
from nlpcourse.grading import sandbox as sb
from nlpcourse.grading.sandbox.bwrap import Bubblewrap
from nlpcourse.grading.sandbox.container import DOCKERFILE, Container
from nlpcourse.grading.gradesheet import read_csv
from nlpcourse.course.versions import generate_versions

from helpers import FIXTURE_BOOK, ROOT, cell_by_id, require_sandbox, save

SECRET = "honest-learner-private-7f3a9c"  # in every honest notebook; no attacker may get to see it


@pytest.fixture(scope="module")
def bwrap():
    return require_sandbox("bwrap")


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
    monkeypatch.setenv(RUN_MARKER, "run-1")
    code, out, err = run_inside(bwrap, tmp_path / "work", f"""
        import os, sys
        assert os.getuid() != 0, "runs as root"
        assert os.environ[{RUN_MARKER!r}] == "run-1"  # how the leftover check finds a run's processes
        assert not os.path.exists({str(course)!r}), "sees the course directory"
        assert not os.path.exists({str(tmp_path / 'other-learner.ipynb')!r}), "sees a sibling file"
        assert os.listdir({str(tmp_path)!r}) == ["work"], os.listdir({str(tmp_path)!r})
        assert "GRADER_SECRET_TOKEN" not in os.environ
        assert os.environ["NLPCOURSE_CACHE"].startswith("/tmp/")
        home = os.path.expanduser("~")
        assert home == "/tmp", home
        top = set(os.listdir("/")) - {{"bin", "dev", "etc", "lib", "lib32", "lib64", "libx32", "proc", "sbin", "tmp",
                                      "usr"}}
        # the Python environment's folders and the data mirror's (resolved: a link's target)
        bound = sys.path + [sys.prefix, sys.base_prefix, os.environ.get("NLPCOURSE_DATA", sys.prefix)]
        assert top <= {{p.split("/")[1] for p in bound if p.count("/") > 1}}, top
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


def test_a_linked_data_mirror_is_seen_at_its_target_read_only(bwrap, tmp_path, monkeypatch):
    """``../shared`` may be a symbolic link to a folder elsewhere: the child gets the link's
    target, read-only, at its own place, and not the link or the folder around it."""
    target = tmp_path / "elsewhere" / "data"
    target.mkdir(parents=True)
    (target / "corpus.txt").write_text("words")
    (tmp_path / "elsewhere" / "private.txt").write_text("not data")
    (tmp_path / "shared").symlink_to(tmp_path / "elsewhere")
    monkeypatch.setenv("NLPCOURSE_DATA", str(tmp_path / "shared" / "data"))
    code, out, err = run_inside(bwrap, tmp_path / "work", f"""
        import os
        mirror = os.environ["NLPCOURSE_DATA"]
        assert mirror == {str(target.resolve())!r}, mirror
        assert open(os.path.join(mirror, "corpus.txt")).read() == "words"
        assert not os.path.exists({str(tmp_path / 'shared')!r}), "sees the link"
        assert os.listdir({str(tmp_path / 'elsewhere')!r}) == ["data"], "sees beside the mirror"
        try:
            open(os.path.join(mirror, "planted.txt"), "w")
        except OSError:
            print("read-only")
    """)
    assert code == 0 and "read-only" in out, err
    assert not (target / "planted.txt").exists()


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


def started_here(marker: str) -> list:
    """Processes whose command line holds ``marker`` (this test's own, whatever else runs here)."""
    import psutil

    found = []
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if any(marker in arg for arg in proc.cmdline()):
                found.append(proc)
    return found


def test_fork_bomb_is_bounded_and_dies_with_the_sandbox(bwrap, tmp_path):
    marker = f"fork-bomb-{uuid.uuid4().hex}"  # in the children's command line (a fork keeps it)
    code, out, err = run_inside(bwrap, tmp_path / "work", """
        # MARKER
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
    """.replace("MARKER", marker), sb.Limits(processes=24), timeout=30)
    assert code == 0, err
    assert int(out.split()[-1]) < 24
    assert not started_here(marker), "sleeping children outlived the sandbox"


def test_memory_is_bounded(bwrap, tmp_path):
    code, out, err = run_inside(bwrap, tmp_path / "work", """
        try:
            block = bytearray(3 << 30)
        except MemoryError:
            print("memory refused")
    """, sb.Limits(memory_bytes=2 << 30))
    assert code == 0 and "memory refused" in out, err


@pytest.mark.slow  # waits for the CPU-time limit
def test_cpu_time_is_bounded(bwrap, tmp_path):
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


def test_none_warns_in_the_run_log():
    from nlpcourse.grading.execute import ExecutionTask, execute_notebook

    notebook = nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")]))
    outcome = execute_notebook(ExecutionTask("x/none", notebook, 30, 120, sandbox="none"))
    assert outcome.ok and "42" in outcome.notebook
    assert outcome.log.startswith(sb.NONE_WARNING)


def test_auto_stops_with_advice_when_nothing_is_usable(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
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
    docker = Container("docker")
    argv = [sys.executable, "-m", "nlpcourse.grading.kernel_run", str(work / "in.ipynb"), str(work / "out.ipynb")]
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
    dockerfile = (ROOT / DOCKERFILE).read_text()
    assert "requirements.txt" in dockerfile


def test_bwrap_command_binds_exactly_the_needed_paths(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NLPCOURSE_DATA", "mirror")  # relative, as the loaders allow
    work = tmp_path / "work"
    cmd = Bubblewrap().command(["python", "x.py"], work, os.environ, sb.Limits(), (2_000_000_123,) * 2)
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
from nlpcourse.grading import sandbox as sb
from nlpcourse.grading.sandbox.bwrap import Bubblewrap
bomb = "import os\\nn = 0\\nwhile n < 1000:\\n    try:\\n        pid = os.fork()\\n    except OSError:\\n        break\\n    if pid == 0:\\n        os.pause()\\n    n += 1\\nprint('children', n, os.getuid())"
with tempfile.TemporaryDirectory() as tmp:
    with Bubblewrap().wrap([sys.executable, "-c", bomb], Path(tmp), {}, sb.Limits(processes=20)) as w:
        assert "--unshare-all" in w.argv and "setpriv" not in w.argv
        done = subprocess.run(w.argv, env=w.env, cwd=tmp, capture_output=True, text=True, timeout=60, **w.popen_kwargs)
print(done.returncode, done.stdout.strip(), done.stderr.strip()[-300:])
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become another user")
def test_unprivileged_grader_gets_a_user_namespace_with_its_own_process_count(tmp_path):
    """The path taken when the instructor is not root: bwrap's own user namespace, prlimit inside."""
    python = Path("/usr/bin/python3")
    if not python.exists() or Bubblewrap().unavailable():
        pytest.skip("needs /usr/bin/python3 and a working bwrap")
    import sysconfig  # the package and its dependencies (nlpcourse imports tqdm), for the system Python

    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": os.pathsep.join([str(sb.package_dir().parent),
                                                                   sysconfig.get_paths()["purelib"]])}
    done = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", str(python), "-c",
                           NON_ROOT_CHECK], env=env, cwd="/", capture_output=True, text=True, timeout=120)
    if "Permission denied" in done.stderr and "nlpcourse" in done.stderr:
        pytest.skip("the checkout is not readable by an unprivileged user")
    assert done.returncode == 0, done.stderr
    code, _, children, uid = done.stdout.split()[:4]  # "<exit code> children <n> <uid>"
    assert code == "0" and int(children) < 20 and uid == "65534", done.stdout


# --------------------------------------------------------------------------- hostile learners, graded with honest ones

# Code every attacker runs first: where it looks. A well-informed attacker knows the layout of
# the grader's folders: the test hands it the real paths of the course, the submissions and the
# outputs. It searches only there, never "/" or the repository: should the sandbox ever fail, the
# damage stays in this test's folders (an unsandboxed control run that searched "/" overwrote
# every notebook on the machine).
HUNT = '''
import os
KNOWN = {known!r}

def hunt(suffix):
    """Every file ending in ``suffix`` under the known folders, except its own."""
    here = os.getcwd()
    found = set()
    for start in KNOWN:
        for root, dirs, files in os.walk(start):
            found.update(os.path.join(root, f) for f in files
                         if f.endswith(suffix) and not os.path.join(root, f).startswith(here))
    return sorted(found)
'''
ATTACKS = {
    "gradebook": '''
import sqlite3
targets = hunt("gradebook.db") + [os.path.abspath("../../../gradebook.db")]
for path in targets:
    try:
        db = sqlite3.connect(path)
        db.execute("UPDATE source_cell SET source = 'pass' WHERE locked = 1")
        db.execute("UPDATE grade SET auto_score = 0, manual_score = 0")
        db.commit()
        print("REWROTE", path)
    except Exception as err:
        print("blocked", path, type(err).__name__)
''',
    "modify": '''
print("notebooks found:", len(hunt(".ipynb")))
for path in hunt(".ipynb"):
    try:
        with open(path, "w") as f:
            f.write("{}")
        print("OVERWROTE", path)
    except OSError as err:
        print("blocked", path, type(err).__name__)
''',
    "read": '''
for path in hunt(".ipynb"):
    try:
        print("READ", path, open(path).read())
    except OSError as err:
        print("blocked", path, type(err).__name__)
print("notebooks found:", len(hunt(".ipynb")))
''',
    "outside": '''
targets = KNOWN + [os.path.expanduser("~"), "/tmp", "..", "../.."]
for folder in targets:
    try:
        with open(os.path.join(folder, "PWNED-by-attacker"), "w") as f:
            f.write("pwned")
        print("WROTE in", folder)
    except OSError as err:
        print("blocked", folder, type(err).__name__)
''',
    "network": '''
import socket
for address in [("127.0.0.1", {port}), ("1.1.1.1", 53), ("8.8.8.8", 443)]:
    try:
        socket.create_connection(address, timeout=3).sendall(b"stolen")
        print("CONNECTED", address)
    except OSError as err:
        print("blocked", address, type(err).__name__)
''',
    "memory": '''
blocks = []
while True:
    blocks.append(b"x" * (64 << 20))  # touched, not just reserved
''',
    "fork": '''
import time
while True:  # every process forks again; when the system says no, it waits and tries again
    try:
        os.fork()
    except OSError:
        time.sleep(0.5)
''',
}
HONEST = ("honest-full", "honest-stub", "honest-wrong")
MEMORY_GIB = 2  # the attacker's address-space bound in this test (the default is larger)


def sha256_tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def gradebook_rows(course: Path, students) -> list[tuple]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        rows = [(student, g.name, g.auto_score, g.manual_score, g.needs_manual_grade)
                for student in students for g in gb.find_submission_notebook("fixture", "fixture", student).grades]
        cells = [(c.name, c.source, c.checksum) for c in gb.find_notebook("fixture", "fixture").source_cells]
    return sorted(rows, key=str) + sorted(cells, key=str)


def honest_submissions(folder: Path, lab, solution) -> None:
    wrong = copy.deepcopy(solution)
    cell_by_id(wrong, "fx-mean").source = "def mean(xs):\n    return 0.0"
    for student, nb in zip(HONEST, (solution, lab, wrong)):
        nb = copy.deepcopy(nb)
        nb.cells.append(nbformat.v4.new_markdown_cell(f"private notes of {student}: {SECRET}"))
        save(folder, student, "fixture", nb)


def attacker(solution, name: str, known: list[str], port: int):
    nb = copy.deepcopy(solution)  # a complete, correct solution, plus the attack at the end
    nb.cells.append(nbformat.v4.new_code_cell(HUNT.format(known=known)))
    nb.cells.append(nbformat.v4.new_code_cell(ATTACKS[name].replace("{port}", str(port))))
    return nb


def grade_cli(subs: Path, out: Path, course: Path, *extra: str) -> dict:
    assert cli.main(["grade", str(subs), "--out", str(out / "grades.csv"), "--feedback", str(out / "feedback"),
                     "--book", str(FIXTURE_BOOK), "--course-dir", str(course), "--config", str(ROOT / "nbgrader_config.py"),
                     "--timeout", "8", "--submission-timeout", "60", "--sandbox", "bwrap",
                     "--sandbox-memory", str(MEMORY_GIB), *extra]) == 0
    return read_csv(out / "grades.csv")


@pytest.fixture(scope="module")
def hostile_run(bwrap, tmp_path_factory):
    """The honest learners graded alone, then again after every attacker in one run."""
    base = tmp_path_factory.mktemp("hostile")
    versions = base / "versions"
    generate_versions(FIXTURE_BOOK, versions / "labs", versions / "solutions")
    lab = nbformat.read(versions / "labs" / "fixture.ipynb", as_version=4)
    solution = nbformat.read(versions / "solutions" / "fixture.ipynb", as_version=4)

    honest_subs = base / "alone" / "submissions"
    honest_submissions(honest_subs, lab, solution)
    alone = grade_cli(honest_subs, base / "alone", base / "alone" / "course")

    subs, course, out = base / "attacked" / "submissions", base / "attacked" / "course", base / "attacked"
    honest_submissions(subs, lab, solution)
    before = sha256_tree(subs)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.1)
    known = [str(course), str(subs), str(out), str(base)]
    for name in ATTACKS:
        save(subs, f"attacker-{name}", "fixture", attacker(solution, name, known, server.getsockname()[1]))
    marker = uuid.uuid4().hex  # in the environment of this run's sandboxes (NLPCOURSE_* passes in)
    os.environ[RUN_MARKER] = marker
    try:
        attacked = grade_cli(subs, out, course)
        connections = 0
        with contextlib.suppress(OSError):
            while server.accept():
                connections += 1
    finally:
        server.close()
        del os.environ[RUN_MARKER]
    return dict(base=base, alone=alone, attacked=attacked, before=before, subs=subs, course=course, out=out,
                connections=connections, marker=marker)


@pytest.mark.slow  # shares hostile_run: about 2 minutes on 2 busy cores
def test_honest_learners_get_exactly_what_they_get_alone(hostile_run):
    r = hostile_run
    for student in HONEST:
        assert r["attacked"][(student, "fixture")] == r["alone"][(student, "fixture")], student
    assert float(r["alone"][("honest-full", "fixture")]["auto_score"]) == 5  # the comparison is not vacuous
    assert gradebook_rows(r["course"], HONEST) == gradebook_rows(r["base"] / "alone" / "course", HONEST)


@pytest.mark.slow  # shares hostile_run: about 2 minutes on 2 busy cores
def test_no_submission_changed_and_nothing_planted_outside(hostile_run):
    r = hostile_run
    after = sha256_tree(r["subs"])
    assert {k: v for k, v in after.items() if k.startswith("honest")} == r["before"]
    planted = [p for p in r["base"].rglob("PWNED*")] + [p for p in ROOT.glob("PWNED*")]
    planted += [p for p in Path(tempfile.gettempdir()).glob("PWNED*")] + list(Path.home().glob("PWNED*"))
    assert not planted, planted


@pytest.mark.slow  # shares hostile_run: about 2 minutes on 2 busy cores
def test_attackers_reached_nothing(hostile_run):
    r = hostile_run
    assert r["connections"] == 0
    for name in ATTACKS:
        said = printed(r["course"] / "autograded" / f"attacker-{name}" / "fixture" / "fixture.ipynb")
        for word in ("REWROTE", "OVERWROTE", "READ ", "CONNECTED", SECRET):  # writes to its private /tmp are fine
            assert word not in said, f"attacker-{name}: {word}"
        assert SECRET not in (r["out"] / "feedback" / f"attacker-{name}" / "fixture.html").read_text()
        assert SECRET not in r["attacked"][(f"attacker-{name}", "fixture")]["reason"]
    for name, word in (("gradebook", "blocked"), ("outside", "blocked"), ("network", "blocked"),
                       ("modify", "notebooks found: 0"), ("read", "notebooks found: 0")):  # they ran, and got nowhere
        assert word in printed(r["course"] / "autograded" / f"attacker-{name}" / "fixture" / "fixture.ipynb"), name


def printed(notebook: Path) -> str:
    """Everything the cells of an executed notebook printed (not their source)."""
    if not notebook.exists():
        return ""
    nb = nbformat.read(notebook, as_version=4)
    return "\n".join(o.get("text", "") + o.get("evalue", "") for c in nb.cells for o in c.get("outputs", []))


@pytest.mark.slow  # shares hostile_run: about 2 minutes on 2 busy cores
def test_memory_and_fork_bombs_are_contained(hostile_run):
    r = hostile_run
    memory = r["attacked"][("attacker-memory", "fixture")]
    if memory["status"] != "failed":  # MemoryError in its own last cell; its graded cells keep their points
        assert "MemoryError" in memory["reason"] and float(memory["auto_score"]) == 5, memory
    fork = r["attacked"][("attacker-fork", "fixture")]
    assert fork["status"] == "failed" or float(fork["auto_score"]) == 5, fork
    assert not sandboxed_processes(r["marker"]), "processes of a sandbox outlived its grading"


RUN_MARKER = "NLPCOURSE_TEST_RUN"


def sandboxed_processes(marker: str) -> list:
    """Processes of THIS run's sandboxes still running (found by the marker in their
    environment: other gradings on the machine do not count)."""
    import psutil

    alive = []
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if proc.environ().get(RUN_MARKER) == marker:
                alive.append(proc)
    return alive
