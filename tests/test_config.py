"""Tests for `nlpcourse.config`: profiles, per-profile settings, seeding, device choice, the environment variables."""

from __future__ import annotations

import random
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from nlpcourse import config


@pytest.fixture
def set_profile(monkeypatch):
    def choose(value):
        if value is None:
            monkeypatch.delenv("NLPCOURSE_PROFILE", raising=False)
        else:
            monkeypatch.setenv("NLPCOURSE_PROFILE", value)
    return choose


# --- profile ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("gpu", "device", "expected"), [
    (False, None, "quick"), (True, None, "full"), (True, "cpu", "quick"), (False, "cuda:0", "full")])
def test_profile_defaults_to_what_the_device_runs_in_the_stated_time(set_profile, monkeypatch, capsys,
                                                                     gpu, device, expected):
    set_profile(None)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: gpu)
    monkeypatch.setattr(config, "_default_announced", False)
    if device is None:
        monkeypatch.delenv("NLPCOURSE_DEVICE", raising=False)
    else:
        monkeypatch.setenv("NLPCOURSE_DEVICE", device)
    assert config.profile() == expected and config.profile() == expected
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 1 and printed[0].startswith(f"profile {expected}: the default on")
    assert "NLPCOURSE_PROFILE=" in printed[0], "the line says how to switch"


def test_a_profile_that_is_set_is_not_announced(set_profile, capsys):
    set_profile("full")
    assert config.profile() == "full" and capsys.readouterr().out == ""


@pytest.mark.parametrize("value, expected", [("quick", "quick"), ("full", "full"),
                                             (" Quick ", "quick"), ("FULL", "full")])
def test_profile_reads_the_environment(set_profile, value, expected):
    set_profile(value)
    assert config.profile() == expected


@pytest.mark.parametrize("value", ["fast", "quik", "default"])
def test_profile_rejects_unknown_names(set_profile, value):
    set_profile(value)
    with pytest.raises(ValueError, match="NLPCOURSE_PROFILE"):
        config.profile()


# --- settings --------------------------------------------------------------------------------

QUICK = dict(train_size=2_000, num_epochs=3)
FULL = dict(train_size=None, num_epochs=5)


def test_settings_follow_the_default_profile(set_profile, monkeypatch):
    set_profile("")  # set but empty: the default, as when unset
    monkeypatch.delenv("NLPCOURSE_DEVICE", raising=False)
    for gpu, expected in ((True, FULL), (False, QUICK)):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: gpu)
        assert config.settings(quick=QUICK, full=FULL) == expected


def test_settings_quick_profile(set_profile):
    set_profile("quick")
    assert config.settings(quick=QUICK, full=FULL) == QUICK


def test_settings_returns_a_copy(set_profile):
    set_profile("quick")
    chosen = config.settings(quick=QUICK, full=FULL)
    chosen["num_epochs"] = 99
    assert QUICK["num_epochs"] == 3


def test_settings_rejects_different_keys(set_profile):
    set_profile("quick")
    with pytest.raises(ValueError, match="hidden_dim"):
        config.settings(quick=dict(QUICK, hidden_dim=64), full=FULL)


def test_settings_invalid_profile(set_profile):
    set_profile("turbo")
    with pytest.raises(ValueError):
        config.settings(quick=QUICK, full=FULL)


# --- seeding ---------------------------------------------------------------------------------


def _draws():
    return (random.random(), np.random.rand(3).tolist(), torch.rand(3).tolist(),
            torch.nn.Linear(4, 2).weight.detach().clone())


def test_seed_everything_repeats_python_numpy_torch():
    config.seed_everything(123)
    first = _draws()
    config.seed_everything(123)
    second = _draws()
    assert first[:3] == second[:3]
    assert torch.equal(first[3], second[3])


def test_different_seeds_differ():
    config.seed_everything(1)
    first = _draws()
    config.seed_everything(2)
    second = _draws()
    assert first[0] != second[0]
    assert first[1] != second[1]
    assert first[2] != second[2]


# --- device ----------------------------------------------------------------------------------


def test_device_honours_override(monkeypatch):
    monkeypatch.setenv("NLPCOURSE_DEVICE", "cpu")
    assert config.device() == torch.device("cpu")
    monkeypatch.setenv("NLPCOURSE_DEVICE", "meta")
    assert config.device() == torch.device("meta")


