"""The course's copies of what the labs' exercises build or show: the pretrained rows of a
vocabulary and the averaged document vectors (20 Newsgroups, session 1), the attention-pooling
read-out (session 2), and the IMDB lab's GloVe-initialised embedding matrix, bidirectional LSTM
classifier and Transformer encoder classifier.

The labs train these copies after their exercises, so that a learner who did not finish
one of them can still do the assignments that follow, and each exercise is graded on its own
(the hidden tests compare the learner's versions with these, and refuse them as answers).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .batching import LengthAwareLSTM, last_hidden
from .text import UNK


def adapted_embeddings(keyed_vectors, itos) -> np.ndarray:
    """``[len(itos), d]`` float32 array: row ``i`` is the vector of ``itos[i]``, zeros for the
    two special tokens (ids 0 and 1) and for the words ``keyed_vectors`` does not know."""
    matrix = np.zeros((len(itos), keyed_vectors.vector_size), dtype=np.float32)
    for index, word in enumerate(itos):
        if index >= 2 and word in keyed_vectors.key_to_index:
            matrix[index] = keyed_vectors[word]
    return matrix


def sentence_representations(token_lists, stoi: dict[str, int], embeddings: np.ndarray,
                             np_func=np.mean) -> np.ndarray:
    """``[N, d]``: ``np_func`` over the rows of each document's tokens (unknown words take the
    ``<unk>`` row)."""
    unknown = stoi[UNK]
    return np.stack([np_func(embeddings[[stoi.get(token, unknown) for token in tokens]], axis=0)
                     for tokens in token_lists])


def glove_embedding_matrix(itos, glove, pad_index: int, unk_index: int,
                           generator: torch.Generator | None = None) -> torch.Tensor:
    """``[len(itos), d]`` float tensor: the GloVe vector of each word GloVe knows, random rows
    (normal, with the standard deviation of all GloVe values, drawn with ``generator``) for the
    others, and zero rows for ``<pad>`` and ``<unk>``."""
    scale = float(np.std(glove.vectors))
    matrix = torch.randn(len(itos), glove.vector_size, generator=generator) * scale
    for index, word in enumerate(itos):
        if word in glove.key_to_index:
            matrix[index] = torch.from_numpy(glove[word].copy())  # gensim hands out read-only views
    matrix[pad_index] = 0.0
    matrix[unk_index] = 0.0
    return matrix


class BiLSTMClassifier(nn.Module):
    """Embedding (padding row fixed at zero) -> dropout -> padding-aware (bi)LSTM -> dropout -> linear."""

    def __init__(self, vocab_size: int, embedding_dim: int, hidden_dim: int, output_dim: int, num_layers: int,
                 bidirectional: bool, dropout: float, pad_index: int, path: str = "auto"):
        super().__init__()
        self.bidirectional = bidirectional
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_index)
        self.rnn = LengthAwareLSTM(embedding_dim, hidden_dim, num_layers=num_layers,
                                   bidirectional=bidirectional, dropout=dropout, path=path)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(hidden_dim * (2 if bidirectional else 1), output_dim)
        with torch.no_grad():  # forget gates start open (bias 1)
            for name, parameter in self.rnn.named_parameters():
                if "bias_ih" in name:
                    parameter[hidden_dim:2 * hidden_dim] = 1.0   # PyTorch's gate order: input, forget, cell, output

    def forward(self, padded: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """padded [B, T] token ids, lengths [B] -> logits [B]."""
        embedded = self.dropout(self.embedding(padded))
        outputs, _ = self.rnn(embedded, lengths)
        sentence = last_hidden(outputs, lengths, self.bidirectional)
        return self.fc(self.dropout(sentence)).squeeze(-1)


class AttentionPool(nn.Module):
    """Attention pooling of a right-padded batch of states: a learned score per state, a softmax
    over each row's real positions only (the padding scored ``-inf``), the weighted sum."""

    def __init__(self, hidden_dim: int):
        super().__init__()
        self.score = nn.Linear(hidden_dim, 1)

    def forward(self, outputs: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Batch-first outputs [B, T, H], lengths [B] -> (pooled [B, H], weights [B, T])."""
        lengths = lengths.to(outputs.device)
        real = torch.arange(outputs.shape[1], device=outputs.device) < lengths.unsqueeze(1)
        scores = self.score(outputs).squeeze(-1).masked_fill(~real, float("-inf"))   # [B, T]
        weights = torch.softmax(scores, dim=1)                                          # 0 on the padding
        return (weights.unsqueeze(-1) * outputs).sum(dim=1), weights


class TransformerClassifier(nn.Module):
    """Embedding (GloVe) -> + learned positions -> Transformer encoder over the real tokens ->
    masked mean -> linear: the small encoder of the IMDB lab, one logit per review."""

    def __init__(self, vocab_size: int, embedding_dim: int, model_dim: int, num_heads: int, num_layers: int,
                 ff_dim: int, dropout: float, max_length: int, pad_index: int):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_index)
        self.project = nn.Linear(embedding_dim, model_dim)
        self.position = nn.Embedding(max_length, model_dim)  # one vector per position
        layer = nn.TransformerEncoderLayer(model_dim, num_heads, ff_dim, dropout, batch_first=True,
                                           norm_first=True)
        # no dropout on the attention weights themselves: on a CPU it more than doubled the time
        # of a training step, for a regulariser the other dropouts provide
        layer.self_attn.dropout = 0.0
        self.encoder = nn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(model_dim)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(model_dim, 1)

    def forward(self, padded: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """padded [B, T] token ids, lengths [B] -> logits [B]."""
        positions = torch.arange(padded.shape[1], device=padded.device)
        padding = positions >= lengths.to(padded.device).unsqueeze(1)                    # [B, T]
        x = self.project(self.embedding(padded)) + self.position(positions)
        x = self.encoder(self.dropout(x), src_key_padding_mask=padding)
        real = (~padding).unsqueeze(-1).float()
        mean = (self.norm(x) * real).sum(dim=1) / real.sum(dim=1)
        return self.fc(self.dropout(mean)).squeeze(-1)
