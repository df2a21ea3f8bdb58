"""CPU batch sizes of the torch path against plain sentence-transformers, on the bench_backends corpora.

    python benchmarks/bench_batching.py [--repeats 3] [--settings 8192/64 4096/32 ...]

Each setting is ``batch_tokens/max_batch_size`` passed to ``encode_documents``; × is the speed over
``SentenceTransformer.encode(batch_size=32)`` on the same texts, interleaved, best of ``--repeats``.
The package's CPU defaults were chosen from this table (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_backends import corpora

import ko_embed_lab as kel


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--settings", nargs="+", default=["8192/64", "8192/32", "8192/16", "4096/64", "4096/32"])
    args = ap.parse_args()
    settings = [tuple(int(x) for x in s.split("/")) for s in args.settings]
    model = kel.load_model(device="cpu")
    prompt = model.document_prompt
    for name, texts in corpora(model, 0, 200, 24, 48).items():
        fns = {"plain": lambda t=texts: model.st.encode(t, prompt=prompt, batch_size=32, normalize_embeddings=True)}
        for bt, mb in settings:
            fns[f"{bt}/{mb}"] = lambda t=texts, bt=bt, mb=mb: model.encode_documents(
                t, show_progress=False, batch_tokens=bt, max_batch_size=mb
            )
        for fn in fns.values():  # warm-up
            fn()
        best = dict.fromkeys(fns, float("inf"))
        for _ in range(args.repeats):
            for key, fn in fns.items():
                t0 = time.perf_counter()
                fn()
                best[key] = min(best[key], time.perf_counter() - t0)
        print(f"{name}: " + "; ".join(f"{k} {best['plain'] / v:.2f}×" for k, v in best.items()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
