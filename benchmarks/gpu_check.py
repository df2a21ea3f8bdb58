"""GPU check for ko-embed-lab: correctness, throughput, roofline fraction and out-of-memory handling.

    python benchmarks/gpu_check.py                  # on a CUDA machine: target architecture, ~3-4 min
    python benchmarks/gpu_check.py --tiny --cpu     # anywhere: tiny configuration, proves the script runs

Uses only torch, transformers, sentence-transformers and this package (no network, nothing large
to carry): the model is the target architecture (XLM-RoBERTa-large) with seeded random weights and
a synthetic word-level tokenizer (benchmarks/synthetic.py), loaded through ``kel.load_model`` so the
package's real code runs (bf16 + SDPA on CUDA, token-budget batching, OOM splitting).

Sections:
1. correctness: CPU fp32 vs GPU fp32 and GPU bf16 embeddings of the same seeded model;
2. throughput (tokens/s) at 128, 512, 1,300 and 8,192 tokens: bf16+SDPA, fp32+SDPA, bf16+eager,
   and sentence-transformers' fixed batch of 32 (bf16+SDPA) against our token budget;
3. roofline: FLOPs per token (2·parameters + 4·L·d·layers) × tokens/s against a bf16 matmul
   ceiling measured on the same card in the same run;
4. out of memory: a batch far too large for the card is split and retried, and the run completes
   with the same embeddings.
Writes a Markdown report to stdout and, with --out, to a file.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from synthetic import build_synthetic_model, flops_per_token, synthetic_texts


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def matmul_ceiling(device: str, dtype: Any, n: int, seconds: float = 2.0) -> float:
    """Measured dense matmul throughput in FLOP/s (the practical roofline of the card)."""
    import torch

    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    _sync(device)
    reps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        a @ b
        reps += 1
        if reps % 10 == 0:
            _sync(device)
    _sync(device)
    return 2 * n**3 * reps / (time.perf_counter() - t0)


def throughput(model: Any, texts: list[str], *, fixed_batch: int | None = None, budget: int | None = None) -> float:
    """Tokens per second of one pass over ``texts`` (after a warm-up batch)."""
    from ko_embed_lab.encode import token_lengths

    n_tok = sum(token_lengths(model.tokenizer, texts, "", max_length=model.max_seq_length))
    run = (
        (lambda: model.st.encode(texts, batch_size=fixed_batch, prompt=None))
        if fixed_batch
        else (lambda: model.encode_documents(texts, batch_tokens=budget, show_progress=False))
    )
    if fixed_batch:
        model.st.encode(texts[: min(len(texts), fixed_batch)], batch_size=fixed_batch)
    else:
        model.encode_documents(texts[: max(1, len(texts) // 8)], batch_tokens=budget, show_progress=False)
    _sync(model.device)
    t0 = time.perf_counter()
    run()
    _sync(model.device)
    return n_tok / (time.perf_counter() - t0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tiny", action="store_true", help="tiny configuration (2 layers, hidden 128)")
    ap.add_argument("--cpu", action="store_true", help="run on the CPU (with --tiny: a dry run of the script)")
    ap.add_argument("--lengths", type=int, nargs="+", default=[128, 512, 1300, 8192])
    ap.add_argument("--tokens-per-point", type=int, default=None, help="tokens encoded per throughput point")
    ap.add_argument("--out", default=None, help="also write the Markdown report here")
    args = ap.parse_args()

    import torch

    import ko_embed_lab as kel
    from ko_embed_lab import encode as _  # noqa: F401
    from ko_embed_lab.analysis import compare_embeddings

    enc_mod = sys.modules["ko_embed_lab.encode"]
    size = "tiny" if args.tiny else "target"
    device = "cpu" if args.cpu or not torch.cuda.is_available() else "cuda"
    per_point = args.tokens_per_point or (1 << 14 if device == "cpu" else 1 << 19)
    lines: list[str] = []

    def say(s: str = "") -> None:
        print(s, flush=True)
        lines.append(s)

    name = torch.cuda.get_device_name(0) if device == "cuda" else "CPU"
    say(f"# GPU check — {name}, {size} architecture, torch {torch.__version__}")
    say(
        f"\n{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; `python benchmarks/gpu_check.py{' --tiny' if args.tiny else ''}{' --cpu' if args.cpu else ''}`\n"
    )
    folder = build_synthetic_model(Path(tempfile.gettempdir()) / f"kel-synthetic-{size}", size=size)

    # 0. the gpu-marked pytest smoke test, so the GPU path is tested, not only benchmarked
    if device == "cuda":
        import importlib.util
        import subprocess

        if importlib.util.find_spec("pytest") is None:
            say("gpu pytest: not run (pytest is not installed here)")
        else:
            test = Path(__file__).resolve().parent.parent / "tests" / "test_gpu.py"
            rc = subprocess.call(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "gpu", str(test)]
            )
            say(f"gpu pytest (tests/test_gpu.py): {'passed' if rc == 0 else f'FAILED, rc {rc}'}")

    # 1. correctness
    ref = kel.load_model(str(folder), device="cpu", dtype="float32")
    texts = synthetic_texts(16, 128, seed=1)
    e_cpu = ref.encode_documents(texts)
    say("## 1. Correctness (same seeded model)\n\n| comparison | max abs diff | min cosine |\n|---|---|---|")
    for dt in ("float32", "bfloat16"):
        m = kel.load_model(str(folder), device=device, dtype=dt)
        c = compare_embeddings(e_cpu, m.encode_documents(texts))
        say(f"| CPU fp32 vs {device} {dt} | {c['max_abs_diff']:.2e} | {c['min_cosine']:.6f} |")
        del m
    del ref

    # 2–3. throughput and roofline
    ceiling = matmul_ceiling(
        device, torch.bfloat16 if device == "cuda" else torch.float32, 8192 if device == "cuda" else 1024
    )
    say(
        f"\n## 2. Throughput (tokens/s) and 3. roofline\n\nMeasured matmul ceiling: {ceiling / 1e12:.3g} TFLOP/s "
        f"({'bf16' if device == 'cuda' else 'fp32'}).\n"
    )
    if device == "cpu":
        say(
            "(CPU dry run: the 'bf16' columns run fp32 here, and tiny shapes make these numbers meaningless; "
            "they only show that every code path runs.)\n"
        )
    say(
        "| length | bf16 SDPA (budget) | fp32 SDPA | bf16 eager | ST fixed batch 32 (bf16 SDPA) | budget / fixed | bf16 roofline fraction |"
    )
    say("|---|---|---|---|---|---|---|")
    models = {
        "bf16": kel.load_model(str(folder), device=device, dtype="bfloat16" if device == "cuda" else "float32"),
        "fp32": kel.load_model(str(folder), device=device, dtype="float32"),
        "eager": kel.load_model(
            str(folder), device=device, dtype="bfloat16" if device == "cuda" else "float32", attn_implementation="eager"
        ),
    }
    for length in args.lengths:
        n = max(2, per_point // length)
        batch = synthetic_texts(n, length, seed=length)
        tps = {k: throughput(m, batch) for k, m in models.items()}
        fixed = throughput(models["bf16"], batch, fixed_batch=32)
        frac = tps["bf16"] * flops_per_token(length, size) / ceiling
        say(
            f"| {length} | {tps['bf16']:,.0f} | {tps['fp32']:,.0f} | {tps['eager']:,.0f} | {fixed:,.0f} | "
            f"{tps['bf16'] / fixed:.2f}× | {frac:.1%} |"
        )

    # 4. out of memory
    say("\n## 4. Out-of-memory handling\n")
    m = models["eager"]
    length = max(args.lengths)
    texts = synthetic_texts(8 if device == "cpu" else 96, length, seed=7)
    expected = m.encode_documents(texts[:4], batch_tokens=length)
    real_forward = enc_mod._forward
    if device == "cpu":  # no real OOM on the CPU: simulate a card that fits one text at a time

        def limited(model: Any, batch: list[str], prompt: str) -> np.ndarray:
            if len(batch) > 1:
                raise RuntimeError("CUDA out of memory (simulated)")
            return real_forward(model, batch, prompt)

        enc_mod._forward = limited
    splits: list[int] = []

    def counting(model: Any, batch: list[str], prompt: str) -> np.ndarray:
        splits.append(len(batch))
        return (limited if device == "cpu" else real_forward)(model, batch, prompt)

    enc_mod._forward = counting
    t0 = time.perf_counter()
    try:
        got = m.encode_documents(texts, batch_tokens=length * len(texts), max_batch_size=len(texts))
        ok = True
    except MemoryError as exc:
        ok, got = False, None
        say(f"failed: {exc}")
    finally:
        enc_mod._forward = real_forward
    if ok:
        c = compare_embeddings(expected, got[:4])
        say(
            f"{len(texts)} texts of {length} tokens asked for in one batch (eager attention"
            f"{', simulated limit' if device == 'cpu' else ''}): completed in {time.perf_counter() - t0:.1f} s after "
            f"{len(splits)} forward attempts (batch sizes tried: {sorted(set(splits), reverse=True)}); "
            f"max abs diff against small batches {c['max_abs_diff']:.1e}."
        )
    if device == "cuda":
        say(f"\nPeak GPU memory: {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB.")
    if args.out:
        Path(args.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
