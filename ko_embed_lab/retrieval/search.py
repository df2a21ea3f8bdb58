"""Exact nearest-neighbour search over L2-normalised embeddings."""

from __future__ import annotations

import numpy as np

__all__ = ["exact_search"]


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
