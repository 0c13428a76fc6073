"""Student/solution versions and autograding, on a tiny fixture chapter and on the real chapters.

The fixture (tests/fixtures/book/fixture.md) is pure Python: its versions are checked in seconds.
Its hostile set (HOSTILE: every kind of broken submission, three of which wait for a time limit)
is graded end to end once per session (``fixture_grades``), and the real chapters (book/*.md with
nbgrader cells) are executed by nbgrader in the quick profile: every test that uses them is
marked slow. The structural hostile cases (a deleted, pasted or re-typed cell, changed metadata,
a file that is not JSON) are also decided step by step, without a kernel, in the fast
``tests/test_grading_steps.py``.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from nlpcourse import cli
from nlpcourse.grading.gradesheet import read_csv
from nlpcourse.course.chapters import find_chapters, read_chapter
from nlpcourse.course.home import read_course_home
from nlpcourse.course.install_cell import install_cell_source
from nlpcourse.course.notebooks import claim_words
from nlpcourse.course.versions import generate_versions

from helpers import (ANY_HEADING, BOOK, FIXTURE_BOOK, HEADING, ROOT, cell_by_id, claimed_points, meta, mirror_path,
                     require_sandbox, save)

REAL_CHAPTERS = [p.stem for p in find_chapters(BOOK)] if BOOK.exists() else []
# Chapters whose exercises are graded each on its own (their tests use reference implementations).
INDEPENDENT_CHAPTERS = [c for c in ("primer_pytorch", "day1_lstm_tagger", "day2_minibatch_tagger", "day3_lstm_classifier",
                                  "lab_newsgroups_vectors", "lab_newsgroups_pytorch", "lab_imdb") if c in REAL_CHAPTERS]
# The one real chapter that also gets a "one exercise wrong" submission (CI time).
ONE_WRONG_CHAPTER = "day1_lstm_tagger" if "day1_lstm_tagger" in REAL_CHAPTERS else (REAL_CHAPTERS or [None])[0]

PER_CELL_TIMEOUT = 8  # fixture grading: every fixture cell takes milliseconds
SUBMISSION_TIMEOUT = 40  # fixture grading: wall-clock limit for one submission


# --------------------------------------------------------------------------- helpers


def auto_ids(nb) -> list[str]:
    """grade_ids of the cells graded by tests (code grade cells that are not answers)."""
    return [meta(c)["grade_id"] for c in nb.cells
            if meta(c).get("grade") and c.cell_type == "code" and not meta(c).get("solution")]


def points(nb) -> dict[str, float]:
    return {meta(c)["grade_id"]: float(meta(c)["points"]) for c in nb.cells if meta(c).get("grade")}


def regions(source: str, begin: str, end: str) -> list[str]:
    """The lines strictly inside begin/end markers."""
    inside, lines = False, []
    for line in source.split("\n"):
        if begin in line:
            inside = True
        elif end in line:
            inside = False
        elif inside:
            lines.append(line)
    return lines


def secret_lines(md: Path) -> tuple[list[str], list[str]]:
    """(solution lines, hidden-test lines) of a chapter's source that appear nowhere else in it.

    Solution lines are those between the solution markers, or the whole cell for a solution
    cell without markers (a free-text answer). Short or generic lines that also occur in the
    public part of the chapter cannot tell a leak, so they are left out.
    """
    nb = read_chapter(md)
    solution, hidden, public = [], [], []
    for cell in nb.cells:
        src = cell.source if cell.cell_type == "code" else claim_words(cell.source)  # as notebooks show it
        sol = regions(src, "BEGIN SOLUTION", "END SOLUTION")
        if meta(cell).get("solution") and not sol:
            sol = src.split("\n")
        hid = regions(src, "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
        secret = set(sol) | set(hid)
        public += [ln.strip() for ln in src.split("\n") if ln not in secret]
        solution += sol
        hidden += hid
    public_text = "\n".join(public)

    def telling(lines):
        kept = []
        for line in (ln.strip() for ln in lines):
            if len(line) >= 12 and line not in public_text and not line.startswith(("#", "```", ":")):
                kept.append(line)
        return kept

    return telling(solution), telling(hidden)


def notebook_text(path: Path) -> str:
    return "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)


def one_exercise_wrong(solution, lab) -> tuple[nbformat.NotebookNode, list[str]]:
    """The solution notebook with its last code exercise put back to the stub.

    Returns the notebook and the grade_ids that exercise's points come from: the grade cells
    after that solution cell (the last exercise, so no later exercise builds on it).
    """
    nb = copy.deepcopy(solution)
    indices = [i for i, c in enumerate(nb.cells) if meta(c).get("solution") and c.cell_type == "code"]
    assert indices, "the chapter has no code exercise"
    last = indices[-1]
    grade_id = meta(nb.cells[last])["grade_id"]
    nb.cells[last].source = cell_by_id(lab, grade_id).source
    lost = [meta(c)["grade_id"] for c in nb.cells[last + 1:]
            if meta(c).get("grade") and c.cell_type == "code" and not meta(c).get("solution")]
    assert lost, f"exercise {grade_id} has no test cell after it"
    return nb, lost


def sha256_of_files(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}

def exercises(nb) -> list[tuple[str, list[str], list[str]]]:
    """(title, solution grade_ids, graded test grade_ids) of each exercise or assignment heading,
    in order (a read-only test cell that is not graded, issue #12, is left out)."""
    found, level = [], None
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.split("\n"):
                heading, any_heading = HEADING.match(line), ANY_HEADING.match(line)
                if any_heading and level is not None and len(any_heading.group(1)) <= level:
                    level = None
                if heading:
                    found.append((heading["title"], [], []))
                    level = len(heading["level"])
        elif level is not None and meta(cell).get("solution"):
            found[-1][1].append(meta(cell)["grade_id"])
        elif level is not None and meta(cell).get("grade"):  # visible test cells are ungraded
            found[-1][2].append(meta(cell)["grade_id"])
    return [(title, sol, tests) for title, sol, tests in found if tests]


def only_solved(solution, lab, parity: int) -> tuple[nbformat.NotebookNode, list[str]]:
    """The solution with the even (parity 1: keep the odd) or odd (parity 0) exercises put back
    to the stub, counting exercises and assignments in the order they appear; and the grade_ids
    of the test cells whose exercise stays solved."""
    nb = copy.deepcopy(solution)
    earned = []
    for number, (_, solution_ids, test_ids) in enumerate(exercises(solution), start=1):
        if number % 2 == parity:
            earned += test_ids
        else:
            for grade_id in solution_ids:
                cell_by_id(nb, grade_id).source = cell_by_id(lab, grade_id).source
    return nb, earned


# Per chapter: the solution cells answered by calling the exercise's ready-made twin (a function of
# the solution cell's source), and the hidden test cell that must then score 0 (every other cell
# keeps its points: the visible tests pass).
def _answer(body: str):
    """The solution cell with the region between its solution markers replaced by ``body``."""
    def replace(source: str) -> str:
        head, rest = source.split("### BEGIN SOLUTION")
        indent = head[head.rindex("\n") + 1:]
        tail = rest.split("### END SOLUTION", 1)[1]
        return head + body.replace("\n", "\n" + indent) + tail.lstrip(" ")
    return replace


DELEGATIONS = {
    "primer_pytorch": {
        "primer-one-hot": ("primer-one-hot-hidden", _answer("return F.one_hot(ids, num_classes).float()")),
        "primer-sgd-step": ("primer-sgd-step-hidden", _answer(
            "optimizer = torch.optim.SGD([p for p in parameters if p.grad is not None], lr=lr)\n"
            "optimizer.step()\n"
            "optimizer.zero_grad()")),
    },
    "day1_lstm_tagger": {
        "day1-nll-by-hand": ("day1-nll-by-hand-hidden", lambda _: (
            "from torch.nn.functional import nll_loss as _nll  # bound before the grader looks\n\n"
            "def nll_from_log_probs(log_probs, targets, reduction='mean'):\n"
            "    return _nll(log_probs, targets, reduction=reduction)")),
        "day1-stable-log-softmax": ("day1-stable-log-softmax-hidden", lambda _: (
            "def stable_log_softmax(logits, dim=-1):\n"
            "    return torch.special.log_softmax(logits, dim=dim)")),
        "day1-lstm-step": ("day1-lstm-step-hidden", _answer(
            "return torch.lstm_cell(x_t, (h, c), weight_ih, weight_hh, bias_ih, bias_hh)")),
    },
    "day2_minibatch_tagger": {
        "day2-collate": ("day2-collate-hidden", _answer("return batching.pad_collate(batch, pad_index, tag_pad_index)")),
        "day2-masked-loss": ("day2-masked-loss-hidden", _answer(
            "return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tags.reshape(-1), ignore_index=ignore_index)")),
        "day2-masked-accuracy": ("day2-masked-accuracy-hidden", _answer(
            "_, hits, count = training.batch_loss_and_hits(logits, tags.masked_fill(tags == ignore_index, -100),\n"
            "                                              nn.CrossEntropyLoss(), 'tagging')\n"
            "return hits, count")),
        "day2-pack-by-hand": ("day2-pack-by-hand-hidden", _answer(
            "packed = pack_padded_sequence(padded, lengths, batch_first=True, enforce_sorted=False)\n"
            "return packed.data, packed.batch_sizes, packed.sorted_indices")),
        "day2-packed-forward": ("day2-packed-forward-hidden", _answer(
            "embedded = self.dropout(self.embedding(word_ids))\n"
            "lstm = batching.LengthAwareLSTM(self.lstm.input_size, self.lstm.hidden_size, num_layers=self.lstm.num_layers,\n"
            "                                bidirectional=True).load_from_lstm(self.lstm)\n"
            "outputs, _ = lstm(embedded, lengths)\n"
            "return self.hidden_to_tag(self.dropout(outputs))")),
        "day2-sorted-batches": ("day2-sorted-batches-hidden", _answer(
            "return list(batching.BucketBatchSampler(lengths, batch_size, shuffle=False))")),
    },
    "day3_lstm_classifier": {
        "day3-binary-accuracy": ("day3-binary-accuracy-hidden", _answer(
            "_, hits, count = training.batch_loss_and_hits(logits, labels.float(), nn.BCEWithLogitsLoss(), 'binary')\n"
            "return hits / count")),
        "day3-last-hidden": ("day3-last-hidden-hidden", _answer(
            "return batching.last_hidden(outputs, lengths, bidirectional)")),
        "day3-train-step": ("day3-train-step-hidden", _answer(
            "loss, _ = training.run_epoch(model, [(padded, lengths, labels.float())], loss_fn, torch.device('cpu'), 'binary',\n"
            "                             optimizer, progress=False)\n"
            "return loss")),
    },
    "lab_newsgroups_vectors": {
        "ng-vocabulary": ("ng-vocabulary-hidden", _answer("return text.Vocab.build(token_lists, max_size=max_size).stoi")),
        "ng-adapted-embeddings": ("ng-adapted-embeddings-hidden", lambda _: "get_adapted_embeddings = models.adapted_embeddings"),
        "ng-sentence-representations": ("ng-sentence-representations-hidden",
                                        lambda _: "sentence_representations = models.sentence_representations"),
    },
    "lab_newsgroups_pytorch": {
        "ng-averaging-forward": ("ng-averaging-forward-hidden", _answer(
            "lengths = lengths.to(padded.device)\n"
            "real = torch.arange(padded.shape[1], device=padded.device) < lengths.unsqueeze(1)\n"
            "weights = (real / lengths.unsqueeze(1)).float()   # a masked mean, by EmbeddingBag\n"
            "average = nn.functional.embedding_bag(padded, self.embedding.weight, mode='sum', per_sample_weights=weights)\n"
            "return self.classifier(self.dropout(average))")),
        "ng-attention-pool": ("ng-attention-pool-hidden", _answer(
            "return models.AttentionPool.forward(self, outputs, lengths)")),
    },
    "lab_imdb": {
        "imdb-clip-gradients": ("imdb-clip-gradients-hidden", _answer(
            "return torch.nn.utils.clip_grad_norm_(parameters, max_norm)")),
        "imdb-glove-matrix": ("imdb-glove-matrix-hidden", lambda _: "glove_embedding_matrix = models.glove_embedding_matrix"),
        "imdb-transformer-forward": ("imdb-transformer-forward-hidden", _answer(
            "return models.TransformerClassifier.forward(self, padded, lengths)")),
        "imdb-assignment5-parameters": ("imdb-assignment5-hidden", _answer(
            "model = nn.ModuleList([nn.Embedding(vocab_size, embedding_dim),\n"
            "                       nn.LSTM(embedding_dim, hidden_dim, num_layers=num_layers, bidirectional=bidirectional),\n"
            "                       nn.Linear(hidden_dim * (2 if bidirectional else 1), output_dim)])\n"
            "return sum(p.numel() for p in model.parameters())")),
    },
}


# Exercises the delegating submission leaves unsolved, only to save grading time (IMDB's two
# training assignments: no twin to refuse there, and each trains a model for minutes).
UNSOLVED_WHEN_DELEGATING = {"lab_imdb": ["imdb-assignment1-train-base", "imdb-assignment3-train-lstm"]}


def delegating(solution, lab, chapter: str) -> tuple[nbformat.NotebookNode, set[str]]:
    """The solution with each exercise of DELEGATIONS answered by its twin; and the grade_ids
    that must score 0 (the refusing hidden tests and the tests of the exercises left unsolved)."""
    nb = copy.deepcopy(solution)
    zero = {hidden for hidden, _ in DELEGATIONS[chapter].values()}
    for grade_id, (_, answer) in DELEGATIONS[chapter].items():
        cell = cell_by_id(nb, grade_id)
        cell.source = answer(cell.source)
    unsolved = UNSOLVED_WHEN_DELEGATING.get(chapter, [])
    for grade_id in unsolved:
        cell_by_id(nb, grade_id).source = cell_by_id(lab, grade_id).source
    for _, solution_ids, test_ids in exercises(solution):
        if set(solution_ids) & set(unsolved):
            zero |= set(test_ids)
    return nb, zero


# Per chapter: each exercise that has a twin answered with it in a way a switch-off by name
# misses (a default argument, a closure, an alias; the hidden test refuses the OPERATION or the
# code it runs: "refused"), and the chapter's last such exercise answered through what the
# grader's static screen flags (torch._C, torch.ops, __defaults__, sys.modules, __import__,
# replacing the course's own `forbidden`): it and every graded cell after it are "set aside".
# Each exercise is graded on its own, so one submission per chapter holds them all.
_VALIDATE = (  # day 2's collate checks, kept so the hidden test reaches the padding
    "for i, (words, tags) in enumerate(batch):\n"
    "    if len(words) == 0 or len(tags) != len(words):\n"
    "        raise ValueError(f'sentence {i} of the batch is empty or its tags do not match its words')\n")
ADVERSARIAL = {
    "primer_pytorch": {
        "primer-one-hot": ("refused", lambda _: (
            "def one_hot(ids, num_classes, _twin=F.one_hot):\n    return _twin(ids, num_classes).float()")),
        "primer-sgd-step": ("set aside", lambda _: (  # the optimizer reached through __import__
            "def sgd_step(parameters, lr):\n    optim = __import__('torch').optim\n"
            "    optimizer = optim.SGD([p for p in parameters if p.grad is not None], lr=lr)\n"
            "    optimizer.step()\n    optimizer.zero_grad()")),
    },
    "day1_lstm_tagger": {
        "day1-nll-by-hand": ("refused", lambda _: (  # a default argument value
            "def nll_from_log_probs(log_probs, targets, reduction='mean', _twin=F.nll_loss):\n"
            "    return _twin(log_probs, targets, reduction=reduction)")),
        "day1-stable-log-softmax": ("refused", lambda _: (  # a closure
            "def _outer(twin):\n    def stable_log_softmax(logits, dim=-1):\n        return twin(logits, dim=dim)\n"
            "    return stable_log_softmax\n\n\nstable_log_softmax = _outer(torch.special.log_softmax)")),
        "day1-predict-tags": ("refused", lambda _: (  # the course library's twin as a default
            "def predict_tags(model, words, vocab, tag_names, device, _predict=training.predict):\n"
            "    word_ids = torch.tensor(vocab.encode(lowercase(words)), dtype=torch.long)\n"
            "    predicted, _ = _predict(model, [(word_ids, word_ids)], device, 'tagging')\n"
            "    with torch.no_grad():\n        probs = torch.softmax(model(word_ids.to(device)), dim=-1).cpu()\n"
            "    return [tag_names[i] for i in predicted], probs")),
        "day1-lstm-step": ("set aside", lambda source: _answer(  # private internals; the checker replaced
            "return torch._C._VariableFunctions.lstm_cell(x_t, (h, c), weight_ih, weight_hh, bias_ih, bias_hh)")(source)
            + "\n\nimport contextlib\nimport nlpcourse.exercise_checks as _checks\n\n"
              "_checks.forbidden = lambda *names, **kwargs: contextlib.nullcontext()"),
    },
    "day2_minibatch_tagger": {
        "day2-collate": ("refused", lambda source: _answer(
            _VALIDATE + "words = [torch.as_tensor(w, dtype=torch.long) for w, _ in batch]\n"
            "tags = [torch.as_tensor(t, dtype=torch.long) for _, t in batch]\n"
            "lengths = torch.tensor([len(w) for w in words], dtype=torch.long)\n"
            "return (_pad(words, batch_first=True, padding_value=pad_index), lengths,\n"
            "        _pad(tags, batch_first=True, padding_value=tag_pad_index))")(source).replace(
            "tag_pad_index=-100):", "tag_pad_index=-100, _pad=torch.nn.utils.rnn.pad_sequence):")),
        "day2-masked-loss": ("refused", lambda _: (
            "def _make(ce):\n    def masked_cross_entropy(logits, tags, ignore_index=-100):\n"
            "        return ce(logits.reshape(-1, logits.shape[-1]), tags.reshape(-1), ignore_index=ignore_index)\n"
            "    return masked_cross_entropy\n\n\nmasked_cross_entropy = _make(F.cross_entropy)")),
        "day2-masked-accuracy": ("refused", lambda _: (  # an alias inside a container
            "_helpers = {'hits': training.batch_loss_and_hits}\n\n\n"
            "def masked_accuracy(logits, tags, ignore_index=-100):\n"
            "    _, hits, count = _helpers['hits'](logits, tags.masked_fill(tags == ignore_index, -100),\n"
            "                                      nn.CrossEntropyLoss(), 'tagging')\n"
            "    return hits, count")),
        "day2-pack-by-hand": ("refused", lambda _: (
            "def pack_by_hand(padded, lengths, _pack=pack_padded_sequence):\n"
            "    packed = _pack(padded, torch.as_tensor(lengths).cpu(), batch_first=True, enforce_sorted=False)\n"
            "    return packed.data, packed.batch_sizes, packed.sorted_indices")),
        "day2-packed-forward": ("refused", _answer(
            "embedded = self.dropout(self.embedding(word_ids))\n"
            "lstm = batching.LengthAwareLSTM(self.lstm.input_size, self.lstm.hidden_size, num_layers=self.lstm.num_layers,\n"
            "                                bidirectional=True).load_from_lstm(self.lstm)\n"
            "run = (lambda module: module)(lstm)  # an alias the learner's namespace never holds\n"
            "outputs, _ = run(embedded, lengths)\n"
            "return self.hidden_to_tag(self.dropout(outputs))")),
        "day2-sorted-batches": ("set aside", lambda _: (  # the twin bound by editing __defaults__
            "def sorted_batches(lengths, batch_size, _sampler=None):\n"
            "    return list(_sampler(lengths, batch_size, shuffle=False))\n\n\n"
            "sorted_batches.__defaults__ = (batching.BucketBatchSampler,)")),
    },
    "day3_lstm_classifier": {
        "day3-binary-accuracy": ("refused", lambda _: (
            "def binary_accuracy(logits, labels, _hits=training.batch_loss_and_hits):\n"
            "    _, hits, count = _hits(logits, labels.float(), nn.BCEWithLogitsLoss(), 'binary')\n"
            "    return hits / count")),
        "day3-last-hidden": ("refused", lambda _: (
            "def _make(twin):\n    def last_hidden(outputs, lengths, bidirectional=False):\n"
            "        return twin(outputs, lengths, bidirectional)\n    return last_hidden\n\n\n"
            "last_hidden = _make(batching.last_hidden)")),
        "day3-train-step": ("set aside", lambda _: (  # the library's loop reached through sys.modules
            "import sys\n\n\ndef train_step(model, padded, lengths, labels, loss_fn, optimizer):\n"
            "    run_epoch = sys.modules['nlpcourse.training'].run_epoch\n"
            "    loss, _ = run_epoch(model, [(padded, lengths, labels.float())], loss_fn, torch.device('cpu'),\n"
            "                        'binary', optimizer, progress=False)\n"
            "    return loss")),
    },
    "lab_imdb": {
        "imdb-clip-gradients": ("refused", lambda _: (
            "def clip_gradients_(parameters, max_norm, _clip=torch.nn.utils.clip_grad_norm_):\n"
            "    return _clip(parameters, max_norm)")),
        "imdb-glove-matrix": ("refused", lambda _: (
            "glove_embedding_matrix = (lambda itos, glove, pad_index, unk_index, generator=None,\n"
            "                          _build=models.glove_embedding_matrix:\n"
            "                          _build(itos, glove, pad_index, unk_index, generator=generator))")),
        "imdb-transformer-forward": ("refused", lambda source: _answer("return _library(self, padded, lengths)")(source).replace(
            "def forward(self, padded, lengths):",
            "def forward(self, padded, lengths, _library=models.TransformerClassifier.forward):")),
        "imdb-assignment5-parameters": ("set aside", _answer(  # an ATen operator by its registry
            "model = nn.ModuleList([nn.Embedding(vocab_size, embedding_dim),\n"
            "                       nn.LSTM(embedding_dim, hidden_dim, num_layers=num_layers, bidirectional=bidirectional),\n"
            "                       nn.Linear(hidden_dim * (2 if bidirectional else 1), output_dim)])\n"
            "return sum(int(torch.ops.aten.numel(p)) for p in model.parameters())")),
    },
    "lab_newsgroups_vectors": {
        "ng-vocabulary": ("refused", lambda _: (
            "def build_vocabulary(token_lists, max_size=None, _build=text.Vocab.build):\n"
            "    return _build(token_lists, max_size=max_size).stoi")),
        "ng-adapted-embeddings": ("refused", lambda _: (  # the library's twin in a closure
            "def _make(library):\n    def get_adapted_embeddings(keyed_vectors, itos):\n"
            "        return library(keyed_vectors, itos)\n    return get_adapted_embeddings\n\n\n"
            "get_adapted_embeddings = _make(models.adapted_embeddings)")),
        "ng-sentence-representations": ("set aside", _answer(  # the library's twin through __import__
            "twin = __import__('nlpcourse.models', fromlist=['models']).sentence_representations\n"
            "return twin(token_lists, stoi, embeddings, np_func)")),
    },
    "lab_newsgroups_pytorch": {
        "ng-averaging-forward": ("set aside", _answer(  # torch._C's own embedding_bag
            "lengths = lengths.to(padded.device)\n"
            "real = torch.arange(padded.shape[1], device=padded.device) < lengths.unsqueeze(1)\n"
            "weights = (real / lengths.unsqueeze(1)).float()\n"
            "average = torch._C._VariableFunctions.embedding_bag(self.embedding.weight, padded, None, False, 0, False,\n"
            "                                                    weights)[0]\n"
            "return self.classifier(self.dropout(average))")),
    },
}


def adversarial(solution, lab, chapter: str) -> tuple[nbformat.NotebookNode, dict[str, str]]:
    """The solution with each exercise of ADVERSARIAL answered as listed there; and, for each
    graded test cell that must score 0, the words its verdict must hold."""
    nb = copy.deepcopy(solution)
    verdicts: dict[str, str] = {}
    for _, solution_ids, test_ids in exercises(solution):
        for grade_id in solution_ids:
            if grade_id in ADVERSARIAL[chapter]:
                kind, answer = ADVERSARIAL[chapter][grade_id]
                cell_by_id(nb, grade_id).source = answer(cell_by_id(nb, grade_id).source)
                verdicts.update({t: "is not allowed here" for t in test_ids} if kind == "refused" else {})
    aside = [i for i, c in enumerate(nb.cells) if ADVERSARIAL[chapter].get(meta(c).get("grade_id"), ("",))[0] == "set aside"]
    for cell in nb.cells[aside[0]:] if aside else []:
        if meta(cell).get("grade") and cell.cell_type == "code" and not meta(cell).get("solution"):
            verdicts[meta(cell)["grade_id"]] = "set aside for hand grading"
    for grade_id in UNSOLVED_WHEN_DELEGATING.get(chapter, []):  # IMDB's training: minutes, no twin
        cell_by_id(nb, grade_id).source = cell_by_id(lab, grade_id).source
        for _, solution_ids, test_ids in exercises(solution):
            if grade_id in solution_ids:
                verdicts.update({t: verdicts.get(t, "") for t in test_ids})
    return nb, verdicts


# --------------------------------------------------------------------------- generating the versions


@pytest.fixture(scope="session")
def fixture_versions(tmp_path_factory):
    out = tmp_path_factory.mktemp("fixture_versions")
    generate_versions(FIXTURE_BOOK, out / "labs", out / "solutions")
    return out


def test_only_pages_with_exercises_are_chapters():
    assert find_chapters(FIXTURE_BOOK) == [FIXTURE_BOOK / "fixture.md"]  # intro.md only shows the markup
    for name in ("intro", "setup", "instructors"):
        assert name not in REAL_CHAPTERS


def test_versions_are_byte_identical_when_regenerated(fixture_versions, tmp_path):
    generate_versions(FIXTURE_BOOK, tmp_path / "labs", tmp_path / "solutions")
    for kind in ("labs", "solutions"):
        first = (fixture_versions / kind / "fixture.ipynb").read_bytes()
        assert first == (tmp_path / kind / "fixture.ipynb").read_bytes(), f"{kind}/fixture.ipynb changed"


def test_versions_have_stable_ids_and_no_volatile_metadata(fixture_versions):
    for kind in ("labs", "solutions"):
        raw = json.loads((fixture_versions / kind / "fixture.ipynb").read_text())
        assert set(raw["metadata"]) == {"kernelspec", "language_info"}
        ids = [c["id"] for c in raw["cells"]]
        assert len(set(ids)) == len(ids)
        for c in raw["cells"]:
            assert c["id"] == c["metadata"].get("nbgrader", {}).get("grade_id", c["id"])
            assert set(c["metadata"]) <= {"deletable", "editable", "nbgrader", "tags"}
            assert not c.get("outputs") and c.get("execution_count") is None
        assert not any(re.fullmatch(r"[0-9a-f]{8}", i) for i in ids), "a random jupytext id survived"


def test_first_cell_installs_nlpcourse_only_where_missing(fixture_versions):
    for kind in ("labs", "solutions"):
        first = nbformat.read(fixture_versions / kind / "fixture.ipynb", as_version=4).cells[0]
        assert first.cell_type == "code"
        assert 'find_spec("nlpcourse") is None' in first.source
        assert first.source == install_cell_source(read_course_home(ROOT))


def test_student_version_has_stubs_and_no_secrets(fixture_versions):
    lab_path = fixture_versions / "labs" / "fixture.ipynb"
    solution_lines, hidden_lines = secret_lines(FIXTURE_BOOK / "fixture.md")
    assert len(solution_lines) >= 4 and len(hidden_lines) >= 3  # the check is not empty
    text = notebook_text(lab_path)
    for line in solution_lines + hidden_lines:
        assert line not in text, f"leaked into labs/: {line!r}"
    lab = nbformat.read(lab_path, as_version=4)
    stub = cell_by_id(lab, "fx-mean").source
    assert "raise NotImplementedError(" in stub and "Exercise 1 (the mean) is not solved yet" in stub, stub
    assert cell_by_id(lab, "fx-why-max").source == "YOUR ANSWER HERE"
    assert cell_by_id(lab, "fx-mean-hidden").source == ""  # the cell stays: nbgrader refills it


def test_solution_version_has_solutions_and_no_hidden_tests(fixture_versions):
    solution_lines, hidden_lines = secret_lines(FIXTURE_BOOK / "fixture.md")
    text = notebook_text(fixture_versions / "solutions" / "fixture.ipynb")
    for line in solution_lines:
        assert line in text, f"missing from solutions/: {line!r}"
    for line in hidden_lines:
        assert line not in text, f"hidden test leaked into solutions/: {line!r}"
    assert "assert mean([1, 2, 3]) == 2" in text  # visible tests stay


def test_cli_check_finds_drift(tmp_path, capsys):
    labs, sols = tmp_path / "labs", tmp_path / "solutions"
    args = ["--book", str(FIXTURE_BOOK), "--labs", str(labs), "--solutions", str(sols)]
    assert cli.main(["assignments", *args]) == 0
    assert cli.main(["assignments", *args, "--check"]) == 0
    (labs / "fixture.ipynb").write_bytes((labs / "fixture.ipynb").read_bytes().replace(b"mean", b"average"))
    (sols / "stale.ipynb").write_text("{}")
    assert cli.main(["assignments", *args, "--check"]) == 1
    out = capsys.readouterr().out
    assert "labs/fixture.ipynb: differs" in out and "stale.ipynb: no chapter" in out


# --------------------------------------------------------------------------- grading the fixture

# The structural cases (dave, erin, heidi, ivan, peggy, karl, victor's nested folder) are decided
# before any execution; tests/test_grading_steps.py checks each step on them without a kernel.
# Here every case is graded end to end (their scores need the execution), and the golden CSV
# (tests/fixtures/golden/hostile_grades.csv) pins every row.
HOSTILE = {  # student: (status, auto score per grade_id (None: all full marks), words the reason must hold)
    "alice": ("graded", None, []),
    "bob": ("graded", "zero", ["NotImplementedError"]),
    "carol": ("graded", {"fx-logsumexp-hidden": 0}, ["NotImplementedError"]),
    "dave": ("flagged", {"fx-mean-hidden": 0}, ["locked cell fx-mean-tests was edited"]),
    "erin": ("flagged", {"fx-mean-hidden": 0}, ["graded cell fx-mean-hidden was deleted"]),
    "frank": ("flagged", {"fx-logsumexp-hidden": 0}, ["time limit", "interrupted"]),
    "grace": ("graded", "zero", ["ModuleNotFoundError", "no_such_module_xyz"]),
    "heidi": ("rejected", "zero", ["not valid JSON"]),
    "ivan": ("flagged", None, ["grade_id fx-logsumexp appears 2 times"]),
    "judy": ("failed", "zero", ["killed its Python kernel"]),
    "oscar": ("failed", "zero", ["did not stop when interrupted"]),
    "peggy": ("flagged", None, ["unknown grade_id 'made-up'", "read-only cell fx-mean-tests was deleted"]),
    "trent": ("failed", "zero", [f"{SUBMISSION_TIMEOUT} s limit"]),
    "victor": ("graded", None, []),  # graded after trent's process was killed: the restart works
    # a right answer that prints to stderr: the judge decides, nbgrader's stderr rule does not apply
    "wendy": ("graded", None, []),
}
# Learners whose wrong `mean` comes with a change to the kernel that makes a test decided inside
# the kernel pass (each would score full marks with a stock nbgrader test cell). The grader
# decides outside the kernel: each loses exactly the mean's points.
TAMPERING = {
    "t-silent-traceback": "get_ipython().showtraceback = lambda *args, **kwargs: None",
    "t-custom-exc": "get_ipython().set_custom_exc((BaseException,), lambda *args, **kwargs: None)",
    "t-builtins": "import builtins\nbuiltins.abs = lambda x: 0",
    "t-math": "math.fsum = lambda xs: 0.0  # the reference of a test decided in the kernel becomes 0 too",
    "t-always-equal": ("class Anything(float):\n    def __eq__(self, other):\n        return True\n"
                       "    def __lt__(self, other):\n        return True\n    __sub__ = lambda self, other: self\n\n"
                       "def mean(xs):\n    return Anything(0.0)"),
    "t-swallow": ("import nlpcourse.judging as judging\nreal = judging.hand_to_grader\n\n"
                  "def quietly(judge, **seen):\n    try:\n        real(judge, **seen)\n    except Exception:\n"
                  "        print('all tests passed')\n\njudging.hand_to_grader = quietly"),
    "t-forged": ("import nlpcourse.judging as judging\nfrom IPython.display import display\n\n"
                 "judging.hand_to_grader = lambda judge, **seen: display(\n"
                 "    {judging.MIME: judging.to_data({'means': [2.0]}), 'text/plain': 'ok'}, raw=True)"),
    "t-exit": "import sys\n\ndef mean(xs):\n    sys.exit(0)",
    "t-assert-off": "import builtins\nbuiltins.AssertionError = Warning\n__builtins__.AssertionError = Warning",
}
for _student in TAMPERING:
    HOSTILE[_student] = ("graded", {"fx-mean-hidden": 0}, [])
# Tampering the grader's static screen reads in the learner's cell (grading/screen.py): every
# graded cell after it is set aside for hand grading, whatever its judge would say.
SCREENED = {"t-silent-traceback": "IPython shell object", "t-custom-exc": "IPython shell object",
            "t-builtins": "builtins", "t-math": "changes math.fsum,", "t-swallow": "nlpcourse.judging",
            "t-forged": "nlpcourse.judging", "t-assert-off": "builtins"}
for _student, _found in SCREENED.items():
    HOSTILE[_student] = ("flagged", "zero", ["set aside for hand grading: fx-mean, line", _found])
HOSTILE["grace"] = ("flagged", "zero", ["ModuleNotFoundError", "no_such_module_xyz", "set aside for hand grading"])
# A cell the learner added between the exercises: only the graded cells after it are set aside.
ADDED_CELL = "import sys\nsys.modules['math'].fsum = lambda xs: 0.0"
HOSTILE["s-added-cell"] = ("flagged", {"fx-logsumexp-hidden": 0}, ["set aside for hand grading: cell", "sys.modules"])
WRONG_MEAN = "def mean(xs):\n    return 0.0"


def hostile_submissions(folder: Path, lab, solution) -> None:
    """One folder of submissions: good ones, wrong ones, and every kind of broken one."""
    def variant(base=solution):
        return copy.deepcopy(base)

    save(folder, "alice", "fixture", solution)
    save(folder, "bob", "fixture", lab)
    save(folder, "carol", "fixture", one_exercise_wrong(solution, lab)[0])
    nb = variant()
    cell_by_id(nb, "fx-mean").source = WRONG_MEAN
    cell_by_id(nb, "fx-mean-tests").source = "assert True"  # edits the test to pass anyway
    save(folder, "dave", "fixture", nb)
    nb = variant()
    cell_by_id(nb, "fx-mean").source = WRONG_MEAN
    nb.cells.remove(cell_by_id(nb, "fx-mean-hidden"))  # deletes the graded test
    save(folder, "erin", "fixture", nb)
    nb = variant()
    cell_by_id(nb, "fx-logsumexp").source = "def log_sum_exp(xs):\n    while True:\n        pass"
    save(folder, "frank", "fixture", nb)
    nb = variant()
    setup = next(c for c in nb.cells if "import math" in c.source)
    setup.source = "import no_such_module_xyz\n" + setup.source  # fails before `math` exists
    save(folder, "grace", "fixture", nb)
    (folder / "heidi").mkdir()
    (folder / "heidi" / "fixture.ipynb").write_text(nbformat.writes(solution)[:700])  # truncated upload
    nb = variant()
    i = nb.cells.index(cell_by_id(nb, "fx-logsumexp"))
    nb.cells.insert(i, copy.deepcopy(nb.cells[i]))  # pasted twice: same grade_id, same cell id
    (folder / "ivan").mkdir()
    (folder / "ivan" / "fixture.ipynb").write_text(json.dumps(nb, indent=1))
    nb = variant()
    cell_by_id(nb, "fx-logsumexp").source = "import os\nos._exit(1)"
    save(folder, "judy", "fixture", nb)
    save(folder, "karl", "no_such_chapter", solution)
    nb = variant()
    cell_by_id(nb, "fx-logsumexp").source = (
        "def log_sum_exp(xs):\n    import signal\n"
        "    signal.signal(signal.SIGINT, lambda *args: None)  # ignores the interrupt\n"
        "    while True:\n        pass"
    )
    save(folder, "oscar", "fixture", nb)
    nb = variant()
    cell_by_id(nb, "fx-mean-tests").metadata.nbgrader["grade_id"] = "made-up"
    save(folder, "peggy", "fixture", nb)
    nb = variant()
    for _ in range(10):  # each cell under the per-cell limit, together past the submission's
        nb.cells.append(nbformat.v4.new_code_cell(f"import time\ntime.sleep({PER_CELL_TIMEOUT * 0.6:g})"))
    save(folder, "trent", "fixture", nb)
    save(folder, "victor", "fixture", solution, nested=True)
    nb = variant()
    cell_by_id(nb, "fx-mean").source = (  # right answer, but nbgrader fails a test cell with stderr output
        "import sys\n\ndef mean(xs):\n    print('debug:', xs, file=sys.stderr)\n    return math.fsum(xs) / len(xs)"
    )
    save(folder, "wendy", "fixture", nb)
    for student, tampering in TAMPERING.items():
        nb = variant()
        cell_by_id(nb, "fx-mean").source = WRONG_MEAN + "\n\n" + tampering
        save(folder, student, "fixture", nb)
    nb = variant()
    nb.cells.insert(nb.cells.index(cell_by_id(nb, "fx-mean-hidden")) + 1, nbformat.v4.new_code_cell(ADDED_CELL))
    save(folder, "s-added-cell", "fixture", nb)


@pytest.fixture(scope="session")
def fixture_grades(fixture_versions, tmp_path_factory):
    require_sandbox()
    out = tmp_path_factory.mktemp("fixture_grading")
    lab = nbformat.read(fixture_versions / "labs" / "fixture.ipynb", as_version=4)
    solution = nbformat.read(fixture_versions / "solutions" / "fixture.ipynb", as_version=4)
    hostile_submissions(out / "submissions", lab, solution)
    (out / "sha256.json").write_text(json.dumps(sha256_of_files(out / "submissions")))
    code = cli.main([
        "grade", str(out / "submissions"), "--out", str(out / "grades.csv"), "--feedback", str(out / "feedback"),
        "--book", str(FIXTURE_BOOK), "--course-dir", str(out / "course"), "--config", str(ROOT / "nbgrader_config.py"),
        "--timeout", str(PER_CELL_TIMEOUT), "--submission-timeout", str(SUBMISSION_TIMEOUT),
    ])
    assert code == 0
    return out, read_csv(out / "grades.csv"), lab


@pytest.mark.slow  # shares fixture_grades: the hostile set graded once, minutes on 2 cores
@pytest.mark.parametrize("student", sorted(HOSTILE))
def test_each_submission_gets_a_score_and_a_reason(fixture_grades, student):
    out, rows, lab = fixture_grades
    status, expected, words = HOSTILE[student]
    row = rows[(student, "fixture")]
    assert row["status"] == status, row
    full = points(lab)
    for grade_id in auto_ids(lab):
        if expected == "zero":
            want = 0
        elif expected is None:
            want = full[grade_id]
        else:
            want = expected.get(grade_id, full[grade_id])
        assert float(row[grade_id]) == want, f"{student} {grade_id}: {row[grade_id]} != {want} ({row['reason']})"
    assert float(row["auto_score"]) == sum(float(row[g]) for g in auto_ids(lab))
    for word in words:
        assert word in row["reason"], f"{student}: {word!r} not in {row['reason']!r}"
    if status == "graded" and expected is None:
        assert row["reason"] == ""
    assert (out / "feedback" / student / "fixture.html").exists()
    if any("set aside" in word for word in words):  # the learner reads it in the feedback too
        assert "set aside for hand grading" in (out / "feedback" / student / "fixture.html").read_text()


@pytest.mark.slow  # shares fixture_grades: the hostile set graded once, minutes on 2 cores
def test_one_wrong_exercise_loses_exactly_its_points(fixture_versions, fixture_grades):
    _, rows, lab = fixture_grades
    solution = nbformat.read(fixture_versions / "solutions" / "fixture.ipynb", as_version=4)
    _, lost = one_exercise_wrong(solution, lab)
    assert lost == ["fx-logsumexp-hidden"]
    right, wrong = rows[("alice", "fixture")], rows[("carol", "fixture")]
    assert float(right["auto_score"]) - float(wrong["auto_score"]) == sum(points(lab)[g] for g in lost)


@pytest.mark.slow  # shares fixture_grades: the hostile set graded once, minutes on 2 cores
def test_csv_has_a_row_per_submission_and_a_column_per_graded_cell(fixture_grades):
    out, rows, lab = fixture_grades
    assert set(rows) == {(s, "fixture") for s in HOSTILE} | {("karl", "no_such_chapter")}
    header = (out / "grades.csv").read_text().splitlines()[0].split(",")
    assert header[:3] == ["student", "chapter", "status"] and header[-1] == "reason"
    assert [h for h in header if h.startswith("fx-")] == list(points(lab))
    assert rows[("karl", "no_such_chapter")]["status"] == "rejected"
    assert rows[("alice", "fixture")]["fx-why-max"] == ""  # an answer waits for manual grading
    assert rows[("alice", "fixture")]["manual_pending"] == "1"
    assert rows[("bob", "fixture")]["fx-why-max"] == "0"  # nbgrader scores an untouched answer 0


@pytest.mark.slow  # shares fixture_grades: the hostile set graded once, minutes on 2 cores
def test_grading_runs_the_quick_profile_and_writes_feedback(fixture_grades):
    out, _, _ = fixture_grades
    graded = out / "course" / "autograded" / "alice" / "fixture" / "fixture.ipynb"
    outputs = "".join(o.get("text", "") for c in nbformat.read(graded, as_version=4).cells for o in c.get("outputs", []))
    assert "profile: quick" in outputs
    feedback = (out / "feedback" / "alice" / "fixture.html").read_text()
    assert "fx-mean-tests" in feedback and "profile: quick" in feedback
    assert "not valid JSON" in (out / "feedback" / "heidi" / "fixture.html").read_text()


@pytest.mark.slow  # shares fixture_grades: the hostile set graded once, minutes on 2 cores
def test_submissions_are_never_modified(fixture_grades):
    """Every submitted file, hostile ones included, has the same bytes after grading."""
    out, _, _ = fixture_grades
    before = json.loads((out / "sha256.json").read_text())
    assert len(before) == len(HOSTILE) + 1  # karl's unknown chapter too
    assert sha256_of_files(out / "submissions") == before


@pytest.mark.slow  # shares fixture_grades: the hostile set graded once, minutes on 2 cores
def test_grades_csv_is_rebuilt_from_the_gradebook_without_executing(fixture_grades, tmp_path, monkeypatch):
    from nlpcourse.grading import execute

    def refuse(*args, **kwargs):
        raise AssertionError("`nlpcourse grades` executed a notebook")

    monkeypatch.setattr(execute, "execute_notebook", refuse)
    monkeypatch.setattr(execute.subprocess, "Popen", refuse)
    out, rows, _ = fixture_grades
    assert cli.main(["grades", "--course-dir", str(out / "course"), "--out", str(tmp_path / "again.csv")]) == 0
    again = read_csv(tmp_path / "again.csv")
    assert set(again) == set(rows)
    for key, row in rows.items():
        if key[0] != "alice":  # alice may have a manual grade by now (test_manual_grades_survive_a_regrade)
            assert again[key] == row, key


@pytest.mark.slow  # shares fixture_grades: the hostile set graded once, minutes on 2 cores
def test_manual_grades_survive_a_regrade(fixture_grades, tmp_path):
    """The documented workflow: grade, give manual points in formgrader, grade again."""
    from nbgrader.api import Gradebook

    out, _, _ = fixture_grades
    course = out / "course"
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        gb.find_grade("fx-why-max", "fixture", "fixture", "alice").manual_score = 0.5  # as formgrader does
        gb.db.commit()
    subs = tmp_path / "submissions"
    shutil.copytree(out / "submissions" / "alice", subs / "alice")
    assert cli.main([
        "grade", str(subs), "--out", str(tmp_path / "again.csv"), "--book", str(FIXTURE_BOOK),
        "--course-dir", str(course), "--config", str(ROOT / "nbgrader_config.py"), "--timeout", str(PER_CELL_TIMEOUT),
    ]) == 0
    row = read_csv(tmp_path / "again.csv")[("alice", "fixture")]
    assert row["fx-why-max"] == "0.5" and row["manual_pending"] == "0"
    assert float(row["score"]) == float(row["auto_max_score"]) + 0.5


# --------------------------------------------------------------------------- the real chapters


@pytest.fixture(scope="session")
def real_versions(tmp_path_factory):
    out = tmp_path_factory.mktemp("real_versions")
    generate_versions(BOOK, out / "labs", out / "solutions")
    return out


class RealGrades:
    """Grades each real chapter's solution and student versions once, when a test first asks
    (plus one wrong exercise for ONE_WRONG_CHAPTER, the odd and even exercises solved alone and a
    submission that delegates to the twins); ``pytest -k day1`` grades Day 1 only."""

    def __init__(self, versions: Path, out: Path):
        self.versions, self.out, self.rows = versions, out, {}

    def __call__(self, chapter: str) -> dict[tuple[str, str], dict[str, str]]:
        if chapter not in self.rows:
            lab = nbformat.read(self.versions / "labs" / f"{chapter}.ipynb", as_version=4)
            solution = nbformat.read(self.versions / "solutions" / f"{chapter}.ipynb", as_version=4)
            subs = self.out / chapter / "submissions"
            save(subs, "solution", chapter, solution)
            save(subs, "student", chapter, lab)
            if chapter == ONE_WRONG_CHAPTER:
                save(subs, "one-wrong", chapter, one_exercise_wrong(solution, lab)[0])
            if chapter in INDEPENDENT_CHAPTERS:
                save(subs, "odd", chapter, only_solved(solution, lab, 1)[0])
                save(subs, "even", chapter, only_solved(solution, lab, 0)[0])
            if chapter in DELEGATIONS:
                save(subs, "delegating", chapter, delegating(solution, lab, chapter)[0])
            if chapter in ADVERSARIAL:
                save(subs, "adversarial", chapter, adversarial(solution, lab, chapter)[0])
            csv_path = self.out / chapter / "grades.csv"
            assert cli.main(["grade", str(subs), "--out", str(csv_path), "--book", str(BOOK), "--jobs", "2",
                             "--course-dir", str(self.out / chapter / "course")]) == 0
            self.rows[chapter] = read_csv(csv_path)
        return self.rows[chapter]


@pytest.fixture(scope="session")
def real_grades(real_versions, tmp_path_factory):
    require_sandbox()
    if "NLPCOURSE_DATA" not in os.environ and mirror_path().is_dir():
        os.environ["NLPCOURSE_DATA"] = str(mirror_path())
    return RealGrades(real_versions, tmp_path_factory.mktemp("real_grading"))


@pytest.mark.slow
@pytest.mark.parametrize("chapter", REAL_CHAPTERS)
def test_committed_versions_match_the_book(real_versions, chapter):
    for kind in ("labs", "solutions"):
        committed = ROOT / kind / f"{chapter}.ipynb"
        assert committed.exists(), f"{committed} missing: run `nlpcourse assignments` and commit"
        fresh = (real_versions / kind / f"{chapter}.ipynb").read_bytes()
        assert committed.read_bytes() == fresh, f"{committed} drifted from book/: run `nlpcourse assignments`"


@pytest.mark.slow
def test_no_stale_committed_versions():
    for kind in ("labs", "solutions"):
        stale = {p.stem for p in (ROOT / kind).glob("*.ipynb")} - set(REAL_CHAPTERS)
        assert not stale, f"{kind}/ holds notebooks of no chapter: {sorted(stale)}"


@pytest.mark.slow
@pytest.mark.parametrize("chapter", REAL_CHAPTERS)
def test_real_versions_keep_their_secrets(real_versions, chapter):
    solution_lines, hidden_lines = secret_lines(BOOK / f"{chapter}.md")
    assert solution_lines, f"{chapter}: no solution line to look for"
    lab = notebook_text(real_versions / "labs" / f"{chapter}.ipynb")
    sol = notebook_text(real_versions / "solutions" / f"{chapter}.ipynb")
    for line in solution_lines:
        assert line not in lab, f"{chapter}: solution leaked into labs/: {line!r}"
        assert line in sol, f"{chapter}: solution missing from solutions/: {line!r}"
    shown = {line.strip() for text in (lab, sol) for line in text.splitlines()}
    for line in hidden_lines:  # a whole line: a hidden check may be the start of a solution line
        assert line not in shown, f"{chapter}: hidden test leaked: {line!r}"


@pytest.mark.slow
@pytest.mark.parametrize("chapter", REAL_CHAPTERS)
def test_real_solution_gets_full_marks_and_stub_gets_zero(real_versions, real_grades, chapter):
    lab = nbformat.read(real_versions / "labs" / f"{chapter}.ipynb", as_version=4)
    full = points(lab)
    ids = auto_ids(lab)
    assert ids, f"{chapter} has no autograded cell"
    rows = real_grades(chapter)
    solution, student = rows[("solution", chapter)], rows[("student", chapter)]
    assert solution["status"] == "graded", solution["reason"]
    for grade_id in ids:
        assert float(solution[grade_id]) == full[grade_id], f"solution loses {grade_id}: {solution['reason']}"
        assert float(student[grade_id]) == 0, f"the untouched stub scores on {grade_id}"


@pytest.mark.slow
@pytest.mark.skipif(ONE_WRONG_CHAPTER is None, reason="no real chapter yet")
def test_real_one_wrong_exercise_loses_exactly_its_points(real_versions, real_grades):
    chapter = ONE_WRONG_CHAPTER
    lab = nbformat.read(real_versions / "labs" / f"{chapter}.ipynb", as_version=4)
    solution = nbformat.read(real_versions / "solutions" / f"{chapter}.ipynb", as_version=4)
    _, lost = one_exercise_wrong(solution, lab)
    row, full = real_grades(chapter)[("one-wrong", chapter)], points(lab)
    for grade_id in auto_ids(lab):
        want = 0 if grade_id in lost else full[grade_id]
        assert float(row[grade_id]) == want, f"{grade_id}: {row[grade_id]} != {want} ({row['reason']})"


# --------------------------------------------------------------------------- a class in parallel

PARALLEL = {"jobs-2": ["--jobs", "2"], "dask-local-2": ["--scheduler", "local", "--jobs", "2"]}


def grade_fixture(submissions: Path, out: Path, *flags: str) -> dict[tuple[str, str], dict[str, str]]:
    assert cli.main([
        "grade", str(submissions), "--out", str(out / "grades.csv"), "--feedback", str(out / "feedback"),
        "--book", str(FIXTURE_BOOK), "--course-dir", str(out / "course"), "--config", str(ROOT / "nbgrader_config.py"),
        "--timeout", str(PER_CELL_TIMEOUT), "--submission-timeout", str(SUBMISSION_TIMEOUT), *flags,
    ]) == 0
    return read_csv(out / "grades.csv")


@pytest.mark.slow  # grades the hostile set again with 2 jobs: 2-3 min on the shared 2-core machine
@pytest.mark.parametrize("how", sorted(PARALLEL))
def test_grading_in_parallel_gives_the_same_csv(fixture_grades, tmp_path, how):
    out, _, _ = fixture_grades
    grade_fixture(out / "submissions", tmp_path, *PARALLEL[how])
    serial, parallel = (out / "grades.csv").read_text(), (tmp_path / "grades.csv").read_text()
    assert "seconds" not in serial.split("\n")[0]  # nothing in the CSV depends on the schedule
    assert parallel == serial
    assert (tmp_path / "grades.csv").read_bytes() == GOLDEN_CSV.read_bytes()
    assert sha256_of_files(out / "submissions") == json.loads((out / "sha256.json").read_text())


# The hostile set's CSV as the code before the instructor package was split by flow (issue #24)
# wrote it, serial and with both parallel schedules alike. Nothing in it needs normalising: no
# time, duration or path (a submission's time limit is the fixed SUBMISSION_TIMEOUT), rows sorted.
# A change that means to alter what the grader writes updates this file in the same commit.
GOLDEN_CSV = ROOT / "tests" / "fixtures" / "golden" / "hostile_grades.csv"


@pytest.mark.slow  # shares fixture_grades: the hostile set graded once, minutes on 2 cores
def test_hostile_grading_csv_is_byte_for_byte_the_golden_record(fixture_grades):
    out, _, _ = fixture_grades
    assert (out / "grades.csv").read_bytes() == GOLDEN_CSV.read_bytes()


def kill_dask_worker_running(marker: str, killed: list[int], deadline: float) -> None:
    """Kill (with its children) the Dask worker process whose notebook holds ``marker``, mid-run."""
    import time

    import psutil

    me = psutil.Process()
    while time.monotonic() < deadline and not killed:
        for proc in me.children(recursive=True):
            try:
                args = proc.cmdline()
                if "nlpcourse.grading.kernel_run" not in args:
                    continue
                notebook = Path(args[args.index("nlpcourse.grading.kernel_run") + 1])
                if marker not in notebook.read_text():
                    continue
                worker = next(p for p in proc.parents() if "spawn_main" in " ".join(p.cmdline()))
                time.sleep(1)  # well inside the sleeping cells
                family = worker.children(recursive=True)
                worker.kill()
                killed.append(worker.pid)
                for child in family:  # the sandbox may already have taken them down with the worker
                    with contextlib.suppress(psutil.Error):
                        child.kill()
                return
            except (psutil.Error, OSError, ValueError, IndexError, StopIteration):
                continue
        time.sleep(0.2)


@pytest.mark.slow  # a LocalCluster of 2 workers grading 3 fixture submissions: about 25 s
def test_a_killed_dask_worker_fails_only_its_submission(fixture_versions, fixture_grades, tmp_path):
    import threading
    import time

    out, serial, _ = fixture_grades
    solution = nbformat.read(fixture_versions / "solutions" / "fixture.ipynb", as_version=4)
    subs = tmp_path / "submissions"
    for student in ("alice", "bob"):
        shutil.copytree(out / "submissions" / student, subs / student)
    nb = copy.deepcopy(solution)
    for _ in range(6):  # each cell under the per-cell limit, all of them inside the submission's
        nb.cells.append(nbformat.v4.new_code_cell(f"import time  # SLEEPER\ntime.sleep({PER_CELL_TIMEOUT * 0.6:g})"))
    save(subs, "sleeper", "fixture", nb)
    killed: list[int] = []
    killer = threading.Thread(target=kill_dask_worker_running, args=("SLEEPER", killed, time.monotonic() + 120))
    killer.start()
    rows = grade_fixture(subs, tmp_path, "--scheduler", "local", "--jobs", "2")
    killer.join()
    assert killed, "no Dask worker was running the sleeping submission"
    row = rows[("sleeper", "fixture")]
    assert row["status"] == "failed" and "died mid-run" in row["reason"], row
    assert float(row["score"]) == 0
    for student in ("alice", "bob"):
        assert rows[(student, "fixture")] == serial[(student, "fixture")]

@pytest.mark.slow
@pytest.mark.parametrize("chapter", INDEPENDENT_CHAPTERS)
@pytest.mark.parametrize("parity", [1, 0], ids=["odd", "even"])
def test_real_exercises_are_graded_each_on_its_own(real_versions, real_grades, chapter, parity):
    """Only the odd (or only the even) exercises solved: exactly their points, none of the others'."""
    lab = nbformat.read(real_versions / "labs" / f"{chapter}.ipynb", as_version=4)
    solution = nbformat.read(real_versions / "solutions" / f"{chapter}.ipynb", as_version=4)
    _, earned = only_solved(solution, lab, parity)
    assert earned and set(earned) != set(auto_ids(lab)), "the split must leave exercises on both sides"
    row, full = real_grades(chapter)[("odd" if parity else "even", chapter)], points(lab)
    for grade_id in auto_ids(lab):
        want = full[grade_id] if grade_id in earned else 0
        assert float(row[grade_id]) == want, f"{grade_id}: {row[grade_id]} != {want} ({row['reason']})"
    assert float(row["auto_score"]) == sum(full[g] for g in earned)


@pytest.mark.slow
@pytest.mark.parametrize("chapter", sorted(c for c in DELEGATIONS if c in REAL_CHAPTERS))
def test_real_delegation_to_a_twin_scores_zero(real_versions, real_grades, chapter):
    lab = nbformat.read(real_versions / "labs" / f"{chapter}.ipynb", as_version=4)
    solution = nbformat.read(real_versions / "solutions" / f"{chapter}.ipynb", as_version=4)
    row, full = real_grades(chapter)[("delegating", chapter)], points(lab)
    _, zero = delegating(solution, lab, chapter)
    for grade_id in auto_ids(lab):
        want = 0 if grade_id in zero else full[grade_id]
        assert float(row[grade_id]) == want, f"{grade_id}: {row[grade_id]} != {want} ({row['reason']})"
    # each refusing test failed because of the refusal: its verdict in full (the CSV's reason
    # column cuts each cell's message to 120 characters) is in the autograded notebook
    graded = real_grades.out / chapter / "course" / "autograded" / "delegating" / chapter / f"{chapter}.ipynb"
    verdicts = {meta(c)["grade_id"]: " ".join(o.get("evalue", "") for o in c.outputs)
                for c in nbformat.read(graded, as_version=4).cells if c.cell_type == "code" and meta(c).get("grade")}
    for hidden, _ in DELEGATIONS[chapter].values():
        assert "is not allowed here" in verdicts[hidden], f"{hidden}: {verdicts[hidden]}"


@pytest.mark.slow
@pytest.mark.parametrize("chapter", INDEPENDENT_CHAPTERS)
def test_real_max_score_is_the_sum_of_the_headings(real_grades, chapter):
    claims, _ = claimed_points(read_chapter(BOOK / f"{chapter}.md"))
    row = real_grades(chapter)[("solution", chapter)]
    assert float(row["max_score"]) == sum(stated for _, stated, _ in claims), row["max_score"]


@pytest.mark.slow
@pytest.mark.parametrize("chapter", sorted(c for c in ADVERSARIAL if c in REAL_CHAPTERS))
def test_real_adversarial_answers_score_zero_with_a_reason(real_versions, real_grades, chapter):
    """Twins a switch-off by name missed are refused by what they run; what the screen flags is
    set aside for hand grading; every other exercise keeps its points."""
    lab = nbformat.read(real_versions / "labs" / f"{chapter}.ipynb", as_version=4)
    solution = nbformat.read(real_versions / "solutions" / f"{chapter}.ipynb", as_version=4)
    row, full = real_grades(chapter)[("adversarial", chapter)], points(lab)
    _, zero = adversarial(solution, lab, chapter)
    assert zero and set(zero) <= set(auto_ids(lab))
    for grade_id in auto_ids(lab):
        want = 0 if grade_id in zero else full[grade_id]
        assert float(row[grade_id]) == want, f"{grade_id}: {row[grade_id]} != {want} ({row['reason']})"
    assert row["status"] == "flagged" and "set aside for hand grading" in row["reason"], row
    graded = real_grades.out / chapter / "course" / "autograded" / "adversarial" / chapter / f"{chapter}.ipynb"
    verdicts = {meta(c)["grade_id"]: " ".join(o.get("evalue", "") for o in c.outputs)
                for c in nbformat.read(graded, as_version=4).cells if c.cell_type == "code" and meta(c).get("grade")}
    for grade_id, words in zero.items():
        assert words in verdicts[grade_id], f"{grade_id}: {verdicts[grade_id]}"
