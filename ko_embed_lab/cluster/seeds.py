"""Seed variance: the random-against-clustered comparison under several seeds, and whether a gap exceeds it.

A seed decides both the k-means clustering and which pairs share a batch, so one seed's
difference between random and clustered batches may be luck. :func:`seed_reports` measures both
strategies under each seed; :func:`seed_table` gives, per measure, the mean, standard deviation
and range over seeds of each strategy, and :func:`seed_verdict` says whether the two differ
beyond the seed spread. The rule is that the ranges over seeds do not overlap: every seed of one
strategy lies above every seed of the other. With ``n`` seeds on each side, two strategies that
do not differ give non-overlapping ranges with probability ``2 / C(2n, n)`` (0.33 for two seeds,
0.008 for five), so the rule is strict with five seeds and weak with two.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ._util import check_embeddings
from .batches import Remainder, form_batches
from .kmeans import CARD_CLUSTER_DIM, kmeans
from .measures import GIST_TEMPERATURE, BatchReport, batch_measures

if TYPE_CHECKING:
    import pandas as pd

    from .pairs import Pairs

__all__ = [
    "BATCH_MEASURES",
    "SeedVerdict",
    "false_negatives_by_need",
    "seed_reports",
    "seed_summaries",
    "seed_table",
    "seed_verdict",
    "sweep_verdicts",
]

#: The batch measures whose seed spread the chapter reports.
BATCH_MEASURES: tuple[str, ...] = ("neg_mean", "loss", "hard_neg_per_query", "false_neg_total")
#: ``"higher"``: every seed of the second strategy above every seed of the first; ``"lower"``: below;
#: ``"within"``: the ranges over seeds overlap.
SeedVerdict = Literal["higher", "lower", "within"]


def seed_verdict(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> SeedVerdict:
    """Whether ``b`` differs from ``a`` beyond the seed spread: their ranges over seeds do not overlap.

    Args:
        a, b: One value per seed of each strategy (at least two each: one seed has no spread).

    Returns:
        ``"higher"`` when ``min(b) > max(a)``, ``"lower"`` when ``max(b) < min(a)``, else ``"within"``.

    Example:
        >>> seed_verdict([0.10, 0.12], [0.20, 0.25]), seed_verdict([0.10, 0.30], [0.20, 0.25])
        ('higher', 'within')
    """
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.size < 2 or y.size < 2:
        raise ValueError(f"need at least two seeds per strategy to judge the seed spread, got {x.size} and {y.size}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("seed values must be finite")
    if y.min() > x.max():
        return "higher"
    if y.max() < x.min():
        return "lower"
    return "within"


def seed_reports(
    q_emb: np.ndarray,
    p_emb: np.ndarray,
    *,
    cluster_emb: np.ndarray,
    batch_size: int,
    k: int,
    seeds: Sequence[int],
    dim: int | None = CARD_CLUSTER_DIM,
    pairs: Pairs | None = None,
    guide: tuple[np.ndarray, np.ndarray] | None = None,
    temperature: float = GIST_TEMPERATURE,
    remainder: Remainder = "pool",
    keep_negatives: bool = False,
    threads: int | None = 1,
) -> dict[tuple[str, int], BatchReport]:
    """Random and clustered batches of one size and ``k``, measured under each seed.

    Each seed seeds the k-means fit of ``cluster_emb`` (truncated to ``dim``) and both batch
    formations; both strategies are measured with the clusters of that seed, so that
    ``single_cluster_share`` is defined for random batches too.

    Returns:
        ``{(strategy, seed): BatchReport}`` with strategies ``"random"`` and ``"clustered"``.

    Example:
        >>> reports = seed_reports(q, p, cluster_emb=p, batch_size=8, k=4, seeds=[0, 1], pairs=pairs)
        >>> sorted(reports)
        [('clustered', 0), ('clustered', 1), ('random', 0), ('random', 1)]
    """
    if not seeds:
        raise ValueError("seeds is empty; pass at least one seed")
    n = check_embeddings(q_emb, "q_emb").shape[0]
    if check_embeddings(cluster_emb, "cluster_emb").shape[0] != n:
        raise ValueError(f"cluster_emb must have one row per pair ({n})")
    values: Pairs | list[set[Hashable]] = pairs if pairs is not None else [{i} for i in range(n)]
    out: dict[tuple[str, int], BatchReport] = {}
    for seed in seeds:
        labels = kmeans(cluster_emb, int(k), dim=dim, seed=int(seed), threads=threads).labels
        for name, clusters in (("random", None), ("clustered", labels)):
            batches = form_batches(values, batch_size, clusters=clusters, seed=int(seed), remainder=remainder)
            out[(name, int(seed))] = batch_measures(
                q_emb,
                p_emb,
                batches,
                pairs=pairs,
                guide=guide,
                temperature=temperature,
                clusters=labels,
                keep_negatives=keep_negatives,
            )
    return out


def seed_summaries(reports: dict[tuple[str, int], BatchReport]) -> pd.DataFrame:
    """One row per (strategy, seed): ``strategy``, ``seed`` and the keys of :meth:`BatchReport.summary`.

    Example:
        >>> seed_summaries(reports)[["strategy", "seed", "loss"]].shape
        (4, 3)
    """
    import pandas as pd

    return pd.DataFrame([{"strategy": s, "seed": seed, **r.summary()} for (s, seed), r in reports.items()])


def seed_table(
    per_seed: pd.DataFrame,
    measures: Sequence[str] = BATCH_MEASURES,
    *,
    a: str = "random",
    b: str = "clustered",
) -> pd.DataFrame:
    """Per measure: mean, standard deviation and range over seeds of two strategies, and the verdict.

    Args:
        per_seed: One row per (strategy, seed), e.g. :func:`seed_summaries` or one setting of
            ``batching_sweep``: columns ``strategy``, ``seed`` and the measures.
        measures: The measures to compare.
        a, b: The reference strategy and the one compared with it.

    Returns:
        DataFrame indexed by measure: ``{a} mean``, ``{a} sd``, ``{a} min``, ``{a} max``, the same
        for ``b``, ``seeds`` and ``verdict`` (:func:`seed_verdict` of b against a).

    Example:
        >>> seed_table(per_seed).loc["loss", "verdict"]
        'higher'
    """
    import pandas as pd

    missing = [m for m in (*measures, "strategy", "seed") if m not in per_seed]
    if missing:
        raise ValueError(f"per_seed lacks columns {missing}")
    rows: list[dict[str, Any]] = []
    for m in measures:
        row: dict[str, Any] = {"measure": m}
        vals = {}
        for name in (a, b):
            v = per_seed.loc[per_seed["strategy"] == name].drop_duplicates("seed")[m].to_numpy(dtype=np.float64)
            vals[name] = v
            sd = float(v.std(ddof=1)) if v.size > 1 else float("nan")
            row |= {
                f"{name} mean": float(v.mean()),
                f"{name} sd": sd,
                f"{name} min": float(v.min()),
                f"{name} max": float(v.max()),
            }
        row["seeds"] = int(min(len(vals[a]), len(vals[b])))
        row["verdict"] = seed_verdict(vals[a], vals[b])
        rows.append(row)
    return pd.DataFrame(rows).set_index("measure")


def sweep_verdicts(sweep: pd.DataFrame, measure: str, *, a: str = "random", b: str = "clustered") -> pd.DataFrame:
    """For every (batch size, k) of a ``batching_sweep``: the two strategies' means over seeds and the verdict.

    Example:
        >>> sweep_verdicts(sweep, "loss").columns.tolist()
        ['batch_size', 'k', 'random', 'clustered', 'verdict']
    """
    import pandas as pd

    rows = []
    for (bs, k), cell in sweep.groupby(["batch_size", "k"]):
        t = seed_table(cell, [measure], a=a, b=b).loc[measure]
        rows.append({"batch_size": int(bs), "k": int(k), a: t[f"{a} mean"], b: t[f"{b} mean"], "verdict": t["verdict"]})
    return pd.DataFrame(rows)


def false_negatives_by_need(reports: dict[tuple[str, int], BatchReport]) -> pd.DataFrame:
    """:meth:`BatchReport.false_negatives_by_need` of every (strategy, seed), stacked.

    Returns:
        One row per (strategy, seed, need with a false negative): ``strategy``, ``seed``,
        ``need``, ``false_negatives``, ``pairs``.

    Example:
        >>> false_negatives_by_need(reports).groupby("strategy")["need"].nunique().to_dict()
        {'clustered': 1, 'random': 1}
    """
    import pandas as pd

    parts = [
        r.false_negatives_by_need().reset_index().assign(strategy=s, seed=seed) for (s, seed), r in reports.items()
    ]
    cols = ["strategy", "seed", "need", "false_negatives", "pairs"]
    return pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)
