"""Retrieval metrics by ``pytrec_eval`` (the trec_eval C code, also what mteb uses).

The metrics are the ones the Korean retrieval literature reports — NDCG@10 (the headline),
MRR@10, Recall@1/5/10/100, MAP@100 — never computed by hand.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from .runs import top_n

__all__ = ["METRICS", "score_run"]

#: Metric names reported, in display order.
METRICS = ("ndcg@10", "mrr@10", "recall@1", "recall@5", "recall@10", "recall@100", "map@100")

_TREC_FULL = {
    "ndcg_cut.10": "ndcg@10",
    "recall.1": "recall@1",
    "recall.5": "recall@5",
    "recall.10": "recall@10",
    "recall.100": "recall@100",
    "map_cut.100": "map@100",
}


def score_run(
    qrels: Mapping[str, Mapping[str, int]], run: Mapping[str, Mapping[str, float]]
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Score a run against qrels with ``pytrec_eval``.

    Queries of ``qrels`` that are missing from ``run`` score 0 on every metric (as in trec_eval
    with ``-c``). MRR@10 is trec_eval's ``recip_rank`` on the run cut at 10.

    Returns:
        ``(mean metrics, per-query metrics)``.

    Example:
        >>> score_run({"q": {"d1": 1}}, {"q": {"d1": 0.9, "d2": 0.1}})[0]["ndcg@10"]
        1.0
    """
    import pytrec_eval

    qrels_d = {q: {d: int(s) for d, s in docs.items()} for q, docs in qrels.items()}
    run_d = {q: {d: float(s) for d, s in docs.items()} for q, docs in run.items() if q in qrels_d}
    full = pytrec_eval.RelevanceEvaluator(qrels_d, set(_TREC_FULL)).evaluate(run_d)
    # Cut at 10 with trec_eval's own order (score, then doc id, both descending) so ties agree.
    top10 = top_n(run_d, 10)
    rr = pytrec_eval.RelevanceEvaluator(qrels_d, {"recip_rank"}).evaluate(top10)
    per_query: dict[str, dict[str, float]] = {}
    for q in qrels_d:
        # pytrec_eval reports "ndcg_cut.10" as "ndcg_cut_10".
        row = {name: float(full.get(q, {}).get(key.replace(".", "_"), 0.0)) for key, name in _TREC_FULL.items()}
        row["mrr@10"] = float(rr.get(q, {}).get("recip_rank", 0.0))
        per_query[q] = {m: row[m] for m in METRICS}
    means = {m: float(np.mean([v[m] for v in per_query.values()])) if per_query else math.nan for m in METRICS}
    return means, per_query
