"""Approximate nearest-neighbour indexes (``faiss-cpu``): build, search, measure against exact search.

Four kinds, each over L2-normalised vectors with inner-product (cosine) scores:

* ``flat`` — ``IndexFlatIP``: exact search, 4 bytes a dimension; the reference.
* ``hnsw`` — ``IndexHNSWFlat`` (inner product): a navigable small-world graph over the full vectors;
  more memory than flat (the graph's links), sub-linear query time.
* ``ivfpq`` — ``IndexIVFPQ``: k-means cells (``nlist``), each vector stored as ``pq_m`` bytes of
  product-quantisation codes; ``nprobe`` cells searched per query.
* ``binary`` — ``IndexBinaryFlat``: exhaustive Hamming search over 1-bit codes, centred on the corpus
  mean (see :mod:`.quantize`).

``ivfpq`` and ``binary`` can rescore ``rescore × k`` candidates with the full vectors kept beside
them. Memory per vector is measured, not computed: the serialised index's size over its vectors
(so it includes the graph, the code books and the centroids, amortised).

No Korean corpus of 100,000 passages is available offline; :func:`synthetic_corpus` extends real
embeddings with seeded Gaussian draws matching their mean and (shrunk) covariance.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .quantize import Calibration, fit_calibration, quantize

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["INDEX_KINDS", "AnnIndex", "benchmark_indexes", "build_index", "recall_at_k", "synthetic_corpus"]

#: Index kinds, in display order.
INDEX_KINDS: tuple[str, ...] = ("flat", "hnsw", "ivfpq", "binary")


def _faiss() -> Any:
    try:
        import faiss
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise ImportError("ANN indexes need faiss: pip install 'faiss-cpu>=1.8'") from exc
    return faiss


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


@dataclass
class AnnIndex:
    """A built index and what it cost.

    Attributes:
        kind: One of :data:`INDEX_KINDS`.
        index: The faiss index.
        n: Vectors indexed.
        dim: Their dimension.
        build_s: Wall time of training plus adding.
        bytes_per_vector: Serialised size over ``n``.
        params: The settings it was built with (seed included).
        calibration: The binary codes' calibration (``binary`` only).
        full: The full vectors kept for rescoring (``None`` unless ``keep_full``).
    """

    kind: str
    index: Any = field(repr=False)
    n: int
    dim: int
    build_s: float
    bytes_per_vector: float
    params: dict[str, Any] = field(default_factory=dict)
    calibration: Calibration | None = field(default=None, repr=False)
    full: np.ndarray | None = field(default=None, repr=False)

    def search(self, queries: np.ndarray, k: int, *, rescore: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` ``(indices, scores)``; with ``rescore``, ``rescore × k`` candidates rescored exactly."""
        q = _unit(queries)
        if q.shape[1] != self.dim:
            raise ValueError(f"queries are {q.shape[1]}-d, the index {self.dim}-d")
        m = min(self.n, k * rescore) if rescore else min(self.n, k)
        if self.kind == "binary":
            assert self.calibration is not None
            codes = quantize(q, "ubinary", calibration=self.calibration).codes
            dist, idx = self.index.search(np.ascontiguousarray(codes), m)
            scores = self.dim - 2.0 * dist.astype(np.float32)
        else:
            scores, idx = self.index.search(q, m)
        idx = idx.astype(np.int64)
        if rescore:
            if self.full is None:
                raise ValueError("rescoring needs the full vectors: build with keep_full=True")
            safe = np.where(idx < 0, 0, idx)
            exact = np.einsum("qd,qcd->qc", q, self.full[safe])
            exact = np.where(idx < 0, -np.inf, exact)
            order = np.argsort(-exact, axis=1, kind="stable")[:, :k]
            return np.take_along_axis(idx, order, axis=1), np.take_along_axis(exact, order, axis=1)
        return idx[:, :k], np.asarray(scores, dtype=np.float32)[:, :k]


