"""The results page's tables, from records and anchors (book/results.md renders them)."""

import pytest

from nlpcourse.instructor import results_page
from nlpcourse.instructor.edition import student_source
from notebook_runs import ROOT

RECORD = {"chapter": "imdb", "test_accuracy": 0.88376, "baseline_test_accuracy": 0.50008, "epochs": 8,
          "tfidf_test_accuracy": 0.90608, "device": "cpu", "commit": "e744f1c", "date": "2026-11-22",
          "profile": "full"}


def test_the_course_anchors_load_and_name_known_metrics():
    anchors = results_page.load_anchors(ROOT / "results" / "anchors.yml")
    values = {(a.chapter, round(a.value, 4)) for a in anchors}
    assert {("imdb", 0.8479), ("imdb", 0.862), ("newsgroups", 0.7756), ("newsgroups", 0.7272)} <= values
    assert all(a.source.strip() for a in anchors)


def test_an_anchor_on_an_unknown_metric_is_refused(tmp_path):
    path = tmp_path / "anchors.yml"
    path.write_text("anchors:\n  - {chapter: imdb, metric: test_acc, kind: source, value: 0.8, label: x, source: y}\n")
    with pytest.raises(ValueError, match="test_acc"):
        results_page.load_anchors(path)


def test_a_chapter_table_puts_anchors_beside_our_numbers_with_their_sources():
    anchors = [results_page.Anchor("imdb", "test_accuracy", "public", 0.862, "bentrevett", "his notebook", "https://x"),
               results_page.Anchor("imdb", "test_accuracy", "source", 0.8479, "lecture", "the lecture")]
    table = results_page.chapter_table("imdb", RECORD, anchors)
    assert "| Improved model (2-layer bidirectional LSTM, GloVe): test accuracy | 88.4% | 84.8% [1] | 86.2% [2] |" in table
    assert "1. lecture: the lecture" in table and "2. [bentrevett](https://x): his notebook" in table
    assert "Average of" not in table and "test_accuracy" not in table
    with_ensemble = results_page.chapter_table("imdb", {**RECORD, "ensemble_test_accuracy": 0.8912}, anchors)
    assert "| Average of the BiLSTM's and TF-IDF's probabilities: test accuracy | 89.1% |" in with_ensemble
    assert results_page.provenance(RECORD) == "Measured on device cpu, at commit `e744f1c` on 2026-11-22, full profile."


def test_a_chapter_without_a_record_says_how_to_make_one():
    assert "No full-profile run recorded yet" in results_page.chapter_section("day1", {}, [])


def test_the_student_edition_uses_nbgraders_stub():
    source = "def f(x):\n    ### BEGIN SOLUTION\n    return x + 1\n    ### END SOLUTION\n"
    assert student_source(source, {"solution": True}) == \
        "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n"
    assert student_source("answer = 42", {"solution": True}) == "# YOUR CODE HERE\nraise NotImplementedError()"
