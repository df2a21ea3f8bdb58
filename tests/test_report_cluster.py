"""The cluster chapter's conclusions: every branch of each sentence-choosing function, on hand-made tables."""

from __future__ import annotations

import pandas as pd
import pytest

from ko_embed_lab import cluster
from ko_embed_lab.report import cluster as rc


def _agreement(ari_256: float = 0.8) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ari_vs_full": [0.3, ari_256, 1.0],
            "nmi_vs_full": [0.4, 0.85, 1.0],
            "seconds": [0.010, 0.0121, 0.0149],
            "megabytes": [0.1, 0.2, 0.3],
            "truth_nmi": [0.2, 0.55, 0.6],
            "truth_purity": [0.3, 0.6, 0.7],
        },
        index=pd.Index([64, 256, 384], name="dim"),
    )


def _summary(r_hard: float = 0.1, c_hard: float = 0.3, r_loss: float = 0.02, c_neg_mean: float = 0.5) -> pd.DataFrame:
    base = {
        "pos_sim": 0.8,
        "neg_max": 0.6,
        "false_neg_total": 2.0,
        "guide_masked_per_query": 0.05,
        "loss_gist": 0.01,
        "single_cluster_share": 0.75,
        "single_domain_share": 0.25,
    }
    return pd.DataFrame(
        {
            "random": {**base, "neg_mean": 0.3, "loss": r_loss, "hard_neg_per_query": r_hard},
            "clustered": {
                **base,
                "neg_mean": c_neg_mean,
                "neg_max": 0.7,
                "loss": 0.08,
                "hard_neg_per_query": c_hard,
                "false_neg_total": 5.0,
            },
        }
    )


def _per_query() -> pd.DataFrame:
    return pd.DataFrame({"strategy": ["random"] * 3 + ["clustered"] * 3, "loss": [0.0, 0.01, 0.5, 0.02, 0.03, 0.9]})


def test_pairs_sentence_counts_distinct_passages() -> None:
    pairs = cluster.Pairs(
        query_ids=("q1", "q2", "q3", "q4"),
        queries=("a", "b", "c", "d"),
        passage_ids=("p1", "p1", "p2", "p2"),
        passages=("x", "x", "y", "y"),
        relevant=tuple(frozenset() for _ in range(4)),
        hard_negatives=tuple(frozenset() for _ in range(4)),
    )
    assert rc.pairs_sentence(pairs).startswith(
        "4 pairs from 4 queries, but only 2 distinct positive passages: each passage is the positive of 2.0 queries"
    )


def test_truncation_caveat_only_for_a_model_not_trained_for_truncation() -> None:
    text = rc.truncation_caveat(384, 256, bundled=True)
    assert text.startswith("The bundled model has 384 dimensions") and "Keeping 256 of 384" in text
    assert "Keeping 128 of 128" in rc.truncation_caveat(128, 256, bundled=True)
    assert rc.truncation_caveat(1024, 256, bundled=False) == ""


def test_truncation_sentence_close_to_seed_noise() -> None:
    text = rc.truncation_sentence(_agreement(0.8), seed_ari=0.84, cluster_dim=256, full_dim=384)
    assert "ARI 0.800 (NMI 0.850)" in text and "seed at ARI 0.840" in text
    assert "costs about as much agreement as a new seed" in text
    assert text.endswith("NMI is 0.550 at 256 dimensions and 0.600 at full dimension.")


def test_truncation_sentence_worse_than_seed_noise() -> None:
    text = rc.truncation_sentence(_agreement(0.7), seed_ari=0.84, cluster_dim=256, full_dim=384)
    assert "costs more agreement than a new seed does" in text and "about as much" not in text


def test_cost_sentence_times_and_card_arithmetic() -> None:
    text = rc.cost_sentence(_agreement(), n_rows=559, cluster_dim=256, full_dim=384)
    assert "On these 559 rows one fit took 12 ms at 256 dimensions and 15 ms at 384" in text
    assert (
        "256 of 1024 dimensions is 25% of the work" in text
        and "4.1 GB at 1024 dimensions against 1.0 GB at 256" in text
    )


def _by_what(form_q: float) -> pd.DataFrame:
    return pd.DataFrame(
        {"domain nmi": [0.4, 0.6], "query-form NMI": [form_q, 0.1]}, index=["queries", "positive passages"]
    )


def test_clustered_on_sentence_form_and_english_cluster() -> None:
    labels = [0, 0, 1, 1, 1, 0]
    forms = ["english", "english", "english", "question", "question", "question"]
    text = rc.clustered_on_sentence(_by_what(0.3), labels, forms)
    assert "clusters of passages reach NMI 0.600 and clusters of queries 0.400" in text
    assert "Query embeddings carry the form" in text
    assert "2 of the 3 English queries fall into one query cluster, which holds 3 queries in all." in text
    assert text.endswith("rather than phrasing.")


def test_clustered_on_sentence_no_form_effect_no_english() -> None:
    text = rc.clustered_on_sentence(_by_what(0.14), [0, 1], ["question", "phrase"])
    assert "carry the form" not in text and "English queries" not in text
    with pytest.raises(ValueError, match="query labels"):
        rc.clustered_on_sentence(_by_what(0.1), [0], ["question", "phrase"])