def build_index(
    kind: str,
    vectors: np.ndarray,
    *,
    seed: int = 0,
    hnsw_m: int = 16,
    ef_construction: int = 40,
    ef_search: int = 64,
    nlist: int | None = None,
    pq_m: int | None = None,
    nprobe: int = 16,
    max_train: int = 20000,
    keep_full: bool = False,
) -> AnnIndex:
    """Build one index over L2-normalised vectors.

    Args:
        kind: ``"flat"``, ``"hnsw"``, ``"ivfpq"`` or ``"binary"``.
        vectors: ``(n, dim)`` floats (normalised here).
        seed: Seed of every random choice (k-means of IVF and PQ, the training sample).
        hnsw_m, ef_construction, ef_search: HNSW's links per node and beam widths.
        nlist: IVF cells (default ``√n`` rounded, at least 1); ``nprobe`` cells are searched.
        pq_m: PQ sub-quantisers, i.e. bytes per code (default: the largest divisor of ``dim`` ≤ ``dim/8``).
        max_train: Training vectors for IVF-PQ (a seeded sample; faiss would use up to 256 per centroid).
        keep_full: Keep the full vectors for :meth:`AnnIndex.search`'s ``rescore``.

    Example:
        >>> x = np.eye(8, dtype=np.float32)
        >>> build_index("flat", x).search(x[:1], 1)[0].tolist()
        [[0]]
    """
    faiss = _faiss()
    if kind not in INDEX_KINDS:
        raise ValueError(f"kind={kind!r}; use one of {', '.join(INDEX_KINDS)}")
    x = _unit(vectors)
    n, dim = x.shape
    params: dict[str, Any] = {"seed": seed}
    cal = None
    t0 = time.perf_counter()
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
        index.add(x)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = ef_construction
        index.hnsw.efSearch = ef_search
        index.hnsw.rng = faiss.RandomGenerator(seed)  # HNSW draws node levels from its own generator
        index.add(x)
        params.update(M=hnsw_m, efConstruction=ef_construction, efSearch=ef_search)
    elif kind == "ivfpq":
        nl = nlist or max(1, round(np.sqrt(n)))
        m = pq_m or max(d for d in range(1, max(1, dim // 8) + 1) if dim % d == 0)
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFPQ(quantizer, dim, nl, m, 8, faiss.METRIC_INNER_PRODUCT)
        index.cp.seed = seed
        index.pq.cp.seed = seed
        rng = np.random.default_rng(seed)
        train = x if n <= max_train else x[np.sort(rng.choice(n, size=max_train, replace=False))]
        index.train(train)
        index.add(x)
        index.nprobe = min(nprobe, nl)
        params.update(nlist=nl, pq_m=m, nbits=8, nprobe=index.nprobe, n_train=len(train))
    else:
        cal = fit_calibration(x, "ubinary", center="mean")
        codes = quantize(x, "ubinary", calibration=cal).codes
        index = faiss.IndexBinaryFlat(codes.shape[1] * 8)
        index.add(np.ascontiguousarray(codes))
        params.update(center="mean", calibration=cal.identity)
    build_s = time.perf_counter() - t0
    blob = faiss.serialize_index_binary(index) if kind == "binary" else faiss.serialize_index(index)
    return AnnIndex(
        kind=kind,
        index=index,
        n=n,
        dim=dim,
        build_s=build_s,
        bytes_per_vector=len(blob) / n,
        params=params,
        calibration=cal,
        full=x if keep_full else None,
    )


def recall_at_k(found: np.ndarray, truth: np.ndarray, k: int = 10) -> float:
    """Mean share of the exact top-``k`` that a search found in its top ``k``.

    Example:
        >>> recall_at_k(np.array([[0, 1, 5]]), np.array([[0, 1, 2]]), 3)
        0.6666666666666666
    """
    f, t = found[:, :k], truth[:, :k]
    return float(np.mean([len(set(a.tolist()) & set(b.tolist())) / max(1, len(b)) for a, b in zip(f, t, strict=True)]))


def synthetic_corpus(base: np.ndarray, n: int, *, seed: int = 0) -> np.ndarray:
    """``n`` unit vectors: the rows of ``base`` first, then seeded Gaussian draws that match them.

    The draws have ``base``'s mean and covariance (a Gaussian with the sample covariance, drawn
    through its eigendecomposition, so it lives in the span the base spans) and are L2-normalised like
    real embeddings. They keep the first- and second-order shape of the corpus — its common offset
    and its dominant directions — but not its clusters (topics, near-duplicates), so an ANN index
    meets a more uniform cloud than real passages would give it: recall figures are on the hard side.

    Example:
        >>> synthetic_corpus(np.eye(4, dtype=np.float32), 10, seed=0).shape
        (10, 4)
    """
    b = np.asarray(base, dtype=np.float64)
    if b.ndim != 2 or b.shape[0] < 2:
        raise ValueError(f"base must be a 2-D array of at least two rows, got shape {b.shape}")
    if n <= b.shape[0]:
        return _unit(b[:n])
    vals, vecs = np.linalg.eigh(np.cov(b, rowvar=False))
    scale = vecs * np.sqrt(np.clip(vals, 0.0, None))
    rng = np.random.default_rng(seed)
    extra = b.mean(axis=0) + rng.standard_normal((n - b.shape[0], b.shape[1])) @ scale.T
    return np.vstack([_unit(b), _unit(extra)])


def benchmark_indexes(
    corpus: np.ndarray,
    queries: np.ndarray,
    sizes: list[int],
    *,
    kinds: tuple[str, ...] = INDEX_KINDS,
    k: int = 10,
    rescore: int | None = 4,
    seed: int = 0,
    query_threads: int = 1,
    build_threads: int | None = None,
    **build_kwargs: Any,
) -> pd.DataFrame:
    """Build each index kind on the first ``n`` corpus rows for each size; time it and score it.

    Recall@k is measured against exact search on the same rows. ``ivfpq`` and ``binary`` get a second
    row with ``rescore × k`` candidates rescored at full precision (``rescore=None``: no such rows).
    Queries run on ``query_threads`` threads (1: latency of one query on one core); builds on
    ``build_threads`` (``None``: faiss's default, one per core).

    Returns:
        One row per (kind, rescore, n): ``index``, ``kind``, ``rescore``, ``n``, ``build_s``,
        ``query_ms``, ``recall@k``, ``bytes_per_vector``, ``params``.
    """
    import pandas as pd

    faiss = _faiss()
    q = _unit(queries)
    threads = faiss.omp_get_max_threads()
    if build_threads:
        faiss.omp_set_num_threads(build_threads)
    try:
        return pd.DataFrame(_bench_rows(corpus, q, sizes, kinds, k, rescore, seed, query_threads, build_kwargs))
    finally:
        faiss.omp_set_num_threads(threads)


def _bench_rows(
    corpus: np.ndarray,
    q: np.ndarray,
    sizes: list[int],
    kinds: tuple[str, ...],
    k: int,
    rescore: int | None,
    seed: int,
    query_threads: int,
    build_kwargs: dict[str, Any],
) -> list[dict[str, Any]]:
    from ..retrieval.search import exact_search

    faiss = _faiss()
    rows = []
    for n in sizes:
        if n > len(corpus):
            raise ValueError(f"size {n} is larger than the corpus ({len(corpus)} vectors)")
        sub = corpus[:n]
        truth, _ = exact_search(q, _unit(sub), k)
        for kind in kinds:
            idx = build_index(kind, sub, seed=seed, keep_full=kind in ("ivfpq", "binary"), **build_kwargs)
            for rs in (None, rescore) if kind in ("ivfpq", "binary") and rescore else (None,):
                before = faiss.omp_get_max_threads()
                faiss.omp_set_num_threads(query_threads)
                try:
                    t0 = time.perf_counter()
                    found, _ = idx.search(q, k, rescore=rs)
                    query_s = time.perf_counter() - t0
                finally:
                    faiss.omp_set_num_threads(before)
                rows.append(
                    {
                        "index": kind if not rs else f"{kind} + rescore ×{rs}",
                        "kind": kind,
                        "rescore": rs or 0,
                        "n": n,
                        "build_s": idx.build_s,
                        "query_ms": 1000 * query_s / len(q),
                        f"recall@{k}": recall_at_k(found, truth, k),
                        "bytes_per_vector": idx.bytes_per_vector,
                        "params": idx.params,
                    }
                )
    return rows
