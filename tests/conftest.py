"""Shared fixtures: a private cache folder per test, and the offline data mirror."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from helpers import mirror_path


@pytest.fixture
def cache_dir(tmp_path, monkeypatch) -> Path:
    """A fresh, empty ``NLPCOURSE_CACHE`` for this test only."""
    path = tmp_path / "cache"
    path.mkdir()
    monkeypatch.setenv("NLPCOURSE_CACHE", str(path))
    return path


@pytest.fixture(scope="session")
def mirror() -> Path:
    """The offline data mirror (``helpers.mirror_path``); the test skips without one.

    Only returns the path (it sets no environment variable); tests that need the loaders to
    read it use ``offline``.
    """
    path = mirror_path()
    if not path.is_dir():
        source = "NLPCOURSE_DATA" if os.environ.get("NLPCOURSE_DATA") else "the default ../shared/data"
        pytest.skip(f"offline data mirror not found at {path} (from {source}); "
                    "set NLPCOURSE_DATA to a copy of shared/data to run this test")
    return path


@pytest.fixture
def offline(mirror, cache_dir, monkeypatch) -> Path:
    """Point ``NLPCOURSE_DATA`` at the mirror (and the cache at a private folder)."""
    monkeypatch.setenv("NLPCOURSE_DATA", str(mirror))
    return mirror


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny tensors: one thread is faster, and far faster on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# Fixtures that grade or execute for minutes (the hostile fixture set waits for time limits; the
# real chapters are executed): a test that uses one must be marked slow, so `-m "not slow"`
# (`bash run.sh test --fast`) never pays for them.
SLOW_FIXTURES = {"fixture_grades", "real_versions", "real_grades", "hostile_run", "build", "student_build"}


def pytest_collection_modifyitems(config, items):
    """Stop the run when a test uses a slow fixture without the slow marker."""
    unmarked = [item.nodeid for item in items
                if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())) and item.get_closest_marker("slow") is None]
    if unmarked:
        raise pytest.UsageError("these tests use a slow fixture but are not marked slow: " + ", ".join(unmarked))
