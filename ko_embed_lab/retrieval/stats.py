"""Paired comparisons of two systems on the same queries: intervals, sign tests, many tests at once.

Queries of a set like KoProbe are not independent: one information need is asked in several forms,
and much of the variance of NDCG lies between needs. Resampling queries then gives intervals that
are too narrow; :func:`paired_bootstrap` resamples *clusters* (needs) when it is given them — the
cluster bootstrap — and counts wins and losses per cluster for its sign test. When several
comparisons are read together (one per query form, one per domain), :func:`compare_by_group`
adjusts their p-values with Holm's method (``statsmodels``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["compare_by_group", "holm", "paired_bootstrap"]


def _cluster_sums(diff: np.ndarray, labels: list[str]) -> tuple[np.ndarray, np.ndarray]:
    uniq, inv = np.unique(np.asarray(labels, dtype=object).astype(str), return_inverse=True)
    sums = np.bincount(inv, weights=diff, minlength=len(uniq))
    counts = np.bincount(inv, minlength=len(uniq)).astype(np.float64)
    return sums, counts


def paired_bootstrap(
    a: Mapping[str, float],
    b: Mapping[str, float],
    *,
    clusters: Mapping[str, str] | None = None,
    n_resamples: int = 10000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, Any]:
    """Paired bootstrap interval of mean(b − a) over the shared queries, and a sign test (scipy).

    Args:
        a, b: Per-query scores of two systems (``{query_id: value}``).
        clusters: ``{query_id: cluster}`` (e.g. KoProbe's need of each query). When given, whole
            clusters are resampled (cluster bootstrap) and the sign test counts clusters whose mean
            difference is positive or negative; otherwise queries are resampled and counted.
        n_resamples: Bootstrap resamples.
        confidence: Confidence level of the interval.
        seed: Seed of the resampling.

    Returns:
        ``{"mean_diff", "low", "high", "n", "n_clusters", "unit", "wins", "losses", "ties", "sign_test_p"}``;
        wins/losses/ties count the resampled units (queries, or clusters).

    Example:
        >>> a = {"q1": 0.5, "q2": 0.5, "q3": 0.5, "q4": 0.5}
        >>> b = {"q1": 0.6, "q2": 0.7, "q3": 0.5, "q4": 0.9}
        >>> r = paired_bootstrap(a, b, clusters={"q1": "n1", "q2": "n1", "q3": "n2", "q4": "n2"})
        >>> round(r["mean_diff"], 3), r["n_clusters"], r["wins"]
        (0.175, 2, 2)
    """
    from scipy import stats

    keys = sorted(set(a) & set(b))
    if len(keys) < 2:
        raise ValueError("need at least two shared queries for a paired bootstrap")
    diff = np.array([b[k] - a[k] for k in keys], dtype=np.float64)
    if clusters is not None:
        missing = [k for k in keys if k not in clusters]
        if missing:
            raise ValueError(f"clusters has no entry for {len(missing)} queries, e.g. {missing[0]!r}")
        sums, counts = _cluster_sums(diff, [clusters[k] for k in keys])
        unit_diff = sums / counts
        unit = "cluster"
    else:
        sums, counts = diff, np.ones_like(diff)
        unit_diff = diff
        unit = "query"
    n_units = len(unit_diff)
    if n_units < 2 or np.allclose(diff, diff[0]):
        low = high = float(diff.mean())
    else:

        def ratio(idx: np.ndarray, axis: int = -1) -> np.ndarray:
            i = idx.astype(np.intp)
            return sums[i].sum(axis=axis) / counts[i].sum(axis=axis)

        ci = stats.bootstrap(
            (np.arange(n_units, dtype=np.float64),),
            ratio,
            n_resamples=n_resamples,
            confidence_level=confidence,
            method="percentile",
            vectorized=True,
            rng=np.random.default_rng(seed),
        ).confidence_interval
        low, high = float(ci.low), float(ci.high)
    wins, losses = int((unit_diff > 1e-12).sum()), int((unit_diff < -1e-12).sum())
    sign_p = float(stats.binomtest(wins, wins + losses, 0.5).pvalue) if wins + losses else 1.0
    return {
        "mean_diff": float(diff.mean()),
        "low": low,
        "high": high,
        "n": len(keys),
        "n_clusters": n_units if clusters is not None else None,
        "unit": unit,
        "wins": wins,
        "losses": losses,
        "ties": n_units - wins - losses,
        "sign_test_p": sign_p,
    }


def holm(pvalues: Any, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Holm's step-down adjustment (``statsmodels.stats.multitest.multipletests``).

    Returns:
        ``(reject, adjusted p-values)``, in the input's order.

    Example:
        >>> reject, adj = holm([0.01, 0.04, 0.03])
        >>> reject.tolist(), adj.round(2).tolist()
        ([True, False, False], [0.03, 0.06, 0.06])
    """
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(pvalues, dtype=np.float64)
    if p.size == 0:
        return np.zeros(0, dtype=bool), p
    reject, adjusted, _, _ = multipletests(p, alpha=alpha, method="holm")
    return reject.astype(bool), adjusted


def compare_by_group(
    a: Mapping[str, float],
    b: Mapping[str, float],
    groups: pd.Series,
    *,
    clusters: Mapping[str, str] | None = None,
    alpha: float = 0.05,
    n_resamples: int = 10000,
    seed: int = 0,
) -> pd.DataFrame:
    """:func:`paired_bootstrap` of b − a within each group, with Holm-adjusted sign-test p-values.

    Args:
        a, b: Per-query scores of two systems.
        groups: Group of each query, indexed by query id (e.g. ``probe.queries["form"]``).
        clusters: As for :func:`paired_bootstrap`.
        alpha: Family-wise error rate of the Holm adjustment.

    Returns:
        One row per group: the bootstrap columns, ``p_holm`` and ``significant`` (Holm at ``alpha``).
        A group with fewer than two shared queries is left out.
    """
    import pandas as pd

    rows = []
    for group, ids in groups.groupby(groups).groups.items():
        ids = [q for q in ids if q in a and q in b]
        if len(ids) < 2:
            continue
        r = paired_bootstrap(
            {q: a[q] for q in ids}, {q: b[q] for q in ids}, clusters=clusters, n_resamples=n_resamples, seed=seed
        )
        rows.append({"group": group, **r})
    out = pd.DataFrame(rows).set_index("group") if rows else pd.DataFrame()
    if len(out):
        reject, adjusted = holm(out["sign_test_p"].to_numpy(), alpha=alpha)
        out["p_holm"] = adjusted
        out["significant"] = reject
    return out
