"""From raw text to token ids: cleaning, tokenising and a vocabulary."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter
from pathlib import Path
from typing import Iterable, Sequence

from tqdm.auto import tqdm

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
    """Tokenise many texts, with a progress bar, caching the result on disk.

    The cache key is a hash of the texts, so a changed corpus is never served stale tokens.
    A second call on the same texts reads one file instead of running NLTK again.
    """
    from .data import cache_dir

    digest = hashlib.sha256(f"lower={lower}\n".encode())
    for text in texts:
        digest.update(text.encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    path = cache_dir() / "tokens" / f"{digest.hexdigest()[:32]}.txt"
    if path.exists():
        with open(path, encoding="utf-8") as handle:
            return [line.split() for line in handle]
    tokens = [tokenize(text, lower) for text in tqdm(texts, desc="tokenising", disable=not progress)]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.writelines(" ".join(doc) + "\n" for doc in tokens)
    tmp.replace(path)  # atomic: a crash never leaves half a cache file under the real name
    return tokens


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
        Path(path).write_text(json.dumps({"itos": self.itos, "counts": dict(self.counts)}))

    @classmethod
    def load(cls, path: str | Path) -> "Vocab":
        """Read a vocabulary written by :meth:`save`."""
        saved = json.loads(Path(path).read_text())
        return cls(saved["itos"], Counter(saved["counts"]))

    def __repr__(self) -> str:
        return f"Vocab({len(self)} tokens: {self.itos[:6]}...)"
