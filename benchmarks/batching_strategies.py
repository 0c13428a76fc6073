"""How fast a 2-layer bidirectional LSTM trains on IMDB with four ways of batching.

naive: random batches, padded (the backward direction reads the padding);
bucketed: length-bucketed batches, padded;
packed: bucketed batches through ``pack_padded_sequence``;
exact: bucketed batches, backward direction reversed within each length (same numbers as packed).
All four run on the same reviews, the same seed, in the same process, one after the other.

    python benchmarks/batching_strategies.py --quick    # 384 reviews, under 5 minutes on 2 cores
    python benchmarks/batching_strategies.py            # 17,500 reviews (one training epoch of the lab)
"""

from __future__ import annotations

import argparse

import torch

from _common import Classifier, imdb_examples, machine, time_training, write_results
from nlpcourse import config
from nlpcourse.batching import BucketBatchSampler, pad_collate, padding_fraction

STRATEGIES = {"naive": ("random", "padded"), "bucketed": ("bucket", "padded"),
              "packed": ("bucket", "packed"), "exact": ("bucket", "exact")}


def make_batches(examples, batch_size: int, order: str, seed: int):
    if order == "random":
        indices = torch.randperm(len(examples), generator=torch.Generator().manual_seed(seed))
        groups = [chunk.tolist() for chunk in indices.split(batch_size)]
    else:
        groups = list(BucketBatchSampler([len(ids) for ids, _ in examples], batch_size, seed=seed))
    return [pad_collate([examples[i] for i in group]) for group in groups]


def max_difference(model_args, batches) -> float:
    """Largest gap between the packed and exact paths' outputs and gradients, same weights."""
    gaps = []
    reference = None
    for path in ("packed", "exact"):
        config.seed_everything(0)
        model = Classifier(*model_args, path=path)
        ids, lengths, labels = batches[0]
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(ids, lengths), labels)
        loss.backward()
        values = [model(ids, lengths).detach()] + [p.grad for p in model.parameters()]
        if reference is None:
            reference = values
        else:
            gaps = [(a - b).abs().max().item() for a, b in zip(reference, values)]
    return max(gaps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="384 reviews instead of 17,500")
    parser.add_argument("--embedding-dim", type=int, default=100)
    parser.add_argument("--hidden-dim", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--max-length", type=int, default=256)
    args = parser.parse_args()
    count = 384 if args.quick else 17_500
    examples, vocab_size = imdb_examples(count, args.max_length)
    device = config.device()
    model_args = (vocab_size, args.embedding_dim, args.hidden_dim, 2)
    rows = []
    for name, (order, path) in STRATEGIES.items():
        batches = make_batches(examples, args.batch_size, order, seed=0)
        config.seed_everything(0)
        seconds = time_training(Classifier(*model_args, path=path), batches, device)
        tokens = sum(int(lengths.sum()) for _, lengths, _ in batches)
        rows.append({"strategy": name, "batches": order, "lstm path": path, "epoch s": seconds,
                     "tokens/s": tokens / seconds, "steps computed": sum(ids.numel() for ids, _, _ in batches),
                     "padding": padding_fraction(lengths.tolist() for _, lengths, _ in batches)})
        print(rows[-1], flush=True)
    naive = rows[0]
    for row in rows:
        row["speed-up vs naive"] = naive["epoch s"] / row["epoch s"]
        # what removing padding alone could buy: the speed-up if time followed the padded steps
        row["padding bound"] = naive["steps computed"] / row["steps computed"]
    exact_vs_packed = rows[2]["epoch s"] / rows[3]["epoch s"]
    gap = max_difference(model_args, make_batches(examples, args.batch_size, "bucket", seed=0))
    meta = {**machine(), "reviews": count, "embedding_dim": args.embedding_dim, "hidden_dim": args.hidden_dim,
            "batch_size": args.batch_size, "max_length": args.max_length}
    note = (f"exact path vs pack_padded_sequence: {exact_vs_packed:.1f}x faster; "
            f"max abs difference of outputs and gradients between them: {gap:.2e}. "
            f"Bucketing saves only the padded steps: with reviews cut to {args.max_length} tokens, naive "
            f"batches are {rows[0]['padding']:.0%} padding, so if time followed the steps computed, "
            f"bucketing would be {rows[1]['padding bound']:.2f}x faster (the padding bound).")
    print(note)
    name = "batching_strategies" + ("" if args.max_length == 256 else f"_len{args.max_length}")
    write_results(name + ("_quick" if args.quick else ""), rows, meta, note)


if __name__ == "__main__":
    main()
