"""The results page (book/results.md): our full-profile records beside the published numbers.

Our numbers come from the records the chapters write in the full profile
(``results/full/<record>.json``, each listed by its chapter's committed execution
``results/full/<chapter>.ipynb``), the published ones from ``results/anchors.yml``: the lecture's and the lab's numbers
(the course's source documents) and public anchors, each with its exact source. This module
turns them into one Markdown table per chapter, with metric names a reader understands, a
provenance line per chapter, and a bar chart of every accuracy that has an anchor. GPU runs
(``results/gpu/<date>-<machine>.json``: a dated session's measurements, with their source) add a
column beside the CPU records and a section of their own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

#: The chapters (by the names of :mod:`nlpcourse.course.chapters`) in book order, each with (record key,
#: what it measures, unit) for each metric the page shows. A record key missing from a record (an older
#: run) is left out of its table.
METRICS: dict[str, list[tuple[str, str, str]]] = {
    "primer_pytorch": [
        ("loss_start", "Next-word model on a toy corpus: training loss before training", "loss"),
        ("loss_end", "The same after training", "loss"),
        ("epochs", "Training epochs", "count"),
    ],
    "day1_lstm_tagger": [
        ("test_accuracy", "LSTM tagger, one sentence per step: test accuracy", "percent"),
        ("best_epoch_test_accuracy", "The same, weights of the best epoch by validation loss: test accuracy",
         "percent"),
        ("lookup_accuracy", "Each word's most frequent training tag: test accuracy", "percent"),
        ("majority_accuracy", "The most frequent tag for every word: test accuracy", "percent"),
        ("epochs", "Training epochs", "count"),
        ("epoch_time_s", "Seconds per training epoch", "seconds"),
    ],
    "day2_minibatch_tagger": [
        ("test_accuracy", "LSTM tagger in mini-batches: test accuracy", "percent"),
        ("batch_speedup", "Speed-up of mini-batches over one sentence per step", "times"),
        ("bucket_speedup", "Speed-up of length buckets over random batches", "times"),
        ("padding_random", "Share of padding in random batches", "percent"),
        ("padding_bucketed", "Share of padding in length buckets", "percent"),
        ("packed_over_padded", "Time of a packed training step over a padded one", "times"),
        ("exact_over_padded", "Time of an exact (reversed-within-length) step over a padded one", "times"),
        ("epochs", "Training epochs", "count"),
        ("epoch_time_s", "Seconds per training epoch", "seconds"),
    ],
    "day3_lstm_classifier": [
        ("test_accuracy", "LSTM classifier reading the last real word: test accuracy", "percent"),
        ("test_accuracy_last_position", "The same model reading the last position (padding): test accuracy",
         "percent"),
        ("valid_accuracy", "LSTM classifier: validation accuracy", "percent"),
        ("epochs", "Training epochs", "count"),
        ("epoch_time_s", "Seconds per training epoch", "seconds"),
    ],
    "lab_newsgroups_vectors": [
        ("lr_glove_valid_accuracy", "Logistic regression on averaged GloVe vectors: validation accuracy",
         "percent"),
        ("lr_w2v_valid_accuracy", "Logistic regression on averaged corpus-trained word2vec: validation accuracy", "percent"),
        ("lr_our_glove_valid_accuracy", "Logistic regression on averaged corpus-trained GloVe: validation accuracy", "percent"),
    ],
    "lab_newsgroups_pytorch": [
        ("averaging_random_test_accuracy", "Averaging model, random embeddings: test accuracy", "percent"),
        ("averaging_frozen_test_accuracy", "Averaging model, GloVe frozen: test accuracy", "percent"),
        ("averaging_tuned_test_accuracy", "Averaging model, GloVe fine-tuned: test accuracy", "percent"),
        ("averaging_padded_test_accuracy", "Averaging model, random embeddings, mean over the padding too: test accuracy",
         "percent"),
        ("lstm_last_position_test_accuracy", "LSTM reading the last position (padding): test accuracy", "percent"),
        ("lstm_last_real_state_test_accuracy", "LSTM reading the last real word: test accuracy", "percent"),
        ("lstm_masked_mean_test_accuracy", "LSTM, mean of its states over real words: test accuracy", "percent"),
        ("lstm_masked_max_test_accuracy", "LSTM, maximum of its states over real words: test accuracy", "percent"),
        ("lstm_attention_test_accuracy", "LSTM, attention-weighted sum of its states: test accuracy", "percent"),
        ("tfidf_test_accuracy", "TF-IDF (1-2 grams) + linear SVM: test accuracy", "percent"),
        ("epoch_time_s", "Seconds per training epoch (averaging model)", "seconds"),
    ],
    "lab_imdb": [
        ("test_accuracy", "Improved model (2-layer bidirectional LSTM, GloVe): test accuracy", "percent"),
        ("transformer_test_accuracy", "Small Transformer encoder from scratch (GloVe, same data): test accuracy",
         "percent"),
        ("ensemble_test_accuracy", "Average of the BiLSTM's and TF-IDF's probabilities: test accuracy",
         "percent"),
        ("ensemble_weight", "Weight of the BiLSTM in that average (chosen on validation)", "share"),
        ("baseline_test_accuracy", "Base model (plain RNN, SGD): test accuracy", "percent"),
        ("tfidf_test_accuracy", "TF-IDF + logistic regression, same run: test accuracy", "percent"),
        ("packed_vs_exact_cpu", "Time of a packed training step over an exact one (CPU)", "times"),
        ("epochs", "Training epochs of the improved model", "count"),
        ("epoch_time_s", "Seconds per training epoch of the improved model", "seconds"),
        ("transformer_epoch_time_s", "Seconds per training epoch of the Transformer encoder", "seconds"),
        ("parameters", "Trainable parameters of the improved model", "count"),
        ("transformer_parameters", "Trainable parameters of the Transformer encoder", "count"),
    ],
}
KINDS = {"source": "Source documents", "public": "Public anchors"}


@dataclass(frozen=True)
class Anchor:
    """A published number: which of our metrics it compares with, its value and its source."""

    chapter: str  # a chapter of METRICS
    metric: str
    kind: str  # "source" (the course's source documents) or "public"
    value: float
    label: str
    source: str
    url: str = ""


def load_anchors(path: str | Path) -> list[Anchor]:
    """The anchors of ``results/anchors.yml``; a clear error for an unknown chapter, metric or kind."""
    import yaml

    anchors = [Anchor(**entry) for entry in yaml.safe_load(Path(path).read_text(encoding="utf-8"))["anchors"]]
    for anchor in anchors:
        metrics = {key for key, _, _ in METRICS.get(anchor.chapter, [])}
        if anchor.metric not in metrics or anchor.kind not in KINDS or not 0 <= anchor.value <= 1:
            raise ValueError(f"{path}: anchor {anchor.label!r} names chapter {anchor.chapter!r}, metric "
                             f"{anchor.metric!r}, kind {anchor.kind!r}, value {anchor.value}: not one the page knows")
    return anchors


def load_records(folder: str | Path) -> dict[str, dict]:
    """Each chapter's full-profile record, by chapter: the record its committed execution
    (``<chapter>.ipynb`` in ``folder``) lists. A record keeps the name its chapter gave it
    (``record["chapter"]``, e.g. ``day1``): the GPU measurements name records that way."""
    records = {}
    for artifact in sorted(Path(folder).glob("*.ipynb")):
        meta = json.loads(artifact.read_text(encoding="utf-8"))["metadata"].get("nlpcourse", {})
        for name in meta.get("records", {}):
            if (Path(folder) / name).exists():
                records[artifact.stem] = json.loads((Path(folder) / name).read_text(encoding="utf-8"))
    return records


def format_value(value: float, unit: str) -> str:
    """A metric as a reader reads it: 88.4%, 6.8×, 171 s, 8, 1,254,321."""
    if unit == "percent":
        return f"{value:.1%}"
    if unit == "times":
        return f"{value:.1f}×"
    if unit == "loss":
        return f"{value:.3f}"
    if unit == "seconds":
        return f"{value:.1f} s" if value < 100 else f"{value:.0f} s"
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


def with_spread(record: dict, key: str, unit: str) -> str | None:
    """A metric as the table shows it, or None when the record lacks it: the recorded run's value
    and, when the record repeats it over seeds (``<key>_seeds``, ``<key>_sd``), their mean ±
    standard deviation and count (alone when only the repeats were recorded)."""
    seeds, sd = record.get(f"{key}_seeds") or [], record.get(f"{key}_sd")
    repeated = ""
    if len(seeds) > 1 and sd is not None:
        repeated = (f"{format_value(sum(seeds) / len(seeds), unit)} ± "
                    f"{format_value(sd, unit).rstrip('%')} over {len(seeds)} seeds")
    if key not in record or (repeated and abs(record[key] - sum(seeds) / len(seeds)) < 1e-9):
        return repeated or (None if key not in record else format_value(record[key], unit))
    return format_value(record[key], unit) + (f" ({repeated})" if repeated else "")


def where_measured(record: dict) -> str:
    """Where a record's numbers were measured: machine, device, commit, date, profile."""
    where = f"on {record['machine']}, device {record.get('device', '?')}" if record.get("machine") \
        else f"on device {record.get('device', '?')}"
    return (f"Measured {where}, at commit `{record.get('commit', '?')}` on {record.get('date', '?')}, "
            f"{record.get('profile', '?')} profile.")


