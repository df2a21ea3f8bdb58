"""Streaming memory over the course of one run: anonymous memory every N texts of ``kel.encode_to_disk``.

    python benchmarks/bench_stream_memory.py [--backend openvino-int8] [--n 120000] [--every 8192]

``bench_scaling.py`` gives the peak of a whole run; this shows whether memory keeps growing with
the texts already encoded (a leak: the ceiling would rise with the corpus) or levels off once the
encoder's buffers have grown to the longest batch (a ceiling). The texts are the same lazily
generated short sentences as ``bench_scaling.py`` (numbered variants past 20,000); memory is read
after a garbage collection at every ``--every``-th text, as the engine asks for it.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import numbered, short_sentences

import ko_embed_lab as kel
from ko_embed_lab._memory import anon_bytes

CHUNK = 2048  # texts per encode_to_disk step, as in bench_scaling.py


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", default="openvino-int8", help="torch, onnx, onnx-int8, openvino, openvino-int8")
    ap.add_argument("--n", type=int, default=120_000, help="texts to encode (default 120000)")
    ap.add_argument(
        "--every", type=int, default=8192, help="texts between two readings (default 8192; a multiple of 2048)"
    )
    args = ap.parse_args()
    if args.every < CHUNK or args.every % CHUNK:
        raise SystemExit(f"--every must be a multiple of the chunk size, {CHUNK}: a reading between chunks")
    if anon_bytes() is None:
        raise SystemExit("anonymous memory is read from /proc/self/status: Linux only")
    backend, _, quant = args.backend.partition("-")
    model = kel.load_model(device="cpu", backend=backend, quantize=quant or None)
    pool = short_sentences(min(args.n, 20_000), 0)
    model.encode_documents(pool[:64])  # warm-up
    readings: list[tuple[int, float]] = []
    t0 = time.perf_counter()

    def texts() -> Iterator[str]:
        for i, text in enumerate(numbered(pool, args.n)):
            if i % args.every == 0:
                gc.collect()
                readings.append((i, (anon_bytes() or 0) / 2**20))
                print(f"  after {i:>7} texts: anonymous {readings[-1][1]:7.1f} MB", flush=True)
            yield text

    print(f"encode_to_disk, {args.n} short sentences, bundled model ({args.backend}):", flush=True)
    with tempfile.TemporaryDirectory() as d:
        kel.encode_to_disk(model, texts(), Path(d) / "e.npy", n=args.n, chunk_size=CHUNK, show_progress=False)
    half = [mb for i, mb in readings if i >= args.n // 2]
    first_half = [mb for i, mb in readings if 0 < i < args.n // 2]
    print(f"({time.perf_counter() - t0:.0f} s)")
    if half and first_half:
        print(
            f"growth over the second half of the run: {max(half) - max(first_half):+.1f} MB "
            f"(first reading after warm-up {readings[1][1]:.0f} MB, last {readings[-1][1]:.0f} MB)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