def test_device_default(monkeypatch):
    monkeypatch.delenv("NLPCOURSE_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert config.device().type == expected


def test_device_empty_override_is_ignored(monkeypatch):
    monkeypatch.setenv("NLPCOURSE_DEVICE", "")
    assert isinstance(config.device(), torch.device)
    assert config.device().type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_one_switch_turns_off_every_progress_bar(monkeypatch):
    """NLPCOURSE_PROGRESS=0 (set by grading) wins over a caller's progress=True, in every module."""
    import re
    from pathlib import Path

    monkeypatch.setenv("NLPCOURSE_PROGRESS", "0")
    assert not config.progress_bars() and not config.progress_bars(True)
    monkeypatch.setenv("NLPCOURSE_PROGRESS", "1")
    assert config.progress_bars() and not config.progress_bars(False)
    package = Path(config.__file__).parent
    bars = [(p.name, m.group(0)) for p in package.rglob("*.py")
            for m in re.finditer(r"tqdm\((?:[^()]|\([^()]*\))*\)", p.read_text())]
    assert len(bars) >= 3, bars  # download, tokenising, training
    for name, call in bars:
        assert "disable=not progress_bars(" in call, f"{name}: {call} ignores NLPCOURSE_PROGRESS"


NO_WIDGETS = """
import sys, types, warnings
sys.modules["ipywidgets"] = None  # a Jupyter kernel without ipywidgets
sys.modules["ipykernel.zmqshell"] = types.ModuleType("ipykernel.zmqshell")
import IPython
IPython.get_ipython = lambda: type("ZMQInteractiveShell", (), {})()
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import {modules}
import tqdm.notebook
assert not issubclass(tqdm.auto.tqdm, tqdm.notebook.tqdm), "the text bar, not the widget"
print([str(warning.message) for warning in caught])
"""


@pytest.mark.parametrize("modules", ["tqdm.auto", "nlpcourse.text, nlpcourse.training, nlpcourse.data"])
def test_no_progress_bar_warning_without_ipywidgets(modules):
    """tqdm.auto warns "IProgress not found" in a kernel without ipywidgets; the course's import is quiet."""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", NO_WIDGETS.replace("{modules}", modules)],
                            capture_output=True, text=True, timeout=120, check=True)
    warned = "IProgress not found" in result.stdout
    assert warned == (modules == "tqdm.auto"), result.stdout  # the first: the check can see the warning


# --- the environment variables: read here only --------------------------------------------------

ENV_READ = re.compile(r"""(environ(\.get)?\s*[(\[]|getenv\()\s*(["']NLPCOURSE_|[A-Z_]+_ENV\b)""")


def test_nlpcourse_variables_are_read_in_config_only():
    """Every ``NLPCOURSE_*`` variable is read in config.py; other modules call its functions."""
    package = Path(config.__file__).parent
    readers = [p.relative_to(package).as_posix() for p in sorted(package.rglob("*.py"))
               if p.name != "config.py" and ENV_READ.search(p.read_text(encoding="utf-8"))]
    assert readers == []
    assert all(ENV_READ.search(read) for read in ('os.environ.get("NLPCOURSE_DATA")', "os.environ['NLPCOURSE_X']",
                                                  "os.environ.get(MIRROR_ENV)", 'os.getenv("NLPCOURSE_X")'))


@pytest.mark.parametrize("value, expected", [("1", True), (" Yes ", True), ("true", True), ("0", False), ("", False)])
def test_offline_build_reads_its_variable(monkeypatch, value, expected):
    monkeypatch.setenv("NLPCOURSE_OFFLINE", value)
    assert config.offline_build() is expected


def test_results_folder_and_grading_run(monkeypatch, tmp_path):
    monkeypatch.delenv("NLPCOURSE_RESULTS", raising=False)
    for name in config.GRADING_ENV:
        monkeypatch.delenv(name, raising=False)
    assert config.results_folder() is None and not config.grading_run()
    monkeypatch.setenv("NLPCOURSE_RESULTS", str(tmp_path))
    monkeypatch.setenv("NLPCOURSE_GRADING", "1")
    assert config.results_folder() == tmp_path and config.grading_run()
