"""Shared set-up of the benchmark scripts: IMDB batches, the model, timing, result files."""

from __future__ import annotations

import datetime
import json
import platform
import subprocess
import time
from pathlib import Path

import torch
from torch import nn

from nlpcourse import config, data, text
from nlpcourse.batching import LengthAwareLSTM

RESULTS = Path(__file__).resolve().parent / "results"


def imdb_examples(count: int, max_length: int, vocab_size: int = 25_000, seed: int = 0):
    """``count`` shuffled IMDB training reviews as (ids, label) pairs, and the vocabulary size."""
    records = data.load_imdb("train")
    order = torch.randperm(len(records), generator=torch.Generator().manual_seed(seed))[:count].tolist()
    tokens = text.tokenize_all([records[i]["text"] for i in order], progress=False)
    vocab = text.Vocab.build(tokens, max_size=vocab_size)
    examples = [(vocab.encode(doc[:max_length]) or [vocab.unk_index], float(records[i]["label"]))
                for doc, i in zip(tokens, order)]
    return examples, len(vocab)


class Classifier(nn.Module):
    """Embedding -> LengthAwareLSTM -> linear: the IMDB lab's model, with a chosen padding path."""

    def __init__(self, vocab_size: int, embedding_dim: int, hidden_dim: int, num_layers: int, path: str):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
        self.lstm = LengthAwareLSTM(embedding_dim, hidden_dim, num_layers, bidirectional=True, path=path)
        self.out = nn.Linear(2 * hidden_dim, 1)

    def forward(self, ids, lengths):
        return self.out(self.lstm(self.embedding(ids), lengths)[1]).squeeze(-1)


def time_training(model: nn.Module, batches, device: torch.device) -> float:
    """Seconds for one training pass (forward, backward, Adam step) over ``batches``.

    One untimed forward and backward pass first, so the first strategy timed does not pay
    the one-off costs (thread pools, allocator, kernel selection) for the others.
    """
    model.to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.BCEWithLogitsLoss()
    ids, lengths, labels = batches[0]
    loss_fn(model(ids.to(device), lengths), labels.to(device)).backward()
    optimizer.zero_grad()
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for ids, lengths, labels in batches:
        optimizer.zero_grad()
        loss_fn(model(ids.to(device), lengths), labels.to(device)).backward()
        optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def machine() -> dict:
    """Where a measurement was taken."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = "unknown"
    return {"date": datetime.date.today().isoformat(), "commit": commit, "torch": torch.__version__,
            "device": str(config.device()), "cpu_threads": torch.get_num_threads(),
            "platform": platform.platform()}


def write_results(name: str, rows: list[dict], meta: dict, note: str = "") -> Path:
    """Write ``rows`` as JSON and as a Markdown table under benchmarks/results/."""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps({"meta": meta, "rows": rows, "note": note}, indent=2) + "\n")
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(f"{v:.3g}" if isinstance(v, float) else str(v) for v in row.values()) + " |")
    described = ", ".join(f"{k}: {v}" for k, v in meta.items())
    path = RESULTS / f"{name}.md"
    path.write_text("\n".join(lines) + f"\n\n{note}\n\nMeasured with {described}.\n")
    return path
