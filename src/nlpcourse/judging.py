"""A graded test's verdict, decided by the grader outside the learner's kernel.

A graded test cell runs in the learner's kernel, after the learner's own cells, which may have
changed anything there (``torch.allclose``, builtins, the traceback printer, ``sys.exit``).
So the cell does not decide. It hands what the learner's code *returned* to the grader as
plain data, and the grader runs the cell's ``judge`` function on that data in its own process
(:mod:`nlpcourse.grading.judge`)::

    def judge(seen):          # run again by the grader, outside the learner's kernel
        torch.manual_seed(3)
        z = torch.randn(4, 5)
        assert torch.allclose(seen["result"], torch.log_softmax(z, dim=1)), "differs from log_softmax"

    torch.manual_seed(3)
    hand_to_grader(judge, result=stable_log_softmax(torch.randn(4, 5), dim=1))

The rules of such a cell: its top-level imports, ``def`` statements and literal constants
(``CASES = ([1, 2], [3.5])``) are the grader's too (the judge can use them, and ``torch``, ``nn``, ``F`` and ``math``); every other statement runs
only in the kernel; inputs the judge compares against are rebuilt inside the judge, never taken
from ``seen``. A cell that stops before ``hand_to_grader`` scores 0, whatever it printed.

In the kernel, :func:`hand_to_grader` also runs the judge on the same data, so a learner or an
instructor running the notebook sees the result at once; the grade comes from the grader's run.
"""

from __future__ import annotations

import math
import sys
from typing import Any, Callable

MIME = "application/vnd.nlpcourse.seen+json"
_PLAIN = (bool, int, float, str, type(None))


def _number(x: float) -> float | str:
    return x if math.isfinite(x) else repr(x)  # JSON has no nan/inf: kept as "nan", "inf", "-inf"


def to_data(value: Any, where: str = "value") -> Any:
    """``value`` as JSON data: tensors, numbers, strings, booleans, None, lists, tuples and
    dicts with string keys. Anything else (an object that pretends to be a number or a tensor)
    is refused with a ``TypeError``."""
    kind = type(value)
    torch = sys.modules.get("torch")  # a learner's tensors exist only where torch was imported
    if torch is not None and isinstance(value, torch.Tensor):
        plain = torch.Tensor.as_subclass(value, torch.Tensor).detach().cpu()
        flat = plain.reshape(-1).tolist()
        return {"tensor": str(plain.dtype).removeprefix("torch."), "shape": list(plain.shape),
                "values": [_number(float(v)) if isinstance(v, float) else v for v in flat]}
    if kind is float:
        return {"float": _number(value)}
    if kind in _PLAIN:
        return value
    if kind in (list, tuple):
        return {"list": [to_data(v, f"{where}[{i}]") for i, v in enumerate(value)]}
    if kind is dict and all(type(k) is str for k in value):
        return {"dict": {k: to_data(v, f"{where}[{k!r}]") for k, v in value.items()}}
    raise TypeError(f"{where} is a {kind.__name__}: the grader takes tensors, numbers, strings, "
                    "lists and dicts only")


def from_data(data: Any) -> Any:
    """The value :func:`to_data` encoded (tuples come back as lists)."""
    if not isinstance(data, dict):
        return data
    if "tensor" in data:
        import torch

        values = [float(v) if isinstance(v, str) else v for v in data["values"]]
        dtype = getattr(torch, data["tensor"])
        return torch.tensor(values, dtype=dtype).reshape(data["shape"])
    if "float" in data:
        return float(data["float"])
    if "list" in data:
        return [from_data(v) for v in data["list"]]
    return {k: from_data(v) for k, v in data["dict"].items()}


def hand_to_grader(judge: Callable[[dict], None], **seen: Any) -> None:
    """Hand ``seen`` to the grader as data, then run ``judge`` on it here as a preview."""
    from IPython.display import display

    data = to_data(seen, "seen")
    names = ", ".join(seen) or "nothing"
    display({MIME: data, "text/plain": f"handed to the grader: {names}"}, raw=True)
    judge(from_data(data))
