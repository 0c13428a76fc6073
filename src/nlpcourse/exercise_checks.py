"""Run a learner's exercise with its ready-made twins refused (used by the hidden tests).

An exercise that asks for a stable ``log_softmax`` is not answered by calling
``torch.log_softmax``. :func:`forbidden` refuses such a twin while the learner's code runs::

    with forbidden("log_softmax", "logsumexp", exercise="Exercise 3"):
        result = stable_log_softmax(z)

A twin is refused by what it *executes*, not by the name the learner reached it under, in
three ways (each key of :data:`SPELLINGS` or dotted path gets those that apply):

- a torch operation (:data:`OPERATIONS`): a ``TorchFunctionMode`` sees every torch function
  and ``Tensor`` method called (``log_softmax``, ``lstm``, ``cross_entropy``), a
  ``TorchDispatchMode`` every aten operator run below them (``aten._log_softmax``); whatever
  spelling reached it (``torch.ops.aten``, ``torch._C._VariableFunctions``, a default argument
  value, a closure, an alias, a module's forward) ends there. Both levels are needed: composite
  operations (``lstm_cell``) fall apart into ``mm``/``sigmoid`` before the dispatch level, and
  the dispatch level still sees what runs with torch functions switched off;
- a Python function (``clip_grad_norm_``, ``nlpcourse.batching.last_hidden``, a module's
  ``forward``): its code object is swapped for one that refuses, so every reference to the
  function object refuses too;
- anything else (a builtin such as ``torch.log_softmax``, a ``Tensor`` method): its attribute
  is replaced by a refusing stand-in, and so is every name of the learner's namespace (the
  notebook's ``__main__``) bound to it.

A refused call raises ``AssertionError`` with a message that says what is not allowed; every
refusal is also recorded, so if the learner's code swallows the exception, leaving the block
raises it again. Everything is restored on leaving the block, whatever happened.
:func:`checking` says whether a block is active.

:func:`references` is the other half of grading each exercise on its own: while a test runs
the learner's exercise, the learner's answers to *other* exercises that it calls are replaced
by the course's reference versions::

    with references(binary_accuracy=reference_binary_accuracy):
        result = train_one_epoch(...)
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple, NoReturn

import torch
from torch.overrides import TorchFunctionMode, _get_current_function_mode
from torch.utils._python_dispatch import TorchDispatchMode, _get_current_dispatch_mode

# Every public spelling of each twin, as dotted paths ``module.attribute[.attribute]``.
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
    # building the packed batch's fields and wrapping them (its constructor checks nothing);
    # invert_permutation is how the constructor computes unsorted_indices
    "PackedSequence": ("torch.nn.utils.rnn.PackedSequence.__new__", "torch.nn.utils.rnn.invert_permutation"),
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
        "torch._VF.lstm", "torch._VF.lstm_cell",
    ),  # not torch.ops.aten.lstm: torch looks its operators up there (the recorders refuse them)
}


class Operations(NamedTuple):
    """What a twin executes: names a correct hand-written answer never executes."""

    functions: frozenset[str] = frozenset()  # torch functions and Tensor methods (their __name__)
    aten: frozenset[str] = frozenset()  # aten operators (overload packets), below torch functions


def _ops(functions: set[str] = frozenset(), aten: set[str] = frozenset()) -> Operations:
    return Operations(frozenset(functions), frozenset(aten))


_NLL_ATEN = {"nll_loss_forward", "nll_loss2d_forward", "nll_loss_backward", "nll_loss2d_backward"}

# The operations each twin of SPELLINGS executes (measured on torch 2.13 with both recorders),
# chosen so that the course's solutions and their honest variants never execute them.
OPERATIONS: dict[str, Operations] = {
    "log_softmax": _ops({"log_softmax", "special_log_softmax", "_log_softmax"}, {"_log_softmax"}),
    "logsumexp": _ops({"logsumexp", "special_logsumexp"}, {"logsumexp"}),
    "nll_loss": _ops({"nll_loss", "nll_loss_nd", "nll_loss2d"}, _NLL_ATEN),
    # cross_entropy is log_softmax + nll_loss below torch functions: log_softmax is the honest
    # answer's own first step (the masked loss), so only the NLL part tells the twin apart there
    "cross_entropy": _ops({"cross_entropy", "cross_entropy_loss"}, _NLL_ATEN),
    "binary_cross_entropy_with_logits": _ops({"binary_cross_entropy_with_logits"},
                                             {"binary_cross_entropy_with_logits"}),
    # pad_sequence is composite: below torch functions it is only full/copy_, as padding by hand
    "pad_sequence": _ops({"pad_sequence"}),
    "pack_padded_sequence": _ops({"_pack_padded_sequence"}, {"_pack_padded_sequence"}),
    "pack_sequence": _ops({"pad_sequence", "_pack_padded_sequence"}, {"_pack_padded_sequence"}),
    # the constructor runs arange/empty_like/scatter_ (invert_permutation), as an honest
    # inverse permutation may: it is refused as a Python function only
    "PackedSequence": _ops(),
    # clip_grad_norm_(foreach=False) runs linalg_vector_norm, stack, clamp, mul_: exactly the
    # honest answer (p.grad.norm() per parameter, then the norm of the norms). Only its default
    # foreach norm tells it apart (not _foreach_mul_, which optimizers' foreach steps run too);
    # every path is refused as a Python function besides
    "clip_grad_norm": _ops({"_foreach_norm"}, {"_foreach_norm"}),
    # a formula never draws random weights; building any torch.nn layer does
    "count_parameters": _ops({"kaiming_uniform_", "uniform_", "normal_"}, {"uniform_", "normal_"}),
    # lstm_cell falls apart into mm/sigmoid/tanh below torch functions, like the honest step;
    # a whole-sequence lstm reaches one fused kernel per backend
    "lstm": _ops({"lstm", "lstm_cell", "_thnn_fused_lstm_cell"},
                 {"mkldnn_rnn_layer", "_thnn_fused_lstm_cell", "_cudnn_rnn", "miopen_rnn", "_lstm_mps"}),
}

_REFUSED = "__nlpcourse_refused__"  # marks a stand-in, so nested blocks never disable one twice


class _Block:
    """One active :func:`forbidden` block: its exercise and the refusals it recorded."""

    def __init__(self, exercise: str) -> None:
        self.exercise = exercise
        self.calls: list[str] = []

    def message(self, what: str) -> str:
        return f"{self.exercise}: calling {what} is not allowed here; write this step yourself"

    def refuse(self, what: str) -> NoReturn:
        self.calls.append(what)
        raise AssertionError(self.message(what))


_BLOCKS: list[_Block] = []  # the active blocks, outermost first
_SWAPPED: dict[int, tuple[_Block, str]] = {}  # id of a function whose code refuses -> (block, its path)


def checking() -> bool:
    """Whether a :func:`forbidden` block is active in this process (a graded test is running)."""
    return bool(_BLOCKS)


def _refused_call(key: int) -> NoReturn:
    """What a swapped function's code calls: refuse it in the block that swapped it."""
    block, path = _SWAPPED[key]
    block.refuse(path)


