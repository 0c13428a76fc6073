"""The helper that runs a learner's exercise with its ready-made twins refused.

A hostile learner reaches a twin every way Python and PyTorch allow: bound earlier as a default
argument value, in a closure, through an alias or ``functools.partial``, through
``torch.ops.aten``, ``torch._C._VariableFunctions`` (``torch._VF``), a ``Tensor`` method, a
module's forward, the ``torch.special`` or ``F`` spelling, with torch functions switched off.
Each is refused; each honest answer (loops, other correct formulas) runs untouched.
"""

from __future__ import annotations

import functools
import re

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import rnn

from nlpcourse import training
from nlpcourse.exercise_checks import OPERATIONS, SPELLINGS, _resolve, checking, forbidden, spellings

Z = torch.randn(3, 4, generator=torch.Generator().manual_seed(0))
Y = torch.tensor([0, 3, 1])
PADDED, LENGTHS = torch.tensor([[1, 2], [3, 0]]), torch.tensor([2, 1])
LINEAR = nn.Linear(2, 2)
VF = torch._C._VariableFunctions
ATEN = torch.ops.aten

# The LSTM twins' input, state and cell (E=4, H=3, a batch of 2); its stacked weights in
# nn.LSTMCell's order: weight_ih, weight_hh, bias_ih, bias_hh.
LSTM_X = torch.randn(2, 4, generator=torch.Generator().manual_seed(1))
LSTM_STATE = (torch.zeros(2, 3), torch.zeros(2, 3))
LSTM_CELL = nn.LSTMCell(4, 3)
LSTM_WEIGHTS = (LSTM_CELL.weight_ih, LSTM_CELL.weight_hh, LSTM_CELL.bias_ih, LSTM_CELL.bias_hh)
# a whole sequence: (input [T, B, E], (h0, c0) [layers, B, H], weights, has_biases, num_layers,
# dropout, train, bidirectional, batch_first)
LSTM_SEQUENCE = (LSTM_X.unsqueeze(1), (torch.zeros(1, 1, 3),) * 2, LSTM_WEIGHTS, True, 1, 0.0, False, False, False)


def _with_grads() -> list[torch.Tensor]:
    """Two parameters with gradients, for the gradient-clipping twins."""
    params = [torch.ones(3, requires_grad=True), torch.ones(2, 2, requires_grad=True)]
    for p in params:
        p.grad = torch.full_like(p, 2.0)
    return params


def _grads() -> list[torch.Tensor]:
    return [p.grad for p in _with_grads()]


def _count_by_parameters(model_parameters) -> int:
    return sum(p.numel() for p in model_parameters())


@torch.jit.script
def _scripted_log_softmax(z: torch.Tensor, dim: int) -> torch.Tensor:
    return torch.log_softmax(z, dim)


