"""Clustered training batches: why they give harder in-batch negatives, what they cost, where they break.

The target model card says the model was trained "without hard negatives": training pairs were
clustered (k-means on the base model's embeddings, truncated to 256 dimensions) so that each
batch holds similar items, and the loss (``CachedGISTEmbedLoss``) used the other items of the
batch as negatives. This module holds the pieces to study that on any (query, positive) pairs:

* :class:`Pairs` — training pairs with what is known about them (other relevant passages, hard
  negatives, a domain label); :func:`probe_pairs` builds them from KoProbe.
* :func:`kmeans` — seeded k-means (scikit-learn) on truncated, re-normalised embeddings;
  :func:`dimension_agreement`, :func:`seed_agreement`, :func:`cluster_quality` and
  :func:`k_sweep` compare clusterings with each other and with domain labels.
* :func:`form_batches` — random or cluster-by-cluster batches with sentence-transformers'
  no-duplicates rule.
* :func:`batch_measures` — per query: the positive's and the in-batch negatives' similarity, the
  positive's rank in the batch, the InfoNCE loss (:func:`infonce_loss`) and the negatives that are
  really relevant (false negatives) or that a guide model would mask (GIST);
  :func:`batching_sweep` runs it over batch sizes, numbers of clusters and seeds.
* :func:`umap_2d`, :func:`map_frame`, :func:`map_figure`, :func:`distribution_figure` — a seeded
  2-D map and figures with Korean hover text.

References: L. Merrick, *Embedding And Clustering Your Data Can Improve Contrastive Pretraining*,
arXiv:2407.18887 (2024); J. X. Morris and A. M. Rush, *Contextual Document Embeddings*,
arXiv:2410.02525 (2024); A. V. Solatorio, *GISTEmbed: Guided In-sample Selection of Training
Negatives for Text Embedding Fine-tuning*, arXiv:2402.16829 (2024).
"""

from __future__ import annotations

import itertools
import logging
import re
import statistics
import time
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from .encode import truncate_dim

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

    from .cache import EmbeddingCache
    from .data.beir import RetrievalSet
    from .data.probe import Probe
    from .types import Encoder

__all__ = [
    "CARD_CLUSTER_DIM",
    "GIST_TEMPERATURE",
    "BatchReport",
    "Clustering",
    "Pairs",
    "batch_measures",
    "batch_table",
    "batching_sweep",
    "cluster_quality",
    "default_dims",
    "dimension_agreement",
    "distribution_figure",
    "embed_pairs",
    "form_batches",
    "infonce_loss",
    "k_sweep",
    "kmeans",
    "map_figure",
    "map_frame",
    "pairs_from_qrels",
    "probe_pairs",
    "seed_agreement",
    "truncate_normalize",
    "umap_2d",
]

logger = logging.getLogger(__name__)

#: Default temperature of sentence-transformers' ``GISTEmbedLoss`` / ``CachedGISTEmbedLoss``
#: (the loss named on the target model card); scores are cosine similarities divided by it.
GIST_TEMPERATURE = 0.01

#: Dimension the card truncated the base model's embeddings to before clustering.
CARD_CLUSTER_DIM = 256

#: Above this many rows, :func:`kmeans` switches to ``MiniBatchKMeans`` unless told otherwise.
MINIBATCH_ABOVE = 20_000

Remainder = Literal["pool", "keep", "drop"]