def _refusing_code(key: int, free: int) -> types.CodeType:
    """A code object that calls ``_refused_call(key)`` and has ``free`` free variables (a
    function's code can only be swapped for one with as many as its closure has cells)."""
    names = [f"_cell{i}" for i in range(free)]
    source = "".join([
        "def outer():\n",
        *(f"    {name} = None\n" for name in names),
        "    def refused(*args, **kwargs):\n",
        f"        if False: ({', '.join(names)},)\n" if names else "",
        "        from nlpcourse.exercise_checks import _refused_call\n",
        f"        _refused_call({key})\n",
        "    return refused\n",
    ])
    scope: dict = {}
    exec(compile(source, "<a refused twin>", "exec"), scope)  # noqa: S102 (our own source)
    return scope["outer"]().__code__


class _FunctionRecorder(TorchFunctionMode):
    """Refuses the watched torch functions (name -> public spelling) whatever spelling called them."""

    def __init__(self, block: _Block, watched: dict[str, str]) -> None:
        super().__init__()
        self.block, self.watched = block, watched

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", None)
        if name in self.watched:
            self.block.refuse(f"{self.watched[name]} (it runs {name})")
        return func(*args, **(kwargs or {}))


class _DispatchRecorder(TorchDispatchMode):
    """Refuses the watched aten operators (name -> public spelling), also with torch functions off."""

    def __init__(self, block: _Block, watched: dict[str, str]) -> None:
        super().__init__()
        self.block, self.watched = block, watched

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func.overloadpacket.__name__
        if name in self.watched and func.namespace == "aten":
            self.block.refuse(f"{self.watched[name]} (it runs aten.{name})")
        return func(*args, **(kwargs or {}))


def _recorders_on_top(function_recorder: _FunctionRecorder, dispatch_recorder: _DispatchRecorder) -> bool:
    """Whether torch's function and dispatch modes are on, with these recorders on top."""
    return (torch._C._is_torch_function_mode_enabled() and _get_current_function_mode() is function_recorder
            and _get_current_dispatch_mode() is dispatch_recorder)


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


def _python_functions(obj: object) -> list[types.FunctionType]:
    """The Python functions behind ``obj`` (a method's function, a decorator's wrapped ones)."""
    functions = []
    obj = getattr(obj, "__func__", obj)
    while isinstance(obj, types.FunctionType) and obj not in functions:
        functions.append(obj)
        obj = getattr(obj, "__wrapped__", None)
    return functions


