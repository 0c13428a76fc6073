"""The results page's tables, from records and anchors (book/results.md renders them)."""

import pytest

from nlpcourse.book import results_page
from nlpcourse.book.edition import student_source
from nlpcourse.course.chapters import chapter_names
from helpers import ROOT

RECORD = {"chapter": "imdb", "test_accuracy": 0.88376, "baseline_test_accuracy": 0.50008, "epochs": 8,
          "tfidf_test_accuracy": 0.90608, "device": "cpu", "commit": "e744f1c", "date": "2026-11-22",
          "profile": "full"}


def test_the_course_anchors_load_and_name_known_metrics():
    anchors = results_page.load_anchors(ROOT / "results" / "anchors.yml")
    values = {(a.chapter, round(a.value, 4)) for a in anchors}
    assert {("lab_imdb", 0.8479), ("lab_imdb", 0.862), ("lab_newsgroups_pytorch", 0.7756),
            ("lab_newsgroups_vectors", 0.7272)} <= values
    assert all(a.source.strip() for a in anchors)


def test_an_anchor_on_an_unknown_metric_is_refused(tmp_path):
    path = tmp_path / "anchors.yml"
    path.write_text("anchors:\n  - {chapter: lab_imdb, metric: test_acc, kind: source, value: 0.8, label: x, source: y}\n")
    with pytest.raises(ValueError, match="test_acc"):
        results_page.load_anchors(path)


def test_a_chapter_table_puts_anchors_beside_our_numbers_with_their_sources():
    anchors = [results_page.Anchor("lab_imdb", "test_accuracy", "public", 0.862, "bentrevett", "his notebook", "https://x"),
               results_page.Anchor("lab_imdb", "test_accuracy", "source", 0.8479, "lecture", "the lecture")]
    table = results_page.chapter_table("lab_imdb", RECORD, anchors)
    assert "| Improved model (2-layer bidirectional LSTM, GloVe): test accuracy | 88.4% | 84.8% [1] | 86.2% [2] |" in table
    assert "1. lecture: the lecture" in table and "2. [bentrevett](https://x): his notebook" in table
    assert "Average of" not in table and "test_accuracy" not in table
    with_ensemble = results_page.chapter_table("lab_imdb", {**RECORD, "ensemble_test_accuracy": 0.8912}, anchors)
    assert "| Average of the BiLSTM's and TF-IDF's probabilities: test accuracy | 89.1% |" in with_ensemble
    assert results_page.where_measured(RECORD) == "Measured on device cpu, at commit `e744f1c` on 2026-11-22, full profile."


def test_the_page_knows_the_chapters_by_their_names_and_finds_their_records():
    """The metrics' labels are keyed by chapters.py's names; each record is the one its chapter's
    committed execution lists (and keeps the name the chapter gave it, which the GPU file uses)."""
    assert list(results_page.METRICS) == chapter_names(ROOT / "book")
    records = results_page.load_records(ROOT / "results" / "full")
    assert set(records) <= set(results_page.METRICS)
    assert records["day1_lstm_tagger"]["chapter"] == "day1" and records["lab_imdb"]["chapter"] == "imdb"


def test_a_chapter_without_a_record_says_how_to_make_one():
    assert "No full-profile run recorded yet" in results_page.chapter_section("day1_lstm_tagger", {}, [])


def test_the_student_edition_uses_nbgraders_stub():
    source = "def f(x):\n    ### BEGIN SOLUTION\n    return x + 1\n    ### END SOLUTION\n"
    assert student_source(source, {"solution": True}) == \
        "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n"
    assert student_source("answer = 42", {"solution": True}) == "# YOUR CODE HERE\nraise NotImplementedError()"


def test_the_imdb_anchors_include_nbsvm_and_maas_with_their_setups():
    anchors = results_page.load_anchors(ROOT / "results" / "anchors.yml")
    imdb = {round(a.value, 4): a for a in anchors if a.chapter == "lab_imdb"}
    assert {0.9122, 0.8889, 0.8479, 0.862} <= set(imdb)
    assert "Baselines and Bigrams" in imdb[0.9122].source and "Learning Word Vectors" in imdb[0.8889].source
    for anchor in imdb.values():  # the setup differences that matter: what "ours" does differently
        assert "Ours" in anchor.source or "ours" in anchor.source, anchor.label


def test_no_source_is_cited_by_a_path_of_the_authors_workspace():
    texts = {path.name: path.read_text(encoding="utf-8")
             for path in [ROOT / "results" / "anchors.yml", *sorted((ROOT / "book").glob("*.md"))]}
    texts.update({path.name: path.read_text(encoding="utf-8") for path in (ROOT / "results" / "gpu").glob("*.json")})
    cited_by_path = [name for name, text in texts.items() if "shared/seeds" in text or "shared/measurements" in text]
    assert not cited_by_path, f"cite the source documents by title, not by a workspace path: {cited_by_path}"


