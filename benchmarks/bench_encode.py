"""ko_embed_lab's encode against plain SentenceTransformer.encode, on the same model and texts.

    python benchmarks/bench_encode.py [--repeats 2] [--json out.json]

Prints, from one run: tokens/s of each on (a) short Korean sentences, (b) 400-token passages,
(c) a mixed-length corpus (10–2,000 tokens, log-uniform), their ratio; the cache-hit speed-up;
peak memory of each (fresh processes). Targets: ratio ≥ 1.0 on all three, cache hit ≥ 50×.
Both sides run the bundled model on the CPU with the document prompt; the two are interleaved
and the best of ``--repeats`` is kept, so machine noise affects both alike.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
from common import best_of, machine, passages_of_tokens, run_child, short_sentences

import ko_embed_lab as kel
from ko_embed_lab.encode import token_lengths


def corpora(model: kel.EmbeddingModel, seed: int, n_short: int, n_passages: int, n_mixed: int) -> dict[str, list[str]]:
    rng = np.random.default_rng(seed)
    mixed_lengths = np.exp(rng.uniform(np.log(10), np.log(2000), size=n_mixed)).astype(int).tolist()
    return {
        f"{n_short} short sentences": short_sentences(n_short, seed),
        f"{n_passages} passages of 400 tokens": passages_of_tokens(model, [400] * n_passages, seed),
        f"{n_mixed} mixed 10-2000 tokens": passages_of_tokens(model, mixed_lengths, seed + 1),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--short", type=int, default=1000)
    ap.add_argument("--passages", type=int, default=200)
    ap.add_argument("--mixed", type=int, default=300)
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()

    model = kel.load_model(device="cpu")
    prompt = model.document_prompt
    rows = []
    for name, texts in corpora(model, args.seed, args.short, args.passages, args.mixed).items():
        n_tokens = sum(token_lengths(model.tokenizer, texts, prompt, max_length=model.max_seq_length))

        def ours(texts: list[str] = texts) -> np.ndarray:
            return model.encode_documents(texts, show_progress=False)

        def plain(texts: list[str] = texts) -> np.ndarray:
            return model.st.encode(texts, prompt=prompt, batch_size=32, normalize_embeddings=True)

        ours(texts[:8]), plain(texts[:8])  # warm-up
        t_plain = t_ours = float("inf")
        for _ in range(args.repeats):  # interleaved
            t_plain = min(t_plain, best_of(plain, 1))
            t_ours = min(t_ours, best_of(ours, 1))
        diff = float(np.abs(ours() - plain()).max())
        rows.append(
            {
                "corpus": name,
                "tokens": n_tokens,
                "plain_tok_s": n_tokens / t_plain,
                "ours_tok_s": n_tokens / t_ours,
                "ratio": t_plain / t_ours,
                "max_abs_diff": diff,
            }
        )
        print(
            f"{name}: plain {n_tokens / t_plain:,.0f} tok/s, ours {n_tokens / t_ours:,.0f} tok/s, "
            f"ratio {t_plain / t_ours:.2f}x, max |diff| {diff:.1e}",
            flush=True,
        )

    # Cache hit against computing, on the short sentences.
    texts = short_sentences(args.short, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        cache = kel.EmbeddingCache(tmp)
        t0 = time.perf_counter()
        first = model.encode_documents(texts, cache=cache, show_progress=False)
        t_miss = time.perf_counter() - t0
        t_hit = best_of(lambda: model.encode_documents(texts, cache=kel.EmbeddingCache(tmp), show_progress=False), 3)
        assert np.array_equal(first, model.encode_documents(texts, cache=cache))
    cache_row = {"texts": len(texts), "miss_s": t_miss, "hit_s": t_hit, "speedup": t_miss / t_hit}
    print(
        f"cache: miss {t_miss:.2f} s, hit {t_hit * 1000:.1f} ms (fresh cache object, from disk): {t_miss / t_hit:.0f}x",
        flush=True,
    )

    memory = {}
    if not args.no_memory:
        for side, call in (
            ("plain", "m.st.encode(t, prompt=m.document_prompt, batch_size=32, normalize_embeddings=True)"),
            ("ours", "m.encode_documents(t, show_progress=False)"),
        ):
            code = (
                "import json, sys; sys.path.insert(0, 'benchmarks'); import ko_embed_lab as kel; "
                "from common import passages_of_tokens, PeakRSS; import numpy as np; "
                "m = kel.load_model(device='cpu'); rng = np.random.default_rng(1); "
                f"L = np.exp(rng.uniform(np.log(10), np.log(2000), size={args.mixed})).astype(int).tolist(); "
                "t = passages_of_tokens(m, L, 1)\n"
                f"with PeakRSS() as r:\n    {call}\n"
                "print(json.dumps({'base_mb': r.base_mb, 'peak_mb': r.peak_mb}))"
            )
            memory[side] = run_child(code)
            print(
                f"RSS during encode ({side}, mixed corpus): peak {memory[side]['peak_mb']:.0f} MB, "
                f"+{memory[side]['peak_mb'] - memory[side]['base_mb']:.0f} MB over the loaded model and texts",
                flush=True,
            )

    result = {"machine": machine(), "model": model.label, "rows": rows, "cache": cache_row, "memory": memory}
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(result, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
