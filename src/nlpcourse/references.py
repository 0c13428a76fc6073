"""The course's reference answers to Day 1's exercises, which have no twin elsewhere in the library.

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
