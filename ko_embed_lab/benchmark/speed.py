"""Encoding speed of several encoders on the same texts, measured in one run.

:func:`encoding_speed` times each encoder on the same passages (no embedding cache, its own
document prompt, best of a few repeats) and counts the tokens each reads with its own tokenizer, cut
where it cuts. Tokens per second compares work per token; characters per second compares the
encoders on the same text (their tokenizers split Korean differently).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["encoding_speed", "token_counts"]


def token_counts(encoder: Any, texts: Sequence[str], prompt: str = "") -> list[int]:
    """Tokens ``encoder`` reads for each ``prompt + text``: its own tokenizer, special tokens included
    where it adds them, cut at its maximum length.

    Works for transformer models (a ``tokenizer`` and ``max_seq_length``) and for encoders with a
    ``token_lengths(texts)`` method (the static and USE encoders).

    Raises:
        TypeError: The encoder exposes neither.
    """
    texts = list(texts)
    if hasattr(encoder, "token_lengths"):
        return [int(n) for n in encoder.token_lengths([prompt + t for t in texts])]
    if hasattr(encoder, "tokenizer") and getattr(encoder, "max_seq_length", None):
        from ..encode import token_lengths

        return token_lengths(encoder.tokenizer, texts, prompt, max_length=int(encoder.max_seq_length))
    raise TypeError(f"{type(encoder).__name__} has no tokenizer to count tokens with")


def encoding_speed(
    encoders: Mapping[str, Any],
    texts: Sequence[str],
    *,
    repeats: int = 3,
    warmup: int = 4,
) -> pd.DataFrame:
    """Time each encoder on the same texts (as documents, no cache) and count its tokens.

    Args:
        encoders: ``{name: encoder}``; each must have ``encode(texts, cache=None)`` and a way to
            count tokens (:func:`token_counts`).
        texts: The texts every encoder encodes.
        repeats: Timed runs per encoder; the fastest is kept (the least disturbed on a busy machine).
        warmup: Texts encoded once before timing (lazy weights, first-call allocations).

    Returns:
        One row per encoder (index ``encoder``), fastest first: ``dim``, ``texts``, ``tokens``,
        ``wall_s``, ``texts/s``, ``tokens/s``, ``chars/s`` and ``speed-up`` (tokens/s over the
        slowest encoder's).

    Raises:
        ValueError: No encoders, no texts, or ``repeats`` below 1.

    Example:
        >>> from tests.fakes import LookupEncoder  # doctest: +SKIP
        >>> encoding_speed({"fake": LookupEncoder({"a": [1.0, 0.0]})}, ["a"])  # doctest: +SKIP
    """
    import pandas as pd

    texts = list(texts)
    if not encoders:
        raise ValueError("no encoders to time")
    if not texts:
        raise ValueError("no texts to encode")
    if repeats < 1:
        raise ValueError(f"repeats={repeats!r} must be at least 1")
    chars = sum(len(t) for t in texts)
    rows = []
    for name, enc in encoders.items():
        prompt = enc.prompt_for("document") if hasattr(enc, "prompt_for") else ""
        tokens = sum(token_counts(enc, texts, prompt))
        if warmup:
            enc.encode(texts[:warmup], cache=None)
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            enc.encode(texts, cache=None)
            best = min(best, time.perf_counter() - t0)
        best = max(best, 1e-9)
        rows.append(
            {
                "encoder": name,
                "dim": int(getattr(enc, "dim", 0) or 0),
                "texts": len(texts),
                "tokens": tokens,
                "wall_s": best,
                "texts/s": len(texts) / best,
                "tokens/s": tokens / best,
                "chars/s": chars / best,
            }
        )
    df = pd.DataFrame(rows).set_index("encoder").sort_values("tokens/s", ascending=False)
    df["speed-up"] = df["tokens/s"] / df["tokens/s"].min()
    return df
