"""Measurements for the "Scaling out" chapter: a demo corpus, passage lengths in tokens, throughput."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .engine import CorpusRun
from .estimate import H200_BF16_DENSE_TFLOPS, XLMR_LARGE, TransformerShape, gpu_tokens_per_s

__all__ = [
    "gpu_throughput",
    "probe_passages",
    "shape_of",
    "target_flops_ratio",
    "throughput",
    "token_stats",
    "write_corpus",
]


def probe_passages(n: int | None = None, *, seed: int | None = None) -> list[tuple[str, str]]:
    """``(id, text)`` of KoProbe's passages (the package's Korean evaluation set): all, or ``n`` of them.

    Args:
        n: How many (``None``: all 384).
        seed: ``None`` takes the first ``n`` in order; a seed takes a seeded random sample.
    """
    from ..data.probe import load_probe

    corpus = load_probe().data.corpus
    items = [(doc_id, str(doc["text"])) for doc_id, doc in corpus.items()]
    if seed is not None:
        order = np.random.default_rng(seed).permutation(len(items))
        items = [items[i] for i in order]
    return items if n is None else items[:n]


def write_corpus(path: str | os.PathLike[str], items: Sequence[tuple[Any, str]]) -> Path:
    """Write ``(id, text)`` pairs as a Parquet corpus (columns ``id`` and ``text``), atomically.

    Example:
        >>> import tempfile
        >>> p = write_corpus(Path(tempfile.mkdtemp()) / "c.parquet", [("a", "가나다")])
        >>> p.name
        'c.parquet'
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from .store import atomic_write

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    sink = pa.BufferOutputStream()
    pq.write_table(pa.table({"id": [i for i, _ in items], "text": [t for _, t in items]}), sink)
    atomic_write(out, sink.getvalue().to_pybytes())
    return out


def shape_of(model: Any) -> TransformerShape | None:
    """The encoder sizes of a loaded sentence-transformers model (``None`` when it has no transformer config)."""
    try:
        cfg = model.st[0].auto_model.config
        return TransformerShape(
            int(cfg.hidden_size), int(cfg.num_hidden_layers), int(cfg.intermediate_size), int(cfg.vocab_size)
        )
    except (AttributeError, IndexError, TypeError, KeyError):
        return None


def target_flops_ratio(model: Any, length: int) -> float | None:
    """How many times the FLOPs per token of ``model`` the target architecture (XLM-RoBERTa-large) needs at ``length``."""
    from .estimate import forward_flops_per_token

    shape = shape_of(model)
    if shape is None:
        return None
    return forward_flops_per_token(max(1, length)) / forward_flops_per_token(max(1, length), shape)


def token_stats(model_or_tokenizer: Any, texts: Sequence[str]) -> dict[str, float]:
    """Length of each text in tokens (special tokens included, no prompt, no truncation): mean, median, p90, max, total."""
    from ..tokens import count_tokens

    counts = np.asarray(count_tokens(model_or_tokenizer, list(texts)), dtype=float)
    if counts.size == 0:
        raise ValueError("token_stats needs at least one text")
    return {
        "texts": float(counts.size),
        "mean": float(counts.mean()),
        "median": float(np.median(counts)),
        "p90": float(np.percentile(counts, 90)),
        "max": float(counts.max()),
        "total": float(counts.sum()),
    }


def gpu_throughput(
    tokens_per_passage: float,
    *,
    measured: float | None = None,
    peak_tflops: float = H200_BF16_DENSE_TFLOPS,
    mfu: float = 0.4,
    shape: TransformerShape = XLMR_LARGE,
) -> tuple[float, str]:
    """Tokens per second of one GPU and where the number comes from: ``measured`` when given, else an estimate.

    Example:
        >>> gpu_throughput(200, measured=250_000.0)
        (250000.0, 'measured')
        >>> tps, source = gpu_throughput(200, peak_tflops=989.0, mfu=0.4)
        >>> round(tps), source
        (633690, 'estimate: 989 TFLOP/s peak x 0.4 MFU / 624 MFLOP per token')
    """
    if measured is not None:
        if measured <= 0:
            raise ValueError("a measured throughput must be positive (tokens per second of one GPU)")
        return float(measured), "measured"
    from .estimate import forward_flops_per_token

    tps = gpu_tokens_per_s(tokens_per_passage, peak_tflops=peak_tflops, mfu=mfu, shape=shape)
    flops = forward_flops_per_token(max(1, round(tokens_per_passage)), shape)
    return tps, f"estimate: {peak_tflops:g} TFLOP/s peak x {mfu:g} MFU / {flops / 1e6:.0f} MFLOP per token"


def throughput(run: CorpusRun, tokens: float) -> dict[str, float]:
    """Rows and tokens per second of a run's engine phase (``tokens``: tokens in the rows it encoded)."""
    s = run.encode_seconds
    return {"rows_per_s": run.rows_encoded / s if s > 0 else 0.0, "tokens_per_s": tokens / s if s > 0 else 0.0}
