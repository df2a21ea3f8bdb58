"""Every CPU backend against plain sentence-transformers (torch fp32): speed, equality and NDCG@10.

    python benchmarks/bench_backends.py [--quick] [--repeats 3] [--json out.json]

On the bundled model and the CPU: torch (ko-embed-lab's own loop), ONNX Runtime and OpenVINO, each
fp32 and int8, against ``SentenceTransformer.encode`` on the same texts — short Korean sentences,
400-token passages and a mixed corpus (10–2,000 tokens, log-uniform) — interleaved in one run (the
order rotates every round) and the best of ``--repeats`` kept, so machine noise affects all alike;
absolute tokens/s on a shared machine are noisy, the ratios much less. Then each backend's largest
difference from torch on the mixed corpus and its NDCG@10 on KoProbe (555 queries, 384 passages).

The last line is ``best CPU backend: NAME R× plain sentence-transformers, ΔNDCG@10 D``: NAME the
fastest backend on the mixed corpus whose NDCG@10 is within 0.01 of torch's (a ``KO_EMBED_LAB_BACKEND``
value), R its speed ratio on the mixed corpus, D its NDCG@10 difference.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable

import numpy as np

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
from bench_encode import corpora
from common import best_of, machine

import ko_embed_lab as kel
from ko_embed_lab.encode import token_lengths

PLAIN = "plain sentence-transformers"
#: (name, backend, quantize): the name is the ``KO_EMBED_LAB_BACKEND`` value.
BACKENDS = [
    ("torch", "torch", None),
    ("onnx", "onnx", None),
    ("onnx-int8", "onnx", "int8"),
    ("openvino", "openvino", None),
    ("openvino-int8", "openvino", "int8"),
]


def load_backends(base: kel.EmbeddingModel) -> dict[str, kel.EmbeddingModel]:
    models = {}
    for name, backend, quantize in BACKENDS:
        t0 = time.perf_counter()
        try:
            models[name] = kel.backends.to_backend(base, backend, quantize)
        except ValueError as exc:  # a runtime that is not installed: say so and go on
            print(f"skipped {name}: {exc}", flush=True)
            continue
        print(f"loaded {name} in {time.perf_counter() - t0:.1f} s (export reused when fast)", flush=True)
    return models


def time_interleaved(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Best wall time of each function over ``repeats`` rounds; each round runs all, in a rotated order."""
    best = dict.fromkeys(fns, float("inf"))
    names = list(fns)
    for r in range(repeats):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            best[name] = min(best[name], best_of(fns[name], 1))
    return best


def kernels(models: dict[str, kel.EmbeddingModel]) -> list[str]:
    """Which kernels the int8 graphs run: ORT's optimised operators, OpenVINO's oneDNN primitives."""
    lines = []
    if "onnx-int8" in models:
        from ko_embed_lab.backends.onnx import onnx_file, op_summary

        ops = op_summary(onnx_file(models["onnx-int8"].runtime.export))
        quant = {k: v for k, v in ops.items() if "Integer" in k or "Quant" in k}
        lines.append(f"onnx-int8 (ONNX Runtime MLAS) quantised operators: {quant}")
    if "openvino-int8" in models:
        from ko_embed_lab.backends.openvino import kernel_summary

        lines.append(
            f"openvino-int8 (oneDNN) matrix-product kernels: {kernel_summary(models['openvino-int8'].runtime.runner)}"
        )
    return lines


def best_line(rows: dict[str, dict[str, float]]) -> tuple[str, str]:
    """The last line, and the name it picks: the fastest backend on the mixed corpus that keeps quality."""
    name = kel.backends.pick_backend(
        {n: r["mixed"] for n, r in rows.items()}, {n: r["delta_ndcg"] for n, r in rows.items()}
    )
    r = rows[name]
    return f"best CPU backend: {name} {r['mixed']:.2f}× {PLAIN}, ΔNDCG@10 {r['delta_ndcg']:+.3f}", name


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small corpora (a minute or two once exported)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    sizes = (200, 24, 48) if args.quick else (1000, 200, 300)

    base = kel.load_model(device="cpu", backend="torch")
    models = load_backends(base)
    prompt = base.document_prompt
    texts_by = corpora(base, args.seed, *sizes)
    speed: dict[str, dict[str, float]] = {name: {} for name in models}
    diffs: dict[str, float] = {}
    for (corpus, texts), key in zip(texts_by.items(), ("short", "passages", "mixed"), strict=True):
        n_tokens = sum(token_lengths(base.tokenizer, texts, prompt, max_length=base.max_seq_length))
        fns: dict[str, Callable[[], object]] = {
            PLAIN: lambda t=texts: base.st.encode(t, prompt=prompt, batch_size=32, normalize_embeddings=True)
        }
        for name, m in models.items():
            fns[name] = lambda t=texts, m=m: m.encode_documents(t, show_progress=False)
        for fn in fns.values():  # warm-up (first-shape compilation, allocator)
            fn()
        best = time_interleaved(fns, args.repeats)
        line = f"{corpus} ({n_tokens:,} tokens): {PLAIN} {n_tokens / best[PLAIN]:,.0f} tok/s"
        for name in models:
            speed[name][key] = best[PLAIN] / best[name]
            line += f"; {name} {speed[name][key]:.2f}×"
        print(line, flush=True)
        if key == "mixed":
            ref = models["torch"].encode_documents(texts, show_progress=False)
            for name, m in models.items():
                diffs[name] = float(np.abs(m.encode_documents(texts, show_progress=False) - ref).max())

    probe = kel.data.load_probe().data
    ndcg = {
        name: kel.evaluate_retrieval(m, probe, cache=False, show_progress=False).metrics["ndcg@10"]
        for name, m in models.items()
    }
    rows = {
        name: {**speed[name], "max_abs_diff": diffs[name], "ndcg": ndcg[name], "delta_ndcg": ndcg[name] - ndcg["torch"]}
        for name in models
    }
    print()
    print(
        f"model: {base.label}; {machine()['threads']} threads; best of {args.repeats}, interleaved; × = speed over {PLAIN}"
    )
    print("| backend | short × | 400-token × | mixed × | max abs diff vs torch | NDCG@10 KoProbe | ΔNDCG@10 |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, r in rows.items():
        print(
            f"| {name} | {r['short']:.2f} | {r['passages']:.2f} | {r['mixed']:.2f} | {r['max_abs_diff']:.1e} "
            f"| {r['ndcg']:.4f} | {r['delta_ndcg']:+.4f} |"
        )
    for line in kernels(models):
        print(line)
    last, name = best_line(rows)
    if args.json:
        out = {"machine": machine(), "model": base.label, "quick": args.quick, "rows": rows, "best": name}
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(out, fh, indent=1)
    print(last)
    return 0


if __name__ == "__main__":
    sys.exit(main())
