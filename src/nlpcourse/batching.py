"""Mini-batches of sentences of different lengths, and LSTMs that are not fooled by padding.

Taught in Day 2 (padding, lengths, packing, buckets) and Day 3 (the last real state);
the later chapters import these versions.
"""

from __future__ import annotations

import math
import numbers
from typing import Iterable, Iterator, Sequence

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

PATHS = ("auto", "exact", "packed", "padded")


def _collate_labels(labels: Sequence, lengths: torch.Tensor, label_pad_index: int) -> torch.Tensor:
    first = labels[0]
    if isinstance(first, (list, tuple)) or (torch.is_tensor(first) and first.dim() == 1):
        tags = [torch.as_tensor(tag, dtype=torch.long) for tag in labels]
        for i, (tag, length) in enumerate(zip(tags, lengths.tolist())):
            if len(tag) != length:
                raise ValueError(f"example {i}: {length} tokens but {len(tag)} tags")
        return pad_sequence(tags, batch_first=True, padding_value=label_pad_index)
    values = [y.item() if torch.is_tensor(y) and y.dim() == 0 else y for y in labels]
    if all(isinstance(y, numbers.Integral) for y in values):
        return torch.tensor([int(y) for y in values], dtype=torch.long)
    if all(isinstance(y, numbers.Real) for y in values):
        return torch.tensor([float(y) for y in values], dtype=torch.float)
    kinds = sorted({type(y).__name__ for y in labels})
    raise TypeError(f"labels must be ints (classes), floats (binary targets) or sequences of tag ids; got {kinds}")


def pad_collate(batch: Sequence[tuple], pad_index: int = 0,
                label_pad_index: int = -100) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Turn ``[(token_ids, label), ...]`` into ``(padded [B, T], lengths [B], labels)``.

    Token ids are right-padded with ``pad_index``; tag sequences are padded with
    ``label_pad_index`` (the value ``CrossEntropyLoss`` ignores by default).
    """
    if len(batch) == 0:
        raise ValueError("pad_collate got an empty batch")
    sequences = [torch.as_tensor(ids, dtype=torch.long) for ids, _ in batch]
    lengths = torch.tensor([len(ids) for ids in sequences], dtype=torch.long)
    empty = (lengths == 0).nonzero().flatten().tolist()
    if empty:
        raise ValueError(f"examples {empty} of the batch have no tokens: drop empty documents before "
                         "batching (an RNN has no state to return for a zero-length sequence)")
    padded = pad_sequence(sequences, batch_first=True, padding_value=pad_index)
    labels = _collate_labels([label for _, label in batch], lengths, label_pad_index)
    return padded, lengths, labels


class BucketBatchSampler(torch.utils.data.Sampler):
    """Batches of examples of similar length, so little of each batch is padding.

    Each epoch shuffles the examples, cuts them into pools of ``pool_batches`` batches,
    sorts each pool by length and cuts it into batches, then shuffles the batches: similar
    lengths meet, but the order still changes from epoch to epoch. With ``shuffle=False``
    the whole data set is sorted once (for evaluation).
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, shuffle: bool = True,
                 seed: int = 0, pool_batches: int = 50):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.lengths = torch.as_tensor(list(lengths))
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.pool_size = batch_size * pool_batches
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return math.ceil(len(self.lengths) / self.batch_size)

    def __iter__(self) -> Iterator[list[int]]:
        if not self.shuffle:
            order = torch.argsort(self.lengths, stable=True)
            yield from (chunk.tolist() for chunk in order.split(self.batch_size))
            return
        order = torch.randperm(len(self.lengths), generator=self.generator)
        batches = []
        for pool in order.split(self.pool_size):
            pool = pool[torch.argsort(self.lengths[pool], stable=True)]
            batches.extend(pool.split(self.batch_size))
        for i in torch.randperm(len(batches), generator=self.generator).tolist():
            yield batches[i].tolist()


def padding_fraction(batches_of_lengths: Iterable[Sequence[int]]) -> float:
    """Share of the positions in padded batches that hold padding rather than tokens."""
    padded = real = 0
    for lengths in batches_of_lengths:
        lengths = list(lengths)
        padded += max(lengths) * len(lengths)
        real += sum(lengths)
    if padded == 0:
        raise ValueError("padding_fraction needs at least one non-empty batch")
    return 1 - real / padded


def _check_lengths(lengths: torch.Tensor, steps: int) -> torch.Tensor:
    lengths = torch.as_tensor(lengths)
    if lengths.numel() and (lengths.min() < 1 or lengths.max() > steps):
        raise ValueError(f"lengths must be between 1 and {steps}, got {lengths.tolist()}")
    return lengths


