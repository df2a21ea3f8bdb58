"""Encoding speed of the three offline encoders on the same texts, in one run: KoProbe's passages.

    python benchmarks/bench_encoders.py [--n 384] [--repeats 3] [--json out.json]

Encoders: the bundled transformer (multilingual-e5-small, 4-bit weights dequantised to fp32),
USE multilingual v3 (numpy) and the static model distilled from the bundled one (model2vec).
Each encodes the same passages as documents (its own prompt, no cache); the best wall time of
``--repeats`` is kept. Tokens are each model's own (its tokenizer, special tokens included, cut
where the model cuts), so tokens/s compares work per token; characters/s compares the models on
the same text.
"""

from __future__ import annotations

import argparse
import json
import sys

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
from common import best_of, machine

import ko_embed_lab as kel
from ko_embed_lab.data.probe import load_probe
from ko_embed_lab.encode import token_lengths


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=None, help="first N passages (default: all 384)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", default=None, help="also write the rows as JSON")
    args = ap.parse_args()

    texts = load_probe().data.doc_texts()[: args.n]
    chars = sum(len(t) for t in texts)
    encoders = {
        "bundled (e5-small, torch)": kel.load_model("bundled", device="cpu"),
        "use-multilingual-v3 (numpy)": kel.load_model("use-multilingual-v3"),
        "static-e5-small (model2vec)": kel.load_model("static-e5-small"),
    }
    rows = []
    for name, enc in encoders.items():
        prompt = enc.prompt_for("document")  # type: ignore[union-attr]
        if isinstance(enc, kel.EmbeddingModel):
            lengths = token_lengths(enc.tokenizer, texts, prompt, max_length=enc.max_seq_length)
        else:
            lengths = enc.token_lengths([prompt + t for t in texts])
        enc.encode(texts[:4])  # warm-up: lazy weights, first-call allocations
        wall = best_of(lambda enc=enc: enc.encode(texts, cache=None), args.repeats)
        rows.append(
            {
                "encoder": name,
                "dim": enc.dim,
                "tokens": sum(lengths),
                "wall_s": round(wall, 3),
                "texts/s": round(len(texts) / wall, 1),
                "tokens/s": round(sum(lengths) / wall),
                "chars/s": round(chars / wall),
            }
        )
    info = machine()
    print(f"{len(texts)} KoProbe passages, {chars:,} characters; best of {args.repeats}; {info}")
    cols = list(rows[0])
    widths = [max(len(c), *(len(str(r[c])) for r in rows)) for c in cols]
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(str(r[c]).ljust(w) for c, w in zip(cols, widths, strict=True)))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"machine": info, "n_texts": len(texts), "chars": chars, "rows": rows}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
