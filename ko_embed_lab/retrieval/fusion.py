"""Rank and score fusion of retrieval runs, tuning it without touching the test queries, and why it fails.

* :func:`rrf_fuse` — reciprocal-rank fusion, ``score = Σ w_i / (k + rank_i)``, with weights and
  any ``k`` (ranks in the trec order; equal weights on tie-free runs give ranx's ``rrf``);
* :func:`wsum_fuse` — weighted sum of min-max normalised scores (ranx's ``wsum`` with
  ``norm="min-max"``);
* :func:`split_needs` and :func:`tune_fusion` — choose ``k`` and the weights on a seeded half of
  the information needs, so that the other half can report the tuned fusion honestly;
* :func:`hard_negative_overlap` — per query, which hard negatives both inputs put in their top
  ten, and whether the fusion lifts one that both ranked 2nd–5th above every relevant passage
  (the way rank fusion loses against both of its inputs: it rewards agreement, and two systems
  can agree on a near-miss).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .metrics import score_run
from .runs import ranked

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["fusion_grid", "hard_negative_overlap", "rrf_fuse", "split_needs", "tune_fusion", "wsum_fuse"]

Run = Mapping[str, Mapping[str, float]]


def _weights(runs: Sequence[Run], weights: Sequence[float] | None) -> list[float]:
    if len(runs) < 2:
        raise ValueError("fusion needs at least two runs")
    if weights is None:
        return [1.0] * len(runs)
    w = [float(x) for x in weights]
    if len(w) != len(runs) or any(x < 0 for x in w) or sum(w) <= 0:
        raise ValueError(f"weights={list(weights)!r}: give one non-negative weight per run, not all zero")
    return w


def _top(scores: dict[str, float], top_k: int) -> dict[str, float]:
    return dict(ranked(scores)[:top_k])


def rrf_fuse(
    runs: Sequence[Run], *, k: float = 60, weights: Sequence[float] | None = None, top_k: int = 1000
) -> dict[str, dict[str, float]]:
    """Reciprocal-rank fusion of several runs: ``score(d) = Σ_i w_i / (k + rank_i(d))``.

    A document missing from a run adds nothing for it. Ranks follow the package's one trec order
    (:func:`~ko_embed_lab.retrieval.runs.ranked`: score, then document id), so equal scores are
    ranked as ``pytrec_eval`` ranks them. Without ties, equal weights give exactly ranx's ``rrf``
    (a conformance test checks it); with ties ranx's order is its own.

    Args:
        runs: ``{query_id: {doc_id: score}}`` runs (two or more).
        k: The RRF constant (larger: flatter, rank 1 counts less against rank 10).
        weights: One weight per run (default: all 1, plain RRF).
        top_k: Documents kept per query.

    Example:
        >>> fused = rrf_fuse([{"q": {"a": 0.9, "b": 0.5}}, {"q": {"b": 3.0, "c": 1.0}}], k=1)
        >>> {d: round(s, 3) for d, s in fused["q"].items()}
        {'b': 0.833, 'a': 0.5, 'c': 0.333}
    """
    if k < 0:
        raise ValueError(f"k={k!r} must be non-negative")
    w = _weights(runs, weights)
    out: dict[str, dict[str, float]] = {}
    for q in sorted(set().union(*runs)):
        scores: dict[str, float] = {}
        for wi, run in zip(w, runs, strict=True):
            for rank, (d, _) in enumerate(ranked(dict(run.get(q, {}))), start=1):
                scores[d] = scores.get(d, 0.0) + wi / (k + rank)
        out[q] = _top(scores, top_k)
    return out


def wsum_fuse(
    runs: Sequence[Run], *, weights: Sequence[float] | None = None, top_k: int = 1000
) -> dict[str, dict[str, float]]:
    """Weighted sum of min-max normalised scores (per query and run; a missing document counts 0).

    Example:
        >>> fused = wsum_fuse([{"q": {"a": 0.9, "b": 0.5}}, {"q": {"b": 3.0, "c": 1.0}}], weights=[0.7, 0.3])
        >>> {d: round(s, 2) for d, s in fused["q"].items()}
        {'a': 0.7, 'b': 0.3, 'c': 0.0}
    """
    w = _weights(runs, weights)
    out: dict[str, dict[str, float]] = {}
    for q in sorted(set().union(*runs)):
        scores: dict[str, float] = {}
        for wi, run in zip(w, runs, strict=True):
            docs = run.get(q, {})
            if not docs:
                continue
            lo, hi = min(docs.values()), max(docs.values())
            span = hi - lo
            for d, s in docs.items():
                norm = (s - lo) / span if span > 0 else 1.0
                scores[d] = scores.get(d, 0.0) + wi * norm
        out[q] = _top(scores, top_k)
    return out


def split_needs(needs: Sequence[str], *, seed: int = 0, fraction: float = 0.5) -> tuple[list[str], list[str]]:
    """A seeded split of information needs into a tuning half and a test half (sorted ids).

    Splitting needs, not queries, keeps the several forms of one need on the same side: tuning on
    a need's question and testing on its phrase would leak.

    Example:
        >>> split_needs(["n1", "n2", "n3", "n4"], seed=0)
        (['n1', 'n3'], ['n2', 'n4'])
    """
    import numpy as np

    uniq = sorted(set(needs))
    if len(uniq) < 2 or not 0 < fraction < 1:
        raise ValueError(f"need at least two needs and 0 < fraction < 1 (got {len(uniq)} needs, {fraction})")
    order = np.random.default_rng(seed).permutation(len(uniq))
    n_tune = min(max(1, round(fraction * len(uniq))), len(uniq) - 1)
    tune = sorted(uniq[i] for i in order[:n_tune])
    test = sorted(uniq[i] for i in order[n_tune:])
    return tune, test


def fusion_grid(
    ks: Sequence[float] = (1, 5, 10, 20, 60, 100),
    first_weights: Sequence[float] = (0.3, 0.5, 0.6, 0.7, 0.8, 0.9),
) -> list[dict[str, Any]]:
    """Fusion settings to tune over for two runs: RRF for each ``k`` and first-run weight, and wsum per weight.

    The first run's weight is ``w``, the second's ``1 − w`` (``w = 0.5`` is plain RRF, up to scale).
    """
    grid: list[dict[str, Any]] = [
        {"method": "rrf", "k": float(k), "weights": (float(w), round(1 - float(w), 6))}
        for k in ks
        for w in first_weights
    ]
    grid += [{"method": "wsum", "k": None, "weights": (float(w), round(1 - float(w), 6))} for w in first_weights]
    return grid


def _fuse(runs: Sequence[Run], setting: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    if setting["method"] == "rrf":
        return rrf_fuse(runs, k=setting["k"], weights=setting["weights"])
    if setting["method"] == "wsum":
        return wsum_fuse(runs, weights=setting["weights"])
    raise ValueError(f"unknown fusion method {setting['method']!r}: use 'rrf' or 'wsum'")


def tune_fusion(
    runs: Sequence[Run],
    qrels: Mapping[str, Mapping[str, int]],
    tune_queries: Sequence[str],
    *,
    grid: Sequence[Mapping[str, Any]] | None = None,
    metric: str = "ndcg@10",
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Choose the fusion setting with the best mean ``metric`` on ``tune_queries`` only.

    Args:
        runs: The runs to fuse (restricted here to ``tune_queries``).
        qrels: Relevance judgements.
        tune_queries: The queries the choice may see (e.g. those of :func:`split_needs`'s tuning half).
        grid: Settings (``{"method", "k", "weights"}``; default :func:`fusion_grid`).
        metric: The metric to maximise (first setting in grid order wins a tie).

    Returns:
        ``(best setting, table of every setting's mean on the tuning queries)``.
    """
    import pandas as pd

    keep = set(tune_queries)
    if not keep:
        raise ValueError("tune_queries is empty")
    sub = [{q: docs for q, docs in r.items() if q in keep} for r in runs]
    sub_qrels = {q: dict(v) for q, v in qrels.items() if q in keep}
    rows = []
    for setting in grid or fusion_grid():
        _, per_query = score_run(sub_qrels, _fuse(sub, setting))
        mean = sum(per_query[q][metric] for q in per_query) / len(per_query)
        rows.append({**setting, metric: mean})
    table = pd.DataFrame(rows)
    best = dict(table.iloc[int(table[metric].to_numpy().argmax())])
    best.pop(metric)
    return best, table


