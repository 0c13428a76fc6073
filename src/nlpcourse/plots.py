"""The course's figures: training curves, confusion matrices, Zipf's law, word vectors.

Each function returns a Matplotlib ``Figure`` that is not kept by ``pyplot``, so a notebook
shows it exactly once (as the cell's value).
"""

from __future__ import annotations

from collections import Counter
from typing import Sequence

import numpy as np
from matplotlib.figure import Figure


def _show_figures_in_notebooks() -> None:
    """In a Jupyter kernel, display a returned Figure as a PNG image (not as its repr)."""
    try:
        from IPython import get_ipython
        from IPython.core.pylabtools import select_figure_formats
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        select_figure_formats(shell, {"png"})


_show_figures_in_notebooks()

def plot_history(history, title: str = "") -> Figure:
    """Loss and accuracy per epoch, training beside validation, best epoch marked."""
    figure = Figure(figsize=(10, 3.8), layout="constrained")
    loss_axis, acc_axis = figure.subplots(1, 2)
    for axis, metric, label in ((loss_axis, "loss", "loss"), (acc_axis, "acc", "accuracy")):
        axis.plot(history.epoch, getattr(history, f"train_{metric}"), "o-", label="training")
        axis.plot(history.epoch, getattr(history, f"valid_{metric}"), "s-", label="validation")
        if history.best_epoch is not None:
            axis.axvline(history.best_epoch, color="grey", linestyle=":", label="best epoch")
        axis.set(xlabel="epoch", ylabel=label, title=f"{label} per epoch")
        axis.set_xticks(history.epoch)
        axis.legend()
    if title:
        figure.suptitle(title)
    return figure


def plot_confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int], labels: Sequence[str],
                          normalize: bool = True, title: str = "") -> Figure:
    """Rows are the true classes, columns the predicted ones; rows sum to 1 when normalised."""
    from sklearn.metrics import confusion_matrix

    ids = np.concatenate([np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()])
    if ids.size and (ids.min() < 0 or ids.max() >= len(labels)):
        raise ValueError(f"class ids must be between 0 and {len(labels) - 1} for {len(labels)} labels")
    matrix = confusion_matrix(y_true, y_pred, labels=list(range(len(labels))))
    if normalize:
        matrix = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    size = 1.0 + 0.55 * len(labels)
    figure = Figure(figsize=(size + 1.5, size), layout="constrained")
    axis = figure.subplots()
    image = axis.imshow(matrix, cmap="Blues", vmin=0)
    figure.colorbar(image, ax=axis, label="share of the true class" if normalize else "count")
    ticks = range(len(labels))
    axis.set_xticks(ticks, labels, rotation=45, ha="right")
    axis.set_yticks(ticks, labels)
    axis.set(xlabel="predicted", ylabel="true", title=title or "confusion matrix")
    threshold = matrix.max() / 2
    for i in ticks:
        for j in ticks:
            text = f"{matrix[i, j]:.2f}" if normalize else f"{int(matrix[i, j])}"
            axis.text(j, i, text, ha="center", va="center", fontsize=8,
                      color="white" if matrix[i, j] > threshold else "black")
    return figure


def plot_zipf(counts, title: str = "") -> Figure:
    """Word frequency against frequency rank on log-log axes, with Zipf's 1/rank for scale."""
    values = np.array(sorted(counts.values() if isinstance(counts, Counter) else counts, reverse=True),
                      dtype=float)
    if values.size == 0:
        raise ValueError("plot_zipf needs at least one count")
    ranks = np.arange(1, values.size + 1)
    figure = Figure(figsize=(6, 4), layout="constrained")
    axis = figure.subplots()
    axis.loglog(ranks, values, label="observed")
    axis.loglog(ranks, values[0] / ranks, "--", color="grey", label="count ∝ 1 / rank")
    axis.set(xlabel="rank of the word", ylabel="count in the training split",
             title=title or "Zipf's law")
    axis.legend()
    return figure