def load_gpu(folder: str | Path) -> dict | None:
    """The newest GPU measurements (``results/gpu/*.json``, named by date), or None."""
    paths = sorted(Path(folder).glob("*.json"))
    return json.loads(paths[-1].read_text(encoding="utf-8")) if paths else None


def cpu_wall_times(folder: str | Path) -> dict[str, float]:
    """Seconds each committed full-profile execution (``results/full/*.ipynb``) took, by record name."""
    times = {}
    for path in sorted(Path(folder).glob("*.ipynb")):
        meta = json.loads(path.read_text(encoding="utf-8"))["metadata"].get("nlpcourse", {})
        for name in meta.get("records", {}):
            times[name.removesuffix(".json")] = meta["execution_seconds"]
    return times


#: Record keys that describe how a chapter trained; a GPU run that differs in one ran another recipe.
RECIPE_KEYS = ("epochs", "max_length", "max_grad_norm", "lr_schedule")


def recipe_changes(cpu: dict, on_gpu: dict) -> list[str]:
    """How the CPU record's recipe differs from the GPU run's ("epochs 6 → 4"); empty when alike."""
    return [f"{key} {on_gpu.get(key, 'none')} → {cpu.get(key, 'none')}" for key in RECIPE_KEYS
            if (key in cpu or key in on_gpu) and cpu.get(key) != on_gpu.get(key)]