def _ranks(run: Mapping[str, float]) -> dict[str, int]:
    return {d: i for i, (d, _) in enumerate(ranked(dict(run)), start=1)}


def _first(ranks: Mapping[str, int], relevant: set[str], k: int) -> int:
    return min((ranks[d] for d in relevant if d in ranks and ranks[d] <= k), default=k + 1)


def hard_negative_overlap(
    run_a: Run,
    run_b: Run,
    fused: Run,
    hard_negatives: Mapping[str, Sequence[str]],
    qrels: Mapping[str, Mapping[str, int]],
    *,
    k: int = 10,
    near: tuple[int, int] = (2, 5),
) -> pd.DataFrame:
    """Per query: the hard negatives both runs put in their top ``k``, and what the fusion does with them.

    Args:
        run_a, run_b: The two input runs.
        fused: Their fusion.
        hard_negatives: ``{query_id: [passage ids that look relevant but are not]}``.
        qrels: Relevance judgements (grade > 0 is relevant).
        k: The depth of the top lists compared.
        near: Ranks counted as "near the top" in both inputs (inclusive).

    Returns:
        DataFrame indexed by query: ``shared`` (hard negatives in both top-``k`` lists), ``near_both``
        (hard negatives ranked within ``near`` by both), ``promoted`` (one of those ranks higher in
        the fusion than in either input *and* above every relevant passage), ``overtakes`` (in the
        fusion a hard negative sits above every relevant passage although ``run_a`` ranked it below
        its first relevant one: the fusion let ``run_b`` pull a near-miss over the answer), and ``answer_a``,
        ``answer_b``, ``answer_fused`` (rank of the first relevant passage; ``k + 1`` when none in
        the top ``k``).
    """
    import pandas as pd

    rows = {}
    lo, hi = near
    for q in sorted(set(run_a) & set(run_b) & set(fused)):
        ra, rb, rf = _ranks(run_a[q]), _ranks(run_b[q]), _ranks(fused[q])
        rel = {d for d, g in qrels.get(q, {}).items() if g > 0}
        negs = set(hard_negatives.get(q, ())) - rel

        shared = [d for d in negs if ra.get(d, k + 1) <= k and rb.get(d, k + 1) <= k]
        near_both = [d for d in shared if lo <= ra[d] <= hi and lo <= rb[d] <= hi]
        answer = _first(rf, rel, k)
        promoted = any(rf.get(d, k + 1) < min(ra[d], rb[d]) and rf.get(d, k + 1) < answer for d in near_both)
        overtakes = any(rf.get(d, k + 1) < answer and ra.get(d, k + 1) > _first(ra, rel, k) for d in negs)
        rows[q] = {
            "shared": len(shared),
            "near_both": len(near_both),
            "promoted": promoted,
            "overtakes": overtakes,
            "answer_a": _first(ra, rel, k),
            "answer_b": _first(rb, rel, k),
            "answer_fused": answer,
        }
    out = pd.DataFrame.from_dict(
        rows,
        orient="index",
        columns=["shared", "near_both", "promoted", "overtakes", "answer_a", "answer_b", "answer_fused"],
    )
    out.index.name = "query"
    return out
