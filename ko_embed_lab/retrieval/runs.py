"""Trec runs: one tie order and one way to build a run from scores, for every system.

trec_eval ranks a query's documents by score, then by document id, both descending; every place
that cuts or ranks a run uses :func:`ranked` so that cut-offs agree with ``pytrec_eval``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..types import Run

__all__ = ["first_relevant_rank", "ranked", "run_from_matrix", "run_from_scores", "top_n"]


def ranked(docs: Mapping[str, float]) -> list[tuple[str, float]]:
    """A query's ``(doc_id, score)`` pairs in trec_eval's order: score, then doc id, both descending.

    Example:
        >>> ranked({"a": 0.5, "b": 0.5, "c": 0.9})
        [('c', 0.9), ('b', 0.5), ('a', 0.5)]
    """
    return sorted(docs.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)


def top_n(run: Mapping[str, Mapping[str, float]], n: int) -> Run:
    """Cut every query of a run at ``n`` documents, in trec_eval's order."""
    return {q: dict(ranked(docs)[:n]) for q, docs in run.items()}


def run_from_scores(
    query_ids: Sequence[str], doc_ids: Sequence[str], indices: np.ndarray, scores: np.ndarray
) -> dict[str, dict[str, float]]:
    """Turn search output into a trec run ``{query_id: {doc_id: score}}``."""
    return {
        qid: {doc_ids[j]: float(s) for j, s in zip(row_i, row_s, strict=True)}
        for qid, row_i, row_s in zip(query_ids, indices, scores, strict=True)
    }


def run_from_matrix(
    query_ids: Sequence[str], doc_ids: Sequence[str], scores: np.ndarray, top_k: int, *, drop_zero: bool = False
) -> Run:
    """The top-``top_k`` run of a dense ``(n_queries, n_docs)`` score matrix.

    Args:
        drop_zero: Leave out documents scored exactly 0 or less (a lexical matcher's non-matches).

    Example:
        >>> run_from_matrix(["q"], ["a", "b", "c"], np.array([[0.1, 0.7, 0.0]]), 2)
        {'q': {'b': 0.7, 'a': 0.1}}
    """
    scores = np.asarray(scores)
    if scores.shape != (len(query_ids), len(doc_ids)):
        raise ValueError(f"scores has shape {scores.shape}, expected ({len(query_ids)}, {len(doc_ids)})")
    k = min(top_k, scores.shape[1])
    idx = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    vals = np.take_along_axis(scores, idx, axis=1)
    run = run_from_scores(query_ids, doc_ids, idx, vals)
    if drop_zero:
        run = {q: {d: s for d, s in docs.items() if s > 0} for q, docs in run.items()}
    return run


def first_relevant_rank(
    run: Mapping[str, Mapping[str, float]], qrels: Mapping[str, Mapping[str, int]]
) -> dict[str, int | None]:
    """Rank (1-based, trec order) of the first relevant document per query of a run (None if absent)."""
    out: dict[str, int | None] = {}
    for q, docs in run.items():
        rel = qrels.get(q, {})
        out[q] = next((i + 1 for i, (d, _) in enumerate(ranked(docs)) if rel.get(d, 0) > 0), None)
    return out