# --------------------------------------------------------------------------------------------
# Training pairs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pairs:
    """(query, positive passage) training pairs, with what is known about each.

    Attributes:
        query_ids: Query id of each pair.
        queries: Query text of each pair.
        passage_ids: Id of each pair's positive passage.
        passages: Text of each pair's positive passage (as embedded: title and text).
        relevant: For each pair, every passage id judged relevant to its query (the positive
            included); another pair's positive in this set is a *false negative* in a batch.
        hard_negatives: For each pair, passage ids known to be close to its query but not
            relevant (empty when unknown).
        domains: Domain label of each pair (``None`` when unknown).
    """

    query_ids: tuple[str, ...]
    queries: tuple[str, ...]
    passage_ids: tuple[str, ...]
    passages: tuple[str, ...]
    relevant: tuple[frozenset[str], ...]
    hard_negatives: tuple[frozenset[str], ...]
    domains: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        n = len(self.query_ids)
        fields = {
            "queries": self.queries,
            "passage_ids": self.passage_ids,
            "passages": self.passages,
            "relevant": self.relevant,
            "hard_negatives": self.hard_negatives,
        }
        if self.domains is not None:
            fields["domains"] = self.domains
        bad = {name: len(v) for name, v in fields.items() if len(v) != n}
        if bad:
            raise ValueError(f"Pairs fields must all have {n} entries (one per pair); got {bad}")

    def __len__(self) -> int:
        return len(self.query_ids)

    def take(self, indices: Sequence[int] | np.ndarray) -> Pairs:
        """The pairs at ``indices`` (e.g. one domain's), in that order.

        Example:
            >>> law = pairs.take([i for i, d in enumerate(pairs.domains) if d == "law"])
        """
        idx = [int(i) for i in indices]
        if not idx:
            raise ValueError("indices is empty; take at least one pair")
        bad = [i for i in idx if not 0 <= i < len(self)]
        if bad:
            raise IndexError(f"pair indices {bad[:5]} are outside 0..{len(self) - 1}")
        return Pairs(
            query_ids=tuple(self.query_ids[i] for i in idx),
            queries=tuple(self.queries[i] for i in idx),
            passage_ids=tuple(self.passage_ids[i] for i in idx),
            passages=tuple(self.passages[i] for i in idx),
            relevant=tuple(self.relevant[i] for i in idx),
            hard_negatives=tuple(self.hard_negatives[i] for i in idx),
            domains=tuple(self.domains[i] for i in idx) if self.domains is not None else None,
        )

    def sample_values(self) -> list[frozenset[str]]:
        """The values that must not repeat inside a batch: the query text and the passage text.

        This is sentence-transformers' ``NoDuplicatesBatchSampler`` rule (values unique even
        across columns).
        """
        return [frozenset((q, p)) for q, p in zip(self.queries, self.passages, strict=True)]

    def frame(self) -> pd.DataFrame:
        """One row per pair: ids, texts and domain."""
        import pandas as pd

        df = pd.DataFrame(
            {
                "query_id": self.query_ids,
                "query": self.queries,
                "passage_id": self.passage_ids,
                "passage": self.passages,
            }
        )
        if self.domains is not None:
            df["domain"] = self.domains
        return df


def pairs_from_qrels(
    data: RetrievalSet,
    *,
    min_grade: int = 2,
    hard_negatives: Mapping[str, Iterable[str]] | None = None,
    domains: Mapping[str, str] | None = None,
) -> Pairs:
    """Build one pair per (query, passage judged at least ``min_grade``) of a retrieval set.

    Args:
        data: A retrieval set (corpus, queries, graded qrels).
        min_grade: Lowest grade that makes a passage a training positive.
        hard_negatives: Optional ``{query_id: passage ids}`` known to be hard negatives.
        domains: Optional ``{query_id: domain}``.

    Returns:
        The pairs, in query order then passage id order.

    Example:
        >>> pairs = pairs_from_qrels(probe.data, min_grade=2)
        >>> pairs.queries[0], pairs.passage_ids[0]
        ('한빛시에서 2025년에 청년 월세 지원을 받으면 한 달에 최대 얼마를 받을 수 있나요?', 'admin-p02')
    """
    from .data.beir import doc_text

    if not isinstance(min_grade, int) or min_grade < 1:
        raise ValueError(f"min_grade={min_grade!r} must be a positive int (grade 1 and above count as relevant)")
    rows: list[tuple[str, str, str, str, frozenset[str], frozenset[str], str | None]] = []
    for q, text in data.queries.items():
        judged = data.qrels.get(q, {})
        relevant = frozenset(d for d, g in judged.items() if g > 0)
        hard = frozenset(hard_negatives.get(q, ())) - relevant if hard_negatives is not None else frozenset()
        for d in sorted(d for d, g in judged.items() if g >= min_grade):
            if d not in data.corpus:
                raise ValueError(f"qrels of {q!r} name passage {d!r}, which is not in the corpus of {data.name!r}")
            rows.append((q, text, d, doc_text(data.corpus[d]), relevant, hard, domains.get(q) if domains else None))
    if not rows:
        raise ValueError(f"{data.name!r} has no judgment of grade >= {min_grade}; lower min_grade")
    cols = list(zip(*rows, strict=True))
    return Pairs(
        query_ids=tuple(cols[0]),
        queries=tuple(cols[1]),
        passage_ids=tuple(cols[2]),
        passages=tuple(cols[3]),
        relevant=tuple(cols[4]),
        hard_negatives=tuple(cols[5]),
        domains=tuple(str(d) for d in cols[6]) if domains is not None else None,
    )


def probe_pairs(probe: Probe, *, min_grade: int = 2, forms: Sequence[str] | None = None) -> Pairs:
    """Training pairs from KoProbe: each query with each passage of grade ``min_grade`` or more.

    Hard negatives and domains come from the probe's labels.

    Args:
        probe: A loaded (or sampled) :class:`~ko_embed_lab.data.probe.Probe`.
        min_grade: Lowest grade that makes a passage a positive (KoProbe: 2 = answers the need).
        forms: Keep only these query forms (``"question"``, ``"phrase"``...); ``None`` keeps all.

    Example:
        >>> pairs = probe_pairs(load_probe(), forms=["question"])
        >>> len(pairs), len(set(pairs.passage_ids))  # one question has two positive passages
        (129, 128)
    """
    data = probe.data
    if forms is not None:
        unknown = set(forms) - set(probe.queries["form"])
        if unknown:
            raise ValueError(
                f"unknown query forms {sorted(unknown)}; the probe has {sorted(set(probe.queries['form']))}"
            )
        keep = set(forms)
        data = data.subset([q for q in data.queries if probe.queries.loc[q, "form"] in keep])
    hard = {q: probe.hard_negatives(q) for q in data.queries}
    domains = {q: str(probe.queries.loc[q, "domain"]) for q in data.queries}
    return pairs_from_qrels(data, min_grade=min_grade, hard_negatives=hard, domains=domains)


