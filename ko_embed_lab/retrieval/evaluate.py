"""Dense retrieval evaluation: embed queries and corpus, search exactly, score with ``pytrec_eval``.

A :class:`RetrievalResult` carries overall and per-query scores, the ranked run and the provenance of
every number; every system in the package (dense, lexical, fused) returns one.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..data.beir import RetrievalSet
from ..provenance import provenance
from ..types import Encoder, encoder_identity
from .metrics import METRICS, score_run
from .runs import run_from_scores
from .search import exact_search

__all__ = ["RetrievalResult", "evaluate_retrieval"]

logger = logging.getLogger(__name__)


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
        from ..cache import _atomic_write_bytes

        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        blob = json.dumps(self.to_dict(include_run=include_run), ensure_ascii=False, indent=1)
        _atomic_write_bytes(p, blob.encode("utf-8"))
        return p


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
        encoder: A loaded model or any :class:`~ko_embed_lab.types.Encoder`.
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
    if not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 1:
        raise ValueError(f"top_k={top_k!r} must be a positive int (mteb uses 1000)")
    if not data.corpus:
        raise ValueError(f"{data.name}: the corpus is empty; nothing to search")
    # Queries with no relevant document cannot be scored (NDCG is undefined): BEIR and mteb drop them,
    # and so does the loader; a set built by hand is held to the same rule, and the count is recorded.
    qids = [q for q in data.queries if any(g > 0 for g in data.qrels.get(q, {}).values())]
    dropped = len(data.queries) - len(qids)
    if not qids:
        raise ValueError(f"{data.name}: no query has a relevant document in the qrels; nothing to evaluate")
    if dropped:
        logger.warning(
            "%s: %d of %d queries have no relevant document and are left out", data.name, dropped, len(data.queries)
        )
    qrels = {q: data.qrels[q] for q in qids}
    t0 = time.perf_counter()
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
    metrics, per_query = score_run(qrels, run)
    t_end = time.perf_counter()
    ident = encoder_identity(encoder)
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
            "queries_without_relevant_dropped": dropped,
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