def test_batches_sentence_hard_negatives_in_both() -> None:
    text = rc.batches_sentence(_summary(r_hard=0.1, c_hard=0.3), _per_query())
    assert "goes from 0.300 to 0.500" in text and "from 0.0200 to 0.0800 (4.0×)" in text
    assert "median loss per query goes from 0.0100 to 0.0300" in text
    assert "3.0 times as often (0.100 → 0.300 per query)" in text
    assert text.endswith(
        "75% of the pairs sit in a batch drawn from one cluster, but only 25% in a batch from one domain: clusters are not domains."
    )


def test_batches_sentence_hard_negatives_only_clustered_and_zero_loss() -> None:
    text = rc.batches_sentence(_summary(r_hard=0.0, c_hard=0.3, r_loss=0.0), _per_query())
    assert "(nan×)" in text
    assert "appear only in clustered batches (0.300 per query)" in text


def test_batches_sentence_no_hard_negatives() -> None:
    text = rc.batches_sentence(_summary(r_hard=0.0, c_hard=0.0), _per_query())
    assert "no labelled hard negative is the positive of another pair" in text


def test_false_negatives_sentence() -> None:
    text = rc.false_negatives_sentence(_summary(), n_pairs=40)
    assert "2 in random batches and 5 in clustered ones, over 40 pairs" in text
    assert "mask 0.050 negatives per query" in text and "falls to 0.0100 and 0.0100" in text


def _mean(rand_big: float, clustered: list[tuple[int, int, float, float]]) -> pd.DataFrame:
    rows = [
        {"strategy": "random", "batch_size": b, "k": 2, "hard_neg_per_query": h, "single_cluster_share": 0.0}
        for b, h in ((8, rand_big / 2), (32, rand_big))
    ]
    rows += [
        {"strategy": "clustered", "batch_size": b, "k": k, "hard_neg_per_query": h, "single_cluster_share": s}
        for b, k, h, s in clustered
    ]
    return pd.DataFrame(rows)


def test_sweep_sentence_clustering_buys_a_larger_batch_and_collapses() -> None:
    text = rc.sweep_sentence(_mean(0.2, [(8, 2, 0.1, 0.9), (8, 4, 0.25, 0.8), (32, 4, 0.4, 0.3)]))
    assert text.startswith("The most labelled hard negatives per query come from batches of 32 with k = 4 (0.400). ")
    assert (
        "Clustered batches of 8 (k = 4) already hold as many per query (0.250) as random batches of 32 (0.200)" in text
    )
    assert "In 1 of the 3 clustered settings fewer than half" in text


def test_sweep_sentence_no_hard_negatives_no_gain_no_collapse() -> None:
    assert rc.sweep_sentence(_mean(0.0, [(8, 2, 0.0, 0.9), (32, 2, 0.0, 0.8)])) == ""
    # hard negatives, but only the largest clustered batches match the largest random ones: no "buys" sentence
    text = rc.sweep_sentence(_mean(0.2, [(8, 2, 0.1, 0.9), (32, 2, 0.3, 0.8)]))
    assert text.startswith("The most labelled") and "already hold" not in text and "fewer than half" not in text


def _k_table(top: float) -> pd.DataFrame:
    return pd.DataFrame({"silhouette": [0.05, top, 0.1], "smallest": [10, 4, 2]}, index=pd.Index([2, 4, 8], name="k"))


def test_k_sentence_blurred_groups() -> None:
    text = rc.k_sentence(_k_table(0.12))
    assert text.startswith(
        "The silhouette ranges from 0.050 to 0.120 (the passages do not fall into well-separated groups) "
    )
    assert "highest at k = 4, where the smallest cluster holds 4 pairs" in text


def test_k_sentence_separated_groups() -> None:
    text = rc.k_sentence(_k_table(0.4))
    assert "well-separated" not in text and "from 0.050 to 0.400 and is highest at k = 4" in text


def _single(r_neg: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "neg_mean": [r_neg, 0.6],
            "hard_neg_per_query": [0.2, 0.4],
            "false_neg_total": [1.0, 3.0],
        },
        index=["law only, random", "law only, clustered"],
    )


def test_single_domain_sentence_one_topic_is_already_hard() -> None:
    text = rc.single_domain_sentence(_single(0.55), _summary(c_neg_mean=0.5), domain="law", k_sub=2, n_sub=20)
    assert "*law* pairs alone meet negatives at mean cosine 0.550 with 0.200" in text
    assert "all domains reach 0.500 and 0.300" in text and "go from 1 to 3 (over 20 pairs)" in text
    assert text.endswith("which is where false negatives come from.")


def test_single_domain_sentence_sub_topics_still_separate() -> None:
    text = rc.single_domain_sentence(_single(0.45), _summary(c_neg_mean=0.5), domain="law", k_sub=2, n_sub=20)
    assert text.endswith("Even within one domain, clustering still separates sub-topics here.")


def test_takeaways_list_the_runs_numbers() -> None:
    text = rc.takeaways(
        _summary(),
        _single(0.5),
        _agreement(),
        seed_ari=0.84,
        domain="law",
        batch_size=8,
        k=4,
        cluster_dim=256,
        full_dim=384,
    )
    lines = text.split("\n")
    assert len(lines) == 4 and all(line.startswith("- ") for line in lines)
    assert "(batches of 8, k = 4) the mean loss goes from 0.0200 to 0.0800" in lines[0]
    assert (
        "truncated to 256 dimensions agree with full-dimension ones at ARI 0.800; two seeds at full dimension agree at 0.840"
        in lines[1]
    )
    assert "(2 → 5 over all of KoProbe, 1 → 3 within the law pairs alone)" in lines[3]
