"""The grading settings: traitlets set in nbgrader_config.py, command-line flags as aliases, read
alike by `nlpcourse grade` and stock nbgrader's sandboxed Execute step."""

from __future__ import annotations

import argparse

import nbformat
import pytest
from traitlets.config import Config

from nlpcourse.course.directory import load_config
from nlpcourse.grading import sandboxed_execute
from nlpcourse.grading.execute import ExecutionOutcome
from nlpcourse.grading.sandbox import GiB
from nlpcourse.grading.settings import ALIASES, Grading, add_aliases, command_line_config


def parse(*flags: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_aliases(parser)
    return parser.parse_args(list(flags))


def test_each_flag_sets_its_setting_and_unset_flags_set_nothing():
    given = command_line_config(parse("--timeout", "8", "--sandbox", "none", "--sandbox-memory", "2", "--jobs", "3"))
    assert given == {"Execute": {"timeout": 8}, "Grading": {"sandbox": "none", "sandbox_memory": 2.0, "jobs": 3}}
    assert command_line_config(parse()) == {}
    assert {f"{cls.__name__}.{name}" for cls, name in ALIASES.values()} >= {
        "Execute.timeout", "Grading.submission_timeout", "Grading.sandbox"}


def test_the_command_line_goes_over_nbgrader_config(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text(
        "c = get_config()\nc.Grading.submission_timeout = 5\nc.Grading.sandbox = 'none'\nc.Execute.timeout = 600\n")
    config = load_config(tmp_path / "nbgrader_config.py")
    config.merge(command_line_config(parse("--submission-timeout", "7")))
    grading = Grading(config=config)
    assert (grading.submission_timeout, grading.sandbox, config.Execute.timeout) == (7, "none", 600)
    assert grading.limits().memory_bytes == Grading().limits().memory_bytes  # the default, unset everywhere


def test_an_unknown_sandbox_name_is_refused():
    with pytest.raises(SystemExit):
        parse("--sandbox", "chroot")


def test_stock_autograde_executes_with_the_same_settings(monkeypatch):
    tasks = []
    monkeypatch.setattr(sandboxed_execute, "execute_notebook",
                        lambda task: tasks.append(task) or ExecutionOutcome(task.key, None, "not run here"))
    config = Config({"Execute": {"timeout": 9}, "Grading": {"sandbox": "none", "submission_timeout": 11.0,
                                                            "sandbox_memory": 1.5}})
    step = sandboxed_execute.SandboxedExecute(config=config)
    resources = {"nbgrader": {"student": "alice", "assignment": "fixture"}}
    with pytest.raises(RuntimeError, match="alice/fixture: not run here"):
        step.preprocess(nbformat.v4.new_notebook(), resources)
    (task,) = tasks
    assert (task.cell_timeout, task.wall_timeout, task.sandbox) == (9, 11.0, "none")
    assert task.limits.memory_bytes == int(1.5 * GiB)
