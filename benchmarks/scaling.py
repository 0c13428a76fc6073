"""How the training time of the fastest CPU path grows with max length and batch size.

The model is the IMDB lab's 2-layer bidirectional LSTM (exact reverse-within-length path,
bucketed batches). Each setting trains once over the same reviews; the figure shows
reviews per second.

    python benchmarks/scaling.py --quick    # 256 reviews per setting
    python benchmarks/scaling.py            # 2,048 reviews per setting
"""

from __future__ import annotations

import argparse

from matplotlib.figure import Figure

from _common import RESULTS, Classifier, imdb_examples, machine, time_training, write_results
from nlpcourse import config
from nlpcourse.batching import BucketBatchSampler, pad_collate

MAX_LENGTHS = (64, 128, 256, 512)
BATCH_SIZES = (32, 64, 128, 256)


def measure(examples, vocab_size: int, max_length: int, batch_size: int, hidden_dim: int) -> float:
    clipped = [(ids[:max_length], label) for ids, label in examples]
    sampler = BucketBatchSampler([len(ids) for ids, _ in clipped], batch_size, seed=0)
    batches = [pad_collate([clipped[i] for i in group]) for group in sampler]
    config.seed_everything(0)
    model = Classifier(vocab_size, 100, hidden_dim, 2, path="exact")
    return len(clipped) / time_training(model, batches, config.device())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="256 reviews per setting instead of 2,048")
    parser.add_argument("--hidden-dim", type=int, default=256)
    args = parser.parse_args()
    count = 256 if args.quick else 2_048
    examples, vocab_size = imdb_examples(count, max(MAX_LENGTHS))
    rows = []
    for max_length in MAX_LENGTHS:
        rows.append({"vary": "max length", "max length": max_length, "batch size": 64,
                     "reviews/s": measure(examples, vocab_size, max_length, 64, args.hidden_dim)})
        print(rows[-1], flush=True)
    for batch_size in BATCH_SIZES:
        rows.append({"vary": "batch size", "max length": 256, "batch size": batch_size,
                     "reviews/s": measure(examples, vocab_size, 256, batch_size, args.hidden_dim)})
        print(rows[-1], flush=True)
    suffix = "_quick" if args.quick else ""
    figure = Figure(figsize=(10, 3.8), layout="constrained")
    for axis, key in zip(figure.subplots(1, 2), ("max length", "batch size")):
        points = [(row[key], row["reviews/s"]) for row in rows if row["vary"] == key]
        axis.plot(*zip(*points), "o-")
        axis.set_xscale("log", base=2)
        axis.set(xlabel=key, ylabel="reviews per second (training)", title=f"throughput vs {key}")
    RESULTS.mkdir(exist_ok=True)
    figure.savefig(RESULTS / f"scaling{suffix}.png", dpi=100)
    meta = {**machine(), "reviews": count, "hidden_dim": args.hidden_dim, "path": "exact"}
    by_length = {row["max length"]: row["reviews/s"] for row in rows if row["vary"] == "max length"}
    by_batch = {row["batch size"]: row["reviews/s"] for row in rows if row["vary"] == "batch size"}
    shortest, longest, smallest, largest = MAX_LENGTHS[0], MAX_LENGTHS[-1], BATCH_SIZES[0], BATCH_SIZES[-1]
    note = (f"Reviews cut to {longest} tokens train {by_length[shortest] / by_length[longest]:.1f}x slower than "
            f"cut to {shortest} ({longest // shortest}x the steps); batches of {largest} train "
            f"{by_batch[largest] / by_batch[smallest]:.1f}x as many reviews per second as batches of {smallest}. "
            f"Figure: `scaling{suffix}.png`.")
    write_results("scaling" + suffix, rows, meta, note)


if __name__ == "__main__":
    main()
