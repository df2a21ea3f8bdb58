"""ANN indexes on CPU: build time, query latency, recall@10 against exact search, memory per vector.

    python benchmarks/bench_indexes.py [--sizes 10000 100000] [--queries 100] [--seed 0] [--threads N]

The corpus is the bundled model's KoProbe passage embeddings extended with seeded synthetic vectors
of the same mean and covariance (``kel.compress.synthetic_corpus``); queries are KoProbe queries.
Queries run on one core; builds on ``--threads`` cores (default: faiss's, one per core).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    p.add_argument("--queries", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args()

    import ko_embed_lab as kel

    model = kel.load_model(device="cpu")
    probe = kel.data.load_probe()
    emb = kel.compress.embed_set(model, probe.data, cache=True)
    corpus = kel.compress.synthetic_corpus(emb["docs"], max(args.sizes), seed=args.seed)
    bench = kel.compress.benchmark_indexes(
        corpus, emb["queries"][: args.queries], args.sizes, seed=args.seed, build_threads=args.threads
    )
    print(f"# ANN indexes, {model.label} ({model.dim}-d), {args.queries} KoProbe queries; {machine()}")
    cols = ["index", "n", "build_s", "query_ms", "recall@10", "bytes_per_vector"]
    print(bench[cols].to_markdown(index=False, floatfmt=".3f"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
