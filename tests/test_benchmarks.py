"""The benchmark scripts' building blocks work (no timing is asserted: benchmarks measure, tests check)."""

import json
import sys

import pytest
import torch

from helpers import FIXTURE_BOOK, ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))

import _common
import batching_strategies


def toy_examples(count=40, seed=0):
    generator = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, 30, (count,), generator=generator).tolist()
    return [(torch.randint(2, 50, (n,), generator=generator).tolist(), float(i % 2)) for i, n in enumerate(lengths)]


def test_packed_and_exact_paths_agree_on_outputs_and_gradients():
    batches = batching_strategies.make_batches(toy_examples(), 16, "bucket", seed=0)
    gap = batching_strategies.max_difference((50, 8, 6, 2), batches)
    assert gap <= 1e-5, f"packed and exact paths differ by {gap}"


def test_bucketed_batches_hold_less_padding_than_random_ones():
    examples = toy_examples(200)
    fraction = {order: batching_strategies.padding_fraction(
        lengths.tolist() for _, lengths, _ in batching_strategies.make_batches(examples, 16, order, seed=0))
        for order in ("random", "bucket")}
    assert fraction["bucket"] < fraction["random"] / 2, fraction


def test_time_training_runs_every_batch_and_updates_weights():
    batches = batching_strategies.make_batches(toy_examples(), 16, "random", seed=0)
    model = _common.Classifier(50, 8, 6, 2, path="exact")
    before = [p.detach().clone() for p in model.parameters()]
    seconds = _common.time_training(model, batches, torch.device("cpu"))
    assert seconds > 0
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_write_results_writes_json_and_a_markdown_table(tmp_path, monkeypatch):
    monkeypatch.setattr(_common, "RESULTS", tmp_path)
    rows = [{"strategy": "naive", "epoch s": 2.0}, {"strategy": "exact", "epoch s": 1.0}]
    path = _common.write_results("demo", rows, {"device": "cpu"}, "a note")
    written = json.loads((tmp_path / "demo.json").read_text())
    assert written["rows"] == rows and written["note"] == "a note"
    table = path.read_text()
    assert "| strategy | epoch s |" in table and "| exact | 1 |" in table and "device: cpu" in table


@pytest.mark.slow  # grades copies of the fixture's solution in the sandbox
def test_grading_throughput_grades_copies_of_the_solution(tmp_path):
    import grading_throughput
    import nbformat
    book = FIXTURE_BOOK
    folder = grading_throughput.make_folder(book, "fixture", 2, tmp_path)
    solution = (tmp_path / "solutions" / "fixture.ipynb").read_text()
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.ipynb")) == [
        "student00/fixture.ipynb", "student01/fixture.ipynb"]
    assert all(nbformat.reads(p.read_text(), as_version=4) == nbformat.reads(solution, as_version=4)
               for p in folder.rglob("*.ipynb"))