def plot_embeddings_2d(vectors: np.ndarray, words: Sequence[str], title: str = "") -> Figure:
    """Word vectors projected on their first two principal components, each point labelled."""
    vectors = np.asarray(vectors, dtype=float)
    if vectors.ndim != 2 or len(vectors) != len(words) or len(words) < 2:
        raise ValueError("plot_embeddings_2d needs an [N, d] array and N >= 2 matching words")
    centred = vectors - vectors.mean(axis=0)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    points = centred @ components[:2].T
    figure = Figure(figsize=(6, 5), layout="constrained")
    axis = figure.subplots()
    axis.scatter(points[:, 0], points[:, 1], s=12)
    for (x, y), word in zip(points, words):
        axis.annotate(word, (x, y), fontsize=9, xytext=(3, 3), textcoords="offset points")
    axis.set(xlabel="first principal component", ylabel="second principal component",
             title=title or "word vectors in 2-D (PCA)")
    return figure


def plot_lstm_step() -> Figure:
    """A diagram of one LSTM step: the four gates computed from ``x_t`` and ``h_{t-1}``, the cell
    state line from ``c_{t-1}`` to ``c_t`` (forget ×, input ×, +) and the output ``h_t``."""
    figure = Figure(figsize=(8, 4.2), layout="constrained")
    axis = figure.subplots()
    axis.set(xlim=(-0.2, 11.6), ylim=(-0.7, 5.8), title="one step of an LSTM")
    axis.axis("off")

    def arrow(start, end, **style):
        axis.annotate("", xy=end, xytext=start,
                      arrowprops=dict(arrowstyle="-|>", color="black", lw=1.2,
                                      shrinkA=0, shrinkB=0, **style))

    def node(xy, label):
        axis.text(*xy, label, ha="center", va="center", fontsize=11, zorder=3,
                  bbox=dict(boxstyle="circle,pad=0.25", facecolor="white", edgecolor="black"))

    gates = {"f": (3.0, "σ", "forget", "tab:red"), "i": (4.6, "σ", "input", "tab:green"),
             "g": (6.0, "tanh", "candidate", "tab:orange"), "o": (7.6, "σ", "output", "tab:blue")}
    bus, gate_y, cell_y = 0.6, 2.2, 5.0
    axis.plot([0.6, 7.6], [bus, bus], color="black", lw=1.2)              # [x_t, h_{t-1}] bus
    axis.text(0.0, bus, "$h_{t-1}$", ha="right", va="center", fontsize=12)
    axis.plot([0.0, 0.6], [bus, bus], color="black", lw=1.2)
    arrow((1.6, -0.45), (1.6, bus))
    axis.text(1.6, -0.55, "$x_t$", ha="center", va="top", fontsize=12)
    for name, (x, squash, role, colour) in gates.items():
        arrow((x, bus), (x, gate_y - 0.35))
        axis.text(x, gate_y, f"{role}\n{squash}: ${name}_t$", ha="center", va="center",
                  fontsize=9, bbox=dict(boxstyle="round,pad=0.3", facecolor=colour, alpha=0.35,
                                        edgecolor=colour))
    # the cell state line: c_{t-1} -> (x f_t) -> (+ i_t * g_t) -> c_t
    axis.text(0.0, cell_y, "$c_{t-1}$", ha="right", va="center", fontsize=12)
    arrow((0.0, cell_y), (2.8, cell_y))
    node((3.0, cell_y), "×")
    arrow((3.0, gate_y + 0.4), (3.0, cell_y - 0.25))
    arrow((3.2, cell_y), (5.8, cell_y))
    node((6.0, 3.6), "×")
    arrow((4.6, gate_y + 0.4), (5.8, 3.5))
    arrow((6.0, gate_y + 0.4), (6.0, 3.35))
    node((6.0, cell_y), "+")
    arrow((6.0, 3.85), (6.0, cell_y - 0.25))
    arrow((6.2, cell_y), (11.0, cell_y))
    axis.text(11.1, cell_y, "$c_t$", ha="left", va="center", fontsize=12)
    # the output: h_t = o_t * tanh(c_t)
    node((9.2, 3.6), "tanh")
    arrow((9.2, cell_y), (9.2, 3.95))
    node((9.2, gate_y), "×")
    arrow((9.2, 3.25), (9.2, gate_y + 0.25))
    arrow((8.25, gate_y), (9.0, gate_y))
    arrow((9.4, gate_y), (11.0, gate_y))
    axis.text(11.1, gate_y, "$h_t$", ha="left", va="center", fontsize=12)
    return figure
