"""Cost per length: time and peak memory of embedding one document of each length."""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .._memory import PeakRSS, release_freed_memory
from ..text import clean_text
from .lengths import _backend

if TYPE_CHECKING:
    import pandas as pd

    from ..models import EmbeddingModel

__all__ = ["measure_cost", "time_orderings"]

logger = logging.getLogger(__name__)

# Vocabulary of the random copy used past the window: only the embedding lookup gets smaller.
_RANDOM_VOCAB = 8192


def _usable_positions(config: Any) -> int:
    n = int(config.max_position_embeddings)
    # RoBERTa-style models (XLM-R, bge-m3, arctic) start positions after the padding index.
    if getattr(config, "model_type", "") in ("xlm-roberta", "roberta", "camembert"):
        n -= int(getattr(config, "pad_token_id", 1) or 1) + 1
    return n


def _random_copy(auto: Any, max_length: int, device: Any, seed: int) -> Any:
    """A randomly initialised copy of ``auto``'s architecture with positions for ``max_length`` tokens."""
    import torch
    from transformers import AutoModel

    cfg = copy.deepcopy(auto.config)
    offset = int(cfg.max_position_embeddings) - _usable_positions(cfg)
    cfg.max_position_embeddings = max_length + offset
    cfg.vocab_size = _RANDOM_VOCAB
    torch.manual_seed(seed)
    net = AutoModel.from_config(cfg, attn_implementation=cfg._attn_implementation)
    return net.to(device=device, dtype=auto.dtype).eval()


