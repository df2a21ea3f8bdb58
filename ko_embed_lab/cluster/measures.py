"""What the in-batch negatives look like: similarities, the positive's rank, InfoNCE loss, false negatives."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ._util import check_embeddings
from .batches import Remainder, form_batches
from .kmeans import CARD_CLUSTER_DIM, kmeans

if TYPE_CHECKING:
    import pandas as pd

    from .pairs import Pairs

__all__ = ["GIST_TEMPERATURE", "BatchReport", "batch_measures", "batching_sweep", "infonce_loss"]

#: Default temperature of sentence-transformers' ``GISTEmbedLoss`` / ``CachedGISTEmbedLoss``
#: (the loss named on the target model card); scores are cosine similarities divided by it.
GIST_TEMPERATURE = 0.01


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
            (known relevant / known hard passages among the in-batch negatives) and, where the
            pairs know it, the query's ``need``; with a guide
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
        ``hard_neg_per_query``, ``needs_with_false_neg`` (distinct information needs whose
        queries meet a false negative), ``guide_masked_per_query``, ``loss_gist``,
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
        if "need" in pq and "false_negatives" in pq:
            out["needs_with_false_neg"] = float(pq.loc[pq["false_negatives"] > 0, "need"].nunique())
        if "guide_masked" in pq:
            out["guide_masked_per_query"] = float(pq["guide_masked"].mean())
            out["loss_gist"] = float(pq["loss_gist"].mean())
        sizes = pb.set_index("batch")["size"]
        for col in ("clusters", "domains"):
            if col in pb:
                single = pb.set_index("batch")[col] == 1
                out[f"single_{col[:-1]}_share"] = float(sizes[single].sum() / sizes.sum())
        return out

    def false_negatives_by_need(self) -> pd.DataFrame:
        """False negatives counted per information need: how many, and in how many of its pairs.

        A handful of false negatives can all come from one need whose paraphrased queries share
        two relevant passages; this table shows whether they do.

        Returns:
            DataFrame indexed by ``need`` (only needs with a false negative), columns
            ``false_negatives`` (total over the need's pairs) and ``pairs`` (pairs whose query
            meets one), largest first.

        Example:
            >>> report.false_negatives_by_need()
                  false_negatives  pairs
            need
            n07                 6      6
        """
        import pandas as pd

        pq = self.per_query
        if "need" not in pq or "false_negatives" not in pq:
            raise ValueError("per_query has no need column: measure with pairs that know their needs (probe_pairs)")
        hit = pq[pq["false_negatives"] > 0]
        if hit.empty:
            return pd.DataFrame(
                {"false_negatives": pd.Series(dtype=int), "pairs": pd.Series(dtype=int)},
                index=pd.Index([], name="need"),
            )
        out = hit.groupby("need").agg(false_negatives=("false_negatives", "sum"), pairs=("pair", "size"))
        return out.sort_values(["false_negatives", "pairs"], ascending=False)


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
    q = check_embeddings(q_emb, "q_emb")
    p = check_embeddings(p_emb, "p_emb")
    n = q.shape[0]
    if p.shape != q.shape:
        raise ValueError(f"q_emb and p_emb must have the same shape (one row per pair), got {q.shape} and {p.shape}")
    if pairs is not None and len(pairs) != n:
        raise ValueError(f"pairs has {len(pairs)} entries for {n} embedding rows")
    gq = gp = None
    if guide is not None:
        gq, gp = (check_embeddings(g, "guide") for g in guide)
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
        if pairs is not None and pairs.needs is not None:
            row["need"] = pairs.needs[i]
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
    n = check_embeddings(q_emb, "q_emb").shape[0]
    if check_embeddings(cluster_emb, "cluster_emb").shape[0] != n:
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