def gpu_label(gpu: dict) -> str:
    """The GPU column's heading: machine and date."""
    return f"On a GPU ({gpu['gpu']}, {gpu['date']}, one run)"


def chapter_table(chapter: str, record: dict, anchors: list[Anchor], gpu: dict | None = None) -> str:
    """The Markdown table of one chapter: each metric, ours (CPU, and GPU when measured) and the
    anchors', then their sources."""
    metrics = METRICS[chapter]
    on_gpu = (gpu or {}).get("chapters", {}).get(record.get("chapter"))
    shown = [key for key, _, unit in metrics if with_spread(record, key, unit)]
    mine = sorted((a for a in anchors if a.chapter == chapter and a.metric in shown),  # numbered as they appear
                  key=lambda a: (shown.index(a.metric), list(KINDS).index(a.kind)))
    numbers = {id(anchor): n for n, anchor in enumerate(mine, start=1)}
    gpu_heading = f" {gpu_label(gpu)} |" if on_gpu else ""
    lines = [f"| Metric | This course (full profile) |{gpu_heading} Source documents | Public anchors |",
             "| --- | ---: |" + (" ---: |" if on_gpu else "") + " ---: | ---: |"]
    for key, name, unit in metrics:
        if key not in shown:
            continue
        earlier = " (earlier recipe)" if on_gpu and recipe_changes(record, on_gpu) else ""
        cells = [format_value(on_gpu[key], unit) + earlier if key in on_gpu else "–"] if on_gpu else []
        for kind in KINDS:
            cells.append("; ".join(f"{format_value(a.value, unit)} [{numbers[id(a)]}]"
                                   for a in mine if a.metric == key and a.kind == kind) or "–")
        lines.append(f"| {name} | {with_spread(record, key, unit)} | {' | '.join(cells)} |")
    if mine:
        lines.append("")
        for anchor in mine:
            label = f"[{anchor.label}]({anchor.url})" if anchor.url else anchor.label
            lines.append(f"{numbers[id(anchor)]}. {label}: {anchor.source}")
    return "\n".join(lines)


