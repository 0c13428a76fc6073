"""Plumbing for `nlpcourse.data`: where files live, checksums, downloads.

Two places hold data. The *mirror* (``NLPCOURSE_DATA``) is a read-only copy of the data sets
for machines without internet; when it is set, nothing here touches the network. The
*cache* (``NLPCOURSE_CACHE``, default: the user's cache folder) holds downloads and
everything built from them. Every file in the cache is written with
`nlpcourse.atomic.atomic_path`, so an interrupted run never leaves a partial file that a
later run would trust.
"""

from __future__ import annotations

import hashlib
import pickle
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

from platformdirs import user_cache_dir
from tqdm import tqdm

from . import config
from .atomic import atomic_path
from .config import MIRROR_ENV, progress_bars

T = TypeVar("T")

# sha256 of the mirror's files, from its README (data/README.md).
MIRROR_SHA256 = {
    "imdb/train.jsonl.gz": "9f54004308d383b0e02ae20f3577c013682950bae9e56b79271cf19d706bdc63",
    "imdb/test.jsonl.gz": "4383575318d2b937641661f14571a848dd1c81f2890019e07ef96940f83cc3fb",
    "20news/20news-bydate.tar.gz": "f27f7141c222ba5e161fa5277b491e6990746ede9060267ef53a8f8aa632de51",
    "nltk_data/tokenizers/punkt_tab.zip": "c9dcdea27b11a0778eab1d15b74a6b0c840f3d4cf4bfb61990ded8d4eca74cca",
    "nltk_data/corpora/treebank.zip": "9da92d76c3666cfb6cddeaed0f7e86b344cce0f0928a286d439e555f19c37399",
    "nltk_data/taggers/universal_tagset.zip": "d490e1ae8f5625dcdfdda04be15c22a2aade8c2561a36a61edcdf0c7d6aa8352",
    "nltk_data/corpora/conll2000.zip": "01e65164f268366e7caa0db92332a1955d081908c87016e2c7640c3c5279b7cd",
    "nltk_data/corpora/movie_reviews.zip": "a41211ae685019137410268134db6a1a14428c89b671eb83056151a878539008",
    "nltk_data/corpora/stopwords.zip": "15c94179887425ca1bedc265608cab9f27d650211f709bb929e320990a4b01d1",
}


class DataError(OSError):
    """A data file could not be downloaded, verified or read; the message says what to do."""


class ChecksumError(DataError):
    """A file's checksum differs from the published one."""


# --- where things live ---------------------------------------------------------------

_PROJECT_ROOT = Path(__file__).resolve().parents[2]  # the repository, for an editable install


def cache_dir() -> Path:
    """The cache folder (``$NLPCOURSE_CACHE``, else the user's cache dir), created if needed."""
    root = config.cache_folder()
    if root:
        path = Path(root).expanduser().resolve()
    else:
        path = Path(user_cache_dir("nlpcourse", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def mirror_dir(environ: Mapping[str, str] | None = None) -> Path | None:
    """The offline mirror named by ``$NLPCOURSE_DATA`` (of ``environ``, default: this process's),
    or None when it is not set.

    A relative path is taken from the current folder, or else from the project root (the
    book runs notebooks from ``book/``, where CI's ``../shared/data`` would miss).
    """
    value = config.data_mirror(environ)
    if not value:
        return None
    path = Path(value).expanduser()
    candidates = [path] if path.is_absolute() else [Path.cwd() / path, _PROJECT_ROOT / path]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate.resolve()
    tried = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(
        f"{MIRROR_ENV}={value!r} is not a folder (tried {tried}). Point {MIRROR_ENV} at the "
        "offline data mirror (a copy of ../shared/data), or unset it to download the data."
    )


_VERIFIED: set[str] = set()  # keys of mirror files checked in this process


def mirror_file(relpath: str) -> Path:
    """Path of a mirror file, checked to exist and (once per cache) to match its sha256."""
    root = mirror_dir()
    if root is None:
        raise RuntimeError(f"mirror_file({relpath!r}) needs {MIRROR_ENV} to be set")
    path = root / relpath
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing from the offline data mirror ({MIRROR_ENV}={root}). Copy "
            f"'{relpath}' into the mirror from ../shared/data, or unset {MIRROR_ENV} to "
            "download the data instead."
        )
    expected = MIRROR_SHA256.get(relpath)
    if expected:
        _verify_once(path, expected)
    return path


def _verify_once(path: Path, expected: str) -> None:
    """Check ``path``'s sha256, remembering success in-process and as a marker in the cache."""
    stat = path.stat()
    key = hashlib.sha256(f"{path}|{stat.st_size}|{stat.st_mtime_ns}|{expected}".encode()).hexdigest()
    marker = cache_dir() / "verified" / key[:32]
    if key in _VERIFIED or marker.exists():
        _VERIFIED.add(key)
        return
    actual = file_hash(path, "sha256")
    if actual != expected:
        raise ChecksumError(
            f"{path} has sha256 {actual}, expected {expected}: the mirror copy is damaged. "
            f"Copy it again from ../shared/data, or unset {MIRROR_ENV} to download the data."
        )
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    _VERIFIED.add(key)


# --- checksums ------------------------------------------------------------------------


def file_hash(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in 1 MiB chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def cached_pickle(path: Path, build: Callable[[], T]) -> T:
    """``build()``'s result, pickled at ``path`` the first time and read back afterwards."""
    if path.exists():
        try:
            with open(path, "rb") as handle:
                return pickle.load(handle)
        except Exception:  # noqa: BLE001 (unreadable, e.g. written by another library version: rebuild)
            pass
    value = build()
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
    return value


# --- downloads ---------------------------------------------------------------------------


def _open_url(url: str):
    """Open ``url`` for streaming (a seam for tests: they replace it, so no test goes online)."""
    return urllib.request.urlopen(url, timeout=60)  # noqa: S310 (https or file:// only)


def download(url: str, dest: Path, *, md5: str | None = None, sha256: str | None = None) -> Path:
    """Download ``url`` to ``dest`` with a progress bar, checking its md5 or sha256; atomic.

    On any failure (network error, interruption, wrong checksum) nothing is left at ``dest``
    and a `DataError` says what to do.
    """
    if (md5 is None) == (sha256 is None):
        raise ValueError("give exactly one checksum: md5 or sha256")
    algorithm, expected = ("md5", md5) if md5 is not None else ("sha256", sha256)
    digest = hashlib.new(algorithm)
    try:
        with atomic_path(dest) as tmp, _open_url(url) as response, open(tmp, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=f"downloading {dest.name}",
                      disable=not progress_bars()) as bar:
                for chunk in iter(lambda: response.read(1 << 20), b""):
                    out.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
            out.close()
            if digest.hexdigest() != expected:
                raise ChecksumError(
                    f"the download of {url} has {algorithm} {digest.hexdigest()}, expected {expected}: it is "
                    "damaged or not the expected file, and was deleted. Run again to retry; if it "
                    f"keeps failing, download it by hand or set {MIRROR_ENV} to an offline mirror."
                )
    except DataError:
        raise
    except Exception as error:  # network errors, interruptions, full disk ...
        raise DataError(
            f"downloading {url} failed ({type(error).__name__}: {error}); nothing was kept. "
            f"Check your connection and run again, or set {MIRROR_ENV} to an offline mirror."
        ) from error
    return dest
