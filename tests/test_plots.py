"""Tests for `nlpcourse.plots`: each function returns a labelled Figure, and refuses bad input."""

from __future__ import annotations

from collections import Counter

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from nlpcourse import plots
from nlpcourse.training import History


def make_history(best_epoch=2):
    return History(epoch=[1, 2, 3], train_loss=[0.9, 0.5, 0.3], train_acc=[0.6, 0.8, 0.9],
                   valid_loss=[0.8, 0.6, 0.7], valid_acc=[0.65, 0.75, 0.74],
                   epoch_time=[1.0, 1.1, 1.0], best_epoch=best_epoch)


def test_plot_history_axes_and_data():
    history = make_history()
    figure = plots.plot_history(history, title="day 3")
    assert isinstance(figure, Figure)
    loss_axis, acc_axis = figure.axes
    assert (loss_axis.get_xlabel(), loss_axis.get_ylabel(), loss_axis.get_title()) == (
        "epoch", "loss", "loss per epoch")
    assert (acc_axis.get_xlabel(), acc_axis.get_ylabel(), acc_axis.get_title()) == (
        "epoch", "accuracy", "accuracy per epoch")
    assert figure._suptitle.get_text() == "day 3"
    lines = {line.get_label(): line for line in loss_axis.get_lines()}
    assert list(lines["training"].get_ydata()) == history.train_loss
    assert list(lines["validation"].get_ydata()) == history.valid_loss
    assert list(lines["best epoch"].get_xdata()) == [2, 2]
    acc_lines = {line.get_label(): line for line in acc_axis.get_lines()}
    assert list(acc_lines["validation"].get_ydata()) == history.valid_acc
    assert [t.get_text() for t in loss_axis.get_legend().get_texts()] == ["training", "validation", "best epoch"]


def test_plot_history_without_best_epoch_or_title():
    figure = plots.plot_history(make_history(best_epoch=None))
    assert figure._suptitle is None
    assert "best epoch" not in [line.get_label() for line in figure.axes[0].get_lines()]


def test_figures_are_not_kept_by_pyplot():
    before = plt.get_fignums()
    plots.plot_history(make_history())
    plots.plot_zipf([3, 2, 1])
    assert plt.get_fignums() == before


def test_plot_confusion_matrix_normalised():
    y_true = [0, 0, 0, 1, 1, 2]
    y_pred = [0, 0, 1, 1, 1, 0]
    figure = plots.plot_confusion_matrix(y_true, y_pred, ["pos", "neg", "neutral"])
    assert isinstance(figure, Figure)
    axis = figure.axes[0]
    assert (axis.get_xlabel(), axis.get_ylabel(), axis.get_title()) == ("predicted", "true", "confusion matrix")
    assert [t.get_text() for t in axis.get_xticklabels()] == ["pos", "neg", "neutral"]
    assert [t.get_text() for t in axis.get_yticklabels()] == ["pos", "neg", "neutral"]
    matrix = np.asarray(axis.images[0].get_array())
    np.testing.assert_allclose(matrix, [[2 / 3, 1 / 3, 0], [0, 1, 0], [1, 0, 0]])
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0)
    assert len(axis.texts) == 9 and axis.texts[0].get_text() == "0.67"
    assert figure.axes[1].get_ylabel() == "share of the true class"  # the colour bar


def test_plot_confusion_matrix_counts_and_title():
    figure = plots.plot_confusion_matrix([0, 1, 1], [1, 1, 1], ["a", "b"], normalize=False, title="counts")
    axis = figure.axes[0]
    assert axis.get_title() == "counts"
    np.testing.assert_array_equal(axis.images[0].get_array(), [[0, 1], [0, 2]])
    assert [t.get_text() for t in axis.texts] == ["0", "1", "0", "2"]
    assert figure.axes[1].get_ylabel() == "count"


def test_plot_confusion_matrix_class_without_examples():
    # a class that never occurs as the truth gives a row of zeros, not a division by zero
    figure = plots.plot_confusion_matrix([0, 0], [0, 1], ["a", "b"])
    np.testing.assert_allclose(figure.axes[0].images[0].get_array(), [[0.5, 0.5], [0, 0]])


def test_plot_confusion_matrix_bad_input():
    with pytest.raises(ValueError):
        plots.plot_confusion_matrix([0, 1], [0], ["a", "b"])
    with pytest.raises(ValueError):
        plots.plot_confusion_matrix([], [], ["a", "b"])


@pytest.mark.parametrize("counts", [Counter({"the": 50, "a": 30, "film": 10, "rare": 1}), [10, 1, 50, 30]])
def test_plot_zipf(counts):
    figure = plots.plot_zipf(counts)
    assert isinstance(figure, Figure)
    axis = figure.axes[0]
    assert axis.get_xscale() == "log" and axis.get_yscale() == "log"
    assert axis.get_xlabel() == "rank of the word"
    assert axis.get_ylabel() == "count in the training split"
    assert axis.get_title() == "Zipf's law"
    observed, zipf = axis.get_lines()
    assert list(observed.get_xdata()) == [1, 2, 3, 4]
    assert list(observed.get_ydata()) == sorted([50, 30, 10, 1] if isinstance(counts, Counter) else counts,
                                                reverse=True)
    np.testing.assert_allclose(zipf.get_ydata(), 50 / np.arange(1, 5))


def test_plot_zipf_title():
    assert plots.plot_zipf([5, 2], title="IMDB").axes[0].get_title() == "IMDB"


@pytest.mark.parametrize("counts", [Counter(), []])
def test_plot_zipf_empty(counts):
    with pytest.raises(ValueError, match="at least one count"):
        plots.plot_zipf(counts)


def test_plot_embeddings_2d():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(5, 8))
    words = ["good", "great", "bad", "awful", "film"]
    figure = plots.plot_embeddings_2d(vectors, words)
    assert isinstance(figure, Figure)
    axis = figure.axes[0]
    assert axis.get_xlabel() == "first principal component"
    assert axis.get_ylabel() == "second principal component"
    assert axis.get_title() == "word vectors in 2-D (PCA)"
    assert [t.get_text() for t in axis.texts] == words
    points = axis.collections[0].get_offsets()
    assert points.shape == (5, 2)
    np.testing.assert_allclose(np.asarray(points).mean(axis=0), 0, atol=1e-12)  # PCA of centred vectors
    assert plots.plot_embeddings_2d(vectors, words, title="GloVe").axes[0].get_title() == "GloVe"


@pytest.mark.parametrize("vectors, words", [
    (np.zeros((3, 4)), ["a", "b"]),          # mismatched
    (np.zeros((2, 4)), ["a", "b", "c"]),     # mismatched
    (np.zeros(4), ["a", "b", "c", "d"]),     # not [N, d]
    (np.zeros((1, 4)), ["a"]),               # one point has no principal components
])
def test_plot_embeddings_2d_bad_input(vectors, words):
    with pytest.raises(ValueError, match="matching words"):
        plots.plot_embeddings_2d(vectors, words)


def test_plot_lstm_step_draws_the_four_gates_and_both_states():
    figure = plots.plot_lstm_step()
    assert isinstance(figure, Figure)
    texts = " ".join(text.get_text() for text in figure.axes[0].texts)
    for label in ("$f_t$", "$i_t$", "$g_t$", "$o_t$", "$c_{t-1}$", "$c_t$", "$h_{t-1}$", "$h_t$",
                  "$x_t$", "forget", "input", "candidate", "output"):
        assert label in texts, label
    assert figure.axes[0].get_title() == "one step of an LSTM"
