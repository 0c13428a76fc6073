"""How long it takes to load, tokenise and encode IMDB, from a cold cache and from a warm one.

Each measurement is a fresh Python process; the first starts with an empty NLPCOURSE_CACHE,
the second reuses what the first cached (parsed data and tokens).

    python benchmarks/data_pipeline.py --quick    # 2,000 reviews per split
    python benchmarks/data_pipeline.py            # all 50,000 reviews
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

from _common import machine, write_results

PIPELINE = """
import json, sys, time
start = time.perf_counter()
from nlpcourse import data, text
count = int(sys.argv[1])
records = [r for split in ("train", "test") for r in data.load_imdb(split)[:count]]
loaded = time.perf_counter()
tokens = text.tokenize_all([r["text"] for r in records], progress=False)
tokenised = time.perf_counter()
vocab = text.Vocab.build(tokens[:len(tokens) // 2], max_size=25_000)
ids = [vocab.encode(doc) for doc in tokens]
done = time.perf_counter()
print(json.dumps({"reviews": len(records), "tokens": sum(map(len, tokens)), "load s": loaded - start,
                  "tokenise s": tokenised - loaded, "encode s": done - tokenised, "total s": done - start}))
"""


def run_once(count: int, cache: str) -> dict:
    env = {**os.environ, "NLPCOURSE_CACHE": cache}
    out = subprocess.run([sys.executable, "-c", PIPELINE, str(count)], env=env, capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2,000 reviews per split instead of 25,000")
    args = parser.parse_args()
    count = 2_000 if args.quick else 25_000
    with tempfile.TemporaryDirectory() as cache:
        cold, warm = run_once(count, cache), run_once(count, cache)
    rows = [{"run": "cold cache", **cold}, {"run": "warm cache", **warm}]
    for row in rows:
        row["tokens/s (tokenise step)"] = row["tokens"] / max(row["tokenise s"], 1e-9)
    speedup = cold["total s"] / warm["total s"]
    note = f"The warm run is {speedup:.1f}x faster than the cold one (target: at least 5x)."
    print(rows, note, sep="\n")
    write_results("data_pipeline" + ("_quick" if args.quick else ""), rows, machine(), note)


if __name__ == "__main__":
    main()
