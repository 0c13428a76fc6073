"""Writing a file so that no reader ever sees half of it: the one way the package writes files.

:func:`atomic_path` hands out a temporary name in the destination's folder (unique per process
and call, so two writers never share one), and once the block has written it, flushes it to
disk (``fsync``) and renames it over the destination (``os.replace``, atomic on one file
system). When the block fails, the temporary file is removed and the old destination, if any,
is left as it was. :func:`atomic_dir` does the same for a folder.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path


def _temp_name(dest: Path) -> Path:
    """A fresh hidden name next to ``dest``, unique per process and call."""
    return dest.with_name(f".{dest.name}.{os.getpid()}.{secrets.token_hex(4)}.part")


def _fsync(path: Path) -> None:
    """Flush ``path`` (a file or a folder) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(dest: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``dest``; write it inside the block. When the block
    succeeds, the file is flushed to disk and becomes ``dest``; when it fails, nothing changes.

        with atomic_path(path) as tmp:
            tmp.write_text(text)
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_name(dest)
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, dest)
        with contextlib.suppress(OSError):  # the rename itself, where the file system allows it
            _fsync(dest.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)


@contextlib.contextmanager
def atomic_dir(dest: str | Path) -> Iterator[Path]:
    """Like :func:`atomic_path`, for a folder: fill the yielded temporary folder, then it becomes
    ``dest`` (when another process made ``dest`` first, theirs is kept)."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_name(dest)
    tmp.mkdir()
    try:
        yield tmp
        try:
            os.replace(tmp, dest)
        except OSError:  # another process built it first: keep theirs
            if not dest.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
