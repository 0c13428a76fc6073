"""From raw text to token ids: cleaning, tokenising and a vocabulary."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections import Counter
from contextlib import closing
from pathlib import Path
from typing import Iterable, Sequence

from tqdm.auto import tqdm

from .atomic import atomic_path
from .config import progress_bars

PAD = "<pad>"
UNK = "<unk>"

_HTML_BREAK = re.compile(r"<br\s*/?>", flags=re.IGNORECASE)
_HTML_TAG = re.compile(r"</?[a-zA-Z][^>]{0,40}>")


def clean_html(text: str) -> str:
    """Replace HTML line breaks (IMDB's ``<br />``) and other short tags by spaces."""
    return _HTML_TAG.sub(" ", _HTML_BREAK.sub(" ", text))


def tokenize(text: str, lower: bool = True) -> list[str]:
    """Clean ``text`` and split it into words and punctuation with NLTK's ``word_tokenize``."""
    from nltk import word_tokenize

    from .data import ensure_nltk

    if not isinstance(text, str):
        raise TypeError(f"tokenize expects a str, got {type(text).__name__}")
    ensure_nltk()
    text = clean_html(text)
    return word_tokenize(text.lower() if lower else text)


def tokenize_all(texts: Sequence[str], lower: bool = True, progress: bool = True) -> list[list[str]]:
    """Tokenise many texts with a progress bar, caching each document's tokens on disk.

    NLTK's tokenizer is thorough but slow (tens of thousands of tokens per second), so the
    tokens of every text are kept in an SQLite file in the cache folder, keyed by a hash of
    the text: a later call, from any chapter, only tokenises texts it has never seen.
    """
    from .data import cache_dir

    keys = [hashlib.blake2b(f"{int(lower)}|{text}".encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
            for text in texts]
    path = cache_dir() / "tokens.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path, timeout=60)) as db, db:
        db.execute("CREATE TABLE IF NOT EXISTS tokens (key TEXT PRIMARY KEY, tokens TEXT NOT NULL)")
        known = {}
        for start in range(0, len(keys), 900):  # SQLite limits the number of query parameters
            chunk = keys[start:start + 900]
            rows = db.execute(f"SELECT key, tokens FROM tokens WHERE key IN ({','.join('?' * len(chunk))})", chunk)
            known.update(rows)
        missing = {key: i for i, key in enumerate(keys) if key not in known}  # duplicates once
        for key, i in tqdm(missing.items(), desc="tokenising", disable=not progress_bars(progress) or not missing):
            known[key] = " ".join(tokenize(texts[i], lower))
        db.executemany("INSERT OR IGNORE INTO tokens VALUES (?, ?)", [(key, known[key]) for key in missing])
    return [known[key].split() for key in keys]  # tokens never contain whitespace


class Vocab:
    """Maps tokens to ids: ``<pad>`` is 0, ``<unk>`` is 1, then words by falling frequency.

    Build it from the training split only: words that appear only in validation or test
    data must be unknown to the model, as they would be for new text.
    """

    def __init__(self, itos: Sequence[str], counts: Counter | None = None):
        if list(itos[:2]) != [PAD, UNK]:
            raise ValueError(f"a Vocab starts with {PAD!r} and {UNK!r}, got {list(itos[:2])}")
        self.itos = list(itos)
        self.stoi = {token: index for index, token in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            raise ValueError("duplicate tokens in the vocabulary")
        self.counts = Counter(counts or {})

    pad_index = 0
    unk_index = 1

    @classmethod
    def build(cls, token_lists: Iterable[Sequence[str]], max_size: int | None = None,
              min_freq: int = 1) -> "Vocab":
        """Keep the ``max_size`` most frequent tokens seen at least ``min_freq`` times.

        The vocabulary then has ``max_size + 2`` entries: the two specials come on top.
        """
        counts: Counter = Counter()
        documents = 0
        for tokens in token_lists:
            if isinstance(tokens, str):
                raise TypeError("Vocab.build expects lists of tokens, got a str: tokenise first")
            counts.update(tokens)
            documents += 1
        if documents == 0:
            raise ValueError("cannot build a vocabulary from an empty list of documents")
        if not counts:
            raise ValueError(f"the {documents} documents contain no tokens: nothing to build a vocabulary from")
        if max_size is not None and max_size < 0:
            raise ValueError(f"max_size must be >= 0, got {max_size}")
        counts.pop(PAD, None)
        counts.pop(UNK, None)
        kept = [tok for tok, n in counts.most_common(max_size) if n >= min_freq]
        return cls([PAD, UNK, *kept], counts)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    def __getitem__(self, token: str) -> int:
        return self.stoi.get(token, self.unk_index)

    def encode(self, tokens: Sequence[str]) -> list[int]:
        """Token ids, with ``<unk>`` for tokens the vocabulary has not seen."""
        if isinstance(tokens, str):
            raise TypeError("encode expects a list of tokens, got a str: tokenise first")
        return [self.stoi.get(token, self.unk_index) for token in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Tokens for ids (padding included, so a padded row reads as it is)."""
        return [self.itos[int(i)] for i in ids]

    def save(self, path: str | Path) -> None:
        """Write the vocabulary (and its training counts) as JSON."""
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps({"itos": self.itos, "counts": dict(self.counts)}))

    @classmethod
    def load(cls, path: str | Path) -> "Vocab":
        """Read a vocabulary written by :meth:`save`."""
        saved = json.loads(Path(path).read_text())
        return cls(saved["itos"], Counter(saved["counts"]))

    def __repr__(self) -> str:
        return f"Vocab({len(self)} tokens: {self.itos[:6]}...)"
