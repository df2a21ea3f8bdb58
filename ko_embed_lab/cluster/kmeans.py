"""Seeded k-means on truncated, re-normalised embeddings, and the measures that compare clusterings."""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..encode import truncate_dim
from ._util import check_embeddings, unit

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CARD_CLUSTER_DIM",
    "Clustering",
    "cluster_quality",
    "default_dims",
    "dimension_agreement",
    "k_sweep",
    "kmeans",
    "seed_agreement",
    "truncate_normalize",
]

#: Dimension the card truncated the base model's embeddings to before clustering.
CARD_CLUSTER_DIM = 256

#: Above this many rows, :func:`kmeans` switches to ``MiniBatchKMeans`` unless told otherwise.
MINIBATCH_ABOVE = 20_000


def truncate_normalize(emb: np.ndarray, dim: int | None) -> np.ndarray:
    """Keep the first ``dim`` coordinates and L2-normalise each row again (``None``: all of them).

    This is how the card formed its clustering embeddings (1024 → 256) and how a
    Matryoshka-trained model is meant to be shortened.

    Example:
        >>> truncate_normalize(np.array([[3.0, 4.0, 12.0]]), 2)
        array([[0.6, 0.8]], dtype=float32)
    """
    arr = check_embeddings(emb)
    if dim is not None and (not isinstance(dim, (int, np.integer)) or isinstance(dim, bool)):
        raise TypeError(f"dim must be an int or None, got {type(dim).__name__}")
    return unit(truncate_dim(arr, int(dim)) if dim is not None else arr)


def default_dims(full_dim: int, candidates: Sequence[int] = (32, 64, 128, 256, 512)) -> list[int]:
    """Dimensions to compare: the candidates below ``full_dim``, then ``full_dim`` itself.

    Example:
        >>> default_dims(384)
        [32, 64, 128, 256, 384]
    """
    if full_dim < 1:
        raise ValueError(f"full_dim={full_dim} must be positive")
    return [*sorted({d for d in candidates if 0 < d < full_dim}), int(full_dim)]


@dataclass(frozen=True)
class Clustering:
    """A k-means result.

    Attributes:
        labels: Cluster of each row, ``0..k-1``.
        centroids: ``(k, dim)`` unit-norm cluster centres.
        k: Number of clusters.
        dim: Dimensions the rows were truncated to.
        seed: Random seed of the fit.
        seconds: Wall time of the fit (truncation and normalisation excluded).
        method: ``"kmeans"`` or ``"minibatch-kmeans"``.
        inertia: Sum of squared distances of rows to their centre (on unit vectors).
    """

    labels: np.ndarray
    centroids: np.ndarray
    k: int
    dim: int
    seed: int
    seconds: float
    method: str
    inertia: float

    def sizes(self) -> np.ndarray:
        """Number of rows in each cluster."""
        return np.bincount(self.labels, minlength=self.k)


def kmeans(
    emb: np.ndarray,
    k: int,
    *,
    dim: int | None = None,
    seed: int = 0,
    n_init: int = 3,
    max_iter: int = 300,
    minibatch: bool | None = None,
    batch_size: int = 4096,
    threads: int | None = None,
) -> Clustering:
    """Seeded k-means on (truncated) unit vectors, as a stand-in for spherical k-means.

    Rows are truncated to ``dim`` coordinates and re-normalised; on unit vectors the squared
    Euclidean distance is ``2 − 2·cosine``, so k-means groups by cosine similarity (scikit-learn's
    ``KMeans``; centres are re-normalised after the fit).

    Args:
        emb: ``(n, d)`` embeddings.
        k: Number of clusters (1 ≤ k ≤ n).
        dim: Truncate to this many dimensions first (``None``: keep all).
        seed: Random seed (k-means++ initialisation).
        n_init: Number of initialisations; the best (lowest inertia) is kept.
        max_iter: Iteration limit per initialisation.
        minibatch: Use ``MiniBatchKMeans`` (default: only above 20,000 rows).
        batch_size: Mini-batch size for ``MiniBatchKMeans``.
        threads: Limit the BLAS/OpenMP threads of the fit (``None``: the libraries' default).
            On a small input or a shared machine, ``1`` is often faster and times more steadily.

    Returns:
        A :class:`Clustering`.

    Example:
        >>> blobs = np.array([[1, 0.01], [1, -0.01], [-0.01, 1], [0.01, 1]])
        >>> kmeans(blobs, 2, seed=0).sizes().tolist()
        [2, 2]
    """
    from sklearn.cluster import KMeans, MiniBatchKMeans
    from threadpoolctl import threadpool_limits

    x = truncate_normalize(emb, dim)
    n = x.shape[0]
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or not 1 <= k <= n:
        raise ValueError(f"k={k!r} must be an int between 1 and the number of rows ({n})")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    use_mb = n > MINIBATCH_ABOVE if minibatch is None else bool(minibatch)
    est: Any
    if use_mb:
        est = MiniBatchKMeans(
            n_clusters=int(k), random_state=int(seed), n_init=n_init, max_iter=max_iter, batch_size=batch_size
        )
    else:
        est = KMeans(n_clusters=int(k), random_state=int(seed), n_init=n_init, max_iter=max_iter)
    with threadpool_limits(limits=threads):
        start = time.perf_counter()
        labels = est.fit_predict(x)
        seconds = time.perf_counter() - start
    centres = est.cluster_centers_
    norms = np.linalg.norm(centres, axis=1, keepdims=True)
    centres = centres / np.maximum(norms, 1e-12)
    return Clustering(
        labels=labels.astype(np.int64),
        centroids=centres.astype(np.float32),
        k=int(k),
        dim=x.shape[1],
        seed=int(seed),
        seconds=seconds,
        method="minibatch-kmeans" if use_mb else "kmeans",
        inertia=float(est.inertia_),
    )


