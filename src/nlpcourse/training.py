"""Training and evaluation loops shared by the later chapters.

Every batch is ``(padded [B, T], lengths [B], labels)`` and a model is called as
``model(padded, lengths)``. Three tasks: ``"binary"`` (logits ``[B]``, float targets,
``BCEWithLogitsLoss``), ``"multiclass"`` (logits ``[B, C]``) and ``"tagging"`` (logits
``[B, T, C]``, tags ``-100`` at padded positions, which the loss and accuracy skip).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .config import progress_bars

TASKS = ("binary", "multiclass", "tagging")
IGNORE = -100


@dataclass
class History:
    """What happened in each epoch of :func:`fit`."""

    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    valid_loss: list[float] = field(default_factory=list)
    valid_acc: list[float] = field(default_factory=list)
    epoch_time: list[float] = field(default_factory=list)
    best_epoch: int | None = None

    def to_frame(self):
        """The history as a pandas DataFrame, one row per epoch."""
        import pandas as pd

        return pd.DataFrame({name: getattr(self, name) for name in
                             ("epoch", "train_loss", "train_acc", "valid_loss", "valid_acc", "epoch_time")})


def _check_task(task: str) -> None:
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")


def batch_loss_and_hits(logits: torch.Tensor, labels: torch.Tensor, loss_fn: nn.Module,
                        task: str) -> tuple[torch.Tensor, int, int]:
    """Loss of one batch, number of correct predictions, number of predictions counted."""
    if task == "binary":
        logits = logits.reshape(labels.shape)
        hits = ((logits > 0).long() == labels.long()).sum()
        return loss_fn(logits, labels.float()), int(hits), labels.numel()
    if task == "multiclass":
        return loss_fn(logits, labels), int((logits.argmax(-1) == labels).sum()), labels.numel()
    real = labels != IGNORE
    loss = loss_fn(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1))
    hits = ((logits.argmax(-1) == labels) & real).sum()
    return loss, int(hits), int(real.sum())


def run_epoch(model: nn.Module, loader, loss_fn: nn.Module, device: torch.device, task: str,
              optimizer: torch.optim.Optimizer | None = None, progress: bool = True,
              desc: str = "", max_grad_norm: float | None = None) -> tuple[float, float]:
    """One pass over ``loader``; trains when an optimizer is given. Returns (loss, accuracy).

    With ``max_grad_norm``, each step first rescales the gradients so that their total 2-norm is
    at most that (``torch.nn.utils.clip_grad_norm_``); ``None`` leaves them as they are.
    """
    _check_task(task)
    model.train(optimizer is not None)
    total_loss, hits, count = 0.0, 0, 0
    with torch.set_grad_enabled(optimizer is not None):
        for padded, lengths, labels in tqdm(loader, desc=desc, leave=False,
                                            disable=not progress_bars(progress)):
            padded, labels = padded.to(device), labels.to(device)
            loss, batch_hits, batch_count = batch_loss_and_hits(model(padded, lengths), labels, loss_fn, task)
            if optimizer is not None:
                optimizer.zero_grad()
                loss.backward()
                if max_grad_norm is not None:
                    nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
                optimizer.step()
            total_loss += loss.item() * batch_count
            hits += batch_hits
            count += batch_count
    if count == 0:
        raise ValueError("the loader produced no examples to score")
    return total_loss / count, hits / count


def evaluate(model: nn.Module, loader, loss_fn: nn.Module, device: torch.device,
             task: str) -> tuple[float, float]:
    """Mean loss and accuracy over ``loader`` without training (padding not counted)."""
    return run_epoch(model, loader, loss_fn, device, task, optimizer=None, progress=False)


def fit(model: nn.Module, train_loader, valid_loader, loss_fn: nn.Module,
        optimizer: torch.optim.Optimizer, num_epochs: int, device: torch.device, task: str,
        patience: int | None = None, progress: bool = True, max_grad_norm: float | None = None,
        scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
        best_by: str = "loss") -> History:
    """Train for up to ``num_epochs``, keeping the weights of the best validation loss.

    Stops early after ``patience`` epochs without a better validation loss, then restores the
    best weights, so the model returned is the one the history's ``best_epoch`` describes.
    ``best_by="accuracy"`` judges the epochs by validation accuracy instead (the highest wins).
    ``max_grad_norm`` clips each step's gradients to that total norm (see :func:`run_epoch`;
    ``None``, the default, does not clip, as the chapters recorded before it did); a
    ``scheduler`` of ``optimizer`` is stepped once after each epoch.
    """
    _check_task(task)
    if best_by not in ("loss", "accuracy"):
        raise ValueError(f"best_by must be 'loss' or 'accuracy', got {best_by!r}")
    if num_epochs < 1:
        raise ValueError(f"num_epochs must be at least 1, got {num_epochs}")
    model.to(device)
    history = History()
    best_score, best_state, waited = float("inf"), None, 0  # lower is better
    for epoch in range(1, num_epochs + 1):
        start = time.perf_counter()
        train_loss, train_acc = run_epoch(model, train_loader, loss_fn, device, task, optimizer,
                                          progress, desc=f"epoch {epoch}/{num_epochs}",
                                          max_grad_norm=max_grad_norm)
        if scheduler is not None:
            scheduler.step()
        elapsed = time.perf_counter() - start
        valid_loss, valid_acc = evaluate(model, valid_loader, loss_fn, device, task)
        for name, value in zip(("epoch", "train_loss", "train_acc", "valid_loss", "valid_acc", "epoch_time"),
                               (epoch, train_loss, train_acc, valid_loss, valid_acc, elapsed)):
            getattr(history, name).append(value)
        print(f"epoch {epoch:2d}  train loss {train_loss:.3f} acc {train_acc:.3f}  |  "
              f"valid loss {valid_loss:.3f} acc {valid_acc:.3f}  |  {elapsed:.1f} s")
        score = valid_loss if best_by == "loss" else -valid_acc
        if score < best_score:
            best_score, best_state, waited = score, copy.deepcopy(model.state_dict()), 0
            history.best_epoch = epoch
        else:
            waited += 1
            if patience is not None and waited >= patience:
                print(f"no better validation {best_by} for {patience} epochs: stopping")
                break
    if best_state is None:
        raise ValueError("no epoch reached a finite validation loss: training diverged "
                         "(try a smaller learning rate, or check the inputs for NaN)")
    model.load_state_dict(best_state)
    return history


@torch.no_grad()
def predict(model: nn.Module, loader, device: torch.device, task: str) -> tuple[np.ndarray, np.ndarray]:
    """Predicted and true class ids for every example (every real token when tagging)."""
    _check_task(task)
    model.eval()
    predictions, truths = [], []
    for padded, lengths, labels in loader:
        logits = model(padded.to(device), lengths).cpu()
        if task == "binary":
            predictions.append((logits.reshape(labels.shape) > 0).long())
            truths.append(labels.long())
        elif task == "multiclass":
            predictions.append(logits.argmax(-1))
            truths.append(labels)
        else:
            real = labels != IGNORE
            predictions.append(logits.argmax(-1)[real])
            truths.append(labels[real])
    return torch.cat(predictions).numpy(), torch.cat(truths).numpy()


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
