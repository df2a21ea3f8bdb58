"""Retrieval evaluation: exact cosine search and trec_eval metrics (via ``pytrec_eval``).

The metrics are the ones the Korean retrieval literature reports — NDCG@10 (the headline),
MRR@10, Recall@1/5/10/100, MAP@100 — computed by ``pytrec_eval`` (the trec_eval C code, also
what mteb uses), never by hand. A :class:`RetrievalResult` carries overall and per-query scores,
the ranked run and the provenance of every number.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .data.beir import RetrievalSet
from .encode import Encoder
from .provenance import provenance

__all__ = [
    "METRICS",
    "RetrievalResult",
    "evaluate_retrieval",
    "exact_search",
    "paired_bootstrap",
    "run_from_scores",
    "score_run",
]

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


@dataclass
class RetrievalResult:
    """Scores of one retrieval evaluation.

    Attributes:
        metrics: Mean over queries of each metric in :data:`METRICS`.
        per_query: ``{query_id: {metric: value}}``.
        run: ``{query_id: {doc_id: score}}``, the top-``k`` ranking that was scored.
        provenance: Model identity, dataset identity, settings, versions, date, wall time.
    """

    metrics: dict[str, float]
    per_query: dict[str, dict[str, float]]
    run: dict[str, dict[str, float]] = field(repr=False)
    provenance: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def primary(self) -> float:
        """NDCG@10, the primary metric."""
        return self.metrics["ndcg@10"]

    def per_query_frame(self) -> Any:
        """Per-query scores as a pandas DataFrame indexed by query id."""
        import pandas as pd

        return pd.DataFrame.from_dict(self.per_query, orient="index")[list(METRICS)]

    def to_dict(self, *, include_run: bool = False) -> dict[str, Any]:
        """JSON-ready record."""
        out: dict[str, Any] = {"metrics": self.metrics, "per_query": self.per_query, "provenance": self.provenance}
        if include_run:
            out["run"] = self.run
        return out

    def save(self, path: str | Path, *, include_run: bool = False) -> Path:
        """Write the record as JSON (atomically)."""
        from .cache import _atomic_write_bytes

        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        blob = json.dumps(self.to_dict(include_run=include_run), ensure_ascii=False, indent=1)
        _atomic_write_bytes(p, blob.encode("utf-8"))
        return p


def exact_search(queries: np.ndarray, docs: np.ndarray, k: int, *, chunk: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Exact inner-product (cosine, for normalised rows) top-``k`` search.

    Returns:
        ``(indices, scores)``, each ``(n_queries, min(k, n_docs))``, best first.
    """
    if queries.ndim != 2 or docs.ndim != 2 or queries.shape[1] != docs.shape[1]:
        raise ValueError(f"need 2-D arrays of the same width, got {queries.shape} and {docs.shape}")
    k = min(k, docs.shape[0])
    idx = np.empty((queries.shape[0], k), dtype=np.int64)
    val = np.empty((queries.shape[0], k), dtype=np.float32)
    for s in range(0, queries.shape[0], chunk):
        sims = queries[s : s + chunk] @ docs.T
        part = (
            np.argpartition(-sims, k - 1, axis=1)[:, :k]
            if k < docs.shape[0]
            else np.tile(np.arange(k), (sims.shape[0], 1))
        )
        part_scores = np.take_along_axis(sims, part, axis=1)
        order = np.argsort(-part_scores, axis=1, kind="stable")
        idx[s : s + chunk] = np.take_along_axis(part, order, axis=1)
        val[s : s + chunk] = np.take_along_axis(part_scores, order, axis=1)
    return idx, val


