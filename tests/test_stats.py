"""Paired comparisons: cluster bootstrap, sign tests per cluster, Holm's adjustment."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ko_embed_lab.retrieval import compare_by_group, holm, paired_bootstrap


def _two_systems(n_needs: int = 40, forms: int = 4, seed: int = 0) -> tuple[dict, dict, dict]:
    # Differences shared within a need (between-need variance dominates), noise within.
    rng = np.random.default_rng(seed)
    a, b, clusters = {}, {}, {}
    for n in range(n_needs):
        shift = rng.normal(0.0, 0.2)
        for f in range(forms):
            q = f"n{n}-f{f}"
            a[q] = 0.5
            b[q] = 0.5 + shift + rng.normal(0.0, 0.02)
            clusters[q] = f"n{n}"
    return a, b, clusters


def test_cluster_bootstrap_is_wider_when_queries_of_a_need_move_together() -> None:
    a, b, clusters = _two_systems()
    flat = paired_bootstrap(a, b, n_resamples=2000)
    clustered = paired_bootstrap(a, b, clusters=clusters, n_resamples=2000)
    assert clustered["mean_diff"] == pytest.approx(flat["mean_diff"])
    # 4 nearly identical queries per need: the honest interval is about sqrt(4) = 2 times wider.
    ratio = (clustered["high"] - clustered["low"]) / (flat["high"] - flat["low"])
    assert 1.6 < ratio < 2.5
    assert clustered["n_clusters"] == 40 and clustered["unit"] == "cluster" and flat["unit"] == "query"
    assert clustered["wins"] + clustered["losses"] + clustered["ties"] == 40


def test_cluster_sign_test_counts_needs_by_hand() -> None:
    a = {"q1": 0.0, "q2": 0.0, "q3": 0.0, "q4": 0.0, "q5": 0.0}
    b = {"q1": 1.0, "q2": -0.2, "q3": -0.1, "q4": 0.0, "q5": 0.0}
    clusters = {"q1": "A", "q2": "A", "q3": "B", "q4": "C", "q5": "C"}
    r = paired_bootstrap(a, b, clusters=clusters, n_resamples=500)
    assert (r["wins"], r["losses"], r["ties"]) == (1, 1, 1)  # A: +0.4 mean, B: -0.1, C: 0
    assert r["sign_test_p"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="clusters has no entry"):
        paired_bootstrap(a, b, clusters={"q1": "A"})


def test_unclustered_bootstrap_matches_scipy_on_the_mean() -> None:
    from scipy import stats

    rng = np.random.default_rng(3)
    a = {f"q{i}": float(x) for i, x in enumerate(rng.random(200))}
    b = {f"q{i}": float(x) for i, x in enumerate(rng.random(200))}
    keys = sorted(a)
    diff = np.array([b[k] - a[k] for k in keys])
    ci = stats.bootstrap(
        (diff,), np.mean, n_resamples=3000, method="percentile", rng=np.random.default_rng(0)
    ).confidence_interval
    r = paired_bootstrap(a, b, n_resamples=3000, seed=0)
    assert r["low"] == pytest.approx(ci.low) and r["high"] == pytest.approx(ci.high)


def test_holm_by_hand() -> None:
    # Sorted p: 0.01, 0.03, 0.04 -> 3*0.01=0.03, 2*0.03=0.06, max(0.06, 1*0.04)=0.06
    reject, adj = holm([0.04, 0.01, 0.03])
    assert adj.tolist() == pytest.approx([0.06, 0.03, 0.06])
    assert reject.tolist() == [False, True, False]
    assert holm([])[1].size == 0


def test_compare_by_group_adjusts_within_the_family() -> None:
    a, b, clusters = _two_systems(n_needs=30)
    groups = pd.Series({q: q.split("-")[1] for q in a})
    table = compare_by_group(a, b, groups, clusters=clusters, n_resamples=500)
    assert list(table.index) == ["f0", "f1", "f2", "f3"]
    assert (table["p_holm"] >= table["sign_test_p"] - 1e-12).all()
    assert table["significant"].dtype == bool
