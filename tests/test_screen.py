"""The grader's static screen (nlpcourse.grading.screen): what in a learner's own cells sets
graded tests aside for hand grading, and that no honest learner is ever set aside."""

from __future__ import annotations

import copy

import nbformat
import pytest

from nlpcourse.course.chapters import find_chapters
from nlpcourse.course.directory import build_course
from nlpcourse.course.home import read_course_home
from nlpcourse.grading.screen import screen_cells, screen_source, set_aside
from nlpcourse.course.versions import generate_versions
from helpers import BOOK, FIXTURE_BOOK, ROOT, cell_by_id, meta

# What a chapter's notebook has imported by the time a learner's cell runs.
IMPORTED = {"torch": "torch", "nn": "torch.nn", "F": "torch.nn.functional", "math": "math", "np": "numpy",
            "data": "nlpcourse.data", "training": "nlpcourse.training", "sys": "sys", "os": "os",
            "pack_padded_sequence": "torch.nn.utils.rnn.pack_padded_sequence"}
PROTECTED = {"forbidden", "references", "hand_to_grader"}

# Correct answers written differently from the book's: none may be flagged.
HONEST = {
    "loop": "def mean(xs):\n    total = 0.0\n    for x in xs:\n        total += x\n    return total / len(xs)",
    "torch functions": ("def stable_log_softmax(logits, dim=-1):\n    shifted = logits - logits.max(dim=dim, keepdim=True).values\n"
                        "    return shifted - torch.log(torch.exp(shifted).sum(dim=dim, keepdim=True))"),
    "other formula": "def nll(log_probs, targets):\n    return -log_probs.gather(1, targets[:, None]).squeeze(1).mean()",
    "module": ("class Tagger(nn.Module):\n    def __init__(self, n):\n        super().__init__()\n"
               "        self.linear = nn.Linear(n, n)\n        self.__dict__['note'] = 'ok'\n\n"
               "    def forward(self, x):\n        self.last = F.relu(self.linear(x))\n        return self.last"),
    "rebinding an imported name": "data = [3, 1, 2]\ndata[0] = 5\ndata.sort()",
    "magics": "%matplotlib inline\n%time total = sum(range(10))\n%timeit -n 2 -r 1 sum(range(10))",
    "numpy and lists": "import numpy as np\nx = np.asarray([1.0, 2.0])\nnames = [t.lower() for t in ['A']]\nx[0] = 3",
    "the torch version": "print(torch.__version__, type(torch.zeros(1)).__name__)",
    "optimizer step": ("optimizer = torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=0.1)\n"
                       "optimizer.zero_grad()\nwith torch.no_grad():\n    pass"),
    "state dict": "torch.save({'w': torch.zeros(2)}, 'w.pt')\nw = torch.load('w.pt')\nw['w'][0] = 1",
    "defaults of its own": "def f(x, scale=2.0, *, shift=0.0):\n    return x * scale + shift",
    "a failing assertion": "assert 1 + 1 == 2, 'arithmetic'",
    "packing by hand": ("def pack(padded, lengths):\n    order = torch.argsort(lengths, descending=True)\n"
                        "    return padded[order], lengths[order]"),
}
# One per class the screen refuses: (source, words of the finding).
FLAGGED = {
    "torch._C": ("def f(x):\n    return torch._C._VariableFunctions.log_softmax(x, 1)", "torch._C"),
    "torch.ops": ("def f(x):\n    return torch.ops.aten._log_softmax(x, 1, False)", "torch.ops"),
    "_VF": ("from torch import _VF\n", "torch._VF"),
    "overrides": ("from torch.overrides import TorchFunctionMode\n", "torch.overrides"),
    "python dispatch": ("import torch.utils._python_dispatch as d\n", "_python_dispatch"),
    "modes off": ("with torch._C.DisableTorchFunction():\n    pass", "torch._C"),
    "__defaults__": ("def f(x, g=None):\n    return g(x)\nf.__defaults__ = (F.log_softmax,)", "__defaults__"),
    "__kwdefaults__": ("def f(x, *, g=None):\n    return g(x)\nf.__kwdefaults__ = {'g': abs}", "__kwdefaults__"),
    "__code__": ("def f(x):\n    return x\nf.__code__ = (lambda x: -x).__code__", "__code__"),
    "__globals__": ("def f():\n    pass\nf.__globals__['forbidden'] = None", "__globals__"),
    "sys.modules": ("sys.modules['nlpcourse.exercise_checks'].forbidden = None", "sys.modules"),
    "importlib": ("import importlib\nchecks = importlib.import_module('nlpcourse.exercise_checks')", "importlib"),
    "__import__": ("checks = __import__('nlpcourse.exercise_checks')", "__import__"),
    "exec": ("exec('x = 1')", "exec"),
    "eval": ("y = eval('1 + 1')", "eval"),
    "compile": ("code = compile('x = 1', 'x', 'exec')", "compile"),
    "gc": ("import gc\nobjects = gc.get_objects()", "gc"),
    "inspect": ("import inspect\nframe = inspect.currentframe()", "inspect"),
    "frames": ("try:\n    1 / 0\nexcept Exception as e:\n    g = e.__traceback__.tb_frame.f_globals", "tb_frame"),
    "ctypes": ("import ctypes\n", "ctypes"),
    "the course's checks": ("from nlpcourse.exercise_checks import forbidden", "nlpcourse.exercise_checks"),
    "the course's judging": ("import nlpcourse.judging as j\nj.hand_to_grader = print", "nlpcourse.judging"),
    "a protected name": ("def forbidden(*names, **kwargs):\n    pass", "rebinds forbidden"),
    "monkeypatch torch": ("torch.allclose = lambda *args, **kwargs: True", "changes torch"),
    "monkeypatch F": ("F.log_softmax = lambda x, dim=-1: x", "changes torch.nn.functional"),
    "monkeypatch a class": ("nn.LSTM.forward = lambda self, x: x", "changes torch.nn.LSTM"),
    "monkeypatch nlpcourse": ("import nlpcourse\nnlpcourse.training.predict = None", "changes nlpcourse.training"),
    "monkeypatch an alias": ("G = torch.nn.functional\nG.log_softmax = abs", "changes torch.nn.functional"),
    "monkeypatch through a list": ("[F][0].log_softmax = abs", "monkeypatching"),
    "monkeypatch a class by type()": ("type(nn.LSTM(1, 1)).forward = abs", "type() returned"),
    "monkeypatch through a loop": ("for m in [F]:\n    m.log_softmax = abs", "monkeypatching"),
    "monkeypatch through a default": ("def f(m=F):\n    m.log_softmax = abs", "changes torch.nn.functional"),
    "setattr": ("setattr(F, 'log_softmax', abs)", "setattr() on torch.nn.functional"),
    "computed getattr": ("name = 'log' + '_softmax'\ng = getattr(F, name)", "computed name"),
    "private getattr": ("c = getattr(torch, '_C')", "'_C'"),
    "torch function": ("class T(torch.Tensor):\n    def __torch_function__(cls, *args):\n        pass", "__torch_function__"),
    "a thread": ("import threading\nthreading.Thread(target=print).start()", "threading"),
    "another process": ("import subprocess\nsubprocess.run(['true'])", "subprocess"),
    "a shell": ("!ls", "shell command"),
    "an unknown magic": ("%run other.py", "%run"),
    "the shell object": ("get_ipython().run_cell('x = 1')", "IPython shell"),
    "pickle": ("import pickle\n", "pickle"),
    "unpickling a checkpoint": ("w = torch.load('w.pt', weights_only=False)", "pickled"),
    "a module written by the notebook": ("import my_helpers_xyz_not_installed", "cannot find"),
    "unparsable": ("def f(:\n    pass", "does not parse"),
    "a magic's code": ("%time torch._C._get_tracing_state()", "torch._C"),
}


