"""Embedding a large corpus: fixed shards, resumable runs, a local and a Ray Data engine, estimates.

* :func:`encode_corpus` — Parquet in, a folder of sharded embeddings plus ids out
  (``engine="local"`` in this process, ``engine="ray"`` on a Ray cluster, one model per worker).
* :func:`open_corpus_embeddings` — read such a folder back, checking that it is complete.
* :func:`plan_shards` — the shard plan (fixed row ranges, independent of engine and workers).
* :func:`estimate_time_and_cost` — time and cost of a corpus on N GPUs, from a throughput
  (:func:`gpu_throughput`: measured, or estimated from FLOPs × peak × utilisation).
"""

from __future__ import annotations

from .engine import CorpusRun, encode_corpus
from .estimate import (
    H200_BF16_DENSE_TFLOPS,
    XLMR_LARGE,
    Estimate,
    TransformerShape,
    estimate_table,
    estimate_time_and_cost,
    forward_flops_per_token,
    gpu_tokens_per_s,
)
from .measure import (
    gpu_throughput,
    probe_passages,
    shape_of,
    target_flops_ratio,
    throughput,
    token_stats,
    write_corpus,
)
from .plan import Shard, ShardPlan, plan_shards, read_shard, resolve_source
from .store import CorpusEmbeddings, SettingsMismatchError, max_abs_diff, open_corpus_embeddings
from .worker import ModelRequest, encode_shard

__all__ = [
    "H200_BF16_DENSE_TFLOPS",
    "XLMR_LARGE",
    "CorpusEmbeddings",
    "CorpusRun",
    "Estimate",
    "ModelRequest",
    "SettingsMismatchError",
    "Shard",
    "ShardPlan",
    "TransformerShape",
    "encode_corpus",
    "encode_shard",
    "estimate_table",
    "estimate_time_and_cost",
    "forward_flops_per_token",
    "gpu_throughput",
    "gpu_tokens_per_s",
    "max_abs_diff",
    "open_corpus_embeddings",
    "plan_shards",
    "probe_passages",
    "read_shard",
    "resolve_source",
    "shape_of",
    "target_flops_ratio",
    "throughput",
    "token_stats",
    "write_corpus",
]
