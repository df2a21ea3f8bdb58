"""Embedding a large corpus: fixed shards, resumable runs, a local and a Ray Data engine, estimates.

* :func:`encode_corpus` — Parquet in, a folder of sharded embeddings plus ids out
  (``engine="local"`` in this process, ``engine="ray"`` on a Ray cluster, one model per worker).
* :func:`open_corpus_embeddings` — read such a folder back, checking that it is complete.
* :func:`plan_shards` — the shard plan (fixed row ranges, independent of engine and workers).
* :func:`estimate_time_and_cost` — time and cost of a corpus on N GPUs, from a throughput.
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
from .plan import Shard, ShardPlan, plan_shards, read_shard, resolve_source
from .store import CorpusEmbeddings, SettingsMismatchError, open_corpus_embeddings
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
    "gpu_tokens_per_s",
    "open_corpus_embeddings",
    "plan_shards",
    "read_shard",
    "resolve_source",
]