def _input_ids(tok: Any, base_ids: Sequence[int], length: int) -> list[int]:
    """``length`` token ids: ``<s>``, the base text's ids repeated as needed, ``</s>``."""
    reps = (list(base_ids) * (length // len(base_ids) + 1))[: length - 2]
    return [
        tok.cls_token_id if tok.cls_token_id is not None else tok.bos_token_id,
        *reps,
        tok.sep_token_id if tok.sep_token_id is not None else tok.eos_token_id,
    ]


def _time_passes(net: Any, input_ids: Any, repeats: int, device: Any) -> tuple[list[float], float]:
    """Seconds of each of ``repeats`` passes after a warm-up, and the peak memory above the start (MiB)."""
    import torch

    mask = torch.ones_like(input_ids)
    cuda = device.type == "cuda"
    times = []
    peak = 0.0
    with torch.inference_mode():
        net(input_ids=input_ids, attention_mask=mask)  # warm-up
        for _ in range(repeats):
            if cuda:
                torch.cuda.synchronize(device)
                before = torch.cuda.memory_allocated(device)
                torch.cuda.reset_peak_memory_stats(device)
                t0 = time.perf_counter()
                net(input_ids=input_ids, attention_mask=mask)
                torch.cuda.synchronize(device)
                times.append(time.perf_counter() - t0)
                peak = max(peak, (torch.cuda.max_memory_allocated(device) - before) / 2**20)
            else:
                release_freed_memory()
                with PeakRSS() as rss:
                    t0 = time.perf_counter()
                    net(input_ids=input_ids, attention_mask=mask)
                    times.append(time.perf_counter() - t0)
                peak = max(peak, (rss.peak - rss.base) / 2**20)
    return times, peak


def measure_cost(
    model: EmbeddingModel,
    lengths: Sequence[int],
    *,
    repeats: int = 3,
    beyond_window: bool = True,
    text: str | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Time and peak memory of embedding one document of each length (batch of one).

    Lengths up to the model's window run through the model itself. Longer ones, when
    ``beyond_window`` is true, run through a randomly initialised copy of its architecture with
    enough position embeddings (and a small vocabulary: only the embedding lookup is smaller) —
    the cost of a forward pass does not depend on the weights' values. On CUDA, memory is the peak
    of ``torch.cuda.max_memory_allocated`` above what was allocated before; on CPU it is the peak
    resident memory of the process above its level before the pass (sampled, approximate).

    Args:
        model: A loaded model.
        lengths: Document lengths in tokens.
        repeats: Timed passes per length after one warm-up pass; the fastest is ``seconds``, and
            the median and slowest are kept so that the spread can be judged (see
            :func:`time_orderings`).
        beyond_window: Measure lengths past the window on a random copy (else skip them).
        text: Text to cut the inputs from (default: the konlpy Constitution, repeated as needed).
        seed: Seed of the random copy's weights.

    Returns:
        DataFrame with ``length``, ``seconds`` (fastest pass), ``seconds_median``, ``seconds_max``,
        ``repeats``, ``tokens_per_s``, ``peak_mb``, ``weights``
        (``"model"`` or ``"random, same architecture"``), ``device``, ``dtype``, ``attention``.

    Example:
        >>> measure_cost(model, [128, 256], repeats=1)[["length", "weights"]].values.tolist()  # doctest: +SKIP
        [[128, 'model'], [256, 'model']]
    """
    import pandas as pd
    import torch

    if repeats < 1:
        raise ValueError("repeats must be at least 1")
    if any(int(n) < 8 for n in lengths):
        raise ValueError("lengths must be at least 8 tokens")
    if text is None:
        from ..data.korean_long import load_long_korean

        text = clean_text(load_long_korean("constitution")[0].text)
    base_ids = _backend(model).encode(text, add_special_tokens=False).ids
    if not base_ids:
        raise ValueError("the text holds no tokens")
    auto: Any = model.st[0].auto_model
    limit = min(model.max_seq_length, _usable_positions(auto.config))
    device = torch.device(model.device)
    rows = []
    random_model: Any = None
    for length in sorted(int(n) for n in lengths):
        beyond = length > limit
        if beyond and not beyond_window:
            logger.info("skipping length %d: beyond the model's window of %d tokens", length, limit)
            continue
        input_ids = torch.tensor([_input_ids(model.tokenizer, base_ids, length)], device=device)
        if beyond:
            if random_model is None or _usable_positions(random_model.config) < length:
                random_model = _random_copy(auto, max(int(n) for n in lengths), device, seed)
            net, input_ids = random_model, input_ids % _RANDOM_VOCAB
        else:
            net = auto
        times, peak = _time_passes(net, input_ids, repeats, device)
        seconds = float(np.min(times))  # the fastest pass: the usual estimate when other work shares the machine
        rows.append(
            {
                "length": length,
                "seconds": seconds,
                "seconds_median": float(np.median(times)),
                "seconds_max": float(np.max(times)),
                "repeats": len(times),
                "tokens_per_s": length / seconds if seconds > 0 else math.nan,
                "peak_mb": peak,
                "weights": "random, same architecture" if beyond else "model",
                "device": str(device),
                "dtype": str(auto.dtype).replace("torch.", ""),
                "attention": str(getattr(auto.config, "_attn_implementation", "")),
            }
        )
    df = pd.DataFrame(rows)
    df.attrs["model"] = model.label
    df.attrs["window"] = limit
    return df


def time_orderings(cost: pd.DataFrame) -> list[tuple[int, int, str]]:
    """For each pair of consecutive lengths: does the longer take longer, beyond the spread of passes?

    ``"slower"`` when every pass of the longer input was slower than every pass of the shorter one
    (its fastest above the other's slowest), ``"faster"`` in the opposite case, ``"overlap"`` otherwise.

    Example:
        >>> time_orderings(cost)  # doctest: +SKIP
        [(128, 512, 'overlap'), (512, 2048, 'slower')]
    """
    c = cost.sort_values("length").reset_index(drop=True)
    out = []
    for i in range(len(c) - 1):
        a, b = c.iloc[i], c.iloc[i + 1]
        verdict = (
            "slower" if b["seconds"] > a["seconds_max"] else "faster" if b["seconds_max"] < a["seconds"] else "overlap"
        )
        out.append((int(a["length"]), int(b["length"]), verdict))
    return out
