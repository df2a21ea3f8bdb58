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


def _per_seed(random: dict[str, list[float]], clustered: dict[str, list[float]]) -> pd.DataFrame:
    rows = [
        {"strategy": name, "seed": i, **{m: v[i] for m, v in values.items()}}
        for name, values in (("random", random), ("clustered", clustered))
        for i in range(2)
    ]
    return pd.DataFrame(rows)


def _main_seeds(neg: tuple[list[float], list[float]], loss: tuple[list[float], list[float]]) -> pd.DataFrame:
    """Per-seed summaries of the main comparison; ``neg`` and ``loss`` are (random, clustered) per seed."""
    fixed = {
        "hard_neg_per_query": ([0.1, 0.12], [0.3, 0.32]),
        "false_neg_total": ([0.0, 2.0], [4.0, 6.0]),
        "single_cluster_share": ([0.0, 0.0], [0.7, 0.8]),
        "single_domain_share": ([0.1, 0.1], [0.2, 0.3]),
        "guide_masked_per_query": ([0.01, 0.03], [0.05, 0.07]),
        "loss_gist": ([0.01, 0.01], [0.02, 0.02]),
    }
    cols = {"neg_mean": neg, "loss": loss, **fixed}
    return _per_seed({m: v[0] for m, v in cols.items()}, {m: v[1] for m, v in cols.items()})


MEASURES = [*cluster.BATCH_MEASURES, "single_cluster_share", "single_domain_share"]


def _table(neg=([0.30, 0.32], [0.50, 0.52]), loss=([0.02, 0.03], [0.08, 0.09])) -> pd.DataFrame:
    return cluster.seed_table(_main_seeds(neg, loss), MEASURES)


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
    assert "measured below" in text  # a caveat, not a conclusion: the cost is measured, not asserted
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


def test_truncation_sentence_better_than_seed_noise() -> None:
    text = rc.truncation_sentence(_agreement(0.45), seed_ari=0.05, cluster_dim=256, full_dim=384)
    assert "Truncation costs less agreement than a new seed does" in text and "about as much" not in text


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


def test_cost_sentence_says_whether_time_tracks_the_dimension() -> None:
    slow = _agreement()
    slow.loc[256, "seconds"] = 0.0145  # 14.5 / 14.9 ms: hardly faster at two thirds of the dimensions
    overhead = rc.cost_sentence(slow, n_rows=559, cluster_dim=256, full_dim=384)
    assert "The time ratio (0.97) is closer to 1 than to the dimension ratio (0.67)" in overhead
    assert "fixed overheads decide" in overhead
    fast = _agreement()
    fast.loc[256, "seconds"] = 0.0100
    text = rc.cost_sentence(fast, n_rows=559, cluster_dim=256, full_dim=384)
    assert "closer to the dimension ratio (0.67) than to 1" in text and "overheads" not in text


def test_verdict_phrase_and_nmi_words() -> None:
    assert rc.verdict_phrase("higher") == "higher on every seed"
    assert rc.verdict_phrase("within") == "within the seed spread"
    with pytest.raises(ValueError, match="verdict"):
        rc.verdict_phrase("maybe")
    assert rc.nmi_words(0.598, 0.01).startswith("follow the domains largely (NMI 0.598; 0.010 for shuffled clusters")
    assert rc.nmi_words(0.75, 0.01).startswith("follow the domains closely")
    assert rc.nmi_words(0.25, 0.01).startswith("follow the domains partly")
    assert rc.nmi_words(0.1, 0.01).startswith("follow the domains hardly")
    assert rc.nmi_words(0.05, 0.02).startswith("follow the domains no better than chance")
    assert "thresholds 0.7 closely, 0.4 largely, 0.2 partly" in rc.nmi_words(0.5, 0.0)


def _card(params: bool = False) -> cluster.CardSetup:
    return cluster.CardSetup(
        loss_line="Loss: CachedGISTEmbedLoss with these parameters:",
        loss_parameters_given=params,
        batch_sizes=(20000, 10000),
        batch_sampler="no_duplicates",
        clustering=("Samples within the same batch are clustered together.",),
    )


def test_card_setup_sentence_quotes_and_differences() -> None:
    text = rc.card_setup_sentence(_card(), batch_sizes=(8, 16, 64), full_dim=384, cluster_dim=256, bundled=True)
    assert "*“Samples within the same batch are clustered together.”*" in text
    assert "no parameter follows: the guide model, temperature and margin are not stated" in text
    assert "`per_device_train_batch_size` as 20,000 and 10,000, with `batch_sampler` no_duplicates" in text
    assert "(1) batches of 8–64 pairs, 156 to 2,500 times smaller than the card's" in text
    assert "query–query and passage–passage" in text and "(3) the guide is the model itself" in text
    assert "keep 256 of 384 dimensions of a model not trained for truncation" in text
    assert text.endswith("so it cannot say whether clustered batches make a better model.")


