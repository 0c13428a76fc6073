"""Shared fixtures: a private cache folder per test, and the offline data mirror."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def cache_dir(tmp_path, monkeypatch) -> Path:
    """A fresh, empty ``NLPCOURSE_CACHE`` for this test only."""
    path = tmp_path / "cache"
    path.mkdir()
    monkeypatch.setenv("NLPCOURSE_CACHE", str(path))
    return path


@pytest.fixture(scope="session")
def mirror() -> Path:
    """The offline data mirror: ``$NLPCOURSE_DATA``, else ``../shared/data`` beside the repo.

    Only returns the path (it sets no environment variable); tests that need the loaders to
    read it use ``offline``.
    """
    value = os.environ.get("NLPCOURSE_DATA")
    path = Path(value).expanduser() if value else REPO_ROOT.parent / "shared" / "data"
    if not path.is_absolute():
        path = REPO_ROOT / path
    if not path.is_dir():
        source = "NLPCOURSE_DATA" if value else "the default ../shared/data"
        pytest.skip(f"offline data mirror not found at {path} (from {source}); "
                    "set NLPCOURSE_DATA to a copy of shared/data to run this test")
    return path.resolve()


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
