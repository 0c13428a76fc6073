"""Run a learner's exercise with its ready-made twins switched off (used by the hidden tests).

An exercise that asks for a stable ``log_softmax`` is not answered by calling
``torch.log_softmax``. :func:`forbidden` disables every spelling of such a twin (the torch
function, its ``torch.special`` and ``torch.nn.functional`` names, the ``Tensor`` method, the
modules that call it, the course library's own version) while the learner's code runs, then
puts everything back, whatever happened::

    with forbidden("log_softmax", "logsumexp", exercise="Exercise 3"):
        result = stable_log_softmax(z)

A call to a disabled twin raises ``AssertionError`` with a message that says what is not
allowed; if the learner's code swallows that exception, leaving the block raises it again.
Names the learner bound before (``from torch import log_softmax``) are caught too: every
global of the learner's namespace (the notebook's ``__main__``) that *is* a disabled object is
switched off with it.

:func:`references` is the other half of grading each exercise on its own: while a test runs
the learner's exercise, the learner's answers to *other* exercises that it calls are replaced
by the course's reference versions::

    with references(binary_accuracy=reference_binary_accuracy):
        result = train_one_epoch(...)
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager

# Every public spelling of each banned operation, as dotted paths ``module.attribute[.attribute]``.
SPELLINGS: dict[str, tuple[str, ...]] = {
    "log_softmax": (
        "torch.log_softmax", "torch.special.log_softmax", "torch.nn.functional.log_softmax",
        "torch.Tensor.log_softmax", "torch.nn.LogSoftmax.forward",
    ),
    "logsumexp": ("torch.logsumexp", "torch.special.logsumexp", "torch.Tensor.logsumexp"),
    "nll_loss": (
        "torch.nn.functional.nll_loss", "torch._C._nn.nll_loss", "torch._C._nn.nll_loss_nd",
        "torch.nn.NLLLoss.forward",
    ),
    "cross_entropy": (
        "torch.nn.functional.cross_entropy", "torch._C._nn.cross_entropy_loss",
        "torch.nn.CrossEntropyLoss.forward",
    ),
    "binary_cross_entropy_with_logits": (
        "torch.nn.functional.binary_cross_entropy_with_logits", "torch.binary_cross_entropy_with_logits",
        "torch.nn.BCEWithLogitsLoss.forward",
    ),
    "pad_sequence": ("torch.nn.utils.rnn.pad_sequence", "torch._C._nn.pad_sequence"),
    "pack_padded_sequence": (
        "torch.nn.utils.rnn.pack_padded_sequence", "torch._pack_padded_sequence",
        "torch._VF._pack_padded_sequence",  # torch._C._VariableFunctions' own is immutable
    ),
    "pack_sequence": ("torch.nn.utils.rnn.pack_sequence",),
    # building the packed batch's fields and wrapping them (its constructor checks nothing)
    "PackedSequence": ("torch.nn.utils.rnn.PackedSequence.__new__",),
    # every public and private way torch 2.13 has to compute or apply the total gradient norm
    "clip_grad_norm": (
        "torch.nn.utils.clip_grad_norm_", "torch.nn.utils.clip_grad_norm",
        "torch.nn.utils.clip_grads_with_norm_", "torch.nn.utils.get_total_norm",
        "torch.nn.utils.clip_grad.clip_grad_norm_", "torch.nn.utils.clip_grad.clip_grad_norm",
        "torch.nn.utils.clip_grad._clip_grads_with_norm_", "torch.nn.utils.clip_grad._get_total_norm",
    ),
    # counting the parameters of a built model instead of by formula
    "count_parameters": (
        "nlpcourse.training.count_parameters", "torch.nn.Module.__init__", "torch.nn.Module.parameters",
        "torch.nn.Module.named_parameters",
    ),
    # an LSTM step (or a whole sequence) computed by PyTorch instead of from the gate equations;
    # torch.lstm is torch._VF.lstm, the function nn.LSTM calls (lstm_cell: nn.LSTMCell's)
    "lstm": (
        "torch.nn.LSTM.forward", "torch.nn.LSTMCell.forward", "torch.lstm", "torch.lstm_cell",
        "torch._VF.lstm", "torch._VF.lstm_cell", "torch.ops.aten.lstm", "torch.ops.aten.lstm_cell",
    ),
}

_REFUSED = "__nlpcourse_refused__"  # marks a stand-in, so nested blocks never disable one twice


def _resolve(path: str) -> tuple[object, str]:
    """The object that holds the last attribute of ``path``, and that attribute's name."""
    parts = path.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            owner = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for name in parts[split:-1]:
            owner = getattr(owner, name)
        return owner, parts[-1]
    raise ValueError(f"not a dotted path to an attribute: {path!r}")


def spellings(names: tuple[str, ...]) -> list[str]:
    """The dotted paths of ``names``: a key of :data:`SPELLINGS` or a dotted path itself."""
    paths: list[str] = []
    for name in names:
        for path in SPELLINGS.get(name, (name,)):
            if path not in paths:
                paths.append(path)
    return paths


@contextmanager
def forbidden(*names: str, exercise: str = "this exercise", namespace: dict | None = None) -> Iterator[None]:
    """Disable each twin in ``names`` (see :data:`SPELLINGS`, or a dotted path) inside the block.

    ``namespace`` is where the learner's code lives (default: ``__main__``, a notebook's
    globals); its names bound to a disabled object are disabled too. Everything is restored on
    leaving the block, also after an exception; a call to a twin fails the block.
    """
    if namespace is None:
        namespace = vars(sys.modules["__main__"])
    calls: list[str] = []
    patched: list[tuple[object, str, bool, object]] = []  # (owner, name, was own attribute, original)

    def refuse(path: str):
        def refused(*args, **kwargs):
            calls.append(path)
            raise AssertionError(f"{exercise}: calling {path} is not allowed here; write this step yourself")

        setattr(refused, _REFUSED, path)
        return refused

    def patch(owner, name: str, path: str) -> object | None:
        original = owner[name] if isinstance(owner, dict) else getattr(owner, name)
        if getattr(original, _REFUSED, None):
            return None
        own = isinstance(owner, dict) or name in vars(owner)
        patched.append((owner, name, own, owner[name] if isinstance(owner, dict) else vars(owner).get(name)))
        stand_in = refuse(path)
        if isinstance(owner, dict):
            owner[name] = stand_in
        else:
            setattr(owner, name, stand_in)
        return original

    try:
        originals = {}
        for path in spellings(names):
            owner, name = _resolve(path)
            original = patch(owner, name, path)
            if original is not None:
                originals[id(original)] = path
        for key, value in list(namespace.items()):
            if id(value) in originals and not key.startswith("__"):
                patch(namespace, key, originals[id(value)])
        yield
    finally:
        for owner, name, own, original in reversed(patched):
            if isinstance(owner, dict):
                owner[name] = original
            elif own:
                setattr(owner, name, original)
            else:
                delattr(owner, name)
    if calls:
        raise AssertionError(f"{exercise}: calling {calls[0]} is not allowed here; write this step yourself")


@contextmanager
def references(namespace: dict | None = None, **objects: object) -> Iterator[None]:
    """Inside the block, each name in ``objects`` of the learner's namespace is the given
    reference object; the learner's own (or no) binding is put back afterwards, whatever happens."""
    if namespace is None:
        namespace = vars(sys.modules["__main__"])
    missing = object()
    saved = {name: namespace.get(name, missing) for name in objects}
    try:
        namespace.update(objects)
        yield
    finally:
        for name, value in saved.items():
            if value is missing:
                namespace.pop(name, None)
            else:
                namespace[name] = value