def test_card_setup_sentence_other_model_and_parameters_given() -> None:
    text = rc.card_setup_sentence(_card(True), batch_sizes=(8,), full_dim=1024, cluster_dim=256, bundled=False)
    assert "and the parameters follow it" in text and "not stated" not in text
    assert "keep 256 of 1024 dimensions (the card: 256 of 1,024)" in text
    bare = cluster.CardSetup(None, False, (), None, ())
    text = rc.card_setup_sentence(bare, batch_sizes=(8,), full_dim=384, cluster_dim=256, bundled=True)
    assert "On clustering it says nothing further" in text and "It names no loss." in text
    assert "times smaller" not in text


def test_batches_sentence_harder_beyond_seed_spread() -> None:
    text = rc.batches_sentence(_table(), batch_size=8, k=8, domain_nmi=0.6, chance_nmi=0.01)
    assert text.startswith("Over 2 seeds (each seed sets both the k-means fit and the batch formation)")
    assert "goes 0.310 (0.300–0.320) → 0.510 (0.500–0.520), higher on every seed" in text
    assert "loss 0.0250 (0.0200–0.0300) → 0.0850 (0.0800–0.0900), higher on every seed" in text
    assert "clustered batches are harder than random ones beyond the seed spread" in text
    assert "75% of the pairs sit in a batch of one cluster and 25% in a batch of one domain" in text
    assert text.endswith("thresholds 0.7 closely, 0.4 largely, 0.2 partly).") and "follow the domains largely" in text


def test_batches_sentence_within_seed_spread() -> None:
    text = rc.batches_sentence(
        _table(loss=([0.135, 0.143], [0.133, 0.137])), batch_size=64, k=4, domain_nmi=0.1, chance_nmi=0.01
    )
    assert "loss 0.1390 (0.1350–0.1430) → 0.1350 (0.1330–0.1370), within the seed spread" in text
    assert "On the loss the seed spread covers the difference" in text and "harder than random" not in text
    assert "follow the domains hardly" in text


def test_batches_sentence_easier_and_mixed() -> None:
    easier = _table(neg=([0.5, 0.52], [0.3, 0.32]), loss=([0.08, 0.09], [0.02, 0.03]))
    text = rc.batches_sentence(easier, batch_size=8, k=8, domain_nmi=0.6, chance_nmi=0.01)
    assert "clustered batches are easier than random ones beyond the seed spread" in text
    mixed = _table(neg=([0.3, 0.32], [0.5, 0.52]), loss=([0.08, 0.09], [0.02, 0.03]))
    text = rc.batches_sentence(mixed, batch_size=8, k=8, domain_nmi=0.6, chance_nmi=0.01)
    assert "move in opposite directions beyond the seed spread" in text


def _pairs_with_needs() -> cluster.Pairs:
    return cluster.Pairs(
        query_ids=("q1", "q2", "q3", "q4"),
        queries=("a", "b", "c", "d"),
        passage_ids=("p1", "p2", "p1", "p3"),
        passages=("x", "y", "x", "z"),
        relevant=tuple(frozenset() for _ in range(4)),
        hard_negatives=tuple(frozenset() for _ in range(4)),
        needs=("n1", "n1", "n1", "n2"),
    )


