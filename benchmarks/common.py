"""Shared pieces of the benchmark scripts: Korean corpora of chosen lengths, timers, memory."""

from __future__ import annotations

import json
import os
import platform
import re
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

# The package's one RSS sampler (.base_mb, .peak_mb), re-exported for the benchmark scripts.
from ko_embed_lab._memory import PeakRSS as PeakRSS

ROOT = Path(__file__).resolve().parent.parent


def text_pool() -> str:
    """All Korean text shipped with the project: KoProbe passages and the konlpy documents."""
    import ko_embed_lab as kel

    probe = kel.data.load_probe()
    parts = [d["text"] for d in probe.data.corpus.values()] + [d.text for d in kel.load_long_korean()]
    return "\n".join(parts)


def short_sentences(n: int, seed: int = 0) -> list[str]:
    """``n`` distinct short Korean sentences (KoProbe queries and sentences of the long texts)."""
    import ko_embed_lab as kel

    probe = kel.data.load_probe()
    sents = list(probe.data.queries.values())
    for doc in kel.load_long_korean():
        sents += [s.strip() for s in re.split(r"(?<=[.다])\s+", doc.text) if 8 <= len(s.strip()) <= 120]
    sents = list(dict.fromkeys(sents))
    rng = np.random.default_rng(seed)
    rng.shuffle(sents)
    while len(sents) < n:  # numbered variants when the pool is exhausted
        sents.append(f"{sents[len(sents) % 997]} ({len(sents)})")
    return sents[:n]


def numbered(pool: list[str], n: int) -> Iterator[str]:
    """``n`` texts, lazily: ``pool`` in order, then numbered variants ``"<pool text> (i)"`` once it is used up.

    The streaming benchmarks feed these to ``encode_to_disk`` so that the corpus is never held in memory.
    """
    for i in range(n):
        yield pool[i] if i < len(pool) else f"{pool[i % len(pool)]} ({i})"


def passages_of_tokens(model: Any, lengths: list[int], seed: int = 0) -> list[str]:
    """Texts cut from the pool with exactly the given numbers of content tokens (cycling the pool)."""
    from ko_embed_lab import split_windows

    pool = text_pool()
    windows = split_windows(model, pool, window=64, overlap=0)  # 64-token bricks to assemble from
    rng = np.random.default_rng(seed)
    out = []
    for n in lengths:
        start = int(rng.integers(0, len(windows)))
        text, have, k = "", 0, start
        while have < n:
            text += windows[k % len(windows)].text
            have += windows[k % len(windows)].token_end - windows[k % len(windows)].token_start
            k += 1
        from ko_embed_lab import truncate_text

        out.append(truncate_text(model, text, n, special_tokens=False))
    return out


def best_of(fn: Callable[[], Any], repeats: int) -> float:
    """Fastest wall time of ``repeats`` calls (the least-disturbed run on a noisy machine)."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(code: str, timeout: int = 3600) -> dict[str, Any]:
    """Run Python code in a fresh process; it must print one JSON object on its last line."""
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    if out.returncode != 0:
        raise RuntimeError(f"child failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def machine() -> dict[str, Any]:
    import torch

    info = {
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info
