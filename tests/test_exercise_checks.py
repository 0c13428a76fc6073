"""The helper that runs a learner's exercise with its ready-made twins switched off."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import rnn

from nlpcourse import training
from nlpcourse.exercise_checks import SPELLINGS, _resolve, forbidden, references, spellings

Z = torch.randn(3, 4, generator=torch.Generator().manual_seed(0))
Y = torch.tensor([0, 3, 1])
LINEAR = nn.Linear(2, 2)
PADDED, LENGTHS = torch.tensor([[1, 2], [3, 0]]), torch.tensor([2, 1])



def _with_grads() -> list[torch.Tensor]:
    """Two parameters with gradients, for the gradient-clipping twins."""
    params = [torch.ones(3, requires_grad=True), torch.ones(2, 2, requires_grad=True)]
    for p in params:
        p.grad = torch.full_like(p, 2.0)
    return params


# Each way a learner could hand the exercise to its twin, and the twin it must be refused as.
DELEGATIONS = {
    "torch.log_softmax": ("log_softmax", lambda: torch.log_softmax(Z, dim=1)),
    "torch.special.log_softmax": ("log_softmax", lambda: torch.special.log_softmax(Z, dim=1)),
    "F.log_softmax": ("log_softmax", lambda: F.log_softmax(Z, dim=1)),
    "Tensor.log_softmax": ("log_softmax", lambda: Z.log_softmax(dim=1)),
    "nn.LogSoftmax": ("log_softmax", lambda: nn.LogSoftmax(dim=1)(Z)),
    "torch.logsumexp": ("logsumexp", lambda: torch.logsumexp(Z, dim=1)),
    "torch.special.logsumexp": ("logsumexp", lambda: torch.special.logsumexp(Z, dim=1)),
    "Tensor.logsumexp": ("logsumexp", lambda: Z.logsumexp(dim=1)),
    "F.nll_loss": ("nll_loss", lambda: F.nll_loss(Z, Y)),
    "nn.NLLLoss": ("nll_loss", lambda: nn.NLLLoss()(Z, Y)),
    "F.cross_entropy": ("cross_entropy", lambda: F.cross_entropy(Z, Y, ignore_index=3)),
    "nn.CrossEntropyLoss": ("cross_entropy", lambda: nn.CrossEntropyLoss(ignore_index=3)(Z, Y)),
    "pack_padded_sequence": ("pack_padded_sequence", lambda: rnn.pack_padded_sequence(PADDED, LENGTHS,
                                                                                      batch_first=True)),
    "torch._VF": ("pack_padded_sequence", lambda: torch._VF._pack_padded_sequence(PADDED.t(), LENGTHS, False)),
    "torch._pack_padded_sequence": ("pack_padded_sequence",
                                    lambda: torch._pack_padded_sequence(PADDED.t(), LENGTHS, False)),
    "pack_sequence": ("pack_sequence", lambda: rnn.pack_sequence([torch.ones(3), torch.ones(1)])),
    "PackedSequence": ("PackedSequence", lambda: rnn.PackedSequence(torch.tensor([1, 3, 2]), LENGTHS)),
    "clip_grad_norm_": ("clip_grad_norm", lambda: torch.nn.utils.clip_grad_norm_(_with_grads(), 1.0)),
    "clip_grad_norm": ("clip_grad_norm", lambda: torch.nn.utils.clip_grad_norm(_with_grads(), 1.0)),
    "clip_grad module": ("clip_grad_norm", lambda: torch.nn.utils.clip_grad.clip_grad_norm_(_with_grads(), 1.0)),
    "get_total_norm": ("clip_grad_norm", lambda: torch.nn.utils.get_total_norm([Z])),
    "clip_grads_with_norm_": ("clip_grad_norm",
                              lambda: torch.nn.utils.clip_grads_with_norm_(_with_grads(), 1.0, torch.tensor(2.0))),
    "course library": ("count_parameters", lambda: training.count_parameters(LINEAR)),
    "a built model": ("count_parameters", lambda: nn.Linear(2, 2)),
    "Module.parameters": ("count_parameters", lambda: sum(p.numel() for p in LINEAR.parameters())),
    "nn.LSTM": ("lstm", lambda: nn.LSTM(4, 3)(LSTM_X)),
    "nn.LSTMCell": ("lstm", lambda: LSTM_CELL(LSTM_X, LSTM_STATE)),
    "torch.lstm_cell": ("lstm", lambda: torch.lstm_cell(LSTM_X, LSTM_STATE, *LSTM_WEIGHTS)),
    "torch._VF.lstm_cell": ("lstm", lambda: torch._VF.lstm_cell(LSTM_X, LSTM_STATE, *LSTM_WEIGHTS)),
    "torch.ops.aten.lstm_cell": ("lstm", lambda: torch.ops.aten.lstm_cell(LSTM_X, LSTM_STATE, *LSTM_WEIGHTS)),
    # a whole sequence: (input [T, B, E], (h0, c0) [layers, B, H], weights, has_biases, num_layers,
    # dropout, train, bidirectional, batch_first)
    "torch.lstm": ("lstm", lambda: torch.lstm(LSTM_X.unsqueeze(1), (torch.zeros(1, 1, 3),) * 2,
                                              LSTM_WEIGHTS, True, 1, 0.0, False, False, False)),
    "torch._VF.lstm": ("lstm", lambda: torch._VF.lstm(LSTM_X.unsqueeze(1), (torch.zeros(1, 1, 3),) * 2,
                                                      LSTM_WEIGHTS, True, 1, 0.0, False, False, False)),
}

# The LSTM delegations' input, state and cell (E=4, H=3, a batch of 2); its stacked weights in
# nn.LSTMCell's order: weight_ih, weight_hh, bias_ih, bias_hh.
LSTM_X = torch.randn(2, 4, generator=torch.Generator().manual_seed(1))
LSTM_STATE = (torch.zeros(2, 3), torch.zeros(2, 3))
LSTM_CELL = nn.LSTMCell(4, 3)
LSTM_WEIGHTS = (LSTM_CELL.weight_ih, LSTM_CELL.weight_hh, LSTM_CELL.bias_ih, LSTM_CELL.bias_hh)


def test_every_spelling_resolves_to_something_callable():
    for name in SPELLINGS:
        for path in SPELLINGS[name]:
            owner, attribute = _resolve(path)
            assert callable(getattr(owner, attribute)), path


@pytest.mark.parametrize("spelling", sorted(DELEGATIONS))
def test_delegation_is_caught_through_each_spelling(spelling):
    twin, call = DELEGATIONS[spelling]
    call()  # works outside the block
    with pytest.raises(AssertionError, match=r"Exercise 9: calling \S+ is not allowed here; write this step yourself"):
        with forbidden(twin, exercise="Exercise 9", namespace={}):
            call()
    call()  # and again after it


def test_a_name_the_learner_bound_earlier_is_caught():
    namespace = {"my_lsm": torch.log_softmax, "other": torch.exp}
    with pytest.raises(AssertionError, match="torch.log_softmax is not allowed"):
        with forbidden("log_softmax", namespace=namespace):
            namespace["my_lsm"](Z, dim=1)
    assert namespace["my_lsm"] is torch.log_softmax and namespace["other"] is torch.exp


def test_a_swallowed_refusal_still_fails_the_block():
    with pytest.raises(AssertionError, match="Exercise 2: calling torch.nn.functional.nll_loss is not allowed"):
        with forbidden("nll_loss", exercise="Exercise 2", namespace={}):
            try:
                F.nll_loss(Z, Y)
            except Exception:  # noqa: BLE001 (what a learner might write)
                pass


def test_everything_is_restored_after_an_exception():
    before = {path: getattr(*_resolve(path)) for path in spellings(tuple(SPELLINGS))}
    own_tensor_attributes = set(vars(torch.Tensor))
    with pytest.raises(ZeroDivisionError):
        with forbidden(*SPELLINGS, namespace={}):
            1 / 0
    after = {path: getattr(*_resolve(path)) for path in before}
    assert all(after[path] is before[path] for path in before), "something stayed patched"
    assert set(vars(torch.Tensor)) == own_tensor_attributes, "a Tensor method was left in the subclass"
    assert torch.allclose(Z.log_softmax(dim=1), torch.log_softmax(Z, dim=1))


def test_the_learners_own_code_runs_untouched():
    def stable_log_softmax(z):
        shifted = z - z.amax(dim=1, keepdim=True)
        return shifted - shifted.exp().sum(dim=1, keepdim=True).log()

    with forbidden("log_softmax", "logsumexp", namespace={}):
        mine = stable_log_softmax(Z)
    assert torch.allclose(mine, torch.log_softmax(Z, dim=1), atol=1e-6)


def test_nested_blocks_restore_in_order():
    with forbidden("log_softmax", namespace={}):
        with forbidden("log_softmax", "logsumexp", namespace={}):
            pass
        assert torch.logsumexp(Z, dim=1).shape == (3,), "the inner block must give logsumexp back"
        assert getattr(torch.log_softmax, "__nlpcourse_refused__", None), "the outer block must still hold"
    assert torch.log_softmax(Z, dim=1).shape == (3, 4)


def test_an_unknown_twin_is_a_clear_error():
    with pytest.raises((ValueError, AttributeError)):
        with forbidden("torch.no_such_function_xyz", namespace={}):
            pass


def test_references_replace_the_learners_answers_inside_the_block_only():
    def mine():
        return "mine"

    namespace = {"helper": mine}
    with pytest.raises(ZeroDivisionError):
        with references(namespace, helper=lambda: "reference", absent=len):
            assert namespace["helper"]() == "reference" and namespace["absent"] is len
            1 / 0
    assert namespace == {"helper": mine}
