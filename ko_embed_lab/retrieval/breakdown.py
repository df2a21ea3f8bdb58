"""Results broken down: by query label, per system, and the queries that change between two runs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from .evaluate import RetrievalResult
from .metrics import METRICS
from .runs import first_relevant_rank

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["breakdown", "flipped_queries", "metrics_table"]


def breakdown(
    results: Mapping[str, RetrievalResult],
    labels: pd.DataFrame,
    by: str | Sequence[str],
    metrics: Sequence[str] = ("ndcg@10", "mrr@10", "recall@10"),
) -> pd.DataFrame:
    """Mean per-query metrics of several systems, grouped by query labels.

    Args:
        results: ``{system name: result}``.
        labels: Query labels indexed by query id (e.g. ``probe.queries``).
        by: Label column(s) to group by (``"form"``, ``"domain"``...).
        metrics: Metrics to report.

    Returns:
        DataFrame indexed by the groups (plus ``n``), with columns ``(system, metric)``.
    """
    import pandas as pd

    keys = [by] if isinstance(by, str) else list(by)
    frames = {}
    n = None
    for name, res in results.items():
        pq = res.per_query_frame()[list(metrics)].join(labels[keys], how="inner")
        grouped = pq.groupby(keys)
        frames[name] = grouped[list(metrics)].mean()
        n = grouped.size()
    out = pd.concat(frames, axis=1)
    out.insert(0, ("", "n"), n)
    return out


def flipped_queries(
    a: RetrievalResult,
    b: RetrievalResult,
    qrels: Mapping[str, Mapping[str, int]],
    texts: Mapping[str, str],
    *,
    metric: str = "ndcg@10",
    min_change: float = 0.3,
    labels: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Queries whose ``metric`` changes by at least ``min_change`` between two results.

    Returns:
        DataFrame with the query text, both scores, the rank of the first relevant document in
        each run, and the change (``b − a``), largest changes first.
    """
    import pandas as pd

    ra, rb = first_relevant_rank(a.run, qrels), first_relevant_rank(b.run, qrels)
    rows = []
    for q in a.per_query:
        if q not in b.per_query:
            continue
        delta = b.per_query[q][metric] - a.per_query[q][metric]
        if abs(delta) >= min_change:
            rows.append(
                {
                    "query_id": q,
                    "query": texts.get(q, ""),
                    f"{metric} A": a.per_query[q][metric],
                    f"{metric} B": b.per_query[q][metric],
                    "change": delta,
                    "rank A": ra.get(q),
                    "rank B": rb.get(q),
                }
            )
    df = pd.DataFrame(rows, columns=["query_id", "query", f"{metric} A", f"{metric} B", "change", "rank A", "rank B"])
    df = df.set_index("query_id")
    if labels is not None and len(df):
        df = df.join(labels[[c for c in ("form", "domain") if c in labels.columns]])
    return df.reindex(df["change"].abs().sort_values(ascending=False).index)


def metrics_table(results: Mapping[str, RetrievalResult], metrics: Sequence[str] = METRICS) -> pd.DataFrame:
    """One row per system, one column per metric."""
    import pandas as pd

    return pd.DataFrame({name: {m: r.metrics[m] for m in metrics} for name, r in results.items()}).T
