"""Retrieval: exact search, trec runs, ``pytrec_eval`` metrics and paired tests, BM25, fusion, breakdowns.

Every system — a dense encoder, BM25, a fusion — ends in a trec run scored by one path
(:func:`score_run`) and wrapped in a :class:`RetrievalResult` with its provenance.
"""

from __future__ import annotations

from .breakdown import breakdown, flipped_queries, metrics_table
from .compare import Comparison, compare
from .evaluate import RetrievalResult, evaluate_retrieval
from .fusion import hard_negative_overlap, rrf_fuse, split_needs, tune_fusion, wsum_fuse
from .lexical import BM25Index, KoreanTokenizer, WhitespaceTokenizer, bm25_run, evaluate_bm25, evaluate_run
from .metrics import METRICS, score_run
from .runs import first_relevant_rank, ranked, run_from_matrix, run_from_scores, top_n
from .search import exact_search
from .stats import compare_by_group, holm, paired_bootstrap

__all__ = [
    "METRICS",
    "BM25Index",
    "Comparison",
    "KoreanTokenizer",
    "RetrievalResult",
    "WhitespaceTokenizer",
    "bm25_run",
    "breakdown",
    "compare",
    "compare_by_group",
    "evaluate_bm25",
    "evaluate_retrieval",
    "evaluate_run",
    "exact_search",
    "first_relevant_rank",
    "flipped_queries",
    "hard_negative_overlap",
    "holm",
    "metrics_table",
    "paired_bootstrap",
    "ranked",
    "rrf_fuse",
    "run_from_matrix",
    "run_from_scores",
    "score_run",
    "split_needs",
    "top_n",
    "tune_fusion",
    "wsum_fuse",
]
