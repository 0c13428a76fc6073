"""Graded tests decided outside the learner's kernel (nlpcourse.judging, nlpcourse.grading.judge).

The hostile gradings (learners who patch the kernel so that a test decided inside it would
pass) are in tests/test_grading.py (TAMPERING); here: the data hand-over, the judge the grader
takes from a cell, and the rule that every graded test cell of every chapter has one.
"""

from __future__ import annotations

import math

import pytest
import torch
from nbformat.v4 import new_output

from nlpcourse.course.chapters import find_chapters, read_chapter
from nlpcourse.grading.judge import judge_source, verdict
from nlpcourse.judging import MIME, from_data, to_data

from helpers import ROOT

CHAPTERS = find_chapters(ROOT / "book")


def handed(**seen):
    return [new_output("display_data", data={MIME: to_data(seen), "text/plain": "handed over"})]


def test_tensors_numbers_and_containers_survive_the_hand_over():
    seen = {"t": torch.tensor([[1.5, -math.inf], [math.nan, 2.0]]), "i": torch.arange(3),
            "b": torch.tensor([True, False]), "n": [1, 2.5, ("x", None, True)], "f": -math.inf}
    back = from_data(to_data(seen))
    assert back["t"].dtype == torch.float32 and back["t"].shape == (2, 2)
    assert torch.equal(back["t"].nan_to_num(0.0), seen["t"].nan_to_num(0.0)) and back["t"][1, 0].isnan()
    assert torch.equal(back["i"], seen["i"]) and torch.equal(back["b"], seen["b"])
    assert back["n"] == [1, 2.5, ["x", None, True]] and back["f"] == -math.inf


@pytest.mark.parametrize("pretender", [
    type("AlwaysEqual", (float,), {"__eq__": lambda self, other: True})(1.0),
    type("Listish", (list,), {})([1, 2]),
    object(),
    {1: "a key that is not a string"},
])
def test_objects_that_only_look_like_data_are_refused(pretender):
    with pytest.raises(TypeError, match="the grader takes"):
        to_data({"result": pretender})


def test_a_tensor_subclass_is_handed_over_as_its_values():
    class Liar(torch.Tensor):
        def __eq__(self, other):
            return True

    back = from_data(to_data(torch.zeros(2).as_subclass(Liar)))
    assert type(back) is torch.Tensor and back.tolist() == [0.0, 0.0]


CELL = '''
import math
from nlpcourse.judging import hand_to_grader

CASES = ([1.0, 2.0], [3.0])
learner_thing = make_me_pass()          # not the grader's: runs in the kernel only


def reference(xs):
    return math.fsum(xs)


def judge(seen):
    assert len(seen["sums"]) == len(CASES), "one sum per case"
    for xs, got in zip(CASES, seen["sums"]):
        assert got == reference(xs), f"sum({xs}) gave {got}"


hand_to_grader(judge, sums=[my_sum(xs) for xs in CASES])
'''


def test_the_grader_takes_imports_constants_and_functions_only():
    source = judge_source(CELL)
    assert "def judge" in source and "def reference" in source and "CASES = " in source
    assert "import math" in source
    assert "make_me_pass" not in source and "hand_to_grader(judge" not in source
    assert judge_source("x = 1\nassert x == 1") is None  # no judge: nothing to run


def test_verdicts():
    assert verdict(CELL, handed(sums=[3.0, 3.0])) is None
    assert verdict(CELL, handed(sums=[3.0, 4.0])) == "sum([3.0]) gave 4.0"
    assert verdict(CELL, handed(sums=[3.0])) == "one sum per case"  # a forged, short result
    assert verdict(CELL, handed(total=6.0)) == "KeyError: 'sums'"
    error = [new_output("error", ename="NameError", evalue="name 'my_sum' is not defined", traceback=[])]
    assert "stopped before it handed" in verdict(CELL, error) and "my_sum" in verdict(CELL, error)
    assert "more than once" in verdict(CELL, handed(sums=[3.0, 3.0]) * 2)
    assert "no judge" in verdict("assert True", handed(sums=[]))


@pytest.mark.parametrize("chapter", [p.stem for p in CHAPTERS])
def test_every_graded_test_cell_of_every_chapter_is_judged_by_the_grader(chapter):
    nb = read_chapter(ROOT / "book" / f"{chapter}.md")
    graded = [c for c in nb.cells if c.cell_type == "code"
              and c.metadata.get("nbgrader", {}).get("grade") and not c.metadata["nbgrader"].get("solution")]
    assert graded, f"{chapter} has no graded test cell"
    for cell in graded:
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        assert judge_source(cell.source) is not None, f"{chapter}: {grade_id} has no `def judge(seen)`"
        assert "hand_to_grader(judge" in cell.source, f"{chapter}: {grade_id} never hands its results over"