def embed_pairs(
    model: Encoder, pairs: Pairs, *, cache: EmbeddingCache | bool | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Embed each pair's query (with the query prompt) and positive passage (document prompt).

    Each distinct text is encoded once; rows are aligned with the pairs.

    Args:
        model: An :class:`~ko_embed_lab.models.EmbeddingModel` or any encoder.
        pairs: The pairs.
        cache: Passed on to ``encode`` (``True`` for the default on-disk cache).

    Returns:
        ``(query embeddings, passage embeddings)``, each ``(len(pairs), dim)``, unit rows.

    Example:
        >>> q, p = embed_pairs(model, pairs, cache=True)
        >>> q.shape == p.shape == (len(pairs), model.dim)
        True
    """
    kwargs: dict[str, Any] = {} if cache is None else {"cache": cache}
    uq = list(dict.fromkeys(pairs.queries))
    up = list(dict.fromkeys(pairs.passages))
    q = np.asarray(model.encode(uq, kind="query", **kwargs), dtype=np.float32)
    p = np.asarray(model.encode(up, kind="document", **kwargs), dtype=np.float32)
    qpos = {t: i for i, t in enumerate(uq)}
    ppos = {t: i for i, t in enumerate(up)}
    return q[[qpos[t] for t in pairs.queries]], p[[ppos[t] for t in pairs.passages]]


# --------------------------------------------------------------------------------------------
# Clustering
# --------------------------------------------------------------------------------------------


def _check_embeddings(emb: Any, what: str = "embeddings") -> np.ndarray:
    arr = np.asarray(emb)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{what} must be a non-empty 2-D array (rows = items), got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.number):
        raise TypeError(f"{what} must be numeric, got dtype {arr.dtype}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{what} hold NaN or infinite values; re-encode them (dtype='float32' if on GPU)")
    return arr.astype(np.float32, copy=False)


def _unit(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    if (norms < 1e-12).any():
        raise ValueError("some rows have (near) zero norm and cannot be normalised; drop or re-encode them")
    return (x / norms).astype(np.float32)


def truncate_normalize(emb: np.ndarray, dim: int | None) -> np.ndarray:
    """Keep the first ``dim`` coordinates and L2-normalise each row again (``None``: all of them).

    This is how the card formed its clustering embeddings (1024 → 256) and how a
    Matryoshka-trained model is meant to be shortened.

    Example:
        >>> truncate_normalize(np.array([[3.0, 4.0, 12.0]]), 2)
        array([[0.6, 0.8]], dtype=float32)
    """
    arr = _check_embeddings(emb)
    if dim is not None and (not isinstance(dim, (int, np.integer)) or isinstance(dim, bool)):
        raise TypeError(f"dim must be an int or None, got {type(dim).__name__}")
    return _unit(truncate_dim(arr, int(dim)) if dim is not None else arr)


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

    x = _check_embeddings(emb)
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


# --------------------------------------------------------------------------------------------
# Batches
# --------------------------------------------------------------------------------------------


def _no_duplicate_pass(
    order: Sequence[int], values: Sequence[Collection[Hashable]], batch_size: int
) -> tuple[list[list[int]], list[list[int]]]:
    """One pass of sentence-transformers' ``NoDuplicatesBatchSampler`` over ``order``.

    Walk the remaining items in order; add an item to the batch unless one of its values is
    already there (then defer it, keeping its place); yield the batch when it holds
    ``batch_size`` items and start again from the first deferred item. When the walk ends
    with a batch that is not full, that batch is a remainder and the walk restarts with the
    items still left. Returns ``(full batches, incomplete batches)`` in the order formed.
    """
    remaining = list(order)
    full: list[list[int]] = []
    partial: list[list[int]] = []
    while remaining:
        batch: list[int] = []
        seen: set[Hashable] = set()
        deferred: list[int] = []
        stop = len(remaining)
        for pos, i in enumerate(remaining):
            if len(batch) == batch_size:
                stop = pos
                break
            v = values[i]
            if seen.isdisjoint(v):
                batch.append(i)
                seen.update(v)
            else:
                deferred.append(i)
        (full if len(batch) == batch_size else partial).append(batch)
        remaining = deferred + remaining[stop:]
    return full, partial


def form_batches(
    pairs: Pairs | Sequence[Collection[Hashable]],
    batch_size: int,
    *,
    clusters: Sequence[int] | np.ndarray | None = None,
    seed: int = 0,
    remainder: Remainder = "pool",
    shuffle_batches: bool = True,
) -> list[list[int]]:
    """Split pairs into batches of ``batch_size``, at random or cluster by cluster, with no duplicates.

    Within a batch no value repeats (a pair's values are its query and passage text, as in
    sentence-transformers' ``NoDuplicatesBatchSampler``): a pair that would repeat one is deferred
    to a later batch. With ``clusters`` each cluster is shuffled and cut into batches on its own,
    so that a full batch holds pairs of one cluster only.

    Args:
        pairs: :class:`Pairs`, or for each item the collection of values that must not repeat.
        batch_size: Pairs per batch.
        clusters: Cluster label of each pair (``None``: random batches over all pairs).
        seed: Seed of the shuffles.
        remainder: What happens to a cluster's incomplete batches (fewer than ``batch_size``
            pairs): ``"pool"`` — their pairs are pooled across clusters and batched at random
            (mixed batches); ``"keep"`` — kept as small batches (sentence-transformers'
            ``drop_last=False``); ``"drop"`` — dropped (``drop_last=True``). For random
            batches ``"pool"`` and ``"keep"`` are the same.
        shuffle_batches: Shuffle the order of the batches (clusters interleave, as in training).

    Returns:
        A list of batches, each a list of pair indices.

    Example:
        >>> values = [{"q1", "p1"}, {"q2", "p1"}, {"q3", "p2"}, {"q4", "p3"}]
        >>> sorted(map(sorted, form_batches(values, 2, seed=0)))  # p1 never twice in a batch
        [[0, 2], [1, 3]]
    """
    if remainder not in ("pool", "keep", "drop"):
        raise ValueError(f"remainder={remainder!r}: use 'pool', 'keep' or 'drop'")
    if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r} must be a positive int")
    values = pairs.sample_values() if isinstance(pairs, Pairs) else [frozenset(v) for v in pairs]
    n = len(values)
    if n == 0:
        raise ValueError("no pairs to batch")
    rng = np.random.default_rng(seed)
    batches: list[list[int]] = []
    if clusters is None:
        full, partial = _no_duplicate_pass(rng.permutation(n).tolist(), values, int(batch_size))
        batches = full + ([] if remainder == "drop" else partial)
    else:
        labels = np.asarray(clusters)
        if labels.shape != (n,):
            raise ValueError(f"clusters must hold one label per pair ({n}), got shape {labels.shape}")
        leftovers: list[int] = []
        for c in rng.permutation(np.unique(labels)):
            members = np.flatnonzero(labels == c)
            full, partial = _no_duplicate_pass(rng.permutation(members).tolist(), values, int(batch_size))
            batches += full
            if remainder == "keep":
                batches += partial
            elif remainder == "pool":
                leftovers += [i for b in partial for i in b]
        if leftovers:
            full, partial = _no_duplicate_pass(rng.permutation(leftovers).tolist(), values, int(batch_size))
            batches += full + partial
    if shuffle_batches:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return [[int(i) for i in b] for b in batches]


def infonce_loss(
    q: np.ndarray, p: np.ndarray, *, temperature: float = GIST_TEMPERATURE, mask: np.ndarray | None = None
) -> np.ndarray:
    """Per-query InfoNCE loss of one batch, whose positives sit on the diagonal.

    ``loss_i = −log( exp(s_ii/τ) / Σ_j exp(s_ij/τ) )`` with ``s = q·pᵀ`` (cosine on unit rows)
    and ``τ = temperature`` — the cross-entropy of sentence-transformers'
    ``MultipleNegativesRankingLoss`` (scale = 1/τ). ``mask[i, j] = True`` removes candidate j
    from query i's denominator (how GIST drops suspected false negatives); the diagonal is never
    removed.

    Example:
        >>> e = np.eye(2, dtype=np.float32)
        >>> infonce_loss(e, e, temperature=1.0).round(4).tolist()  # log(1 + e^-1)
        [0.3133, 0.3133]
    """
    if q.ndim != 2 or q.shape != p.shape:
        raise ValueError(
            f"q and p must be 2-D with the same shape (row i of p is query i's positive), got {q.shape} and {p.shape}"
        )
    return _infonce_from_sims(q.astype(np.float64) @ p.astype(np.float64).T, temperature, mask)


def _infonce_from_sims(sims: np.ndarray, temperature: float, mask: np.ndarray | None = None) -> np.ndarray:
    from scipy.special import logsumexp

    if temperature <= 0:
        raise ValueError(f"temperature={temperature} must be positive (the card's loss uses 0.01)")
    logits = np.asarray(sims, dtype=np.float64) / temperature
    if mask is not None:
        m = np.asarray(mask, dtype=bool)
        if m.shape != logits.shape:
            raise ValueError(f"mask must have shape {logits.shape}, got {m.shape}")
        m = m & ~np.eye(len(m), dtype=bool)
        logits = np.where(m, -np.inf, logits)
    # Subtract the positive's logit first: loss_i = log Σ_j exp(l_ij − l_ii), no cancellation of large terms.
    return logsumexp(logits - np.diag(logits)[:, None], axis=1)


@dataclass
class BatchReport:
    """What the in-batch negatives of a set of batches look like.

    Attributes:
        per_query: One row per pair (``pair``, ``batch``, ``batch_size``, ``pos_sim``,
            ``neg_mean``, ``neg_max``, ``pos_rank`` (1 = the positive beats every in-batch
            negative), ``loss``; with pairs ``false_negatives`` and ``hard_negatives``
            (known relevant / known hard passages among the in-batch negatives); with a guide
            ``guide_masked`` and ``loss_gist``).
        per_batch: One row per batch (``batch``, ``size``, ``loss``, and the number of distinct
            ``clusters`` / ``domains`` in it when known).
        negatives: One row per (query, in-batch negative): ``pair``, ``sim`` and, with pairs,
            ``kind`` (``relevant``, ``hard negative`` or ``other``); empty unless asked for.
        temperature: Temperature of the losses.
    """

    per_query: pd.DataFrame
    per_batch: pd.DataFrame
    negatives: pd.DataFrame
    temperature: float

    def summary(self) -> dict[str, float]:
        """Means over queries (and batches) of the measures, as a flat dict.

        Keys: ``batches``, ``mean_batch_size``, ``pos_sim``, ``neg_mean``, ``neg_max``,
        ``top1`` (share of queries whose positive beats all in-batch negatives), ``loss``, and
        where known ``false_neg_per_query``, ``false_neg_total``, ``queries_with_false_neg``,
        ``hard_neg_per_query``, ``guide_masked_per_query``, ``loss_gist``,
        ``single_cluster_share`` and ``single_domain_share`` (share of pairs whose batch holds
        one cluster / domain only).
        """
        pq, pb = self.per_query, self.per_batch
        out: dict[str, float] = {
            "batches": float(len(pb)),
            "mean_batch_size": float(pb["size"].mean()),
            "pos_sim": float(pq["pos_sim"].mean()),
            "neg_mean": float(pq["neg_mean"].mean()),
            "neg_max": float(pq["neg_max"].mean()),
            "top1": float((pq["pos_rank"] == 1).mean()),
            "loss": float(pq["loss"].mean()),
        }
        if "false_negatives" in pq:
            out["false_neg_per_query"] = float(pq["false_negatives"].mean())
            out["false_neg_total"] = float(pq["false_negatives"].sum())
            out["queries_with_false_neg"] = float((pq["false_negatives"] > 0).sum())
            out["hard_neg_per_query"] = float(pq["hard_negatives"].mean())
        if "guide_masked" in pq:
            out["guide_masked_per_query"] = float(pq["guide_masked"].mean())
            out["loss_gist"] = float(pq["loss_gist"].mean())
        sizes = pb.set_index("batch")["size"]
        for col in ("clusters", "domains"):
            if col in pb:
                single = pb.set_index("batch")[col] == 1
                out[f"single_{col[:-1]}_share"] = float(sizes[single].sum() / sizes.sum())
        return out


def batch_measures(
    q_emb: np.ndarray,
    p_emb: np.ndarray,
    batches: Sequence[Sequence[int]],
    *,
    pairs: Pairs | None = None,
    temperature: float = GIST_TEMPERATURE,
    guide: tuple[np.ndarray, np.ndarray] | None = None,
    margin: float = 0.0,
    clusters: Sequence[int] | np.ndarray | None = None,
    keep_negatives: bool = False,
) -> BatchReport:
    """Measure the in-batch negatives each query meets, batch by batch.

    Inside a batch, query i's candidates are the positives of every pair in the batch (the
    ``MultipleNegativesRankingLoss`` setting; GIST's extra query–query and positive–positive
    terms are left out). A guide marks candidate j as a suspected false negative of query i when
    ``guide_sim(i, j) > guide_sim(i, i) − margin`` (GIST's ``"absolute"`` rule; margin 0 by
    default), and ``loss_gist`` is the loss with those candidates removed.

    Args:
        q_emb: ``(n, d)`` unit query embeddings, one per pair.
        p_emb: ``(n, d)`` unit positive-passage embeddings, one per pair.
        batches: Batches of pair indices (from :func:`form_batches`).
        pairs: The pairs, to count known false negatives and hard negatives and domains.
        temperature: Loss temperature (default: the GIST losses' 0.01).
        guide: ``(guide query embeddings, guide passage embeddings)``, rows aligned with the pairs.
        margin: GIST margin (absolute).
        clusters: Cluster label per pair, to count clusters per batch.
        keep_negatives: Also return every (query, negative) similarity in ``negatives``.

    Returns:
        A :class:`BatchReport`.

    Example:
        >>> report = batch_measures(q, p, form_batches(pairs, 16, seed=0), pairs=pairs)
        >>> report.summary()["neg_mean"] < report.summary()["pos_sim"]
        True
    """
    import pandas as pd
    from threadpoolctl import threadpool_limits

    if temperature <= 0:
        raise ValueError(f"temperature={temperature} must be positive (the card's loss uses 0.01)")
    q = _check_embeddings(q_emb, "q_emb")
    p = _check_embeddings(p_emb, "p_emb")
    n = q.shape[0]
    if p.shape != q.shape:
        raise ValueError(f"q_emb and p_emb must have the same shape (one row per pair), got {q.shape} and {p.shape}")
    if pairs is not None and len(pairs) != n:
        raise ValueError(f"pairs has {len(pairs)} entries for {n} embedding rows")
    gq = gp = None
    if guide is not None:
        gq, gp = (_check_embeddings(g, "guide") for g in guide)
        if gq.shape[0] != n or gp.shape[0] != n:
            raise ValueError(f"guide embeddings must have {n} rows (one per pair)")
    labels = None if clusters is None else np.asarray(clusters)
    if labels is not None and labels.shape != (n,):
        raise ValueError(f"clusters must hold one label per pair ({n}), got shape {labels.shape}")
    seen: set[int] = set()
    for b in batches:
        if not b:
            raise ValueError("a batch is empty; batches must hold at least one pair index")
        bad = [i for i in b if not 0 <= int(i) < n]
        if bad:
            raise ValueError(f"batch holds indices {bad[:5]} outside 0..{n - 1}")
        if seen.intersection(b):
            raise ValueError("a pair appears in more than one batch (or twice in one); form batches with form_batches")
        seen.update(int(i) for i in b)

    q_rows: list[dict[str, Any]] = []
    b_rows: list[dict[str, Any]] = []
    neg_rows: list[pd.DataFrame] = []
    with threadpool_limits(limits=1):  # tiny matrix products: threads cost more than they save
        measured = [
            _measure_batch(bi, batch, q, p, gq, gp, pairs, labels, temperature, margin, keep_negatives)
            for bi, batch in enumerate(batches)
        ]
    for row_list, brow, part in measured:
        q_rows += row_list
        b_rows.append(brow)
        if part is not None:
            neg_rows.append(part)
    negatives = pd.concat(neg_rows, ignore_index=True) if neg_rows else pd.DataFrame(columns=["pair", "sim"])
    return BatchReport(
        per_query=pd.DataFrame(q_rows),
        per_batch=pd.DataFrame(b_rows),
        negatives=negatives,
        temperature=float(temperature),
    )


def _measure_batch(
    bi: int,
    batch: Sequence[int],
    q: np.ndarray,
    p: np.ndarray,
    gq: np.ndarray | None,
    gp: np.ndarray | None,
    pairs: Pairs | None,
    labels: np.ndarray | None,
    temperature: float,
    margin: float,
    keep_negatives: bool,
) -> tuple[list[dict[str, Any]], dict[str, Any], pd.DataFrame | None]:
    """Measures of one batch: per-query rows, the batch row, the (query, negative) similarities."""
    import pandas as pd

    q_rows: list[dict[str, Any]] = []
    part = None
    idx = np.asarray(batch, dtype=np.int64)
    size = len(idx)
    sims = q[idx].astype(np.float64) @ p[idx].astype(np.float64).T
    gs = gq[idx] @ gp[idx].T if gq is not None and gp is not None else None
    pos = np.diag(sims).copy()
    off = ~np.eye(size, dtype=bool)
    loss = _infonce_from_sims(sims, temperature)
    masked = loss_g = None
    if gs is not None:
        gmask = (gs > (np.diag(gs)[:, None] - margin)) & off
        masked = gmask.sum(axis=1)
        loss_g = _infonce_from_sims(sims, temperature, gmask)
    kinds = None
    if pairs is not None:
        pid = [pairs.passage_ids[i] for i in idx]
        kinds = np.full((size, size), "other", dtype=object)
        for a, i in enumerate(idx):
            for c in range(size):
                if c == a:
                    continue
                if pid[c] in pairs.relevant[i]:
                    kinds[a, c] = "relevant"
                elif pid[c] in pairs.hard_negatives[i]:
                    kinds[a, c] = "hard negative"
    for a, i in enumerate(idx):
        negs = sims[a][off[a]]
        row: dict[str, Any] = {
            "pair": int(i),
            "batch": bi,
            "batch_size": size,
            "pos_sim": float(pos[a]),
            "neg_mean": float(negs.mean()) if negs.size else float("nan"),
            "neg_max": float(negs.max()) if negs.size else float("nan"),
            "pos_rank": int(1 + (negs > pos[a]).sum()),
            "loss": float(loss[a]),
        }
        if kinds is not None:
            row["false_negatives"] = int((kinds[a] == "relevant").sum())
            row["hard_negatives"] = int((kinds[a] == "hard negative").sum())
        if masked is not None and loss_g is not None:
            row["guide_masked"] = int(masked[a])
            row["loss_gist"] = float(loss_g[a])
        q_rows.append(row)
    brow: dict[str, Any] = {"batch": bi, "size": size, "loss": float(loss.mean())}
    if labels is not None:
        brow["clusters"] = len(set(labels[idx].tolist()))
    if pairs is not None and pairs.domains is not None:
        brow["domains"] = len({pairs.domains[i] for i in idx})
    if keep_negatives and size > 1:
        a_idx, c_idx = np.nonzero(off)
        part = pd.DataFrame({"pair": idx[a_idx], "sim": sims[a_idx, c_idx]})
        if kinds is not None:
            part["kind"] = kinds[a_idx, c_idx]
    return q_rows, brow, part


def batching_sweep(
    q_emb: np.ndarray,
    p_emb: np.ndarray,
    *,
    cluster_emb: np.ndarray,
    batch_sizes: Sequence[int],
    ks: Sequence[int],
    seeds: Sequence[int] = (0,),
    dim: int | None = CARD_CLUSTER_DIM,
    pairs: Pairs | None = None,
    guide: tuple[np.ndarray, np.ndarray] | None = None,
    temperature: float = GIST_TEMPERATURE,
    remainder: Remainder = "pool",
    threads: int | None = 1,
) -> pd.DataFrame:
    """Random against clustered batches over batch sizes, numbers of clusters and seeds.

    For every seed and ``k``, ``cluster_emb`` is clustered (truncated to ``dim``); for every
    batch size, random and clustered batches are formed with that seed and measured with
    :func:`batch_measures`. Random batches do not depend on ``k``: their rows repeat for every
    ``k`` so that the table plots as a flat reference line.

    Returns:
        Long DataFrame: ``strategy`` (``random`` / ``clustered``), ``batch_size``, ``k``,
        ``seed`` and the keys of :meth:`BatchReport.summary`.

    Example:
        >>> df = batching_sweep(q, p, cluster_emb=q, batch_sizes=[8, 16], ks=[4, 8], seeds=[0], pairs=pairs)
        >>> sorted(df["strategy"].unique())
        ['clustered', 'random']
    """
    import pandas as pd

    if not batch_sizes or not ks or not seeds:
        raise ValueError("batch_sizes, ks and seeds must each hold at least one value")
    n = _check_embeddings(q_emb, "q_emb").shape[0]
    if _check_embeddings(cluster_emb, "cluster_emb").shape[0] != n:
        raise ValueError(f"cluster_emb must have one row per pair ({n})")
    rows: list[dict[str, Any]] = []
    for seed in seeds:
        random_summary = {}
        for b in batch_sizes:
            batches = form_batches(
                pairs if pairs is not None else [{i} for i in range(n)], b, seed=seed, remainder=remainder
            )
            random_summary[b] = batch_measures(
                q_emb, p_emb, batches, pairs=pairs, guide=guide, temperature=temperature
            ).summary()
        for k in ks:
            labels = kmeans(cluster_emb, int(k), dim=dim, seed=seed, threads=threads).labels
            for b in batch_sizes:
                rows.append(
                    {"strategy": "random", "batch_size": int(b), "k": int(k), "seed": int(seed), **random_summary[b]}
                )
                batches = form_batches(
                    pairs if pairs is not None else [{i} for i in range(n)],
                    b,
                    clusters=labels,
                    seed=seed,
                    remainder=remainder,
                )
                summary = batch_measures(
                    q_emb, p_emb, batches, pairs=pairs, guide=guide, temperature=temperature, clusters=labels
                ).summary()
                rows.append({"strategy": "clustered", "batch_size": int(b), "k": int(k), "seed": int(seed), **summary})
    return pd.DataFrame(rows)


def batch_table(
    pairs: Pairs, batch: Sequence[int], *, clusters: Sequence[int] | np.ndarray | None = None, width: int = 60
) -> pd.DataFrame:
    """The pairs of one batch as a readable table: query, start of the positive passage, domain, cluster.

    Example:
        >>> batch_table(pairs, batches[0]).columns.tolist()
        ['query', 'positive passage', 'domain']
    """
    import pandas as pd

    rows = []
    for i in batch:
        row: dict[str, Any] = {"query": pairs.queries[i], "positive passage": _shorten(pairs.passages[i], width)}
        if pairs.domains is not None:
            row["domain"] = pairs.domains[i]
        if clusters is not None:
            row["cluster"] = int(np.asarray(clusters)[i])
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# Maps and figures
# --------------------------------------------------------------------------------------------


def umap_2d(
    emb: np.ndarray,
    *,
    seed: int = 0,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    metric: str = "cosine",
    dim: int | None = None,
) -> np.ndarray:
    """A seeded 2-D UMAP projection (umap-learn) of embeddings, returned as an ``(n, 2)`` array.

    A fixed ``seed`` makes umap-learn run single-threaded, so that the map is reproducible. The
    first call in a process compiles numba code (10–20 s).

    Example:
        >>> umap_2d(p_emb, seed=0).shape  # p_emb: (559, 384)
        (559, 2)
    """
    import warnings

    import umap

    x = truncate_normalize(emb, dim)
    n = x.shape[0]
    if n < 4:
        raise ValueError(f"UMAP needs at least 4 rows, got {n}")
    neighbours = min(int(n_neighbors), n - 1)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*n_jobs.*overridden.*")
        reducer = umap.UMAP(
            n_components=2, n_neighbors=neighbours, min_dist=min_dist, metric=metric, random_state=int(seed), n_jobs=1
        )
        coords = reducer.fit_transform(x)
    return np.asarray(coords, dtype=np.float32)


_WS = re.compile(r"\s+")


def _shorten(text: str, width: int) -> str:
    flat = _WS.sub(" ", text).strip()
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _hover(text: str, max_chars: int = 120, line: int = 40) -> str:
    """Flatten, shorten and wrap text for a plotly hover label (HTML-escaped)."""
    import html

    flat = html.escape(_shorten(text, max_chars))
    return "<br>".join(flat[i : i + line] for i in range(0, len(flat), line))


def map_frame(coords: np.ndarray, texts: Sequence[str], **columns: Sequence[Any]) -> pd.DataFrame:
    """A projection as a DataFrame for plotting: ``x``, ``y``, hover-ready ``text`` and any label columns.

    Labels that are numbers (cluster ids) are turned into strings so that plotly colours them
    as categories.

    Example:
        >>> map_frame(np.zeros((2, 2)), ["가", "나"], cluster=[0, 1])["cluster"].tolist()
        ['0', '1']
    """
    import pandas as pd

    xy = np.asarray(coords)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(f"coords must be (n, 2), got {xy.shape}")
    if len(texts) != xy.shape[0]:
        raise ValueError(f"{len(texts)} texts for {xy.shape[0]} points")
    df = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "text": [_hover(t) for t in texts]})
    for name, values in columns.items():
        if len(values) != xy.shape[0]:
            raise ValueError(f"column {name!r} has {len(values)} values for {xy.shape[0]} points")
        vals = list(values)
        df[name] = [str(v) for v in vals] if all(isinstance(v, (int, np.integer)) for v in vals) else vals
    return df


def map_figure(
    frame: pd.DataFrame,
    *,
    color: str,
    title: str,
    model: str | None = None,
    hover: Sequence[str] = (),
    symbol: str | None = None,
) -> go.Figure:
    """An interactive 2-D map (from :func:`map_frame`): points coloured by ``color``, Korean text on hover.

    Example:
        >>> fig = map_figure(frame, color="domain", title="Queries", model=model.label)
    """
    import plotly.express as px

    from .plots import style

    if color not in frame.columns:
        raise ValueError(f"color={color!r} is not a column of the frame; columns are {list(frame.columns)}")
    order = {color: sorted(frame[color].unique(), key=lambda v: (len(str(v)), str(v)))}
    fig = px.scatter(
        frame, x="x", y="y", color=color, symbol=symbol, category_orders=order, custom_data=["text", *hover]
    )
    extra = "".join(f"<br>{h}: %{{customdata[{i + 1}]}}" for i, h in enumerate(hover))
    fig.update_traces(
        marker={"size": 7, "opacity": 0.8}, hovertemplate=f"%{{customdata[0]}}{extra}<extra>%{{fullData.name}}</extra>"
    )
    fig.update_xaxes(showticklabels=False, title="UMAP 1")
    fig.update_yaxes(showticklabels=False, title="UMAP 2")
    return style(fig, title, model, height=560)


def distribution_figure(
    df: pd.DataFrame,
    *,
    x: str,
    color: str,
    title: str,
    model: str | None = None,
    facet_col: str | None = None,
    nbins: int = 50,
    x_title: str | None = None,
) -> go.Figure:
    """Overlaid, density-normalised histograms of ``x`` per ``color`` group (e.g. random vs clustered).

    Example:
        >>> fig = distribution_figure(negatives, x="sim", color="strategy", title="In-batch negatives")
    """
    import plotly.express as px

    from .plots import style

    for col in (x, color, facet_col):
        if col is not None and col not in df.columns:
            raise ValueError(f"{col!r} is not a column of the frame; columns are {list(df.columns)}")
    fig = px.histogram(
        df,
        x=x,
        color=color,
        facet_col=facet_col,
        nbins=nbins,
        histnorm="probability density",
        barmode="overlay",
        opacity=0.6,
    )
    fig.for_each_annotation(lambda a: a.update(text=a.text.split("=")[-1]))
    if x_title:
        fig.update_xaxes(title=x_title)
    return style(fig, title, model)
