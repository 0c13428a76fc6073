"""The course's reference answers to the exercises that have no twin elsewhere in the library.

A stuck learner's notebook runs them in place of an unsolved exercise (:mod:`nlpcourse.stuck`);
each chapter's solution cell names its reference in its metadata (``nlpcourse: reference:``).
Grading never runs them: they only let the rest of a chapter run while an exercise is unsolved.
Exercises with a twin in the library (``nlpcourse.batching.last_hidden``, ...) name the twin.
"""

from __future__ import annotations

from collections import Counter

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence
from torch.utils.data import Dataset

from .text import PAD, UNK


def tagger_forward(self: nn.Module, word_ids: torch.Tensor) -> torch.Tensor:
    """Day 1's ``LSTMTagger.forward``: word ids [T] -> embedding -> LSTM -> linear -> logits [T, C]."""
    outputs, _ = self.lstm(self.embedding(word_ids))
    return self.hidden_to_tag(outputs)


def nll_from_log_probs(log_probs: torch.Tensor, targets: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Negative log-likelihood of log-probabilities [N, C] at class ids [N] (``F.nll_loss``)."""
    return F.nll_loss(log_probs, targets, reduction=reduction)


def stable_log_softmax(logits: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """``torch.log_softmax`` along ``dim``."""
    return torch.log_softmax(logits, dim=dim)


def predict_tags(model: nn.Module, words: list[str], vocab, tag_names: list[str],
                 device: torch.device) -> tuple[list[str], torch.Tensor]:
    """Tag one sentence (lowercased): (tag names [T], probabilities [T, C] on the CPU)."""
    model.eval()
    word_ids = torch.tensor(vocab.encode([word.lower() for word in words]), dtype=torch.long, device=device)
    with torch.no_grad():
        probs = torch.softmax(model(word_ids), dim=-1).cpu()
    return [tag_names[i] for i in probs.argmax(dim=-1).tolist()], probs


def lstm_step(x_t: torch.Tensor, h: torch.Tensor, c: torch.Tensor, weight_ih: torch.Tensor,
              weight_hh: torch.Tensor, bias_ih: torch.Tensor, bias_hh: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One LSTM step (gates stacked i, f, g, o): ``(h_t, c_t)``, each [B, H]."""
    return torch.lstm_cell(x_t, (h, c), weight_ih, weight_hh, bias_ih, bias_hh)


def one_logit_head(two_logit_head: nn.Linear) -> nn.Linear:
    """Day 3: ``nn.Linear(H, 2)`` [negative, positive] -> ``nn.Linear(H, 1)`` whose logit is z1 - z0."""
    head = nn.Linear(two_logit_head.in_features, 1)
    with torch.no_grad():
        head.weight.copy_(two_logit_head.weight[1:2] - two_logit_head.weight[0:1])
        head.bias.copy_(two_logit_head.bias[1:2] - two_logit_head.bias[0:1])
    return head


def binary_accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Day 3: the share of logits [B] on the side of 0 that labels [B] (0/1) say."""
    return ((logits > 0) == labels.bool()).float().mean().item()


def classifier_forward(self: nn.Module, padded: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Day 3's ``LSTMClassifier.forward``: ids [B, T] -> embedding -> LSTM -> one state per review -> logits [B]."""
    outputs, _ = self.lstm(self.dropout(self.embedding(padded)))
    return self.head(self.dropout(self.sentence_vector(outputs, lengths))).squeeze(-1)


def train_step(model: nn.Module, padded: torch.Tensor, lengths: torch.Tensor, labels: torch.Tensor,
               loss_fn: nn.Module, optimizer: torch.optim.Optimizer) -> float:
    """Day 3: one optimisation step on one batch; the batch's mean loss."""
    model.train()
    optimizer.zero_grad()
    logits = model(padded, lengths)
    loss = loss_fn(logits, labels.float().view_as(logits))
    loss.backward()
    optimizer.step()
    return loss.item()


def collate_tagged(batch: list, pad_index: int = 0, tag_pad_index: int = -100) -> tuple[torch.Tensor, ...]:
    """Day 2: (word ids, tag ids) pairs -> right-padded (word ids [B, T], lengths [B], tag ids [B, T])."""
    for i, (words, tags) in enumerate(batch):
        if len(words) == 0 or len(tags) != len(words):
            raise ValueError(f"sentence {i} of the batch is empty or its tags do not match its words")
    words = [torch.as_tensor(words, dtype=torch.long) for words, _ in batch]
    tags = [torch.as_tensor(tags, dtype=torch.long) for _, tags in batch]
    lengths = torch.tensor([len(w) for w in words], dtype=torch.long)
    return (pad_sequence(words, batch_first=True, padding_value=pad_index), lengths,
            pad_sequence(tags, batch_first=True, padding_value=tag_pad_index))


def masked_cross_entropy(logits: torch.Tensor, tags: torch.Tensor, ignore_index: int = -100) -> torch.Tensor:
    """Day 2: the mean cross-entropy of logits [..., C] over the positions whose tag is not ignored."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tags.reshape(-1), ignore_index=ignore_index)


def masked_accuracy(logits: torch.Tensor, tags: torch.Tensor, ignore_index: int = -100) -> tuple[int, int]:
    """Day 2: (real positions predicted right, real positions)."""
    real = tags != ignore_index
    return int(((logits.argmax(dim=-1) == tags) & real).sum().item()), int(real.sum().item())


def pack_by_hand(padded: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Day 2: a right-padded batch's packed fields (data, batch_sizes, sorted_indices)."""
    packed = pack_padded_sequence(padded, torch.as_tensor(lengths).cpu(), batch_first=True, enforce_sorted=False)
    return packed.data, packed.batch_sizes, packed.sorted_indices


def packed_tagger_forward(self: nn.Module, word_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Day 2's ``PackedBiLSTMTagger.forward``: ids [B, T] -> a packed LSTM pass -> tag scores [B, T, C]."""
    embedded = self.dropout(self.embedding(word_ids))
    packed = pack_padded_sequence(embedded, lengths.cpu(), batch_first=True, enforce_sorted=False)
    outputs, _ = pad_packed_sequence(self.lstm(packed)[0], batch_first=True, total_length=word_ids.shape[1])
    return self.hidden_to_tag(self.dropout(outputs))


def sorted_batches(lengths: list[int], batch_size: int) -> list[list[int]]:
    """Day 2: indices sorted by length, cut into consecutive batches of ``batch_size``."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    return [order[start:start + batch_size] for start in range(0, len(order), batch_size)]


def one_hot(ids: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Day 0: one-hot float32 vectors, ids [...] -> [..., num_classes]."""
    return F.one_hot(ids, num_classes).float()


def sgd_step(parameters, lr: float) -> None:
    """Day 0: one SGD update of ``parameters``, in place and unrecorded, then their gradients reset."""
    with torch.no_grad():
        for parameter in parameters:
            if parameter.grad is not None:
                parameter -= lr * parameter.grad
                parameter.grad = None


class NextWordDataset(Dataset):
    """Day 0: (window of ``context`` ids [context], the next id) pairs over a list of token ids."""

    def __init__(self, token_ids, context: int):
        self.token_ids, self.context = list(token_ids), context

    def __len__(self) -> int:
        return len(self.token_ids) - self.context

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return torch.tensor(self.token_ids[i:i + self.context], dtype=torch.long), int(self.token_ids[i + self.context])


def build_vocabulary(token_lists, max_size: int | None = None) -> dict[str, int]:
    """20 Newsgroups: word -> id, PAD 0, UNK 1, then the ``max_size`` most frequent words."""
    counts = Counter(token for tokens in token_lists for token in tokens)
    return {word: i for i, word in enumerate([PAD, UNK, *(word for word, _ in counts.most_common(max_size))])}


class TextClassificationDataset(Dataset):
    """20 Newsgroups: documents as LongTensors of at most ``max_length`` ids, with int labels."""

    def __init__(self, token_lists, labels, vocab, max_length: int):
        self.ids = [torch.tensor(vocab.encode(tokens[:max_length]), dtype=torch.long) for tokens in token_lists]
        self.labels = [int(label) for label in labels]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.ids[index], self.labels[index]


def _real(outputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """[B, T] True at the real positions of a right-padded batch."""
    return torch.arange(outputs.shape[1], device=outputs.device) < lengths.to(outputs.device).unsqueeze(1)


def averaging_forward(self: nn.Module, padded: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """20 Newsgroups' ``AveragingModel.forward``: the mean of the real tokens' vectors -> logits [B, C]."""
    real = _real(padded, lengths)
    average = (self.embedding(padded) * real.unsqueeze(-1)).sum(dim=1) / lengths.to(padded.device).unsqueeze(1)
    return self.classifier(self.dropout(average))


def masked_max_pool(outputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """20 Newsgroups: batch-first outputs [B, T, H] -> [B, H], the max over the real steps."""
    return outputs.masked_fill(~_real(outputs, lengths).unsqueeze(-1), float("-inf")).amax(dim=1)


def lstm_model_parameters(vocab_size: int, embedding_dim: int, hidden_dim: int, output_dim: int, num_layers: int,
                          bidirectional: bool) -> int:
    """IMDB lab: the trainable parameters of embedding -> (bi)LSTM -> linear, counted on the built layers."""
    directions = 2 if bidirectional else 1
    layers = [nn.Embedding(vocab_size, embedding_dim),
              nn.LSTM(embedding_dim, hidden_dim, num_layers=num_layers, bidirectional=bidirectional),
              nn.Linear(directions * hidden_dim, output_dim)]
    return sum(parameter.numel() for layer in layers for parameter in layer.parameters())
