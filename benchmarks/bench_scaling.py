"""Scaling on the CPU: encode time and peak memory against corpus size and document length,
and streaming to disk with flat memory.

    python benchmarks/bench_scaling.py [--sizes 1000 10000 100000] [--stream-sizes 300000]
                                        [--backend torch|onnx-int8|openvino-int8 ...]
                                        [--lengths 256 512 ... 8192] [--arch target|tiny] [--json out.json]

(a) corpus size: short Korean passages, bundled model, each size in a fresh process (peak RSS);
(b) document length 256 … 8,192 tokens: the target architecture with random weights (the bundled
    model's window is 512), one document per length, time and peak RSS growth;
(c) streaming: ``kel.encode_to_disk`` against in-memory ``encode`` at the same sizes: peak RSS, and
    peak anonymous memory (RSS less file-backed pages: the written pages of the memory-mapped
    output file count in RSS but are the kernel's page cache, written back and dropped at will);
    ``--stream-sizes`` adds sizes run streaming only (the memory ceiling as the corpus grows).
The texts are generated lazily for the streaming runs (a generator), so the ceiling is the engine's.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, run_child

SIZE_CHILD = """
import json, sys, time, tempfile; sys.path.insert(0, 'benchmarks')
import ko_embed_lab as kel
from common import numbered, short_sentences, PeakRSS
backend, _, quant = '{backend}'.partition('-')
m = kel.load_model(device='cpu', backend=backend, quantize=quant or None)
pool = short_sentences(min({n}, 20000), 0)
texts = lambda: numbered(pool, {n})  # lazily: numbered variants once the pool is used up
m.encode_documents(pool[:64])  # warm-up outside the timing
t0 = time.perf_counter()
with PeakRSS() as r, tempfile.TemporaryDirectory() as d:
    if {stream}:
        kel.encode_to_disk(m, texts(), d + '/e.npy', n={n}, chunk_size=2048, show_progress=False)
    else:
        e = m.encode_documents(list(texts()), show_progress=False)
print(json.dumps({{'n': {n}, 'stream': {stream}, 'backend': '{backend}', 'seconds': time.perf_counter() - t0, 'base_mb': r.base_mb, 'peak_mb': r.peak_mb, 'anon_base_mb': r.anon_base_mb, 'anon_peak_mb': r.anon_peak_mb}}))
"""

LENGTH_CHILD = """
import json, sys, time, tempfile; sys.path.insert(0, 'benchmarks')
import ko_embed_lab as kel, torch
from common import PeakRSS
from synthetic import build_synthetic_model, synthetic_texts, flops_per_token
folder = build_synthetic_model(tempfile.gettempdir() + '/kel-synthetic-{arch}', size='{arch}')
m = kel.load_model(str(folder), device='cpu')
m.encode_documents(synthetic_texts(1, 64))
t0 = time.perf_counter()
with PeakRSS() as r:
    m.encode_documents(synthetic_texts(1, {length}), batch_tokens=1_000_000)
dt = time.perf_counter() - t0
print(json.dumps({{'length': {length}, 'seconds': dt, 'tok_s': {length} / dt, 'gflop_s': flops_per_token({length}, '{arch}') * {length} / dt / 1e9, 'base_mb': r.base_mb, 'peak_mb': r.peak_mb}}))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument(
        "--sizes", type=int, nargs="*", default=[1000, 10000, 100000], help="sizes run in memory and streaming"
    )
    ap.add_argument("--stream-sizes", type=int, nargs="*", default=[], help="sizes run streaming only")
    ap.add_argument("--backend", default="torch", help="torch, onnx, onnx-int8, openvino, openvino-int8")
    ap.add_argument("--lengths", type=int, nargs="*", default=[256, 512, 1024, 2048, 4096, 8192])
    ap.add_argument("--arch", choices=["target", "tiny"], default="target")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    out = {"machine": machine(), "sizes": [], "lengths": []}
    print(f"(a)+(c) corpus size, bundled model ({args.backend}), short sentences:", flush=True)
    runs = [(n, stream) for n in args.sizes for stream in (False, True)] + [(n, True) for n in args.stream_sizes]
    for n, stream in runs:
        r = run_child(SIZE_CHILD.format(n=n, stream=stream, backend=args.backend), timeout=4 * 3600)
        out["sizes"].append(r)
        print(
            f"  n={n:>7} {'stream to disk' if stream else 'in memory     '}: {r['seconds']:8.1f} s, "
            f"{n / r['seconds']:7.0f} texts/s, peak RSS {r['peak_mb']:6.0f} MB (+{r['peak_mb'] - r['base_mb']:.0f}), "
            f"anonymous +{r['anon_peak_mb'] - r['anon_base_mb']:.0f} MB",
            flush=True,
        )
    if args.lengths:
        print(f"(b) document length, {args.arch} architecture, random weights:", flush=True)
    for length in args.lengths:
        r = run_child(LENGTH_CHILD.format(length=length, arch=args.arch))
        out["lengths"].append(r)
        print(
            f"  L={length:>5}: {r['seconds']:7.2f} s, {r['tok_s']:7.0f} tok/s, {r['gflop_s']:6.1f} GFLOP/s, "
            f"peak RSS +{r['peak_mb'] - r['base_mb']:.0f} MB",
            flush=True,
        )
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