@torch.jit.script
def _scripted_nll_loss(log_probs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return F.nll_loss(log_probs, targets)


@torch.jit.script
def _scripted_lstm(x: torch.Tensor, state: list[torch.Tensor], weights: list[torch.Tensor]) -> torch.Tensor:
    return torch.lstm(x, state, weights, True, 1, 0.0, False, False, False)[0]


# For every twin: each spelling a learner could reach it by, as (the twin object, its arguments,
# as a thunk). The objects are bound here, before any block, as a learner's earlier cell would.
TWINS: dict[str, dict[str, tuple[object, object]]] = {
    "log_softmax": {
        "torch": (torch.log_softmax, lambda: (Z, 1)),
        "torch.special": (torch.special.log_softmax, lambda: (Z, 1)),
        "F": (F.log_softmax, lambda: (Z, 1)),
        "Tensor method": (torch.Tensor.log_softmax, lambda: (Z, 1)),
        "module forward": (nn.LogSoftmax(dim=1), lambda: (Z,)),
        "torch.ops.aten": (ATEN.log_softmax, lambda: (Z, 1)),
        "torch.ops.aten private": (ATEN._log_softmax.default, lambda: (Z, 1, False)),
        "_VariableFunctions": (VF.log_softmax, lambda: (Z, 1)),
        "torch._VF": (torch._VF.log_softmax, lambda: (Z, 1)),
        "TorchScript": (_scripted_log_softmax, lambda: (Z, 1)),
    },
    "logsumexp": {
        "torch": (torch.logsumexp, lambda: (Z, 1)),
        "torch.special": (torch.special.logsumexp, lambda: (Z, 1)),
        "Tensor method": (torch.Tensor.logsumexp, lambda: (Z, 1)),
        "torch.ops.aten": (ATEN.logsumexp, lambda: (Z, [1])),
        "_VariableFunctions": (VF.logsumexp, lambda: (Z, 1)),
    },
    "nll_loss": {
        "F": (F.nll_loss, lambda: (Z, Y)),
        "module forward": (nn.NLLLoss(), lambda: (Z, Y)),
        "torch._C._nn": (torch._C._nn.nll_loss, lambda: (Z, Y)),
        "torch._C._nn nd": (torch._C._nn.nll_loss_nd, lambda: (Z, Y)),
        "torch.ops.aten": (ATEN.nll_loss, lambda: (Z, Y)),
        "torch.ops.aten private": (ATEN.nll_loss_forward.default, lambda: (Z, Y, None, 1, -100)),
        "torch.ops.aten 2d": (ATEN.nll_loss2d, lambda: (Z.t()[None, :, :, None], Y[None, :, None])),
        "TorchScript": (_scripted_nll_loss, lambda: (Z, Y)),
    },
    "cross_entropy": {
        "F": (F.cross_entropy, lambda: (Z, Y)),
        "F soft targets": (F.cross_entropy, lambda: (Z, torch.softmax(Z, 1))),
        "module forward": (nn.CrossEntropyLoss(ignore_index=3), lambda: (Z, Y)),
        "torch._C._nn": (torch._C._nn.cross_entropy_loss, lambda: (Z, Y)),
        "torch.ops.aten": (ATEN.cross_entropy_loss, lambda: (Z, Y)),
    },
    "binary_cross_entropy_with_logits": {
        "F": (F.binary_cross_entropy_with_logits, lambda: (Z, torch.ones(3, 4))),
        "torch": (torch.binary_cross_entropy_with_logits, lambda: (Z, torch.ones(3, 4))),
        "module forward": (nn.BCEWithLogitsLoss(), lambda: (Z, torch.ones(3, 4))),
        "torch.ops.aten": (ATEN.binary_cross_entropy_with_logits, lambda: (Z, torch.ones(3, 4))),
        "_VariableFunctions": (VF.binary_cross_entropy_with_logits, lambda: (Z, torch.ones(3, 4), None, None, 1)),
    },
    "pad_sequence": {
        "rnn": (rnn.pad_sequence, lambda: ([torch.ones(2), torch.ones(3)],)),
        "torch._C._nn": (torch._C._nn.pad_sequence, lambda: ([torch.ones(2), torch.ones(3)],)),
        "torch.ops.aten": (ATEN.pad_sequence, lambda: ([torch.ones(2), torch.ones(3)],)),
    },
    "pack_padded_sequence": {
        "rnn": (rnn.pack_padded_sequence, lambda: (PADDED, LENGTHS, True)),
        "torch": (torch._pack_padded_sequence, lambda: (PADDED.t(), LENGTHS, False)),
        "torch._VF": (torch._VF._pack_padded_sequence, lambda: (PADDED.t(), LENGTHS, False)),
        "_VariableFunctions": (VF._pack_padded_sequence, lambda: (PADDED.t(), LENGTHS, False)),
        "torch.ops.aten": (ATEN._pack_padded_sequence, lambda: (PADDED.t(), LENGTHS, False)),
    },
    "pack_sequence": {
        "rnn": (rnn.pack_sequence, lambda: ([torch.ones(3), torch.ones(1)],)),
    },
    "PackedSequence": {
        "the class": (rnn.PackedSequence, lambda: (torch.tensor([1, 3, 2]), LENGTHS)),
        "its constructor": (rnn.PackedSequence.__new__, lambda: (rnn.PackedSequence, torch.tensor([1, 3, 2]), LENGTHS)),
        "invert_permutation": (rnn.invert_permutation, lambda: (torch.tensor([1, 0]),)),
    },
    "clip_grad_norm": {
        "clip_grad_norm_": (torch.nn.utils.clip_grad_norm_, lambda: (_with_grads(), 1.0)),
        "clip_grad_norm_ without foreach": (functools.partial(torch.nn.utils.clip_grad_norm_, foreach=False),
                                            lambda: (_with_grads(), 1.0)),
        "clip_grad_norm": (torch.nn.utils.clip_grad_norm, lambda: (_with_grads(), 1.0)),
        "clip_grad module": (torch.nn.utils.clip_grad.clip_grad_norm_, lambda: (_with_grads(), 1.0)),
        "undecorated": (torch.nn.utils.clip_grad_norm_.__wrapped__, lambda: (_with_grads(), 1.0)),
        "get_total_norm": (torch.nn.utils.get_total_norm, lambda: (_grads(),)),
        "clip_grads_with_norm_": (torch.nn.utils.clip_grads_with_norm_, lambda: (_with_grads(), 1.0, torch.tensor(2.0))),
        "torch._foreach_norm": (torch._foreach_norm, lambda: (_grads(),)),
        "torch.ops.aten": (ATEN._foreach_norm, lambda: (_grads(),)),
        "_VariableFunctions": (VF._foreach_norm, lambda: (_grads(),)),
    },
    "count_parameters": {
        "course library": (training.count_parameters, lambda: (LINEAR,)),
        "a built layer": (nn.Linear, lambda: (2, 2)),
        "a layer on the meta device": (functools.partial(nn.LSTM, device="meta"), lambda: (2, 2)),
        "skip_init": (torch.nn.utils.skip_init, lambda: (nn.Linear, 2, 2)),
        "Module.parameters": (_count_by_parameters, lambda: (LINEAR.parameters,)),
        "Module.named_parameters": (LINEAR.named_parameters, lambda: ()),
        "weights drawn by hand": (nn.init.kaiming_uniform_, lambda: (torch.empty(2, 2),)),
    },
    "lstm": {
        "module forward": (nn.LSTM(4, 3), lambda: (LSTM_X,)),
        "cell forward": (LSTM_CELL, lambda: (LSTM_X, LSTM_STATE)),
        "torch.lstm_cell": (torch.lstm_cell, lambda: (LSTM_X, LSTM_STATE, *LSTM_WEIGHTS)),
        "torch._VF.lstm_cell": (torch._VF.lstm_cell, lambda: (LSTM_X, LSTM_STATE, *LSTM_WEIGHTS)),
        "_VariableFunctions": (VF.lstm_cell, lambda: (LSTM_X, LSTM_STATE, *LSTM_WEIGHTS)),
        "torch.ops.aten": (ATEN.lstm_cell, lambda: (LSTM_X, LSTM_STATE, *LSTM_WEIGHTS)),
        "torch.lstm": (torch.lstm, lambda: LSTM_SEQUENCE),
        "torch._VF.lstm": (torch._VF.lstm, lambda: LSTM_SEQUENCE),
        "torch.ops.aten sequence": (ATEN.lstm.input, lambda: LSTM_SEQUENCE),
        "TorchScript": (_scripted_lstm, lambda: (LSTM_SEQUENCE[0], list(LSTM_SEQUENCE[1]), list(LSTM_WEIGHTS))),
    },
}


def _alias(twin, arguments):
    """The twin through another name bound before the block, as a learner's global would be."""
    aliases = {"my_twin": twin}
    return lambda: aliases["my_twin"](*arguments())


def _default_argument(twin, arguments):
    def answer(_twin=twin):
        return _twin(*arguments())
    return answer


def _closure(twin, arguments):
    def make(bound):
        return lambda: bound(*arguments())
    return make(twin)


def _partial(twin, arguments):
    return lambda: functools.partial(twin)(*arguments())


def _functions_off(twin, arguments):
    """The twin called with torch functions (and so the function-level recorder) switched off."""
    def answer(_twin=twin):
        with torch._C.DisableTorchFunction():
            return _twin(*arguments())
    return answer


HOW = {"alias": _alias, "default argument": _default_argument, "closure": _closure,
       "functools.partial": _partial}
# With torch functions switched off (torch._C.DisableTorchFunction, a private switch) only the
# aten level sees an operation, as in TorchScript. Composite ones fall apart below torch functions into what an
# honest answer runs too (pad_sequence: full, copy_; lstm_cell: mm, sigmoid, tanh), so these
# spellings, bound before the block, escape then: the grader must set such code aside unread.
ESCAPE_WITH_FUNCTIONS_OFF = {("pad_sequence", "torch._C._nn"), ("pad_sequence", "torch.ops.aten")} | {
    ("lstm", s) for s in ("torch.lstm_cell", "torch._VF.lstm_cell", "_VariableFunctions", "torch.ops.aten")}
FUNCTIONS_OFF = {(twin, s) for twin in TWINS for s in TWINS[twin]} - ESCAPE_WITH_FUNCTIONS_OFF
CASES = [(twin, spelling, how) for twin in TWINS for spelling in TWINS[twin] for how in HOW]
CASES += sorted((twin, spelling, "torch functions off") for twin, spelling in FUNCTIONS_OFF)
REFUSAL = re.compile(r"Exercise 9: calling (\S+)( \(it runs \S+\))? is not allowed here; write this step yourself")


def _adversarial(twin: str, spelling: str, how: str):
    make = _functions_off if how == "torch functions off" else HOW[how]
    return make(*TWINS[twin][spelling])


def test_every_twin_has_operations_and_every_aten_operator_exists():
    assert set(OPERATIONS) == set(SPELLINGS) == set(TWINS)
    for name, operations in OPERATIONS.items():
        for operator in operations.aten:
            assert hasattr(torch.ops.aten, operator), f"{name}: no aten.{operator}"


def test_every_spelling_resolves_to_something_callable():
    for name in SPELLINGS:
        for path in SPELLINGS[name]:
            owner, attribute = _resolve(path)
            assert callable(getattr(owner, attribute)), path


@pytest.mark.parametrize(("twin", "spelling", "how"), CASES, ids=["-".join(case) for case in CASES])
def test_each_way_to_reach_a_twin_is_refused(twin, spelling, how):
    call = _adversarial(twin, spelling, how)
    call()  # works outside the block
    with pytest.raises(AssertionError) as refusal:
        with forbidden(twin, exercise="Exercise 9", namespace={}):
            call()
    match = REFUSAL.fullmatch(str(refusal.value))
    assert match, str(refusal.value)
    assert match.group(1) in SPELLINGS[twin], f"the message names no public spelling: {refusal.value}"
    call()  # and again after it


@pytest.mark.parametrize(("twin", "spelling", "how"),
                         [(twin, next(iter(TWINS[twin])), "default argument") for twin in TWINS]
                         + [("log_softmax", "_VariableFunctions", "torch functions off")])
def test_a_swallowed_refusal_still_fails_the_block(twin, spelling, how):
    call = _adversarial(twin, spelling, how)
    with pytest.raises(AssertionError, match=r"^Exercise 2: calling \S+.* is not allowed here"):
        with forbidden(twin, exercise="Exercise 2", namespace={}):
            try:
                call()
            except Exception:  # noqa: BLE001 (what a learner might write)
                pass


def test_a_refusal_turned_into_another_error_still_says_what_was_refused():
    with pytest.raises(AssertionError, match=r"^Exercise 9: calling torch.log_softmax \(it runs log_softmax\)"):
        with forbidden("log_softmax", exercise="Exercise 9", namespace={}):
            try:
                VF.log_softmax(Z, 1)
            except AssertionError:
                raise ValueError("something else went wrong") from None


# Honest answers to each exercise that has a twin (the course's solution first, then other
# correct ways a learner may write it): each must run inside its hidden test's block.
def _stable_log_softmax(z, dim):
    shifted = z - z.amax(dim=dim, keepdim=True)
    return shifted - shifted.exp().sum(dim=dim, keepdim=True).log()


def _log_softmax_by_rows(z, dim):
    rows = []
    for row in z.movedim(dim, -1).reshape(-1, z.shape[dim]):
        top = max(row.tolist())
        rows.append(row - top - torch.log(torch.sum(torch.exp(row - top))))
    return torch.stack(rows).reshape(z.movedim(dim, -1).shape).movedim(-1, dim)


def _log_of_softmax(z, dim):
    return torch.log(torch.softmax(z, dim=dim))


def _nll_by_indexing(log_probs, targets):
    return -log_probs[torch.arange(len(targets)), targets].mean()


def _nll_by_one_hot(log_probs, targets):
    return -(F.one_hot(targets, log_probs.shape[1]) * log_probs).sum() / len(targets)


def _nll_by_a_loop(log_probs, targets):
    return -sum(log_probs[i, t] for i, t in enumerate(targets.tolist())) / len(targets)


def _masked_loss(logits, tags, ignore_index=-1):
    real = tags != ignore_index
    return -F.log_softmax(logits[real], dim=-1).gather(1, tags[real].unsqueeze(1)).mean()


def _masked_loss_by_weights(logits, tags, ignore_index=-1):
    real = (tags != ignore_index).float()
    shifted = logits - logits.amax(dim=-1, keepdim=True)
    log_probs = shifted - shifted.exp().sum(-1, keepdim=True).log()
    picked = torch.take_along_dim(log_probs, tags.clamp(min=0).unsqueeze(-1), dim=-1).squeeze(-1)
    return -(picked * real).sum() / real.sum()


def _masked_loss_train(logits, tags, ignore_index=-1):
    """Also the backward pass, which the chapter's hidden test runs inside the block."""
    logits = logits.clone().requires_grad_()
    loss = _masked_loss(logits, tags, ignore_index)
    loss.backward()
    return logits.grad


def _pad_by_hand(sentences):
    padded = torch.full((len(sentences), max(map(len, sentences))), 0, dtype=torch.long)
    for i, words in enumerate(sentences):
        padded[i, :len(words)] = torch.as_tensor(words)
    return padded, torch.tensor([len(words) for words in sentences])


def _pad_with_f_pad(sentences):
    longest = max(map(len, sentences))
    return torch.stack([F.pad(torch.as_tensor(words), (0, longest - len(words))) for words in sentences])


def _pack_by_hand(padded, lengths):
    sorted_indices = torch.sort(lengths, descending=True).indices
    batch_sizes = torch.stack([(lengths > t).sum() for t in range(int(lengths.max()))])
    data = torch.cat([padded[sorted_indices[:int(n)], t] for t, n in enumerate(batch_sizes)])
    return data, batch_sizes, sorted_indices


def _pack_by_masks(padded, lengths):
    order = torch.argsort(lengths, descending=True, stable=True)
    steps = torch.arange(padded.shape[1])
    real = steps[None, :] < lengths[order][:, None]           # [B, T]
    data = padded[order].t()[real.t()]                        # step by step
    unsorted = torch.empty_like(order)
    unsorted[order] = torch.arange(len(order))
    return data, real.sum(0)[real.sum(0) > 0], order, unsorted


def _clip(parameters, max_norm):
    grads = [p.grad for p in parameters if p.grad is not None]
    total = torch.stack([g.detach().norm() for g in grads]).norm()
    if total > max_norm:
        for g in grads:
            g.mul_(max_norm / (total + 1e-6))
    return total


def _clip_by_vector_norms(parameters, max_norm):
    grads = [p.grad for p in parameters]
    total = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
    for g in grads:
        g.mul_(torch.clamp(max_norm / (total + 1e-6), max=1.0))
    return total


def _clip_by_squares(parameters, max_norm):
    grads = [p.grad for p in parameters]
    total = torch.sqrt(sum((g ** 2).sum() for g in grads))
    scale = min(1.0, max_norm / (float(total) + 1e-6))
    for g in grads:
        g.data = g.data * scale
    return total


def _parameters_by_formula(vocab_size=100, embedding_dim=8, hidden_dim=6, output_dim=1, num_layers=2,
                           bidirectional=True):
    directions = 2 if bidirectional else 1
    total = vocab_size * embedding_dim
    for layer in range(num_layers):
        layer_input = embedding_dim if layer == 0 else directions * hidden_dim
        total += directions * 4 * (hidden_dim * layer_input + hidden_dim * hidden_dim + 2 * hidden_dim)
    return total + directions * hidden_dim * output_dim + output_dim


def _lstm_step(x_t, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    gates = x_t @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh
    i, f, g, o = gates.chunk(4, dim=-1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def _lstm_step_by_gates(x_t, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    size = h.shape[-1]
    gate = [F.linear(x_t, weight_ih[k * size:(k + 1) * size], bias_ih[k * size:(k + 1) * size])
            + torch.addmm(bias_hh[k * size:(k + 1) * size], h, weight_hh[k * size:(k + 1) * size].t())
            for k in range(4)]
    c = gate[1].sigmoid() * c + gate[0].sigmoid() * gate[2].tanh()
    return gate[3].sigmoid() * c.tanh(), c


def _lstm_sequence_by_hand(xs, state, cell_weights):
    h, c = state
    for x_t in xs:
        h, c = _lstm_step(x_t, h, c, *cell_weights)
    return h


LOGITS, TAGS = torch.randn(2, 3, 5, generator=torch.Generator().manual_seed(2)), torch.tensor([[1, 4, -1], [0, -1, -1]])
WEIGHTS = [w.detach() for w in LSTM_WEIGHTS]
HONEST = {
    ("log_softmax", "logsumexp"): [lambda: _stable_log_softmax(Z, 1), lambda: _log_softmax_by_rows(Z, 0),
                                   lambda: _log_of_softmax(Z, 1), lambda: _stable_log_softmax(Z * 1e4, 1)],
    ("nll_loss", "cross_entropy"): [lambda: _nll_by_indexing(_stable_log_softmax(Z, 1), Y),
                                    lambda: _nll_by_one_hot(_stable_log_softmax(Z, 1), Y),
                                    lambda: _nll_by_a_loop(_stable_log_softmax(Z, 1), Y),
                                    lambda: _masked_loss(LOGITS, TAGS), lambda: _masked_loss_by_weights(LOGITS, TAGS),
                                    lambda: _masked_loss_train(LOGITS, TAGS)],
    ("pad_sequence", "pack_sequence", "torch.nn.utils.rnn.pad_packed_sequence"): [
        lambda: _pad_by_hand([[4, 2, 7], [1]]), lambda: _pad_with_f_pad([[4, 2, 7], [1]])],
    ("pack_padded_sequence", "pack_sequence", "PackedSequence"): [
        lambda: _pack_by_hand(torch.arange(12).reshape(3, 4), torch.tensor([2, 4, 1])),
        lambda: _pack_by_masks(torch.arange(12).reshape(3, 4), torch.tensor([2, 4, 1]))],
    ("clip_grad_norm",): [lambda: _clip(_with_grads(), 1.0), lambda: _clip(iter(_with_grads()), 100.0),
                          lambda: _clip_by_vector_norms(_with_grads(), 1.0),
                          lambda: _clip_by_squares(_with_grads(), 1.0)],
    ("count_parameters",): [_parameters_by_formula, lambda: _parameters_by_formula(num_layers=1, bidirectional=False)],
    ("lstm",): [lambda: _lstm_step(LSTM_X, *LSTM_STATE, *WEIGHTS), lambda: _lstm_step_by_gates(LSTM_X, *LSTM_STATE, *WEIGHTS),
                lambda: _lstm_sequence_by_hand(LSTM_X.unsqueeze(1), (torch.zeros(1, 3), torch.zeros(1, 3)), WEIGHTS)],
}
HONEST_CASES = [(twins, i) for twins in HONEST for i in range(len(HONEST[twins]))]


@pytest.mark.parametrize(("twins", "index"), HONEST_CASES, ids=[f"{'+'.join(t)}-{i}" for t, i in HONEST_CASES])
def test_honest_answers_run_untouched(twins, index):
    answer = HONEST[twins][index]
    with forbidden(*twins, exercise="Exercise 9", namespace={}):
        inside = answer()
    outside = answer()
    for mine, again in zip(*(torch.utils._pytree.tree_leaves(x) for x in (inside, outside))):
        assert (torch.equal(mine, again) if torch.is_tensor(mine) else mine == again), "the block changed a result"


def test_the_honest_answers_are_right():
    assert torch.allclose(_log_softmax_by_rows(Z, 0), torch.log_softmax(Z, 0), atol=1e-6)
    assert torch.allclose(_masked_loss_by_weights(LOGITS, TAGS), F.cross_entropy(LOGITS.flatten(0, 1), TAGS.flatten(),
                                                                                  ignore_index=-1))
    assert torch.allclose(_nll_by_one_hot(torch.log_softmax(Z, 1), Y), F.nll_loss(torch.log_softmax(Z, 1), Y))
    packed = rnn.pack_padded_sequence(torch.arange(12).reshape(3, 4), torch.tensor([2, 4, 1]), batch_first=True,
                                      enforce_sorted=False)
    assert all(torch.equal(a, b) for a, b in zip(_pack_by_masks(torch.arange(12).reshape(3, 4), torch.tensor([2, 4, 1])),
                                                 packed[:4]))
    for clip in (_clip_by_vector_norms, _clip_by_squares):
        mine, theirs = _with_grads(), _with_grads()
        assert torch.allclose(clip(mine, 1.0), torch.nn.utils.clip_grad_norm_(theirs, 1.0))
        assert all(torch.allclose(a.grad, b.grad, atol=1e-6) for a, b in zip(mine, theirs))
    model = nn.ModuleList([nn.Embedding(100, 8), nn.LSTM(8, 6, num_layers=2, bidirectional=True), nn.Linear(12, 1)])
    assert _parameters_by_formula() == training.count_parameters(model)
    h, c = LSTM_CELL(LSTM_X, LSTM_STATE)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(_lstm_step_by_gates(LSTM_X, *LSTM_STATE, *WEIGHTS), (h, c)))


def test_a_name_the_learner_bound_earlier_is_caught():
    namespace = {"my_lsm": torch.log_softmax, "other": torch.exp}
    with pytest.raises(AssertionError, match="torch.log_softmax is not allowed"):
        with forbidden("log_softmax", namespace=namespace):
            namespace["my_lsm"](Z, dim=1)
    assert namespace["my_lsm"] is torch.log_softmax and namespace["other"] is torch.exp


def test_a_library_twin_is_refused_through_every_reference():
    count = training.count_parameters

    def answer(model, _count=training.count_parameters):
        return _count(model)

    for call in (lambda: count(LINEAR), lambda: answer(LINEAR)):
        with pytest.raises(AssertionError, match="calling nlpcourse.training.count_parameters is not allowed"):
            with forbidden("nlpcourse.training.count_parameters", exercise="Exercise 9", namespace={}):
                call()
        assert call() == 6


def test_a_dotted_path_to_a_torch_builtin_is_refused_by_its_operation():
    bag = torch.embedding_bag
    with pytest.raises(AssertionError, match=r"calling torch.embedding_bag \(it runs embedding_bag\)"):
        with forbidden("torch.embedding_bag", exercise="Exercise 9", namespace={}):
            bag(torch.randn(4, 3), torch.tensor([1, 2]), torch.tensor([0]), False, 1)


def test_everything_is_restored_after_an_exception():
    before = {path: getattr(*_resolve(path)) for path in spellings(tuple(SPELLINGS))}
    codes = {path: getattr(value, "__code__", None) for path, value in before.items()}
    own_tensor_attributes = set(vars(torch.Tensor))
    with pytest.raises(ZeroDivisionError):
        with forbidden(*SPELLINGS, namespace={}):
            assert checking()
            1 / 0
    after = {path: getattr(*_resolve(path)) for path in before}
    assert all(after[path] is before[path] for path in before), "something stayed patched"
    assert all(getattr(after[path], "__code__", None) is codes[path] for path in before), "a code stayed swapped"
    assert set(vars(torch.Tensor)) == own_tensor_attributes, "a Tensor method was left in the subclass"
    assert torch._C._len_torch_function_stack() == 0 and torch._C._len_torch_dispatch_stack() == 0
    assert not checking()
    assert torch.allclose(Z.log_softmax(dim=1), torch.log_softmax(Z, dim=1))


def test_checking_says_whether_a_block_is_active():
    assert not checking()
    with forbidden("nlpcourse.training.count_parameters", namespace={}):
        with forbidden("log_softmax", namespace={}):
            assert checking()
        assert checking()
    assert not checking()


def test_nested_blocks_restore_in_order():
    with pytest.raises(AssertionError, match=r"calling torch.log_softmax \(it runs log_softmax\)"):
        with forbidden("log_softmax", namespace={}):
            with forbidden("log_softmax", "logsumexp", namespace={}):
                pass
            assert torch.logsumexp(Z, dim=1).shape == (3,), "the inner block must give logsumexp back"
            assert getattr(torch.log_softmax, "__nlpcourse_refused__", None), "the outer block must still hold"
            with pytest.raises(AssertionError, match="log_softmax"):
                VF.log_softmax(Z, 1)
    assert torch.log_softmax(Z, dim=1).shape == (3, 4)


def test_an_inner_refusal_fails_the_outer_block_too():
    with pytest.raises(AssertionError, match="Exercise 1: calling torch.nn.functional.nll_loss"):
        with forbidden("nll_loss", exercise="Exercise 1", namespace={}):
            with forbidden("log_softmax", exercise="Exercise 2", namespace={}):
                try:
                    F.nll_loss(Z, Y)
                except AssertionError:
                    pass


def test_recorders_switched_off_before_the_block_fail_it():
    with torch._C.DisableTorchFunction():
        with pytest.raises(AssertionError, match="Exercise 9: torch's function and dispatch modes are switched off"):
            with forbidden("log_softmax", exercise="Exercise 9", namespace={}):
                pass
    assert torch._C._len_torch_function_stack() == 0 and torch._C._len_torch_dispatch_stack() == 0


@pytest.mark.parametrize("pop", [torch.utils._python_dispatch._pop_mode, torch.overrides._pop_mode])
def test_recorders_taken_off_inside_the_block_fail_it(pop):
    with pytest.raises(AssertionError, match="calling code that switches off torch's function or dispatch modes"):
        with forbidden("log_softmax", exercise="Exercise 9", namespace={}):
            pop()  # and never put back
    assert torch._C._len_torch_function_stack() == 0 and torch._C._len_torch_dispatch_stack() == 0
