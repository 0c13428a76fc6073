"""`nlpcourse.atomic`: a write either completes, flushed to disk, or leaves the old file as it was."""

from __future__ import annotations

import os

import pytest

from nlpcourse import atomic


def entries(folder) -> list[str]:
    """Every name in ``folder``, hidden temporary files included."""
    return sorted(p.name for p in folder.iterdir())


def test_a_failure_mid_write_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="interrupted"):
        with atomic.atomic_path(target) as tmp:
            with open(tmp, "w") as handle:
                handle.write("half of the new")
                raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert entries(tmp_path) == ["out.txt"]


def test_a_write_is_flushed_to_disk_before_it_replaces_the_file(tmp_path, monkeypatch):
    target = tmp_path / "sub" / "out.txt"  # the folder is made
    flushed = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: flushed.append(os.readlink(f"/proc/self/fd/{fd}")) or real_fsync(fd))
    with atomic.atomic_path(target) as tmp:
        assert tmp.parent == target.parent and tmp.name.startswith(".out.txt.")
        tmp.write_text("new")
        assert not target.exists()
    assert target.read_text() == "new" and entries(target.parent) == ["out.txt"]
    assert flushed[0] == str(tmp), "the temporary file is flushed first, before the rename"


def test_two_writers_get_different_temporary_names(tmp_path):
    target = tmp_path / "out.txt"
    with atomic.atomic_path(target) as first, atomic.atomic_path(target) as second:
        assert first != second
        first.write_text("first")
        second.write_text("second")
    assert target.read_text() == "first"  # the outer block finishes last
    assert entries(tmp_path) == ["out.txt"]


def test_a_failed_folder_build_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic.atomic_dir(tmp_path / "built") as tmp:
            (tmp / "part").write_text("x")
            raise RuntimeError("interrupted")
    assert entries(tmp_path) == []
    with atomic.atomic_dir(tmp_path / "built") as tmp:
        (tmp / "whole").write_text("x")
    assert entries(tmp_path / "built") == ["whole"] and entries(tmp_path) == ["built"]
