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
from .runs import run_from_matrix, run_from_scores
from .search import exact_search

__all__ = ["DEFAULT_CHUNK_TOKENS", "RetrievalResult", "evaluate_retrieval"]

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
        from .._files import atomic_write_bytes as _atomic_write_bytes

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
    long_docs: str = "truncate",
    chunk_tokens: int | None = None,
    overlap: int | None = None,
    **encode_kwargs: Any,
) -> RetrievalResult:
    """Embed queries and corpus, search exactly, and score with ``pytrec_eval``.

    Documents are embedded as ``title + " " + text``. With ``long_docs="truncate"`` (the default)
    each is truncated at the model's maximum length, as sentence-transformers and mteb do; the other
    strategies split it into chunks of ``chunk_tokens`` tokens (:mod:`ko_embed_lab.longdoc.chunking`,
    the code behind chapter 3):

    * ``"max-chunk"`` — each chunk embedded alone; a document scores as its best chunk;
    * ``"mean-chunk"`` — the same chunks averaged into one vector per document;
    * ``"late-chunk"`` — late chunking: chunk vectors pooled from the token embeddings of the whole
      document (macro-windows past the model's window); best chunk;
    * ``"context-chunk"`` — each chunk embedded after a short header (title, else first sentence);
      best chunk.

    Chunk vectors are cached like document embeddings (``cache=True``); the record's provenance
    names the strategy, its parameters and the vectors stored per document.

    Args:
        encoder: A loaded model or any :class:`~ko_embed_lab.types.Encoder`.
        data: The retrieval set.
        query_prompt: Prompt before queries (``None``: the model's own; ``""``: none).
        document_prompt: Prompt before documents (``None``: the model's own).
        top_k: Depth of the ranking kept and scored (mteb uses 1000).
        doc_embeddings: Precomputed corpus embeddings (in ``data.corpus`` order) to reuse
            (``long_docs="truncate"`` only).
        long_docs: ``"truncate"``, ``"max-chunk"``, ``"mean-chunk"``, ``"late-chunk"`` or
            ``"context-chunk"``. The chunk strategies need a loaded model (its tokenizer).
        chunk_tokens: Chunk size in content tokens (default :data:`DEFAULT_CHUNK_TOKENS`, 256, capped
            at the model's window).
        overlap: Overlap of consecutive chunks in tokens (default 0).
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
    from ..longdoc.chunking import canonical_strategy

    strategy = canonical_strategy(long_docs)
    if strategy == "truncate" and (chunk_tokens is not None or overlap is not None):
        raise ValueError("chunk_tokens and overlap apply to the chunk strategies; pass long_docs='max-chunk' (say)")
    if strategy != "truncate" and doc_embeddings is not None:
        raise ValueError(f"doc_embeddings are whole-document vectors; they cannot serve long_docs={long_docs!r}")
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
    long_settings: dict[str, Any] = {"strategy": strategy}
    if strategy != "truncate":
        scores, long_settings = _long_doc_scores(
            encoder, data, q, strategy, chunk_tokens, overlap, document_prompt, encode_kwargs
        )
        t_d = time.perf_counter()
        run = run_from_matrix(qids, dids, scores, top_k)
    else:
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
            "long_docs": long_settings,
        },
        timings={
            "encode_queries_s": round(t_q - t0, 3),
            "encode_documents_s": round(t_d - t_q, 3),
            "search_and_score_s": round(t_end - t_d, 3),
            "wall_s": round(t_end - t0, 3),
        },
    )
    return RetrievalResult(metrics=metrics, per_query=per_query, run=run, provenance=prov)


#: Chunk size of the chunk strategies when none is given (content tokens). Measured with the bundled
#: model (window 508 content tokens), best chunk: KoLongQ NDCG@10 0.988 / 0.997 / 0.961 at 128 / 256 /
#: 508 tokens, smoke-size needle haystacks of 1,024-2,048 tokens 1.00 / 1.00 / 0.92; 256 stores half
#: the vectors of 128. For a model with a longer window the default stays 256 until measured there.
DEFAULT_CHUNK_TOKENS = 256


def _long_doc_scores(
    encoder: Encoder,
    data: RetrievalSet,
    q: np.ndarray,
    strategy: str,
    chunk_tokens: int | None,
    overlap: int | None,
    document_prompt: str | None,
    encode_kwargs: dict[str, Any],
) -> tuple[np.ndarray, dict[str, Any]]:
    """Scores of a chunk strategy (the longdoc strategy layer) and the settings to record."""
    from ..longdoc.chunking import LongDocEmbedder

    unknown = set(encode_kwargs) - {"cache", "show_progress"}
    if unknown:
        raise TypeError(f"long_docs={strategy!r} takes only cache= and show_progress=, not {sorted(unknown)}")
    if not hasattr(encoder, "tokenizer"):
        raise TypeError(f"long_docs={strategy!r} needs a loaded model (its tokenizer); got {type(encoder).__name__}")
    emb = LongDocEmbedder(
        encoder,  # type: ignore[arg-type]
        chunk_tokens=chunk_tokens if chunk_tokens is not None else _default_chunk(encoder, document_prompt),
        overlap=overlap or 0,
        document_prompt=document_prompt,
        cache=encode_kwargs.get("cache"),
        show_progress=encode_kwargs.get("show_progress"),
    )
    texts = data.doc_texts()
    titles = [d.get("title") or "" for d in data.corpus.values()]
    scores = emb.scores(q, texts, strategy, titles)
    settings = emb.settings()
    keep = ["chunk_tokens", "overlap", "window", "document_prompt"]
    keep += {"late-chunk": ["late_macro_overlap", "late_pooling"], "context-chunk": ["header_tokens"]}.get(strategy, [])
    return scores, {
        "strategy": strategy,
        **{k: settings[k] for k in keep},
        "vectors_per_document": round(emb.stored_per_document(texts, strategy, titles), 3),
    }


def _default_chunk(encoder: Any, document_prompt: str | None) -> int:
    """:data:`DEFAULT_CHUNK_TOKENS`, or the model's whole window when that is smaller."""
    from ..longdoc.lengths import prompt_token_count
    from ..tokens import special_token_count

    prompt = document_prompt if document_prompt is not None else str(getattr(encoder, "document_prompt", ""))
    window = encoder.max_seq_length - special_token_count(encoder.tokenizer) - prompt_token_count(encoder, prompt)
    return max(1, min(DEFAULT_CHUNK_TOKENS, window))
