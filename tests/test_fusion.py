"""Rank and score fusion, need-split tuning and the hard-negative diagnosis, on hand-made runs."""

from __future__ import annotations

import pytest

from ko_embed_lab.retrieval import fusion as fu

A = {"q": {"a": 0.9, "b": 0.5}}
B = {"q": {"b": 3.0, "c": 1.0}}


def test_rrf_by_hand_with_k_and_weights() -> None:
    fused = fu.rrf_fuse([A, B], k=1)
    assert fused["q"] == pytest.approx({"b": 1 / 3 + 1 / 2, "a": 1 / 2, "c": 1 / 3})
    weighted = fu.rrf_fuse([A, B], k=1, weights=[1.0, 0.1])
    assert list(weighted["q"]) == ["a", "b", "c"]  # a: 1/2; b: 1/3 + 0.1/2; c: 0.1/3
    assert weighted["q"]["b"] == pytest.approx(1 / 3 + 0.05)
    assert list(fu.rrf_fuse([A, B], k=1, top_k=2)["q"]) == ["b", "a"]


def _ranx_rrf(runs, k=60):
    from ranx import Run, fuse

    from ko_embed_lab.retrieval import ranked

    fused = fuse(runs=[Run(r, name=f"r{i}") for i, r in enumerate(runs)], norm=None, method="rrf", params={"k": k})
    return {q: dict(ranked(docs)) for q, docs in fused.to_dict().items()}  # ranx's dicts are unordered


def test_rrf_equal_weights_equal_ranx_on_tie_free_runs() -> None:
    # Conformance with a well-kept implementation: ranx's RRF.
    a = {"q1": {"a": 3.0, "b": 2.0, "c": 1.0}, "q2": {"x": 0.3, "y": 0.2}}
    b = {"q1": {"c": 9.0, "d": 8.0, "a": 7.0}, "q2": {"y": 5.0, "z": 4.0}}
    ours, theirs = fu.rrf_fuse([a, b]), _ranx_rrf([a, b])
    for q in ours:
        assert list(ours[q]) == list(theirs[q])
        assert ours[q] == pytest.approx(theirs[q])


def test_rrf_ties_follow_the_trec_order() -> None:
    # b and a tie in the first run: trec order ranks the larger id first, so b is 1st and a 2nd.
    fused = fu.rrf_fuse([{"q": {"a": 1.0, "b": 1.0}}, {"q": {"z": 1.0}}], k=0)
    assert fused["q"]["b"] == pytest.approx(1.0) and fused["q"]["a"] == pytest.approx(0.5)


def test_wsum_min_max_by_hand() -> None:
    fused = fu.wsum_fuse([A, B], weights=[0.7, 0.3])
    assert fused["q"] == pytest.approx({"a": 0.7, "b": 0.3, "c": 0.0})
    # A run whose scores are all equal counts each of its documents fully.
    assert fu.wsum_fuse([{"q": {"a": 2.0}}, {"q": {"b": 1.0, "c": 0.0}}])["q"] == pytest.approx(
        {"a": 1.0, "b": 1.0, "c": 0.0}
    )


@pytest.mark.parametrize("kwargs", [{"weights": [1.0]}, {"weights": [-1.0, 1.0]}, {"weights": [0.0, 0.0]}, {"k": -1}])
def test_fusion_refuses_bad_arguments(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        fu.rrf_fuse([A, B], **kwargs)
    with pytest.raises(ValueError):
        fu.rrf_fuse([A])


def test_split_needs_is_seeded_disjoint_and_complete() -> None:
    needs = [f"n{i}" for i in range(10)] * 3
    tune, test = fu.split_needs(needs, seed=1)
    assert (tune, test) == fu.split_needs(needs, seed=1)
    assert len(tune) == len(test) == 5 and not set(tune) & set(test) and set(tune) | set(test) == set(needs)
    assert fu.split_needs(needs, seed=2) != (tune, test)
    with pytest.raises(ValueError):
        fu.split_needs(["n1"])


def test_tune_fusion_sees_only_the_tuning_queries() -> None:
    # q1: the first run is right; q2: the second is. Tuning on q1 must favour the first run.
    dense = {"q1": {"r1": 0.9, "x": 0.8}, "q2": {"x": 0.9, "r2": 0.8}}
    lex = {"q1": {"x": 5.0, "r1": 1.0}, "q2": {"r2": 5.0, "x": 1.0}}
    qrels = {"q1": {"r1": 1}, "q2": {"r2": 1}}
    grid = [
        {"method": "rrf", "k": 60.0, "weights": (0.5, 0.5)},
        {"method": "rrf", "k": 60.0, "weights": (0.8, 0.2)},
        {"method": "wsum", "k": None, "weights": (0.2, 0.8)},
    ]
    best, table = fu.tune_fusion([dense, lex], qrels, ["q1"], grid=grid)
    assert best["weights"] == (0.8, 0.2) and len(table) == 3
    best2, _ = fu.tune_fusion([dense, lex], qrels, ["q2"], grid=grid)
    assert best2["method"] == "wsum"
    assert len(fu.fusion_grid(ks=(1, 60), first_weights=(0.5, 0.7))) == 6
    with pytest.raises(ValueError):
        fu.tune_fusion([dense, lex], qrels, [])


def test_hard_negative_overlap_by_hand() -> None:
    qrels = {"q1": {"r": 1}, "q2": {"r": 1}}
    hard = {"q1": ["h", "g"], "q2": ["h"]}
    # q1: h is 2nd in both; the fusion (k = 1) lifts it to 1st (2/3), above r (1st in a, 6th in b: 1/2 + 1/7).
    a = {"q1": {"r": 0.9, "h": 0.8, "x": 0.7, "g": 0.1}, "q2": {"r": 0.9, "h": 0.1}}
    b = {"q1": {"y": 9.0, "h": 8.0, "x": 7.0, "z": 6.0, "w": 5.0, "r": 4.0}, "q2": {"h": 9.0, "r": 1.0}}
    fused = fu.rrf_fuse([a, b], k=1)
    assert next(iter(fused["q1"])) == "h"
    out = fu.hard_negative_overlap(a, b, fused, hard, qrels)
    q1, q2 = out.loc["q1"], out.loc["q2"]
    assert (q1["shared"], q1["near_both"], bool(q1["promoted"]), bool(q1["overtakes"])) == (1, 1, True, True)
    assert (q1["answer_a"], q1["answer_b"], q1["answer_fused"]) == (1, 6, 2)
    # q2: h is 2nd in a and 1st in b: shared but not near in both; the tie r/h (1/2 + 1/3 each) goes to r.
    assert (q2["shared"], q2["near_both"], bool(q2["promoted"]), bool(q2["overtakes"])) == (1, 0, False, False)
