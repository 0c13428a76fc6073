"""Tests for `nlpcourse.training`: fit/evaluate/predict on tiny learnable problems, one per task.

Each problem is synthetic but has a rule a small model can learn in a few epochs, so a test
that reaches high accuracy shows the loop really trains (not that a number was typed in).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn

from nlpcourse import training
from nlpcourse.batching import pad_collate
from nlpcourse.training import History, count_parameters, evaluate, fit, predict

CPU = torch.device("cpu")
VOCAB = 20
KEY = 5  # binary task: does token 5 appear?


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(autouse=True)
def quiet(monkeypatch):
    monkeypatch.setenv("NLPCOURSE_PROGRESS", "0")


# --- tiny problems and models ----------------------------------------------------------------


def make_examples(task, n, seed):
    rng = np.random.default_rng(seed)
    examples = []
    for _ in range(n):
        length = int(rng.integers(2, 9))
        if task == "binary":
            ids = rng.choice([t for t in range(2, VOCAB) if t != KEY], size=length).tolist()
            label = float(rng.random() < 0.5)
            if label:
                ids[int(rng.integers(length))] = KEY
        elif task == "multiclass":  # exactly one of the tokens 2, 3, 4 names the class
            ids = rng.integers(5, VOCAB, size=length).tolist()
            label = int(rng.integers(3))
            ids[int(rng.integers(length))] = 2 + label
        else:  # tagging: each token's tag is its id modulo 3
            ids = rng.integers(2, VOCAB, size=length).tolist()
            label = [t % 3 for t in ids]
        examples.append((ids, label))
    return examples


def loader(examples, batch_size=32, shuffle=False):
    generator = torch.Generator().manual_seed(0)
    return torch.utils.data.DataLoader(examples, batch_size=batch_size, shuffle=shuffle,
                                       collate_fn=pad_collate, generator=generator)


class PoolClassifier(nn.Module):
    """Embedding, max-pool over the real tokens, linear: enough to spot a key token."""

    def __init__(self, outputs):
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, 16, padding_idx=0)
        self.linear = nn.Linear(16, outputs)
        self.outputs = outputs

    def forward(self, padded, lengths):
        real = torch.arange(padded.shape[1]) < lengths.unsqueeze(1)
        vectors = self.embedding(padded).masked_fill(~real.unsqueeze(-1), -1e4)
        logits = self.linear(vectors.max(dim=1).values)
        return logits.squeeze(-1) if self.outputs == 1 else logits


class TokenTagger(nn.Module):
    def __init__(self, tags=3):
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, 16, padding_idx=0)
        self.linear = nn.Linear(16, tags)

    def forward(self, padded, lengths):
        return self.linear(self.embedding(padded))


def setup(task, seed=0):
    torch.manual_seed(seed)
    model = TokenTagger() if task == "tagging" else PoolClassifier(1 if task == "binary" else 3)
    loss_fn = nn.BCEWithLogitsLoss() if task == "binary" else nn.CrossEntropyLoss()
    train = loader(make_examples(task, 480, seed=1), shuffle=True)
    valid = loader(make_examples(task, 200, seed=2))
    return model, loss_fn, train, valid


class FlippingLoader:
    """Training batches whose binary labels are inverted from epoch ``flip_after + 1`` on.

    Training on the wrong labels makes the validation loss worse, for real, so the best
    epoch lies before the end of training.
    """

    def __init__(self, inner, flip_after):
        self.inner, self.flip_after, self.epochs = inner, flip_after, 0

    def __iter__(self):
        self.epochs += 1
        for padded, lengths, labels in self.inner:
            yield padded, lengths, (1 - labels if self.epochs > self.flip_after else labels)

    def __len__(self):
        return len(self.inner)


# --- fit learns each task --------------------------------------------------------------------


@pytest.mark.parametrize("task", ["binary", "multiclass", "tagging"])
def test_fit_learns(task):
    model, loss_fn, train, valid = setup(task)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    history = fit(model, train, valid, loss_fn, optimizer, num_epochs=4, device=CPU, task=task)
    assert isinstance(history, History)
    assert history.epoch == [1, 2, 3, 4]
    for name in ("train_loss", "train_acc", "valid_loss", "valid_acc", "epoch_time"):
        assert len(getattr(history, name)) == 4, name
    assert all(t >= 0 for t in history.epoch_time)
    assert max(history.valid_acc) > 0.95, history.valid_acc
    assert history.valid_loss[-1] < history.valid_loss[0]
    assert history.best_epoch == int(np.argmin(history.valid_loss)) + 1
    frame = history.to_frame()
    assert list(frame.columns) == ["epoch", "train_loss", "train_acc", "valid_loss", "valid_acc", "epoch_time"]
    assert len(frame) == 4


def test_fit_restores_best_weights():
    model, loss_fn, train, valid = setup("binary")
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    history = fit(model, FlippingLoader(train, flip_after=2), valid, loss_fn, optimizer,
                  num_epochs=5, device=CPU, task="binary")
    assert len(history.epoch) == 5  # no patience: every epoch runs
    assert history.best_epoch <= 2
    assert history.valid_loss[-1] > history.valid_loss[history.best_epoch - 1]
    loss, acc = evaluate(model, valid, loss_fn, CPU, "binary")
    assert loss == pytest.approx(history.valid_loss[history.best_epoch - 1], abs=1e-6)
    assert acc == pytest.approx(history.valid_acc[history.best_epoch - 1])


def test_fit_early_stopping_on_real_training():
    model, loss_fn, train, valid = setup("binary")
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    history = fit(model, FlippingLoader(train, flip_after=2), valid, loss_fn, optimizer,
                  num_epochs=30, device=CPU, task="binary", patience=2)
    assert len(history.epoch) == history.best_epoch + 2 < 30
    loss, _ = evaluate(model, valid, loss_fn, CPU, "binary")
    assert loss == pytest.approx(min(history.valid_loss), abs=1e-6)


def test_fit_clips_each_step_as_clip_grad_norm_does():
    """With ``max_grad_norm`` a step is the one ``clip_grad_norm_`` gives, and differs from none."""
    model, loss_fn, train, _ = setup("binary")
    one_batch = [next(iter(train))]
    by_hand, unclipped = copy.deepcopy(model), copy.deepcopy(model)
    fit(model, one_batch, one_batch, loss_fn, torch.optim.SGD(model.parameters(), lr=1.0),
        num_epochs=1, device=CPU, task="binary", max_grad_norm=0.01)
    padded, lengths, labels = one_batch[0]
    loss_fn(by_hand(padded, lengths), labels).backward()
    norm = nn.utils.clip_grad_norm_(by_hand.parameters(), 0.01)
    assert norm > 0.01  # the batch's gradient is longer than the limit: clipping acts
    with torch.no_grad():
        for p in by_hand.parameters():
            p -= p.grad
    fit(unclipped, one_batch, one_batch, loss_fn, torch.optim.SGD(unclipped.parameters(), lr=1.0),
        num_epochs=1, device=CPU, task="binary")
    for got, want, free in zip(model.parameters(), by_hand.parameters(), unclipped.parameters()):
        assert torch.allclose(got, want, atol=1e-7)
    assert any(not torch.allclose(got, free) for got, free in zip(model.parameters(), unclipped.parameters()))


@pytest.mark.parametrize("best_by, best_epoch", [("loss", 2), ("accuracy", 3)])
def test_fit_keeps_the_best_epoch_by_loss_or_by_accuracy(monkeypatch, best_by, best_epoch):
    # the validation loss is lowest at epoch 2, the accuracy highest at epoch 3
    scores = iter([(0.6, 0.70), (0.4, 0.80), (0.5, 0.85), (0.7, 0.75)])

    def fake(model, loader, loss_fn, device, task, optimizer=None, progress=True, desc="",
             max_grad_norm=None):
        if optimizer is not None:
            with torch.no_grad():
                model.bias += 1.0  # each epoch leaves its own weights
            return 0.1, 0.9
        return next(scores)

    monkeypatch.setattr(training, "run_epoch", fake)
    model = nn.Linear(2, 1)
    with torch.no_grad():
        model.bias.zero_()
    history = fit(model, [], [], nn.BCEWithLogitsLoss(), torch.optim.SGD(model.parameters(), lr=0.1),
                  num_epochs=4, device=CPU, task="binary", best_by=best_by)
    assert history.best_epoch == best_epoch
    assert model.bias.item() == best_epoch  # the weights of that epoch were restored
    with pytest.raises(ValueError, match="best_by"):
        fit(model, [], [], nn.BCEWithLogitsLoss(), torch.optim.SGD(model.parameters(), lr=0.1),
            num_epochs=1, device=CPU, task="binary", best_by="f1")


def test_fit_steps_the_scheduler_once_per_epoch():
    model, loss_fn, train, valid = setup("binary")
    optimizer = torch.optim.Adam(model.parameters(), lr=0.04)
    halving = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda epoch: 0.5 ** epoch)
    fit(model, train, valid, loss_fn, optimizer, num_epochs=3, device=CPU, task="binary",
        scheduler=halving)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.04 / 8)
    fixed = torch.optim.Adam(model.parameters(), lr=0.04)
    fit(model, train, valid, loss_fn, fixed, num_epochs=2, device=CPU, task="binary")
    assert fixed.param_groups[0]["lr"] == 0.04


def scripted_run_epoch(monkeypatch, valid_losses):
    """Make `run_epoch` return the given validation losses, epoch after epoch."""
    losses = iter(valid_losses)

    def fake(model, loader, loss_fn, device, task, optimizer=None, progress=True, desc="",
             max_grad_norm=None):
        if optimizer is not None:
            return 0.1, 0.9
        return next(losses), 0.5

    monkeypatch.setattr(training, "run_epoch", fake)


@pytest.mark.parametrize("patience, epochs_run", [(1, 3), (2, 4), (3, 5), (4, 8), (None, 8)])
def test_fit_patience_counts_epochs_without_improvement(monkeypatch, patience, epochs_run):
    # best at epoch 2, then worse, worse, equal (not better), then a new best at 6
    valid_losses = [1.0, 0.5, 0.6, 0.7, 0.5, 0.4, 0.45, 0.46]
    scripted_run_epoch(monkeypatch, valid_losses)
    model = nn.Linear(2, 1)
    history = fit(model, [], [], nn.BCEWithLogitsLoss(), torch.optim.SGD(model.parameters(), lr=0.1),
                  num_epochs=8, device=CPU, task="binary", patience=patience)
    assert history.epoch == list(range(1, epochs_run + 1))
    assert history.valid_loss == valid_losses[:epochs_run]
    assert history.best_epoch == (2 if epochs_run < 6 else 6)


def test_fit_when_no_epoch_has_a_finite_validation_loss(monkeypatch):
    """A diverged run (NaN validation loss from the first epoch) must not end in an obscure crash.

    Either outcome is fine: a History with no best epoch, or a ValueError that says why.
    """
    scripted_run_epoch(monkeypatch, [float("nan"), float("nan")])
    model = nn.Linear(2, 1)
    try:
        history = fit(model, [], [], nn.BCEWithLogitsLoss(), torch.optim.SGD(model.parameters(), lr=0.1),
                      num_epochs=2, device=CPU, task="binary")
    except ValueError as error:
        assert "validation loss" in str(error) or "nan" in str(error).lower(), error
    else:
        assert history.epoch == [1, 2]
        assert history.best_epoch is None


# --- evaluate and predict --------------------------------------------------------------------


@pytest.mark.parametrize("task", ["binary", "multiclass", "tagging"])
def test_evaluate_and_predict_agree(task):
    model, loss_fn, train, valid = setup(task)
    examples = valid.dataset
    loss, acc = evaluate(model, valid, loss_fn, CPU, task)
    assert isinstance(loss, float) and loss > 0
    predictions, labels = predict(model, valid, CPU, task)
    expected_count = sum(len(ids) for ids, _ in examples) if task == "tagging" else len(examples)
    assert predictions.shape == labels.shape == (expected_count,)
    assert predictions.dtype.kind == "i" and labels.dtype.kind == "i"
    assert not (labels == -100).any()
    assert acc == pytest.approx(float(np.mean(predictions == labels)))


def test_tagging_counts_only_real_tokens():
    model, loss_fn, _, _ = setup("tagging")
    examples = [([2, 3, 4], [2, 0, 1]), ([5], [2])]  # 4 real tokens, 2 padded positions
    batch = loader(examples)
    with torch.no_grad():
        model.linear.weight.zero_()
        model.linear.bias.copy_(torch.tensor([0.0, 0.0, 1.0]))  # always predicts tag 2
    predictions, labels = predict(model, batch, CPU, "tagging")
    assert predictions.tolist() == [2, 2, 2, 2]
    assert labels.tolist() == [2, 0, 1, 2]
    _, acc = evaluate(model, batch, loss_fn, CPU, "tagging")
    assert acc == pytest.approx(2 / 4)  # padding (-100) is neither a hit nor a miss


def test_binary_accuracy_threshold_at_zero_logit():
    class Constant(nn.Module):
        def __init__(self, value):
            super().__init__()
            self.value = nn.Parameter(torch.tensor(value))

        def forward(self, padded, lengths):
            return self.value.expand(len(lengths))

    examples = [([2], 1.0), ([3], 1.0), ([4], 0.0)]
    _, acc = evaluate(Constant(2.0), loader(examples), nn.BCEWithLogitsLoss(), CPU, "binary")
    assert acc == pytest.approx(2 / 3)
    predictions, _ = predict(Constant(-2.0), loader(examples), CPU, "binary")
    assert predictions.tolist() == [0, 0, 0]


# --- errors and helpers ----------------------------------------------------------------------


def test_invalid_task():
    model, loss_fn, train, valid = setup("binary")
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="task must be one of"):
        fit(model, train, valid, loss_fn, optimizer, num_epochs=1, device=CPU, task="regression")
    with pytest.raises(ValueError, match="task must be one of"):
        evaluate(model, valid, loss_fn, CPU, "classification")
    with pytest.raises(ValueError, match="task must be one of"):
        predict(model, valid, CPU, "Binary")


def test_empty_loader():
    model, loss_fn, train, valid = setup("binary")
    with pytest.raises(ValueError, match="no examples"):
        evaluate(model, [], loss_fn, CPU, "binary")
    with pytest.raises(ValueError, match="no examples"):
        fit(model, [], valid, loss_fn, torch.optim.SGD(model.parameters(), lr=0.1),
            num_epochs=1, device=CPU, task="binary")
    with pytest.raises(ValueError, match="no examples"):
        fit(model, train, [], loss_fn, torch.optim.SGD(model.parameters(), lr=0.1),
            num_epochs=1, device=CPU, task="binary")


def test_count_parameters():
    assert count_parameters(nn.Linear(3, 2)) == 3 * 2 + 2
    model = nn.Sequential(nn.Embedding(10, 4), nn.Linear(4, 1))
    assert count_parameters(model) == 40 + 5
    model[0].weight.requires_grad_(False)  # frozen embeddings are not trained
    assert count_parameters(model) == 5