def run_from_scores(
    query_ids: Sequence[str], doc_ids: Sequence[str], indices: np.ndarray, scores: np.ndarray
) -> dict[str, dict[str, float]]:
    """Turn search output into a trec run ``{query_id: {doc_id: score}}``."""
    return {
        qid: {doc_ids[j]: float(s) for j, s in zip(row_i, row_s, strict=True)}
        for qid, row_i, row_s in zip(query_ids, indices, scores, strict=True)
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
    top10 = {
        q: dict(sorted(docs.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)[:10]) for q, docs in run_d.items()
    }
    rr = pytrec_eval.RelevanceEvaluator(qrels_d, {"recip_rank"}).evaluate(top10)
    per_query: dict[str, dict[str, float]] = {}
    for q in qrels_d:
        # pytrec_eval reports "ndcg_cut.10" as "ndcg_cut_10".
        row = {name: float(full.get(q, {}).get(key.replace(".", "_"), 0.0)) for key, name in _TREC_FULL.items()}
        row["mrr@10"] = float(rr.get(q, {}).get("recip_rank", 0.0))
        per_query[q] = {m: row[m] for m in METRICS}
    means = {m: float(np.mean([v[m] for v in per_query.values()])) if per_query else math.nan for m in METRICS}
    return means, per_query


def _encode(
    encoder: Encoder,
    texts: list[str],
    kind: Literal["query", "document"],
    prompt: str | None,
    encode_kwargs: dict[str, Any],
) -> np.ndarray:
    arr = np.asarray(encoder.encode(texts, kind=kind, prompt=prompt, **encode_kwargs), dtype=np.float32)
    if arr.shape[0] != len(texts):
        raise ValueError(f"encoder returned {arr.shape[0]} rows for {len(texts)} texts")
    return arr


def evaluate_retrieval(
    encoder: Encoder,
    data: RetrievalSet,
    *,
    query_prompt: str | None = None,
    document_prompt: str | None = None,
    top_k: int = 1000,
    doc_embeddings: np.ndarray | None = None,
    **encode_kwargs: Any,
) -> RetrievalResult:
    """Embed queries and corpus, search exactly, and score with ``pytrec_eval``.

    Documents are embedded as ``title + " " + text`` and truncated at the model's maximum
    length, as sentence-transformers and mteb do.

    Args:
        encoder: A loaded model or any :class:`~ko_embed_lab.encode.Encoder`.
        data: The retrieval set.
        query_prompt: Prompt before queries (``None``: the model's own; ``""``: none).
        document_prompt: Prompt before documents (``None``: the model's own).
        top_k: Depth of the ranking kept and scored (mteb uses 1000).
        doc_embeddings: Precomputed corpus embeddings (in ``data.corpus`` order) to reuse.
        **encode_kwargs: Passed to ``encoder.encode`` (``cache=True``, ``batch_tokens``...).

    Returns:
        A :class:`RetrievalResult`.

    Example:
        >>> res = evaluate_retrieval(model, load_probe().data, query_prompt="")
        >>> round(res.metrics["ndcg@10"], 3)  # doctest: +SKIP
        0.71
    """
    t0 = time.perf_counter()
    qids = list(data.queries)
    dids = data.doc_ids()
    q = _encode(encoder, [data.queries[i] for i in qids], "query", query_prompt, encode_kwargs)
    t_q = time.perf_counter()
    if doc_embeddings is None:
        d = _encode(encoder, data.doc_texts(), "document", document_prompt, encode_kwargs)
    else:
        if doc_embeddings.shape[0] != len(dids):
            raise ValueError(f"doc_embeddings has {doc_embeddings.shape[0]} rows for {len(dids)} documents")
        d = np.asarray(doc_embeddings, dtype=np.float32)
    t_d = time.perf_counter()
    idx, val = exact_search(q, d, top_k)
    run = run_from_scores(qids, dids, idx, val)
    metrics, per_query = score_run(data.qrels, run)
    t_end = time.perf_counter()
    ident = encoder.identity() if hasattr(encoder, "identity") else {"model": type(encoder).__name__}
    used_q = query_prompt if query_prompt is not None else ident.get("query_prompt")
    used_d = document_prompt if document_prompt is not None else ident.get("document_prompt")
    prov = provenance(
        model=ident,
        dataset=data.identity(),
        settings={
            "query_prompt": used_q,
            "document_prompt": used_d,
            "top_k": top_k,
            "search": "exact cosine",
            "metrics_by": "pytrec_eval",
        },
        timings={
            "encode_queries_s": round(t_q - t0, 3),
            "encode_documents_s": round(t_d - t_q, 3),
            "search_and_score_s": round(t_end - t_d, 3),
            "wall_s": round(t_end - t0, 3),
        },
    )
    return RetrievalResult(metrics=metrics, per_query=per_query, run=run, provenance=prov)


def paired_bootstrap(
    a: Mapping[str, float], b: Mapping[str, float], *, n_resamples: int = 10000, confidence: float = 0.95, seed: int = 0
) -> dict[str, float]:
    """Paired bootstrap confidence interval of mean(b − a) over shared queries (scipy).

    Returns:
        ``{"mean_diff", "low", "high", "n", "wins", "losses", "ties", "sign_test_p"}``.
    """
    from scipy import stats

    keys = sorted(set(a) & set(b))
    if len(keys) < 2:
        raise ValueError("need at least two shared queries for a paired bootstrap")
    diff = np.array([b[k] - a[k] for k in keys], dtype=np.float64)
    if np.allclose(diff, diff[0]):
        low = high = float(diff[0])
    else:
        ci = stats.bootstrap(
            (diff,),
            np.mean,
            n_resamples=n_resamples,
            confidence_level=confidence,
            method="percentile",
            rng=np.random.default_rng(seed),
        ).confidence_interval
        low, high = float(ci.low), float(ci.high)
    wins, losses = int((diff > 1e-12).sum()), int((diff < -1e-12).sum())
    sign_p = float(stats.binomtest(wins, wins + losses, 0.5).pvalue) if wins + losses else 1.0
    return {
        "mean_diff": float(diff.mean()),
        "low": low,
        "high": high,
        "n": len(keys),
        "wins": wins,
        "losses": losses,
        "ties": len(keys) - wins - losses,
        "sign_test_p": sign_p,
    }