@pytest.mark.parametrize("name", sorted(HONEST))
def test_honest_variants_are_not_flagged(name):
    assert screen_source(HONEST[name], IMPORTED, PROTECTED) == []


@pytest.mark.parametrize("name", sorted(FLAGGED))
def test_each_undecidable_construct_is_flagged(name):
    source, words = FLAGGED[name]
    found = screen_source(source, IMPORTED, PROTECTED)
    assert any(words in str(f) for f in found), found


@pytest.fixture(scope="module")
def versions(tmp_path_factory):
    """labs/ and solutions/ as handed out, and the course's source/ the grader reads them against."""
    out = tmp_path_factory.mktemp("versions")
    generate_versions(BOOK, out / "labs", out / "solutions")
    course = build_course(find_chapters(BOOK), out / "course", read_course_home(ROOT), ROOT / "nbgrader_config.py")
    return out, {name: source for name, (source, _) in course.items()}


def released(lab) -> set[str]:
    return {c.source for c in lab.cells if c.cell_type == "code" and not meta(c).get("solution")}


@pytest.mark.slow  # every real chapter through nbgrader, its versions screened as submissions
@pytest.mark.parametrize("chapter", [p.stem for p in find_chapters(BOOK)])
def test_no_solution_of_any_chapter_is_set_aside(versions, chapter):
    """Every solution cell of the chapter, and its solution and student versions graded as
    submissions against the course's source (as JudgeOutsideKernel reads it)."""
    folder, sources = versions
    solution = nbformat.read(folder / "solutions" / f"{chapter}.ipynb", as_version=4)
    lab = nbformat.read(folder / "labs" / f"{chapter}.ipynb", as_version=4)
    assert set_aside(solution, released(sources[chapter])) == {}
    assert set_aside(lab, released(sources[chapter])) == {}
    solutions = [i for i, c in enumerate(solution.cells) if meta(c).get("solution") and c.cell_type == "code"]
    assert solutions
    # read without the release, only the course's own cells (the install cell) may be flagged
    assert not set(screen_cells(solution, None)) & set(solutions)


def fixture_notebooks(tmp_path):
    generate_versions(FIXTURE_BOOK, tmp_path / "labs", tmp_path / "solutions")
    return (nbformat.read(tmp_path / kind / "fixture.ipynb", as_version=4) for kind in ("labs", "solutions"))


def test_a_finding_sets_aside_every_graded_cell_after_it(tmp_path):
    lab, solution = fixture_notebooks(tmp_path)
    index = {meta(c).get("grade_id"): i for i, c in enumerate(solution.cells)}
    nb = copy.deepcopy(solution)
    cell_by_id(nb, "fx-logsumexp").source += "\nmath.fsum.__defaults__"
    aside = set_aside(nb, released(lab))
    assert set(aside) == {index["fx-logsumexp-hidden"]} and "fx-logsumexp, line" in aside[index["fx-logsumexp-hidden"]]
    nb = copy.deepcopy(solution)
    nb.cells.insert(1, nbformat.v4.new_code_cell("import sys\nsys.modules['math'].fsum = sum"))  # a cell of its own
    assert set(set_aside(nb, released(lab))) == {index["fx-mean-hidden"] + 1, index["fx-logsumexp-hidden"] + 1}
    nb = copy.deepcopy(solution)
    next(c for c in nb.cells if c.source.startswith("import math")).source += "\nexec('pass')"  # the chapter's own
    assert len(set_aside(nb, released(lab))) == 2
    assert set_aside(solution, released(lab)) == {}