def _watched(names: tuple[str, ...], paths: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """The torch-function and aten names to refuse, each with the public spelling it is reached by:
    the :data:`OPERATIONS` of the keys in ``names``, and the name of each builtin torch callable
    in ``paths`` (``torch.embedding_bag``)."""
    functions: dict[str, str] = {}
    aten: dict[str, str] = {}
    for name in names:
        if name in OPERATIONS:
            public = SPELLINGS[name][0]
            functions.update(dict.fromkeys(OPERATIONS[name].functions, public))
            aten.update(dict.fromkeys(OPERATIONS[name].aten, public))
    for path in paths:
        target = getattr(*_resolve(path))
        if path.startswith("torch.") and isinstance(target, types.BuiltinFunctionType):
            functions.setdefault(target.__name__, path)
    return functions, aten


@contextmanager
def forbidden(*names: str, exercise: str = "this exercise", namespace: dict | None = None) -> Iterator[None]:
    """Refuse each twin in ``names`` (a key of :data:`SPELLINGS`, or a dotted path) inside the block.

    ``namespace`` is where the learner's code lives (default: ``__main__``, a notebook's
    globals); its names bound to a refused builtin are refused too. Everything is restored on
    leaving the block, also after an exception; a refused call fails the block, also when the
    learner's code swallowed its exception.
    """
    if namespace is None:
        namespace = vars(sys.modules["__main__"])
    block = _Block(exercise)
    patched: list[tuple[object, str, bool, object]] = []  # (owner, name, was own attribute, original)
    swapped: list[tuple[types.FunctionType, types.CodeType]] = []

    def stand_in(path: str):
        def refused(*args, **kwargs):
            block.refuse(path)

        setattr(refused, _REFUSED, path)
        return refused

    def patch(owner, name: str, path: str) -> None:
        own = isinstance(owner, dict) or name in vars(owner)
        patched.append((owner, name, own, owner[name] if isinstance(owner, dict) else vars(owner).get(name)))
        if isinstance(owner, dict):
            owner[name] = stand_in(path)
        else:
            setattr(owner, name, stand_in(path))

    def swap(function: types.FunctionType, path: str) -> None:
        _SWAPPED[id(function)] = (block, path)
        swapped.append((function, function.__code__))
        function.__code__ = _refusing_code(id(function), len(function.__code__.co_freevars))

    recorders: list[TorchFunctionMode | TorchDispatchMode] = []  # pushed, in order
    _BLOCKS.append(block)
    try:
        paths = spellings(names)
        functions, aten = _watched(names, paths)
        refused_builtins: dict[int, str] = {}
        for path in paths:
            owner, name = _resolve(path)
            target = getattr(owner, name)
            if getattr(target, _REFUSED, None):
                continue  # an outer block refuses it already
            if _python_functions(target):
                for function in _python_functions(target):
                    if id(function) not in _SWAPPED:
                        swap(function, path)
            else:
                refused_builtins[id(target)] = path
                patch(owner, name, path)
        for key, value in list(namespace.items()):
            if id(value) in refused_builtins and not key.startswith("__"):
                patch(namespace, key, refused_builtins[id(value)])
        if functions or aten:
            for recorder in (_FunctionRecorder(block, functions), _DispatchRecorder(block, aten)):
                recorder.__enter__()
                recorders.append(recorder)
            if not _recorders_on_top(*recorders):
                raise AssertionError(f"{exercise}: torch's function and dispatch modes are switched off, "
                                     "so this test cannot see what your code runs")
        yield
    except Exception as error:  # a refusal the learner's code (or TorchScript) turned into another error
        if block.calls and str(error) != block.message(block.calls[0]):
            raise AssertionError(block.message(block.calls[0])) from error
        raise
    finally:
        if len(recorders) == 2 and not _recorders_on_top(*recorders):
            block.calls.append("code that switches off torch's function or dispatch modes")
        # take off what is still where it was put (a learner's code may have taken a recorder off)
        current = {_FunctionRecorder: _get_current_function_mode, _DispatchRecorder: _get_current_dispatch_mode}
        for recorder in reversed(recorders):
            if current[type(recorder)]() is recorder:
                recorder.__exit__(None, None, None)
        for function, code in reversed(swapped):
            function.__code__ = code
            del _SWAPPED[id(function)]
        for owner, name, own, original in reversed(patched):
            if isinstance(owner, dict):
                owner[name] = original
            elif own:
                setattr(owner, name, original)
            else:
                delattr(owner, name)
        _BLOCKS.remove(block)
    if block.calls:
        raise AssertionError(block.message(block.calls[0]))


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