def cluster_quality(labels: Sequence[Any] | np.ndarray, truth: Sequence[Any] | np.ndarray) -> dict[str, float]:
    """How well clusters match reference labels (e.g. domains): NMI, ARI and purity.

    NMI and ARI are scikit-learn's; purity is the share of items that belong to the most common
    reference label of their cluster (from scikit-learn's contingency matrix).

    Example:
        >>> cluster_quality([0, 0, 1, 1], ["a", "a", "b", "b"])
        {'nmi': 1.0, 'ari': 1.0, 'purity': 1.0}
    """
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
    from sklearn.metrics.cluster import contingency_matrix

    a, b = np.asarray(labels), np.asarray(truth)
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise ValueError(f"labels and truth must be 1-D of the same non-zero length, got {a.shape} and {b.shape}")
    table = contingency_matrix(b, a)  # rows: reference labels, columns: clusters
    return {
        "nmi": float(normalized_mutual_info_score(b, a)),
        "ari": float(adjusted_rand_score(b, a)),
        "purity": float(table.max(axis=0).sum() / a.size),
    }


def chance_nmi(
    labels: Sequence[Any] | np.ndarray, truth: Sequence[Any] | np.ndarray, *, seeds: Sequence[int] = (0, 1, 2, 3, 4)
) -> float:
    """NMI of ``truth`` with ``labels`` shuffled (cluster sizes kept), mean over seeds: NMI's chance level.

    NMI is not 0 for unrelated labellings of a finite sample; this is the baseline a measured
    NMI is read against.

    Example:
        >>> round(chance_nmi([0, 0, 1, 1] * 50, ["a", "b"] * 100), 3) < 0.05
        True
    """
    from sklearn.metrics import normalized_mutual_info_score

    a, b = np.asarray(labels), np.asarray(truth)
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise ValueError(f"labels and truth must be 1-D of the same non-zero length, got {a.shape} and {b.shape}")
    if not seeds:
        raise ValueError("seeds is empty; pass at least one seed")
    return float(np.mean([normalized_mutual_info_score(b, np.random.default_rng(s).permutation(a)) for s in seeds]))


def seed_agreement(
    emb: np.ndarray,
    k: int,
    *,
    seeds: Sequence[int] = (0, 1, 2),
    dim: int | None = None,
    n_init: int = 3,
    threads: int | None = 1,
) -> dict[str, float]:
    """Agreement of k-means with itself across seeds (mean ARI and NMI over consecutive seed pairs).

    This is the noise floor for any comparison of two clusterings: two dimensions can never be
    expected to agree better than one dimension agrees with itself under another seed.

    Example:
        >>> blobs = np.array([[1, 0.01], [1, -0.01], [-0.01, 1], [0.01, 1]])
        >>> seed_agreement(blobs, 2, seeds=[0, 1])["ari"]
        1.0
    """
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    if len(seeds) < 2:
        raise ValueError("seed_agreement needs at least two seeds")
    fits = [kmeans(emb, k, dim=dim, seed=s, n_init=n_init, threads=threads).labels for s in seeds]
    pairs = list(itertools.pairwise(fits))
    return {
        "ari": float(np.mean([adjusted_rand_score(a, b) for a, b in pairs])),
        "nmi": float(np.mean([normalized_mutual_info_score(a, b) for a, b in pairs])),
    }


