"""Tests for `nlpcourse.report`: glue outside a book build, and the results files."""

from __future__ import annotations

import datetime
import json
import subprocess

import numpy as np
import pytest

from nlpcourse import report

from helpers import ROOT


@pytest.mark.parametrize("value", [0.8731, 42, "text", [1, 2]])
def test_glue_returns_the_value_outside_a_kernel(value):
    assert report.glue("test_value", value) is value


def test_glue_with_display(capsys):
    assert report.glue("test_shown", 0.25, display=True) == 0.25


def test_glue_without_myst_nb(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_myst_nb(name, *args, **kwargs):
        if name.startswith("myst_nb"):
            raise ImportError("no myst_nb here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_myst_nb)
    value = {"a": 1}
    assert report.glue("test_absent", value) is value


@pytest.fixture
def results(tmp_path, monkeypatch):
    folder = tmp_path / "results"
    monkeypatch.setenv("NLPCOURSE_RESULTS", str(folder))
    monkeypatch.setenv("NLPCOURSE_PROFILE", "quick")
    monkeypatch.chdir(ROOT)  # so the commit can be read
    return folder


def test_record_result_writes_json(results):
    path = report.record_result("day3", test_accuracy=0.875, epoch_time_s=np.float64(1.5), epochs=3)
    assert path == results / "quick" / "day3.json"
    record = json.loads(path.read_text())
    assert record["chapter"] == "day3"
    assert record["profile"] == "quick"
    assert record["date"] == datetime.date.today().isoformat()
    assert record["test_accuracy"] == 0.875
    assert record["epoch_time_s"] == 1.5
    assert record["epochs"] == 3
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=ROOT).stdout.strip()
    assert record["commit"] == (commit or "unknown")
    assert sorted(p.name for p in path.parent.iterdir()) == ["day3.json"]  # no temporary file left


def test_record_result_numpy_and_torch_scalars_stay_numbers(results):
    """Metrics often come out of NumPy or PyTorch: they must be written as JSON numbers."""
    import torch

    path = report.record_result("day4", accuracy=np.float32(0.75), epochs=np.int64(3),
                                loss=torch.tensor(0.5))
    record = json.loads(path.read_text())
    assert record["accuracy"] == pytest.approx(0.75), record
    assert record["epochs"] == 3, record
    assert record["loss"] == pytest.approx(0.5), record


def test_record_result_full_profile_and_overwrite(results, monkeypatch):
    monkeypatch.setenv("NLPCOURSE_PROFILE", "full")
    report.record_result("day5", test_accuracy=0.5)
    path = report.record_result("day5", test_accuracy=0.9)
    assert path == results / "full" / "day5.json"
    assert json.loads(path.read_text())["test_accuracy"] == 0.9
    assert not (results / "quick").exists()


def test_record_result_commit_unknown_outside_git(results, tmp_path, monkeypatch):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    monkeypatch.chdir(outside)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    record = json.loads(report.record_result("day1", accuracy=0.7).read_text())
    assert record["commit"] == "unknown"


@pytest.mark.parametrize("value", [None, ""])
def test_record_result_writes_nothing_without_results_folder(tmp_path, monkeypatch, value):
    if value is None:
        monkeypatch.delenv("NLPCOURSE_RESULTS", raising=False)
    else:
        monkeypatch.setenv("NLPCOURSE_RESULTS", value)
    monkeypatch.chdir(tmp_path)
    assert report.record_result("day3", test_accuracy=0.875) is None
    assert list(tmp_path.iterdir()) == []
