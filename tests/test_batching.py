"""Tests for `nlpcourse.batching`: padding, buckets, the last real state, LengthAwareLSTM.

The reference for every LSTM result is PyTorch's own `pack_padded_sequence` through an
`nn.LSTM` with the same weights.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

from nlpcourse.batching import (
    BucketBatchSampler,
    LengthAwareLSTM,
    last_hidden,
    pad_collate,
    padding_fraction,
    reverse_within_length,
)


pytestmark = pytest.mark.usefixtures("one_torch_thread")

# --- pad_collate -----------------------------------------------------------------------------


def test_pad_collate_matches_pad_sequence():
    ids = [[5, 6, 7], [8], [9, 10, 11, 12], [13, 14]]
    batch = [(seq, i) for i, seq in enumerate(ids)]
    padded, lengths, labels = pad_collate(batch)
    expected = pad_sequence([torch.tensor(s) for s in ids], batch_first=True, padding_value=0)
    assert padded.dtype == torch.long
    assert torch.equal(padded, expected)
    assert lengths.dtype == torch.long
    assert lengths.tolist() == [3, 1, 4, 2]
    assert torch.equal(labels, torch.tensor([0, 1, 2, 3]))


def test_pad_collate_custom_pad_index_and_tensor_input():
    batch = [(torch.tensor([5, 6]), 1), (torch.tensor([7]), 0)]
    padded, lengths, _ = pad_collate(batch, pad_index=3)
    assert padded.tolist() == [[5, 6], [7, 3]]
    assert lengths.tolist() == [2, 1]


def test_pad_collate_int_labels_are_long():
    _, _, labels = pad_collate([([1, 2], 2), ([3], 0), ([4], np.int64(5)), ([5], torch.tensor(1))])
    assert labels.dtype == torch.long
    assert labels.tolist() == [2, 0, 5, 1]


def test_pad_collate_float_labels_are_float():
    _, _, labels = pad_collate([([1, 2], 1.0), ([3], 0.0), ([4], np.float32(1.0))])
    assert labels.dtype == torch.float
    assert labels.tolist() == [1.0, 0.0, 1.0]


def test_pad_collate_tags_padded_with_minus_100():
    batch = [([1, 2, 3], [4, 5, 6]), ([7], [8]), ([9, 10], (11, 12))]
    padded, lengths, tags = pad_collate(batch)
    assert tags.dtype == torch.long
    assert tags.tolist() == [[4, 5, 6], [8, -100, -100], [11, 12, -100]]
    assert tags.shape == padded.shape
    # padding of tags is exactly where the tokens are padded
    assert torch.equal(tags == -100, torch.arange(3) >= lengths.unsqueeze(1))


def test_pad_collate_tags_custom_pad():
    _, _, tags = pad_collate([([1, 2], [3, 4]), ([5], [6])], label_pad_index=-1)
    assert tags.tolist() == [[3, 4], [6, -1]]


def test_pad_collate_zero_length_names_the_example():
    with pytest.raises(ValueError, match=r"examples \[1\]"):
        pad_collate([([1, 2], 0), ([], 1), ([3], 0)])


def test_pad_collate_empty_batch():
    with pytest.raises(ValueError, match="empty batch"):
        pad_collate([])


@pytest.mark.parametrize("labels", [["pos", "neg"], [None, None], [1, "neg"]])
def test_pad_collate_wrong_label_types(labels):
    with pytest.raises(TypeError, match="labels"):
        pad_collate([([1, 2], labels[0]), ([3], labels[1])])


def test_pad_collate_tag_length_mismatch():
    with pytest.raises(ValueError, match="example 1: 2 tokens but 3 tags"):
        pad_collate([([1], [2]), ([3, 4], [5, 6, 7])])


def test_pad_collate_in_a_dataloader():
    data = [([1] * n, n % 2) for n in (3, 1, 4, 1, 5)]
    loader = torch.utils.data.DataLoader(data, batch_size=2, collate_fn=pad_collate)
    shapes = [tuple(padded.shape) for padded, _, _ in loader]
    assert shapes == [(2, 3), (2, 4), (1, 5)]


# --- BucketBatchSampler and padding_fraction -------------------------------------------------


def skewed_lengths(n=2_000, seed=0):
    rng = np.random.default_rng(seed)
    return (1 + rng.lognormal(mean=3.5, sigma=0.8, size=n)).astype(int).tolist()


def test_padding_fraction_hand_example():
    # batches [3, 1] and [2, 2]: 10 positions, 8 real tokens
    assert padding_fraction([[3, 1], [2, 2]]) == pytest.approx(0.2)
    assert padding_fraction([[4, 4, 4]]) == 0.0
    assert padding_fraction([(5, 1)]) == pytest.approx(0.4)


def test_padding_fraction_needs_a_batch():
    with pytest.raises(ValueError):
        padding_fraction([])


def test_bucket_sampler_every_index_once_per_epoch():
    lengths = skewed_lengths(1_003)
    sampler = BucketBatchSampler(lengths, batch_size=32, seed=1)
    for _ in range(3):
        batches = list(sampler)
        flat = [i for batch in batches for i in batch]
        assert sorted(flat) == list(range(len(lengths)))
        assert len(batches) == len(sampler) == 32  # ceil(1003 / 32)
        sizes = sorted(len(b) for b in batches)
        assert sizes[0] == 1003 % 32 and set(sizes[1:]) == {32}


def test_bucket_sampler_order_changes_but_is_reproducible():
    lengths = skewed_lengths(500)
    sampler = BucketBatchSampler(lengths, batch_size=16, seed=3)
    first, second = list(sampler), list(sampler)
    assert first != second
    again = BucketBatchSampler(lengths, batch_size=16, seed=3)
    assert list(again) == first
    assert list(BucketBatchSampler(lengths, batch_size=16, seed=4)) != first


def test_bucket_sampler_less_padding_than_random_batches():
    lengths = skewed_lengths(2_000)
    sampler = BucketBatchSampler(lengths, batch_size=32, seed=0)
    bucketed = padding_fraction([[lengths[i] for i in batch] for batch in sampler])
    order = torch.randperm(len(lengths), generator=torch.Generator().manual_seed(0)).tolist()
    random_batches = [[lengths[i] for i in order[s:s + 32]] for s in range(0, len(order), 32)]
    shuffled = padding_fraction(random_batches)
    assert shuffled > 0.3  # the lengths really are skewed
    assert bucketed < shuffled / 3, (bucketed, shuffled)


def test_bucket_sampler_without_shuffle_is_sorted():
    lengths = skewed_lengths(300)
    sampler = BucketBatchSampler(lengths, batch_size=25, shuffle=False)
    batches = list(sampler)
    assert batches == list(sampler)  # the same every epoch
    flat = [i for batch in batches for i in batch]
    assert sorted(flat) == list(range(300))
    assert [lengths[i] for i in flat] == sorted(lengths)
    assert [len(b) for b in batches] == [25] * 12


def test_bucket_sampler_rejects_bad_batch_size():
    with pytest.raises(ValueError, match="batch_size"):
        BucketBatchSampler([1, 2, 3], batch_size=0)


def test_bucket_sampler_with_dataloader():
    lengths = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3]
    data = [([7] * n, n % 2) for n in lengths]
    loader = torch.utils.data.DataLoader(data, batch_sampler=BucketBatchSampler(lengths, 4, seed=0),
                                         collate_fn=pad_collate)
    seen = sorted(n for _, batch_lengths, _ in loader for n in batch_lengths.tolist())
    assert seen == sorted(lengths)


# --- last_hidden and reverse_within_length ---------------------------------------------------


def test_last_hidden_hand_example():
    outputs = torch.arange(2 * 4 * 2, dtype=torch.float).view(2, 4, 2)  # [B=2, T=4, 2]
    lengths = torch.tensor([3, 1])
    assert last_hidden(outputs, lengths).tolist() == [outputs[0, 2].tolist(), outputs[1, 0].tolist()]
    # bidirectional, H=1: forward half at the last real token, backward half at position 0
    both = last_hidden(outputs, lengths, bidirectional=True)
    assert both.tolist() == [[outputs[0, 2, 0].item(), outputs[0, 0, 1].item()],
                             [outputs[1, 0, 0].item(), outputs[1, 0, 1].item()]]


def test_last_hidden_odd_features_bidirectional():
    with pytest.raises(ValueError, match="even"):
        last_hidden(torch.zeros(2, 3, 5), torch.tensor([1, 3]), bidirectional=True)


@pytest.mark.parametrize("lengths", [[0, 3], [2, 5], [-1, 1]])
def test_invalid_lengths(lengths):
    outputs = torch.zeros(2, 4, 6)
    with pytest.raises(ValueError, match="between 1 and 4"):
        last_hidden(outputs, torch.tensor(lengths))
    with pytest.raises(ValueError, match="between 1 and 4"):
        reverse_within_length(outputs, torch.tensor(lengths))
    with pytest.raises(ValueError, match="between 1 and 4"):
        LengthAwareLSTM(6, 3)(outputs, torch.tensor(lengths))


def test_reverse_within_length_hand_example():
    x = torch.tensor([[1, 2, 3, 0], [4, 5, 0, 0], [6, 7, 8, 9], [10, 0, 0, 0]])
    lengths = torch.tensor([3, 2, 4, 1])
    assert reverse_within_length(x, lengths).tolist() == [
        [3, 2, 1, 0], [5, 4, 0, 0], [9, 8, 7, 6], [10, 0, 0, 0]]


def test_reverse_within_length_twice_is_identity():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(7, 9, 3, 2, generator=generator)
    lengths = torch.randint(1, 10, (7,), generator=generator)
    once = reverse_within_length(x, lengths)
    assert not torch.equal(once, x)
    assert torch.equal(reverse_within_length(once, lengths), x)
    # positions after each length are untouched
    for row, n in enumerate(lengths.tolist()):
        assert torch.equal(once[row, n:], x[row, n:])
        assert torch.equal(once[row, :n], x[row, :n].flip(0))


# --- LengthAwareLSTM against pack_padded_sequence through nn.LSTM ----------------------------

INPUT, HIDDEN, BATCH, STEPS = 5, 4, 7, 9


def random_batch(seed):
    generator = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, STEPS + 1, (BATCH,), generator=generator)
    lengths[0], lengths[1] = 1, STEPS  # always a one-token and a full-length sentence
    x = torch.randn(BATCH, STEPS, INPUT, generator=generator)
    x = x * (torch.arange(STEPS) < lengths.unsqueeze(1)).unsqueeze(-1)  # zero padding, as embeddings of <pad> may be
    x[2:, :, :] += 0.5 * (torch.arange(STEPS) >= lengths[2:].unsqueeze(1)).unsqueeze(-1)  # non-zero padding too
    return x, lengths


def make_pair(seed, num_layers=2, bidirectional=True, path="exact"):
    torch.manual_seed(seed)
    reference = nn.LSTM(INPUT, HIDDEN, num_layers=num_layers, bidirectional=bidirectional, batch_first=True)
    ours = LengthAwareLSTM(INPUT, HIDDEN, num_layers=num_layers, bidirectional=bidirectional, path=path)
    return reference, ours.load_from_lstm(reference)


def reference_forward(lstm, x, lengths):
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    out, (h_n, _) = lstm(packed)
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
    sentence = torch.cat([h_n[-2], h_n[-1]], dim=1) if lstm.bidirectional else h_n[-1]
    return out, sentence


def weighted_sum(outputs, sentence, seed):
    generator = torch.Generator().manual_seed(1_000 + seed)
    return ((outputs * torch.randn(outputs.shape, generator=generator)).sum()
            + (sentence * torch.randn(sentence.shape, generator=generator)).sum())


def paired_parameters(reference, ours):
    for depth, directions in enumerate(ours.layers):
        for d, module in enumerate(directions):
            suffix = f"_l{depth}" + ("_reverse" if d else "")
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                yield name + suffix, getattr(reference, name + suffix), getattr(module, f"{name}_l0")


@pytest.mark.parametrize("path", ["exact", "packed"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_packed_nn_lstm_bidirectional_two_layers(path, seed):
    reference, ours = make_pair(seed, path=path)
    x, lengths = random_batch(seed)
    x_ref, x_ours = x.clone().requires_grad_(), x.clone().requires_grad_()

    expected_out, expected_sentence = reference_forward(reference, x_ref, lengths)
    out, sentence = ours(x_ours, lengths)
    assert out.shape == (BATCH, STEPS, 2 * HIDDEN) and sentence.shape == (BATCH, 2 * HIDDEN)
    torch.testing.assert_close(out, expected_out, atol=1e-5, rtol=0)
    torch.testing.assert_close(sentence, expected_sentence, atol=1e-5, rtol=0)
    # the sentence is also last_hidden of the reference's own outputs
    torch.testing.assert_close(last_hidden(expected_out, lengths, bidirectional=True), expected_sentence,
                               atol=1e-6, rtol=0)

    weighted_sum(expected_out, expected_sentence, seed).backward()
    weighted_sum(out, sentence, seed).backward()
    torch.testing.assert_close(x_ours.grad, x_ref.grad, atol=1e-5, rtol=0)
    for name, ref_param, our_param in paired_parameters(reference, ours):
        torch.testing.assert_close(our_param.grad, ref_param.grad, atol=1e-5, rtol=0, msg=name)


@pytest.mark.parametrize("path", ["exact", "packed", "padded"])
def test_unidirectional_matches_packed(path):
    # one direction never reads padding before a real token, so even the naive path agrees
    reference, ours = make_pair(5, num_layers=2, bidirectional=False, path=path)
    x, lengths = random_batch(5)
    expected_out, expected_sentence = reference_forward(reference, x, lengths)
    out, sentence = ours(x, lengths)
    torch.testing.assert_close(out, expected_out, atol=1e-5, rtol=0)
    torch.testing.assert_close(sentence, expected_sentence, atol=1e-5, rtol=0)


@pytest.mark.parametrize("path", ["exact", "packed", "padded", "auto"])
def test_outputs_are_zero_at_padding(path):
    _, ours = make_pair(0, path=path)
    x, lengths = random_batch(0)
    out, _ = ours(x, lengths)
    padding = torch.arange(STEPS) >= lengths.unsqueeze(1)
    assert padding.any()
    assert torch.all(out[padding] == 0)
    assert torch.all(out[~padding].abs().sum(-1) > 0)


def test_padded_path_differs_for_bidirectional():
    reference, ours = make_pair(0, path="padded")
    x, lengths = random_batch(0)
    expected_out, expected_sentence = reference_forward(reference, x, lengths)
    out, sentence = ours(x, lengths)
    short = lengths < STEPS
    # the backward direction started in the padding: the sentences that have padding differ ...
    per_sentence = (sentence - expected_sentence).abs().amax(dim=1)
    assert torch.all(per_sentence[short] > 1e-3), per_sentence
    assert not torch.allclose(out, expected_out, atol=1e-3)
    # ... and a full-length sentence reads no padding, so it agrees
    torch.testing.assert_close(sentence[~short], expected_sentence[~short], atol=1e-5, rtol=0)


def test_auto_is_exact_on_cpu():
    _, exact = make_pair(2, path="exact")
    _, auto = make_pair(2, path="auto")
    x, lengths = random_batch(2)
    out_exact, sentence_exact = exact(x, lengths)
    out_auto, sentence_auto = auto(x, lengths)
    assert torch.equal(out_auto, out_exact) and torch.equal(sentence_auto, sentence_exact)


def test_invalid_path():
    with pytest.raises(ValueError, match="path must be one of"):
        LengthAwareLSTM(INPUT, HIDDEN, path="fast")


@pytest.mark.parametrize("num_layers, bidirectional", [(1, False), (1, True), (2, True), (3, False)])
def test_parameter_count_equals_nn_lstm(num_layers, bidirectional):
    ours = LengthAwareLSTM(INPUT, HIDDEN, num_layers=num_layers, bidirectional=bidirectional)
    reference = nn.LSTM(INPUT, HIDDEN, num_layers=num_layers, bidirectional=bidirectional)
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in reference.parameters())