def dimension_agreement(
    emb: np.ndarray,
    dims: Sequence[int],
    k: int,
    *,
    seeds: Sequence[int] = (0, 1, 2),
    truth: Sequence[Any] | None = None,
    n_init: int = 3,
    threads: int | None = 1,
) -> pd.DataFrame:
    """Cluster at each truncation ``dim`` and compare with the clustering at full dimension.

    For each seed, k-means runs at full dimension and at every ``dim`` with that seed; the table
    gives the mean ARI and NMI against full dimension, the median fit time, the memory of the
    truncated matrix and, when ``truth`` is given, NMI and purity against those labels.

    Args:
        emb: ``(n, D)`` embeddings (full dimension).
        dims: Dimensions to try (each ≤ D).
        k: Number of clusters.
        seeds: Seeds to average over.
        truth: Optional reference labels (e.g. domains) of the rows.
        n_init: k-means initialisations per fit.
        threads: BLAS/OpenMP threads per fit (1 by default, so that the times compare the work
            done at each dimension rather than how a shared machine schedules threads).

    Returns:
        DataFrame indexed by ``dim``: ``ari_vs_full``, ``nmi_vs_full``, ``seconds``, ``megabytes``
        and (with ``truth``) ``truth_nmi``, ``truth_purity``.

    Example:
        >>> dimension_agreement(q_emb, [64, 256, 384], k=8, seeds=[0, 1])["ari_vs_full"].loc[384]
        1.0
    """
    import pandas as pd
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    x = check_embeddings(emb)
    full = x.shape[1]
    if not dims:
        raise ValueError("dims is empty; pass e.g. default_dims(embeddings.shape[1])")
    if any(not 1 <= int(d) <= full for d in dims):
        raise ValueError(f"every dim must be between 1 and the embedding dimension {full}, got {list(dims)}")
    if not seeds:
        raise ValueError("seeds is empty; pass at least one seed")
    if truth is not None and len(truth) != x.shape[0]:
        raise ValueError(f"truth has {len(truth)} labels for {x.shape[0]} rows")
    reference = {s: kmeans(x, k, seed=s, n_init=n_init, threads=threads) for s in seeds}
    rows = []
    for d in dims:
        fits = [
            reference[s] if int(d) == full else kmeans(x, k, dim=int(d), seed=s, n_init=n_init, threads=threads)
            for s in seeds
        ]
        row: dict[str, float] = {
            "dim": int(d),
            "ari_vs_full": float(
                np.mean([adjusted_rand_score(reference[s].labels, f.labels) for s, f in zip(seeds, fits, strict=True)])
            ),
            "nmi_vs_full": float(
                np.mean(
                    [
                        normalized_mutual_info_score(reference[s].labels, f.labels)
                        for s, f in zip(seeds, fits, strict=True)
                    ]
                )
            ),
            "seconds": float(statistics.median(f.seconds for f in fits)),
            "megabytes": x.shape[0] * int(d) * 4 / 1e6,
        }
        if truth is not None:
            qual = [cluster_quality(f.labels, truth) for f in fits]
            row["truth_nmi"] = float(np.mean([q["nmi"] for q in qual]))
            row["truth_purity"] = float(np.mean([q["purity"] for q in qual]))
        rows.append(row)
    return pd.DataFrame(rows).set_index("dim")


def k_sweep(
    emb: np.ndarray,
    ks: Sequence[int],
    *,
    dim: int | None = None,
    seed: int = 0,
    truth: Sequence[Any] | None = None,
    n_init: int = 3,
    threads: int | None = 1,
) -> pd.DataFrame:
    """Cluster with each ``k`` and score the result: cosine silhouette, inertia, sizes, agreement with ``truth``.

    The silhouette (scikit-learn, cosine distance, in −1…1) is high when rows are much closer to
    their own cluster than to the next one; it needs 2 ≤ k < n.

    Returns:
        DataFrame indexed by ``k``: ``silhouette``, ``inertia``, ``smallest``, ``largest``,
        ``seconds`` and (with ``truth``) ``truth_nmi``, ``truth_purity``.

    Example:
        >>> blobs = np.repeat(np.eye(4), 10, axis=0) + 0.01  # 4 tight groups of 10
        >>> int(k_sweep(blobs, [2, 3, 4, 6], seed=0)["silhouette"].idxmax())
        4
    """
    import pandas as pd
    from sklearn.metrics import silhouette_score

    x = truncate_normalize(emb, dim)
    n = x.shape[0]
    if not ks:
        raise ValueError("ks is empty; pass e.g. [2, 4, 8, 16]")
    bad = [k for k in ks if not 2 <= int(k) < n]
    if bad:
        raise ValueError(f"every k must satisfy 2 <= k < {n} (the number of rows) for a silhouette; got {bad}")
    rows = []
    for k in ks:
        c = kmeans(x, int(k), seed=seed, n_init=n_init, threads=threads)
        sizes = c.sizes()
        sample = None if n <= 5000 else 5000
        row: dict[str, float] = {
            "k": int(k),
            "silhouette": float(silhouette_score(x, c.labels, metric="cosine", sample_size=sample, random_state=seed))
            if len(set(c.labels.tolist())) > 1
            else float("nan"),
            "inertia": c.inertia,
            "smallest": int(sizes.min()),
            "largest": int(sizes.max()),
            "seconds": c.seconds,
        }
        if truth is not None:
            q = cluster_quality(c.labels, truth)
            row["truth_nmi"], row["truth_purity"] = q["nmi"], q["purity"]
        rows.append(row)
    return pd.DataFrame(rows).set_index("k")
