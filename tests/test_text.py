"""Tests for `nlpcourse.text`: HTML cleaning, tokenising (NLTK, offline), the token cache, Vocab."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from nlpcourse import text
from nlpcourse.text import PAD, UNK, Vocab

# --- clean_html ------------------------------------------------------------------------------


def test_clean_html_double_break():
    cleaned = text.clean_html("Great film.<br /><br />Would watch again.")
    assert "<" not in cleaned and ">" not in cleaned
    assert cleaned.split() == ["Great", "film.", "Would", "watch", "again."]


@pytest.mark.parametrize("tag", ["<br>", "<br/>", "<BR />", "<br />"])
def test_clean_html_break_variants_become_spaces(tag):
    assert text.clean_html(f"one{tag}two") == "one two"


def test_clean_html_other_short_tags_and_plain_text():
    assert text.clean_html("<i>so</i> good").split() == ["so", "good"]
    plain = "3 < 4 and 5 > 2"
    assert text.clean_html(plain) == plain  # comparisons are not tags


# --- tokenize (needs the mirror's punkt_tab) -------------------------------------------------


def test_tokenize_lowercases_and_splits_punctuation(offline):
    assert text.tokenize("Hello, World!") == ["hello", ",", "world", "!"]
    assert text.tokenize("I don't like it.") == ["i", "do", "n't", "like", "it", "."]


def test_tokenize_keeps_case_when_asked(offline):
    assert text.tokenize("Hello, World!", lower=False) == ["Hello", ",", "World", "!"]


def test_tokenize_removes_html_breaks(offline):
    assert text.tokenize("Bad.<br /><br />Really bad.") == ["bad", ".", "really", "bad", "."]
    assert text.tokenize("a<br>b") == ["a", "b"]


@pytest.mark.parametrize("document", ["", "   ", "<br />", "<br /><br />"])
def test_tokenize_document_without_tokens(offline, document):
    assert text.tokenize(document) == []


@pytest.mark.parametrize("value", [None, 3, b"bytes", ["a", "list"]])
def test_tokenize_rejects_non_strings(offline, value):
    with pytest.raises(TypeError, match="str"):
        text.tokenize(value)


# --- tokenize_all and its cache --------------------------------------------------------------


@pytest.fixture
def counted_tokenize(offline, monkeypatch):
    """Replace `text.tokenize` by a wrapper that records every text it is asked to tokenise."""
    calls = []
    real = text.tokenize

    def counting(document, lower=True):
        calls.append(document)
        return real(document, lower)

    monkeypatch.setattr(text, "tokenize", counting)
    return calls


DOCS = ["A fine film.", "Not <br /><br />good!", "", "A fine film.", "The END."]


def test_tokenize_all_matches_tokenize(offline, cache_dir):
    tokens = text.tokenize_all(DOCS, progress=False)
    assert tokens == [text.tokenize(d) for d in DOCS]
    assert tokens[2] == []
    assert (cache_dir / "tokens.sqlite").is_file()


def test_tokenize_all_second_call_uses_the_cache(counted_tokenize, cache_dir):
    first = text.tokenize_all(DOCS, progress=False)
    assert set(counted_tokenize) == set(DOCS)
    counted_tokenize.clear()
    second = text.tokenize_all(DOCS, progress=False)
    assert counted_tokenize == []
    assert second == first


def test_tokenize_all_only_tokenises_new_texts(counted_tokenize, cache_dir):
    text.tokenize_all(DOCS[:2], progress=False)
    counted_tokenize.clear()
    tokens = text.tokenize_all(DOCS, progress=False)
    assert sorted(counted_tokenize) == sorted(set(DOCS[2:]) - set(DOCS[:2]))
    assert tokens[4] == ["the", "end", "."]


def test_tokenize_all_caches_case_separately(counted_tokenize, cache_dir):
    lower = text.tokenize_all(["The END."], lower=True, progress=False)
    cased = text.tokenize_all(["The END."], lower=False, progress=False)
    assert lower == [["the", "end", "."]]
    assert cased == [["The", "END", "."]]
    assert len(counted_tokenize) == 2


def test_tokenize_all_empty_list(offline, cache_dir):
    assert text.tokenize_all([], progress=False) == []


def test_tokenize_all_many_texts_over_sqlite_chunk(counted_tokenize, cache_dir):
    documents = [f"word{i}" for i in range(1_000)]  # more than one query chunk of 900 keys
    first = text.tokenize_all(documents, progress=False)
    counted_tokenize.clear()
    second = text.tokenize_all(documents, progress=False)
    assert counted_tokenize == []
    assert second == first == [[d] for d in documents]


# --- Vocab -----------------------------------------------------------------------------------

TRAIN = [["the", "film", "was", "good"], ["the", "film", "was", "bad"], ["the", "end"]]


def test_vocab_special_indices():
    vocab = Vocab.build(TRAIN)
    assert vocab.pad_index == 0 and vocab.unk_index == 1
    assert vocab.itos[:2] == [PAD, UNK]
    assert vocab.stoi[PAD] == 0 and vocab.stoi[UNK] == 1


def test_vocab_orders_by_frequency_and_counts():
    vocab = Vocab.build(TRAIN)
    assert vocab.itos[2:5] == ["the", "film", "was"]
    assert len(vocab) == 2 + 6
    assert vocab.counts == Counter(token for doc in TRAIN for token in doc)
    assert "film" in vocab and "unseen" not in vocab
    assert vocab["the"] == 2 and vocab["unseen"] == 1


def test_vocab_max_size_counts_specials_on_top():
    vocab = Vocab.build(TRAIN, max_size=2)
    assert vocab.itos == [PAD, UNK, "the", "film"]
    assert len(vocab) == 4
    assert Vocab.build(TRAIN, max_size=0).itos == [PAD, UNK]


def test_vocab_min_freq():
    assert Vocab.build(TRAIN, min_freq=2).itos == [PAD, UNK, "the", "film", "was"]
    assert Vocab.build(TRAIN, min_freq=3).itos == [PAD, UNK, "the"]
    assert Vocab.build(TRAIN, max_size=1, min_freq=2).itos == [PAD, UNK, "the"]


def test_vocab_negative_max_size():
    with pytest.raises(ValueError, match="max_size"):
        Vocab.build(TRAIN, max_size=-1)


def test_vocab_built_from_training_only():
    test_docs = [["the", "film", "was", "superb"]]
    vocab = Vocab.build(TRAIN)
    assert "superb" not in vocab
    assert vocab.encode(test_docs[0]) == [vocab["the"], vocab["film"], vocab["was"], 1]


def test_vocab_encode_decode_round_trip():
    vocab = Vocab.build(TRAIN)
    for doc in TRAIN:
        ids = vocab.encode(doc)
        assert all(isinstance(i, int) for i in ids)
        assert vocab.decode(ids) == doc
    assert vocab.decode([vocab["the"], 0, 0]) == ["the", PAD, PAD]


def test_vocab_all_unknown_document():
    vocab = Vocab.build(TRAIN)
    assert vocab.encode(["zebra", "quokka", "axolotl"]) == [1, 1, 1]
    assert vocab.decode(vocab.encode(["zebra", "quokka"])) == [UNK, UNK]
    assert vocab.encode([]) == []


def test_vocab_empty_document_list():
    with pytest.raises(ValueError, match="empty list of documents"):
        Vocab.build([])
    with pytest.raises(ValueError, match="empty"):
        Vocab.build(iter([]))


def test_vocab_documents_without_tokens():
    with pytest.raises(ValueError, match="no tokens"):
        Vocab.build([[], []])


def test_vocab_rejects_strings():
    with pytest.raises(TypeError, match="tokenise first"):
        Vocab.build(["the film was good"])
    vocab = Vocab.build(TRAIN)
    with pytest.raises(TypeError, match="tokenise first"):
        vocab.encode("the film")


def test_vocab_ignores_special_tokens_in_the_data():
    vocab = Vocab.build([["<pad>", "<unk>", "a"]])
    assert vocab.itos == [PAD, UNK, "a"]


def test_vocab_constructor_checks():
    with pytest.raises(ValueError):
        Vocab(["a", "b"])
    with pytest.raises(ValueError, match="duplicate"):
        Vocab([PAD, UNK, "a", "a"])


def test_vocab_save_load_round_trip(tmp_path):
    vocab = Vocab.build(TRAIN, max_size=4)
    path = tmp_path / "vocab.json"
    vocab.save(path)
    assert json.loads(path.read_text())["itos"] == vocab.itos
    loaded = Vocab.load(path)
    assert loaded.itos == vocab.itos
    assert loaded.stoi == vocab.stoi
    assert loaded.counts == vocab.counts
    assert loaded.encode(["the", "end", "superb"]) == vocab.encode(["the", "end", "superb"])
    loaded_str = Vocab.load(str(path))
    assert loaded_str.itos == vocab.itos
