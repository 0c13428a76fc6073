"""The course's reference answers to the exercises that have no twin elsewhere in the library.

A stuck learner's notebook runs them in place of an unsolved exercise (:mod:`nlpcourse.stuck`);
each chapter's solution cell names its reference in its metadata (``nlpcourse: reference:``).
They are built on PyTorch's own functions, which the graded tests forbid: they are never an
answer, only what lets the rest of a chapter run.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


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
