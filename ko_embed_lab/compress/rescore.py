"""Search over quantised vectors, then rescore the candidates at full precision.

The standard recipe (sentence-transformers' ``semantic_search_faiss``, Cohere's and Hugging Face's
binary-retrieval posts): search the compact codes for ``rescore × k`` candidates, score those with the
full-precision query against full-precision (or int8) document vectors kept beside the index (on
disk, typically), and return the best ``k``. The index in memory holds only the codes; the rescoring
vectors are read for ``rescore × k`` documents per query.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .quantize import QuantizedVectors

__all__ = ["CompressedHits", "compressed_search", "top_k"]


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values of the ``k`` highest scores per row, best first; ties keep the lower index.

    Example:
        >>> top_k(np.array([[0.1, 0.9, 0.9, 0.3]]), 2)[0].tolist()
        [[1, 2]]
    """
    n = scores.shape[1]
    k = min(k, n)
    if k < n:
        # Keep everything tied with the k-th score, so that the stable sort below decides ties by index.
        kth = -np.partition(-scores, k - 1, axis=1)[:, k - 1 : k]
        masked = np.where(scores >= kth, scores, -np.inf)
        idx = np.argsort(-masked, axis=1, kind="stable")[:, :k]
    else:
        idx = np.argsort(-scores, axis=1, kind="stable")
    return idx, np.take_along_axis(scores, idx, axis=1)


@dataclass
class CompressedHits:
    """Result of :func:`compressed_search`.

    Attributes:
        indices: ``(n_queries, k)`` corpus rows, best first.
        scores: ``(n_queries, k)`` their scores (rescored scores when rescoring ran).
        cost: Candidates per query, seconds per query of each stage, bytes per vector kept.
    """

    indices: np.ndarray
    scores: np.ndarray
    cost: dict[str, float] = field(default_factory=dict)


def compressed_search(
    queries: np.ndarray,
    store: QuantizedVectors,
    k: int,
    *,
    rescore: int | None = None,
    rescore_vectors: np.ndarray | None = None,
    rescore_bytes_per_vector: int | None = None,
) -> CompressedHits:
    """Top-``k`` search over quantised vectors, with optional full-precision rescoring.

    Args:
        queries: ``(n_queries, dim)`` float queries (same dimension and rotation as the corpus).
        store: The quantised corpus; queries are quantised with its calibration.
        k: Results per query.
        rescore: ``None`` or ``0``: rank by the codes alone. ``N ≥ 1``: take ``N × k`` candidates by
            the codes, then rank them by ``query · rescore_vectors`` and keep ``k``.
        rescore_vectors: ``(n, dim)`` float document vectors for rescoring (full precision, or the
            dequantised int8 codes); required when ``rescore`` is set.
        rescore_bytes_per_vector: Bytes one rescoring vector takes where it is kept (default: its
            dtype's size × dim; pass ``dim`` for dequantised int8 vectors).

    Returns:
        A :class:`CompressedHits`.

    Example:
        >>> from ko_embed_lab.compress.quantize import quantize
        >>> docs = np.eye(4, dtype=np.float32)
        >>> hits = compressed_search(docs[:1], quantize(docs, "int8"), 2, rescore=2, rescore_vectors=docs)
        >>> hits.indices.tolist()
        [[0, 1]]
    """
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"k={k!r} must be a positive int")
    if rescore is not None and (not isinstance(rescore, int) or isinstance(rescore, bool) or rescore < 0):
        raise ValueError(f"rescore={rescore!r} must be None or an int ≥ 0 (the candidate multiplier)")
    q = np.asarray(queries, dtype=np.float32)
    if q.ndim != 2 or q.shape[1] != store.dim:
        raise ValueError(f"queries have shape {q.shape}; the store holds {store.dim}-d vectors")
    n = len(store)
    t0 = time.perf_counter()
    first = store.scores(store.encode_queries(q))
    n_cand = min(n, k * rescore) if rescore else min(n, k)
    cand, cand_scores = top_k(first, max(n_cand, min(k, n)))
    t1 = time.perf_counter()
    rescore_bytes = 0
    if rescore:
        if rescore_vectors is None:
            raise ValueError("rescore needs rescore_vectors: the full-precision (or int8) corpus vectors")
        full = np.asarray(rescore_vectors, dtype=np.float32)
        if full.shape != (n, store.dim):
            raise ValueError(f"rescore_vectors has shape {full.shape}, expected ({n}, {store.dim})")
        exact = np.einsum("qd,qcd->qc", q, full[cand])
        order = np.argsort(-exact, axis=1, kind="stable")[:, :k]
        idx = np.take_along_axis(cand, order, axis=1)
        val = np.take_along_axis(exact, order, axis=1)
        rescore_bytes = rescore_bytes_per_vector or int(np.asarray(rescore_vectors).dtype.itemsize * store.dim)
    else:
        idx, val = cand[:, :k], cand_scores[:, :k]
    t2 = time.perf_counter()
    nq = max(1, q.shape[0])
    cost = {
        "candidates_per_query": float(n_cand),
        "search_ms_per_query": 1000 * (t1 - t0) / nq,
        "rescore_ms_per_query": 1000 * (t2 - t1) / nq,
        "index_bytes_per_vector": float(store.bytes_per_vector),
        "rescore_bytes_per_vector": float(rescore_bytes),
    }
    return CompressedHits(indices=idx, scores=val.astype(np.float32), cost=cost)
