"""kel.encode_corpus on this machine: the local engine against the Ray engine, and their equality.

    python benchmarks/bench_corpus.py [--passages 384] [--shard-size 48] [--workers 2] [--json out.json]

Both engines embed the same Parquet corpus (KoProbe's passages, the package's Korean set, with the
bundled model) into fresh folders. Reported per engine: wall seconds of the whole call (for Ray:
starting a local cluster of ``--workers`` CPUs, loading one model per actor), seconds of the engine
phase, passages/s and tokens/s of that phase; then the largest absolute difference between the
two folders, shard for shard. Needs the ``scale`` extra for the Ray half. On a machine of 2 cores
the Ray engine's 2 single-thread actors do the work of the local engine's 2 threads plus the
cluster's start-up: it shows that the path works and agrees, not a speed-up.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common import machine

import ko_embed_lab as kel


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--passages", type=int, default=384)
    ap.add_argument("--shard-size", type=int, default=48)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="kel-bench-corpus-"))
    demo = kel.scale.probe_passages(args.passages)
    source = kel.scale.write_corpus(work / "corpus.parquet", demo)
    model = kel.load_model(device="cpu")
    tokens = kel.scale.token_stats(model, [t for _, t in demo])["total"]
    rows = []
    for engine in ("local", "ray"):
        t0 = time.perf_counter()
        run = kel.encode_corpus(
            source,
            work / engine,
            model=model if engine == "local" else None,
            engine=engine,
            shard_size=args.shard_size,
            num_workers=args.workers,
            num_cpus=args.workers,
            show_progress=False,
        )
        wall = time.perf_counter() - t0
        rows.append(
            {
                "engine": engine,
                "workers": run.workers,
                "wall_s": round(wall, 2),
                "engine_s": round(run.encode_seconds, 2),
                "passages_per_s": round(run.rows_per_s, 2),
                "tokens_per_s": round(tokens / run.encode_seconds, 1),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    diff = kel.scale.max_abs_diff(work / "local", work / "ray")
    result = {
        "passages": args.passages,
        "tokens": tokens,
        "shard_size": args.shard_size,
        "model": model.label,
        "engines": rows,
        "max_abs_diff_shard_for_shard": diff,
        "machine": machine(),
    }
    print(f"max abs diff, ray vs local, shard for shard: {diff:.3g}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