GPU = {"gpu": "NVIDIA H200", "date": "2026-12-04", "machine": "one NVIDIA H200", "software": "torch 2.11",
       "commit": "588d4ad", "runs": "one run", "source": "a session's report",
       "chapters": {"day3": {"test_accuracy": 0.8186, "epoch_time_s": 1.8, "wall_time_s": 189.6,
                             "valid_accuracy_by_epoch": [0.72, 0.75]}},
       "imdb_epoch_s": {"what": "One IMDB epoch", "setup": {"hidden_dim": 256},
                        "by_max_length": {"256": {"naive": 11.7, "packed": 13.7, "exact": 9.9}}}}


def test_a_gpu_run_adds_a_column_and_a_section_that_states_disagreements():
    record = {"chapter": "day3", "test_accuracy": 0.8841, "epoch_time_s": 130.0, "valid_accuracy": 0.9}
    table = results_page.chapter_table("day3_lstm_classifier", record, [], GPU)
    assert "On a GPU (NVIDIA H200, 2026-12-04, one run)" in table.splitlines()[0]
    assert "| LSTM classifier reading the last real word: test accuracy | 88.4% | 81.9% | – | – |" in table
    assert "| LSTM classifier: validation accuracy | 90.0% | – | – | – |" in table
    assert results_page.chapter_table("day3_lstm_classifier", record, []).splitlines()[0].count("|") == 5  # no GPU: no column
    section = results_page.gpu_section(GPU, {"day3": record}, {"day3": 2076.8})
    assert "| day3 | 190 s | 2077 s | 1.8 s | 130 s | 81.9% | 88.4% |" in section
    assert "Open problem: day3 is not yet stable" in section and "6.6 points apart, one seed each" in section
    assert "| 256 tokens | 11.7 s | 13.7 s | 9.9 s |" in section and "1.4× at 256 tokens" in section
    assert "a session's report" in section and "not this build's" in section


def test_the_committed_gpu_measurements_load_and_name_their_source():
    gpu = results_page.load_gpu(ROOT / "results" / "gpu")
    assert gpu["date"] == "2026-12-04" and "H200" in gpu["gpu"] and "torch 2.11" in gpu["software"]
    assert set(gpu["chapters"]) == {"day1", "day2", "day3"} and gpu["source"].strip()
    section = results_page.gpu_section(gpu, results_page.load_records(ROOT / "results" / "full"),
                                       results_page.cpu_wall_times(ROOT / "results" / "full"))
    # Day 3's recipe changed after the GPU run: the page says so instead of comparing the two
    assert "day3: the GPU ran an earlier recipe" in section and "Open problem: day1" not in section


def test_a_gpu_run_of_another_recipe_is_not_compared_as_the_same_experiment():
    cpu = {"chapter": "day3", "test_accuracy": 0.862, "epochs": 4, "max_length": 256, "max_grad_norm": 1.0}
    on_gpu = {"test_accuracy": 0.8186, "epochs": 6, "max_length": 400}
    assert results_page.recipe_changes(cpu, on_gpu) == ["epochs 6 → 4", "max_length 400 → 256",
                                                        "max_grad_norm none → 1.0"]
    assert results_page.recipe_changes(cpu, dict(cpu)) == []
    gpu = {**GPU, "chapters": {"day3": {**GPU["chapters"]["day3"], **on_gpu}}}
    section = results_page.gpu_section(gpu, {"day3": cpu}, {"day3": 993.0})
    assert "day3: the GPU ran an earlier recipe" in section and "Open problem" not in section
    assert "81.9% (earlier recipe)" in results_page.chapter_table("day3_lstm_classifier", cpu, [], gpu)


def test_a_metric_repeated_over_seeds_shows_its_spread():
    record = {"test_accuracy": 0.929, "test_accuracy_seeds": [0.929, 0.922, 0.931],
              "test_accuracy_sd": 0.0047, "best_epoch_test_accuracy_seeds": [0.93, 0.928],
              "best_epoch_test_accuracy_sd": 0.0014, "epochs": 5}
    assert results_page.with_spread(record, "test_accuracy", "percent") == "92.9% (92.7% ± 0.5 over 3 seeds)"
    assert results_page.with_spread(record, "best_epoch_test_accuracy", "percent") == "92.9% ± 0.1 over 2 seeds"
    assert results_page.with_spread(record, "epochs", "count") == "5"
    mean_recorded = {"test_accuracy": 0.5, "test_accuracy_seeds": [0.4, 0.6], "test_accuracy_sd": 0.1414}
    assert results_page.with_spread(mean_recorded, "test_accuracy", "percent") == "50.0% ± 14.1 over 2 seeds"
    assert results_page.with_spread(record, "valid_accuracy", "percent") is None
    table = results_page.chapter_table("day1_lstm_tagger", record, [])
    assert "92.9% ± 0.1 over 2 seeds" in table and "most frequent training tag" not in table


@pytest.mark.parametrize("value, unit, shown", [
    (0.88376, "percent", "88.4%"), (6.83, "times", "6.8×"), (171.4, "seconds", "171 s"),
    (8, "count", "8"), (1254321, "count", "1,254,321"), (0.35, "share", "0.35")])
def test_a_metric_reads_as_a_reader_expects(value, unit, shown):
    assert results_page.format_value(value, unit) == shown
