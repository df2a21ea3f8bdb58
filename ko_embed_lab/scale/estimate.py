"""Paper estimates: forward FLOPs of an encoder, GPU throughput from a utilisation, time and cost of a corpus.

No GPU has measured the target model in this project yet, so a GPU throughput here is computed
from the architecture: FLOPs per token × tokens per second = peak FLOP/s × model-FLOP utilisation
(MFU). That is an *estimate*, and every function says so in what it returns; a measured
throughput, when there is one, goes straight into :func:`estimate_time_and_cost`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "H200_BF16_DENSE_TFLOPS",
    "XLMR_LARGE",
    "Estimate",
    "TransformerShape",
    "estimate_table",
    "estimate_time_and_cost",
    "forward_flops_per_token",
    "gpu_tokens_per_s",
]

#: NVIDIA's H200 SXM dense bf16 tensor-core peak (the data sheet's 1,979 TFLOP/s is with sparsity).
H200_BF16_DENSE_TFLOPS = 989.0


@dataclass(frozen=True)
class TransformerShape:
    """The sizes of a BERT-style encoder that set its compute."""

    hidden: int
    layers: int
    ffn: int
    vocab: int = 0

    def non_embedding_params(self) -> int:
        """Parameters that cost 2 FLOPs per token each: attention and FFN weights, biases and layer norms.

        Example:
            >>> XLMR_LARGE.non_embedding_params()
            302309376
        """
        h, f = self.hidden, self.ffn
        per_layer = 4 * h * h + 4 * h + 2 * h * f + h + f + 4 * h  # q,k,v,o + biases; FFN; 2 layer norms
        return self.layers * per_layer


#: XLM-RoBERTa-large, the architecture of the target model (24 layers, hidden 1024, FFN 4096).
XLMR_LARGE = TransformerShape(hidden=1024, layers=24, ffn=4096, vocab=250_002)


def forward_flops_per_token(length: int, shape: TransformerShape = XLMR_LARGE) -> float:
    """Forward FLOPs per token of a sequence of ``length`` tokens: 2·params + attention (4·L·d per layer).

    The attention term counts Q·Kᵀ and the product with V (2·L·d multiply-adds each per token and
    layer); softmax, GELU and the embedding lookup are left out (a few per cent).

    Example:
        >>> round(forward_flops_per_token(128) / 1e9, 3)
        0.617
    """
    if length < 1:
        raise ValueError(f"length={length} must be at least 1 token")
    return 2.0 * shape.non_embedding_params() + 4.0 * shape.layers * length * shape.hidden


def gpu_tokens_per_s(
    tokens_per_passage: float,
    *,
    peak_tflops: float = H200_BF16_DENSE_TFLOPS,
    mfu: float = 0.4,
    shape: TransformerShape = XLMR_LARGE,
) -> float:
    """Estimated tokens per second of one GPU: ``peak × MFU / FLOPs per token`` (an estimate, not a measurement).

    Example:
        >>> round(gpu_tokens_per_s(128, peak_tflops=989.0, mfu=0.4))
        640957
    """
    if not 0 < mfu <= 1:
        raise ValueError(f"mfu={mfu} must be in (0, 1]: the share of the peak the model reaches")
    if peak_tflops <= 0:
        raise ValueError("peak_tflops must be positive")
    return peak_tflops * 1e12 * mfu / forward_flops_per_token(max(1, round(tokens_per_passage)), shape)


@dataclass(frozen=True)
class Estimate:
    """Time and cost of embedding a corpus on ``gpus`` GPUs.

    Attributes:
        passages: Passages in the corpus.
        tokens_per_passage: Mean tokens per passage (special tokens included).
        gpus: GPUs, one model each.
        tokens_per_s_per_gpu: Throughput of one GPU.
        throughput_source: Where that throughput comes from (``"estimate: ..."`` or ``"measured: ..."``).
        scaling_efficiency: Share of the ideal ``gpus``-fold speed-up reached.
        startup_s: Seconds before a worker encodes (model load), paid once per run.
        hours: Wall-clock hours.
        gpu_hours: GPU hours billed (``gpus × hours``).
        cost: ``gpu_hours × price_per_gpu_hour``.
        price_per_gpu_hour: The assumed price.
    """

    passages: int
    tokens_per_passage: float
    gpus: int
    tokens_per_s_per_gpu: float
    throughput_source: str
    scaling_efficiency: float
    startup_s: float
    hours: float
    gpu_hours: float
    cost: float
    price_per_gpu_hour: float

    def as_dict(self) -> dict[str, Any]:
        """The fields, for a table."""
        return asdict(self)


def estimate_time_and_cost(
    passages: int,
    tokens_per_passage: float,
    *,
    gpus: int,
    tokens_per_s_per_gpu: float,
    price_per_gpu_hour: float,
    throughput_source: str = "estimate",
    scaling_efficiency: float = 1.0,
    startup_s: float = 0.0,
) -> Estimate:
    """Wall time and cost of embedding ``passages`` passages on ``gpus`` GPUs.

    ``hours = startup + passages × tokens / (gpus × tokens/s per GPU × scaling efficiency)``; shards
    are independent, so the speed-up is close to linear until reading the corpus or writing the
    vectors becomes the bottleneck (``scaling_efficiency`` says how close).

    Example:
        >>> e = estimate_time_and_cost(10_000_000, 200, gpus=8, tokens_per_s_per_gpu=500_000, price_per_gpu_hour=4.0)
        >>> round(e.hours, 3), round(e.cost, 2)
        (0.139, 4.44)
    """
    if passages < 0 or tokens_per_passage <= 0:
        raise ValueError("passages must be >= 0 and tokens_per_passage > 0")
    if not isinstance(gpus, int) or gpus < 1:
        raise ValueError(f"gpus={gpus!r} must be a positive int")
    if tokens_per_s_per_gpu <= 0 or not math.isfinite(tokens_per_s_per_gpu):
        raise ValueError("tokens_per_s_per_gpu must be a positive number")
    if not 0 < scaling_efficiency <= 1:
        raise ValueError("scaling_efficiency must be in (0, 1]")
    if price_per_gpu_hour < 0 or startup_s < 0:
        raise ValueError("price_per_gpu_hour and startup_s must be >= 0")
    seconds = startup_s + passages * tokens_per_passage / (gpus * tokens_per_s_per_gpu * scaling_efficiency)
    hours = seconds / 3600.0
    return Estimate(
        passages=passages,
        tokens_per_passage=float(tokens_per_passage),
        gpus=gpus,
        tokens_per_s_per_gpu=float(tokens_per_s_per_gpu),
        throughput_source=throughput_source,
        scaling_efficiency=scaling_efficiency,
        startup_s=startup_s,
        hours=hours,
        gpu_hours=gpus * hours,
        cost=gpus * hours * price_per_gpu_hour,
        price_per_gpu_hour=price_per_gpu_hour,
    )


def estimate_table(
    passages: int,
    tokens_per_passage: float,
    gpus: Sequence[int],
    *,
    tokens_per_s_per_gpu: float,
    price_per_gpu_hour: float,
    throughput_source: str = "estimate",
    scaling_efficiency: float = 1.0,
    startup_s: float = 0.0,
) -> pd.DataFrame:
    """:func:`estimate_time_and_cost` for each GPU count, as a table (one row per count)."""
    import pandas as pd

    rows = [
        estimate_time_and_cost(
            passages,
            tokens_per_passage,
            gpus=int(n),
            tokens_per_s_per_gpu=tokens_per_s_per_gpu,
            price_per_gpu_hour=price_per_gpu_hour,
            throughput_source=throughput_source,
            scaling_efficiency=scaling_efficiency,
            startup_s=startup_s,
        ).as_dict()
        for n in gpus
    ]
    return pd.DataFrame(rows)