def _by_need(rows: list[tuple[str, int, str, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["strategy", "seed", "need", "false_negatives"]).assign(pairs=1)


def test_false_negatives_sentence_all_from_one_need() -> None:
    by_need = _by_need([("clustered", 0, "n1", 4), ("clustered", 1, "n1", 6)])
    text = rc.false_negatives_sentence(
        _table(), by_need, _main_seeds(([0, 0], [0, 0]), ([0, 0], [0, 0])), _pairs_with_needs()
    )
    assert text.startswith("**False negatives.** Passages relevant to a query")
    assert "over 4 pairs: 1.0 (0.0–2.0) → 5.0 (4.0–6.0), higher on every seed" in text
    assert "none in random batches; in clustered batches all 10 (summed over seeds) come from one need, *n1*" in text
    assert "1 of the 2 needs here have more than one positive passage (n1)." in text
    assert "mask 0.020 negatives per query in random batches and 0.060 in clustered ones" in text
    assert text.endswith("is 0.0100 and 0.0200.")


def test_false_negatives_sentence_from_several_needs() -> None:
    by_need = _by_need([("random", 0, "n1", 1), ("clustered", 0, "n1", 3), ("clustered", 1, "n2", 1)])
    text = rc.false_negatives_sentence(
        _table(), by_need, _main_seeds(([0, 0], [0, 0]), ([0, 0], [0, 0])), _pairs_with_needs()
    )
    assert "in random batches all 1 (summed over seeds) come from one need, *n1*" in text
    assert (
        "in clustered batches the 4 (summed over seeds) come from 2 distinct needs, 75% from the largest (*n1*)" in text
    )


def _sweep(
    cells: dict[tuple[int, int], tuple[list[float], list[float], list[float], list[float], float]],
) -> pd.DataFrame:
    """Per (B, k): random loss, clustered loss, random hard, clustered hard (per seed), clustered single share."""
    parts = []
    for (b, k), (rl, cl, rh, ch, share) in cells.items():
        parts.append(
            _per_seed(
                {"loss": rl, "hard_neg_per_query": rh, "single_cluster_share": [0.0, 0.0]},
                {"loss": cl, "hard_neg_per_query": ch, "single_cluster_share": [share, share]},
            ).assign(batch_size=b, k=k)
        )
    return pd.concat(parts, ignore_index=True)


def test_sweep_sentence_counts_verdicts_buys_a_larger_batch_and_collapses() -> None:
    sweep = _sweep(
        {
            (8, 2): ([0.01, 0.02], [0.05, 0.06], [0.10, 0.11], [0.30, 0.31], 0.9),
            (8, 4): ([0.01, 0.02], [0.015, 0.05], [0.10, 0.11], [0.12, 0.13], 0.8),
            (64, 2): ([0.14, 0.15], [0.10, 0.11], [0.20, 0.21], [0.40, 0.41], 0.3),
            (64, 4): ([0.14, 0.15], [0.12, 0.13], [0.20, 0.21], [0.19, 0.22], 0.2),
        }
    )
    text = rc.sweep_sentence(sweep)
    assert text.startswith(
        "Clustered against random, the mean loss is higher beyond the seed spread in 1 of 4 settings, lower in 2 "
        "(B = 64, k = 2, B = 64, k = 4) and within the spread in 1;"
    )
    assert (
        "labelled hard negatives per query are higher beyond the seed spread in 3 of 4 settings, lower in 0 and within the spread in 1."
        in text
    )
    assert "from batches of 64 with k = 2 (0.405, mean over seeds)" in text
    assert (
        "Clustered batches of 8 (k = 2) hold more hard negatives per query than random batches of 64 on every seed (0.305 against 0.205)"
        in text
    )
    assert text.endswith(
        "In 2 of the 4 clustered settings fewer than half of the pairs sit in a single-cluster batch: the clusters hold fewer distinct positives than a batch needs, their pairs are pooled, and the clustered batches become random ones."
    )


def test_sweep_sentence_no_hard_negatives_no_gain_no_collapse() -> None:
    zero = [0.0, 0.0]
    text = rc.sweep_sentence(
        _sweep(
            {(8, 2): ([0.01, 0.02], [0.01, 0.02], zero, zero, 0.9), (32, 2): ([0.1, 0.2], [0.1, 0.2], zero, zero, 0.9)}
        )
    )
    assert "within the spread in 2" in text and "The most labelled" not in text
    assert "hold more" not in text and "fewer than half" not in text
    # clustered batches of 8 within the seed spread of random batches of 32: no "more than a larger batch" claim
    text = rc.sweep_sentence(
        _sweep(
            {
                (8, 2): ([0.0, 0.0], [0.0, 0.0], [0.1, 0.1], [0.2, 0.25], 0.9),
                (32, 2): ([0.0, 0.0], [0.0, 0.0], [0.2, 0.22], [0.3, 0.3], 0.9),
            }
        )
    )
    assert text.count("The most labelled") == 1 and "hold more" not in text


def _k_table(top: float) -> pd.DataFrame:
    return pd.DataFrame({"silhouette": [0.05, top, 0.1], "smallest": [10, 4, 2]}, index=pd.Index([2, 4, 8], name="k"))


def test_k_sentence_blurred_groups_smaller_than_a_batch() -> None:
    text = rc.k_sentence(_k_table(0.12), batch_size=8)
    assert text.startswith(
        "The silhouette ranges from 0.050 to 0.120 (the passages do not fall into well-separated groups) "
    )
    assert "highest at k = 4, where the smallest cluster holds 4 pairs, fewer than a batch of 8" in text


def test_k_sentence_separated_groups_big_enough() -> None:
    text = rc.k_sentence(_k_table(0.4), batch_size=4)
    assert "well-separated" not in text and "from 0.050 to 0.400 and is highest at k = 4" in text
    assert text.endswith("holds 4 pairs, enough for a batch of 4.")


def _domain_seeds(hard: list[float], fn: list[float], neg_r: list[float] = [0.55, 0.56]) -> pd.DataFrame:  # noqa: B006
    return _per_seed(
        {"neg_mean": neg_r, "hard_neg_per_query": [0.36, 0.37], "false_neg_total": [0.0, 1.0]},
        {"neg_mean": [0.6, 0.61], "hard_neg_per_query": hard, "false_neg_total": fn},
    )


def test_single_domain_sentence_adds_hard_negatives_without_false_negatives() -> None:
    all_seeds = _main_seeds(([0.3, 0.32], [0.50, 0.52]), ([0.02, 0.03], [0.08, 0.09]))
    text = rc.single_domain_sentence(
        _domain_seeds([0.51, 0.52], [0.0, 1.0]), all_seeds, domain="finance", k_sub=2, n_sub=40
    )
    assert text.startswith("Within the *finance* pairs alone (40 pairs, k = 2), random → clustered")
    assert "hard negatives per query 0.365 (0.360–0.370) → 0.515 (0.510–0.520), higher on every seed" in text
    assert "still adds labelled hard negatives without more false negatives beyond the seed spread" in text
    assert text.endswith("mean cosine 0.555, closer than clustered batches over all domains (0.510).")


def test_single_domain_sentence_other_branches() -> None:
    all_seeds = _main_seeds(([0.3, 0.32], [0.50, 0.52]), ([0.02, 0.03], [0.08, 0.09]))
    both = rc.single_domain_sentence(_domain_seeds([0.51, 0.52], [3.0, 4.0]), all_seeds, domain="law", k_sub=2, n_sub=9)
    assert "adds labelled hard negatives, and false negatives with them." in both
    fn_only = rc.single_domain_sentence(
        _domain_seeds([0.3, 0.4], [3.0, 4.0]), all_seeds, domain="law", k_sub=2, n_sub=9
    )
    assert "adds false negatives but no hard negatives beyond the seed spread" in fn_only
    neither = rc.single_domain_sentence(
        _domain_seeds([0.3, 0.4], [0.0, 1.0], neg_r=[0.40, 0.45]), all_seeds, domain="law", k_sub=2, n_sub=9
    )
    assert "changes neither hard negatives nor false negatives" in neither and "farther than clustered" in neither
    within = rc.single_domain_sentence(
        _domain_seeds([0.3, 0.4], [0.0, 1.0], neg_r=[0.49, 0.51]), all_seeds, domain="law", k_sub=2, n_sub=9
    )
    assert "within the seed spread of clustered batches over all domains" in within


def test_takeaways_from_verdicts() -> None:
    sweep = _sweep(
        {
            (8, 2): ([0.01, 0.02], [0.05, 0.06], [0.10, 0.11], [0.30, 0.31], 0.9),
            (64, 4): ([0.14, 0.15], [0.12, 0.13], [0.20, 0.21], [0.19, 0.22], 0.2),
        }
    )
    by_need = _by_need([("clustered", 0, "n1", 4), ("clustered", 1, "n1", 6)])
    text = rc.takeaways(
        _table(),
        sweep,
        _domain_seeds([0.51, 0.52], [0.0, 1.0]),
        _agreement(),
        by_need=by_need,
        seed_ari=0.84,
        domain="finance",
        batch_size=8,
        k=8,
        cluster_dim=256,
        full_dim=384,
    )
    lines = text.split("\n")
    assert len(lines) == 6 and all(line.startswith("- ") for line in lines)
    assert "over 2 seeds, clustered against random: mean loss 0.0250 → 0.0850 (higher on every seed)" in lines[0]
    assert "higher beyond the seed spread in 1 of 2 settings, lower in 1 (B = 64, k = 4)" in lines[1]
    assert "in 1 of the 2 settings the clusters are too small" in lines[1]
    assert "ARI 0.800; two seeds at full dimension agree at 0.840" in lines[2]
    assert "5.0 per seed on average (1.0 in random ones), from 1 distinct need." in lines[3]
    assert "hard negatives per query higher on every seed and false negatives within the seed spread" in lines[4]
    assert "not measured here" in lines[5]
    no_collapse = rc.takeaways(
        _table(),
        sweep[sweep["batch_size"] == 8],
        _domain_seeds([0.51, 0.52], [0.0, 1.0]),
        _agreement(),
        by_need=_by_need([]),
        seed_ari=0.84,
        domain="finance",
        batch_size=8,
        k=8,
        cluster_dim=256,
        full_dim=384,
    )
    assert "too small" not in no_collapse and "from 0 distinct needs." in no_collapse
