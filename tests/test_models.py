"""The library's copies of the IMDB lab's embedding matrix and classifier, and of the 20 Newsgroups
lab's attention pooling."""

from __future__ import annotations

import numpy as np
import torch
from gensim.models import KeyedVectors
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from nlpcourse import batching, models


def test_glove_matrix_rows():
    glove = KeyedVectors(vector_size=3)
    glove.add_vectors(["good", "film"], np.array([[1, 2, 3], [4, 5, 6]], dtype=np.float32))
    itos = ["<pad>", "<unk>", "film", "zorp", "good"]
    first = models.glove_embedding_matrix(itos, glove, 0, 1, generator=torch.Generator().manual_seed(0))
    again = models.glove_embedding_matrix(itos, glove, 0, 1, generator=torch.Generator().manual_seed(0))
    assert first.shape == (5, 3) and first.dtype == torch.float32
    assert torch.equal(first, again), "the generator makes the random rows repeatable"
    assert torch.equal(first[2], torch.tensor([4.0, 5, 6])) and torch.equal(first[4], torch.tensor([1.0, 2, 3]))
    assert not first[0].any() and not first[1].any(), "<pad> and <unk> rows are zero"
    assert first[3].abs().sum() > 0, "an unknown word gets a random row"


def test_adapted_embeddings_and_averaged_documents():
    vectors = KeyedVectors(vector_size=2)
    vectors.add_vectors(["<pad>", "good", "film"], np.array([[9, 9], [1, 2], [3, 6]], dtype=np.float32))
    itos = ["<pad>", "<unk>", "film", "zorp", "good"]
    matrix = models.adapted_embeddings(vectors, itos)
    assert matrix.dtype == np.float32
    assert matrix.tolist() == [[0, 0], [0, 0], [3, 6], [0, 0], [1, 2]], "zero rows: specials, unknown words"
    stoi = {word: i for i, word in enumerate(itos)}
    means = models.sentence_representations([["good", "film"], ["film", "never-seen"]], stoi, matrix)
    assert means.tolist() == [[2, 4], [1.5, 3]], "the mean of the rows; unknown words take <unk>'s row"


def test_transformer_ignores_the_padding():
    torch.manual_seed(0)
    model = models.TransformerClassifier(30, 8, 16, 2, 2, 32, 0.0, 12, 0).eval()
    padded, lengths, _ = batching.pad_collate([([3, 4, 5, 6], 1.0), ([7, 8], 0.0)])
    with torch.no_grad():
        logits = model(padded, lengths)
        more_padding = model(torch.cat([padded, torch.zeros(2, 5, dtype=torch.long)], 1), lengths)
        alone = model(torch.tensor([[7, 8]]), torch.tensor([2]))
    assert logits.shape == (2,) and alone.shape == (1,)
    assert torch.allclose(more_padding, logits, atol=1e-5) and torch.allclose(alone, logits[1:], atol=1e-5)


def test_classifier_reads_the_packed_final_states():
    torch.manual_seed(0)
    fresh = models.BiLSTMClassifier(30, 6, 4, 1, num_layers=2, bidirectional=True, dropout=0.0, pad_index=0)
    for directions in fresh.rnn.layers:
        for lstm in directions:
            assert torch.all(lstm.bias_ih_l0[4:8] == 1.0), "the forget gates start open (bias 1)"
    model = models.BiLSTMClassifier(30, 6, 4, 1, num_layers=2, bidirectional=True, dropout=0.0, pad_index=0,
                                    path="exact").eval()
    reference = nn.LSTM(6, 4, num_layers=2, batch_first=True, bidirectional=True)
    model.rnn.load_from_lstm(reference)
    padded, lengths, _ = batching.pad_collate([([5, 6, 7, 8], 0.0), ([9, 10], 1.0), ([11], 0.0)])
    with torch.no_grad():
        packed = pack_padded_sequence(model.embedding(padded), lengths, batch_first=True, enforce_sorted=False)
        _, (h_n, _) = reference(packed)
        expected = model.fc(torch.cat([h_n[-2], h_n[-1]], dim=1)).squeeze(-1)
        assert torch.allclose(model(padded, lengths), expected, atol=1e-5)


def test_attention_pool_weighs_the_real_states_only():
    torch.manual_seed(0)
    pool = models.AttentionPool(3)
    outputs, lengths = torch.randn(3, 5, 3), torch.tensor([5, 2, 1])
    outputs[1, 2:] = 1000.0                                   # padding that would win every softmax
    pooled, weights = pool(outputs, lengths)
    assert pooled.shape == (3, 3) and weights.shape == (3, 5)
    for b, n in enumerate(lengths.tolist()):
        alone = torch.softmax(pool.score(outputs[b, :n]).squeeze(-1), dim=0)
        assert torch.allclose(weights[b, :n], alone) and not weights[b, n:].any()
        assert torch.allclose(pooled[b], alone @ outputs[b, :n])
    assert torch.allclose(pooled[2], outputs[2, 0]), "one real state: all the weight on it"