def last_hidden(outputs: torch.Tensor, lengths: torch.Tensor, bidirectional: bool = False) -> torch.Tensor:
    """The sentence representation from an RNN's batch-first ``outputs [B, T, D*H]``.

    Forward direction: the state after the last real token (``lengths - 1``), not after
    the padding. Backward direction: the state at position 0, where it has read the whole
    sentence from right to left.
    """
    lengths = _check_lengths(lengths, outputs.shape[1]).to(outputs.device)
    rows = torch.arange(outputs.shape[0], device=outputs.device)
    at_last = outputs[rows, lengths - 1]
    if not bidirectional:
        return at_last
    if outputs.shape[-1] % 2:
        raise ValueError(f"a bidirectional output has an even feature size, got {outputs.shape[-1]}")
    hidden = outputs.shape[-1] // 2
    return torch.cat([at_last[:, :hidden], outputs[:, 0, hidden:]], dim=1)


def reverse_within_length(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse the real part of each batch-first sequence; padding stays at the end.

    ``[a, b, c, pad] -> [c, b, a, pad]``. Applying it twice gives ``x`` back.
    """
    batch, steps = x.shape[:2]
    lengths = _check_lengths(lengths, steps).to(x.device).unsqueeze(1)
    positions = torch.arange(steps, device=x.device).expand(batch, steps)
    source = torch.where(positions < lengths, lengths - 1 - positions, positions)
    source = source.view(batch, steps, *([1] * (x.dim() - 2))).expand_as(x)
    return x.gather(1, source)


def _run_direction(lstm: nn.LSTM, x: torch.Tensor, lengths: torch.Tensor, backward: bool,
                   path: str) -> torch.Tensor:
    if path == "padded":  # the naive way: the backward direction starts in the padding
        return lstm(x.flip(1))[0].flip(1) if backward else lstm(x)[0]
    if backward:
        x = reverse_within_length(x, lengths)
    if path == "packed":
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = pad_packed_sequence(lstm(packed)[0], batch_first=True, total_length=x.shape[1])
    else:  # exact: the forward direction never sees the padding before a real token
        out = lstm(x)[0]
    return reverse_within_length(out, lengths) if backward else out


class LengthAwareLSTM(nn.Module):
    """A (bidirectional, multi-layer) LSTM over right-padded batches that ignores the padding.

    ``path`` chooses how: ``"packed"`` (``pack_padded_sequence``: fast on GPU, its backward
    is ~13x slower on CPU), ``"exact"`` (padded batches; the backward direction reads each
    sentence reversed within its length: the same numbers as packing, fast on CPU),
    ``"padded"`` (naive, for demonstrations: the backward direction reads padding first), or
    ``"auto"``: packed on CUDA, exact elsewhere. Same parameter count as ``nn.LSTM``.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bidirectional: bool = False, dropout: float = 0.0, path: str = "auto"):
        super().__init__()
        if path not in PATHS:
            raise ValueError(f"path must be one of {PATHS}, got {path!r}")
        self.path = path
        self.bidirectional = bidirectional
        directions = 2 if bidirectional else 1
        self.layers = nn.ModuleList(
            nn.ModuleList(nn.LSTM(input_size if layer == 0 else hidden_size * directions,
                                  hidden_size, batch_first=True) for _ in range(directions))
            for layer in range(num_layers))
        self.dropout = nn.Dropout(dropout)  # between layers, as nn.LSTM(dropout=...) does

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x [B, T, input]``, ``lengths [B]`` -> ``(outputs [B, T, D*H], sentence [B, D*H])``.

        Outputs are zero at padded positions; ``sentence`` is :func:`last_hidden` of the top layer.
        """
        lengths = _check_lengths(lengths, x.shape[1])
        path = self.path if self.path != "auto" else ("packed" if x.is_cuda else "exact")
        real = (torch.arange(x.shape[1], device=x.device) < lengths.to(x.device).unsqueeze(1)).unsqueeze(-1)
        for depth, directions in enumerate(self.layers):
            if depth:
                x = self.dropout(x)
            x = torch.cat([_run_direction(lstm, x, lengths, backward=bool(d), path=path)
                           for d, lstm in enumerate(directions)], dim=-1) * real
        return x, last_hidden(x, lengths, self.bidirectional)

    @torch.no_grad()
    def load_from_lstm(self, lstm: nn.LSTM) -> "LengthAwareLSTM":
        """Copy the weights of a batch-first ``nn.LSTM`` of the same sizes (to compare with it)."""
        for depth, directions in enumerate(self.layers):
            for d, module in enumerate(directions):
                suffix = f"_l{depth}" + ("_reverse" if d else "")
                for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                    getattr(module, f"{name}_l0").copy_(getattr(lstm, name + suffix))
        return self