def chapter_section(chapter: str, records: dict[str, dict], anchors: list[Anchor], gpu: dict | None = None) -> str:
    """A chapter's part of the page in (GitHub-flavoured) Markdown: table, sources, provenance line."""
    if chapter not in records:
        return ("No full-profile run recorded yet: run the chapter with "
                "`NLPCOURSE_PROFILE=full NLPCOURSE_RESULTS=results`.")
    record = records[chapter]
    gpu_line = " The GPU column: see *On a GPU* below." if record.get("chapter") in (gpu or {}).get("chapters", {}) else ""
    return f"{chapter_table(chapter, record, anchors, gpu)}\n\n{where_measured(record)}{gpu_line}"


def gpu_provenance(gpu: dict) -> str:
    """Where and how the GPU numbers were measured, and that this build did not measure them."""
    return (f"measured on {gpu['machine']} ({gpu['software']}) at commit `{gpu['commit']}` on {gpu['date']}, "
            f"{gpu['runs']}; source: {gpu['source']}. A session's measurements, quoted here: not this build's.")


def gpu_section(gpu: dict, records: dict[str, dict], cpu_seconds: dict[str, float]) -> str:
    """The GPU beside the CPU: chapter wall times and accuracies, the IMDB lab's epoch by LSTM path,
    and the chapters whose result differs between the devices by more than a point."""
    lines = ["| Chapter (full profile) | Wall time, GPU | Wall time, CPU | Epoch, GPU | Epoch, CPU "
             "| Test accuracy, GPU | Test accuracy, CPU |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    apart = []
    by_name = {record.get("chapter"): record for record in records.values()}  # the GPU file names records
    for chapter, on_gpu in gpu["chapters"].items():
        cpu = by_name.get(chapter, {})
        cells = [format_value(value, unit) if value is not None else "–" for value, unit in (
            (on_gpu["wall_time_s"], "seconds"), (cpu_seconds.get(chapter), "seconds"),
            (on_gpu["epoch_time_s"], "seconds"), (cpu.get("epoch_time_s"), "seconds"),
            (on_gpu["test_accuracy"], "percent"), (cpu.get("test_accuracy"), "percent"))]
        lines.append(f"| {chapter} | {' | '.join(cells)} |")
        by_epoch = ", ".join(f"{value:.3f}" for value in on_gpu.get("valid_accuracy_by_epoch", []))
        changes = recipe_changes(cpu, on_gpu) if cpu else []
        if changes:
            apart.append(f"**{chapter}: the GPU ran an earlier recipe** (commit `{gpu['commit']}`; since "
                         f"then {', '.join(changes)}). Its {on_gpu['test_accuracy']:.1%} then is not the same "
                         f"experiment as the CPU column's {cpu['test_accuracy']:.1%} now, and a GPU run of the "
                         "current recipe is not recorded yet."
                         + (f" Validation accuracy by epoch of that GPU run: {by_epoch}." if by_epoch else ""))
        elif "test_accuracy" in cpu and abs(on_gpu["test_accuracy"] - cpu["test_accuracy"]) > 0.01:
            apart.append(f"**Open problem: {chapter} is not yet stable.** Its test accuracy is "
                         f"{on_gpu['test_accuracy']:.1%} on the GPU and {cpu['test_accuracy']:.1%} on the CPU, "
                         f"{abs(on_gpu['test_accuracy'] - cpu['test_accuracy']) * 100:.1f} points apart, one seed "
                         f"each: neither is *the* result of the chapter."
                         + (f" Validation accuracy by epoch on the GPU: {by_epoch}." if by_epoch else ""))
    epochs = gpu["imdb_epoch_s"]
    paths = list(next(iter(epochs["by_max_length"].values())))
    lines += ["", f"{epochs['what']}, seconds per epoch by how each batch is read ({', '.join(paths)}):", "",
              "| Reviews cut to | " + " | ".join(paths) + " |", "| --- |" + " ---: |" * len(paths)]
    for length, seconds in epochs["by_max_length"].items():
        lines.append(f"| {length} tokens | " + " | ".join(f"{seconds[path]:.1f} s" for path in paths) + " |")
    setup = ", ".join(f"{key} {value}" for key, value in epochs["setup"].items())
    ratios = ", ".join(f"{seconds['packed'] / seconds['exact']:.1f}× at {length} tokens"
                       for length, seconds in epochs["by_max_length"].items())
    lines += ["", f"A packed epoch over an exact one: {ratios}. Setup of that benchmark: "
              f"{setup}.", *(f"\n{line}" for line in apart),
              "", f"All GPU numbers: {gpu_provenance(gpu)}"]
    return "\n".join(lines)


def comparison_rows(records: dict[str, dict], anchors: list[Anchor]) -> list[tuple[str, str, float]]:
    """(metric name, who, accuracy) for each anchored metric we recorded: ours first, then the anchors."""
    rows = []
    for chapter, metrics in METRICS.items():
        record = records.get(chapter, {})
        for key, name, _ in metrics:
            anchored = [a for a in anchors if a.chapter == chapter and a.metric == key]
            if anchored and key in record:
                rows.append((name, "this course (full profile)", float(record[key])))
                rows.extend((name, a.label, a.value) for a in anchored)
    return rows


def accuracy_chart(records: dict[str, dict], anchors: list[Anchor]):
    """A horizontal bar chart: each anchored accuracy, ours (blue) above the published ones (grey)."""
    import matplotlib.pyplot as plt

    rows = comparison_rows(records, anchors)
    names = list(dict.fromkeys(name for name, _, _ in rows))
    figure, axis = plt.subplots(figsize=(9, 0.42 * len(rows) + 0.55 * len(names) + 1))
    y, ticks, labels = 0.0, [], []
    for name in names:
        axis.text(0, y - 0.75, name, fontsize=9, fontweight="bold")
        for _, who, value in (row for row in rows if row[0] == name):
            ours = who.startswith("this course")
            axis.barh(y, value, color="tab:blue" if ours else "tab:gray", height=0.75)
            axis.text(value + 0.005, y, f"{value:.1%}", va="center", fontsize=8)
            ticks.append(y)
            labels.append(who)
            y += 1
        y += 1.1
    axis.set_yticks(ticks, labels, fontsize=8)
    axis.set_ylim(y - 0.9, -1.4)
    axis.set_xlim(0, 1.08)
    axis.set_xlabel("accuracy")
    axis.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    return figure
