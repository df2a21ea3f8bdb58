"""Tests of the batch-clustering analysis, on synthetic embeddings whose right answers are known by hand."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pandas as pd
import pytest

from ko_embed_lab import cluster
from ko_embed_lab.cluster.batches import _no_duplicate_pass
from ko_embed_lab.data.beir import RetrievalSet
from ko_embed_lab.plots import cluster as cluster_plots

from .fakes import LookupEncoder

# ---------------------------------------------------------------------------------------------
# Synthetic data
# ---------------------------------------------------------------------------------------------


def _blobs(
    n_per: int = 20, k: int = 4, dim: int = 16, noise: float = 0.05, offset: int = 0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """k tight blobs around the unit vectors e_offset … e_(offset+k−1): cosine ≈ 1 inside, ≈ 0 across."""
    rng = np.random.default_rng(seed)
    truth = np.repeat(np.arange(k), n_per)
    x = np.eye(dim)[truth + offset] + noise * rng.standard_normal((k * n_per, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32), truth


def _topic_pairs(n_topics: int = 4, per_topic: int = 16, dim: int = 16, seed: int = 0):
    """Pairs whose queries and positives sit in one of ``n_topics`` tight topics, all distinct texts."""
    q, topic = _blobs(per_topic, n_topics, dim, noise=0.1, seed=seed)
    p, _ = _blobs(per_topic, n_topics, dim, noise=0.1, seed=seed + 1)
    n = len(topic)
    pairs = cluster.Pairs(
        query_ids=tuple(f"q{i}" for i in range(n)),
        queries=tuple(f"query {i}" for i in range(n)),
        passage_ids=tuple(f"p{i}" for i in range(n)),
        passages=tuple(f"passage {i}" for i in range(n)),
        relevant=tuple(frozenset({f"p{i}"}) for i in range(n)),
        hard_negatives=tuple(frozenset() for _ in range(n)),
        domains=tuple(f"topic{t}" for t in topic),
    )
    return pairs, q, p, topic


# ---------------------------------------------------------------------------------------------
# Truncation and k-means
# ---------------------------------------------------------------------------------------------


def test_truncate_normalize_by_hand() -> None:
    out = cluster.truncate_normalize(np.array([[3.0, 4.0, 12.0]]), 2)
    np.testing.assert_allclose(out, [[0.6, 0.8]], rtol=1e-6)
    np.testing.assert_allclose(
        cluster.truncate_normalize(np.array([[3.0, 4.0, 12.0]]), None), [[3 / 13, 4 / 13, 12 / 13]], rtol=1e-6
    )
    assert out.dtype == np.float32


@pytest.mark.parametrize(
    ("emb", "dim", "error"),
    [
        (np.ones((2, 3)), 4, ValueError),
        (np.ones((2, 3)), 0, ValueError),
        (np.array([[1.0, np.nan]]), None, ValueError),
        (np.array([[0.0, 0.0, 1.0]]), 2, ValueError),  # zero after truncation
        (np.ones(3), None, ValueError),
        (np.ones((2, 3)), 2.5, TypeError),
    ],
)
def test_truncate_normalize_rejects_bad_input(emb: np.ndarray, dim, error: type[Exception]) -> None:
    with pytest.raises(error):
        cluster.truncate_normalize(emb, dim)


def test_default_dims() -> None:
    assert cluster.default_dims(384) == [32, 64, 128, 256, 384]
    assert cluster.default_dims(1024) == [32, 64, 128, 256, 512, 1024]
    assert cluster.default_dims(100) == [32, 64, 100]


def test_kmeans_recovers_separated_blobs() -> None:
    x, truth = _blobs()
    c = cluster.kmeans(x, 4, seed=0)
    assert cluster.cluster_quality(c.labels, truth) == {"nmi": 1.0, "ari": 1.0, "purity": 1.0}
    assert sorted(c.sizes().tolist()) == [20, 20, 20, 20]
    np.testing.assert_allclose(np.linalg.norm(c.centroids, axis=1), 1.0, rtol=1e-5)
    assert c.dim == 16 and c.k == 4 and c.method == "kmeans" and c.seconds >= 0


def test_kmeans_is_seeded_and_minibatch_agrees_on_blobs() -> None:
    x, truth = _blobs(seed=3)
    a = cluster.kmeans(x, 4, seed=7, n_init=1)
    b = cluster.kmeans(x, 4, seed=7, n_init=1)
    np.testing.assert_array_equal(a.labels, b.labels)
    mb = cluster.kmeans(x, 4, seed=0, minibatch=True, batch_size=32)
    assert mb.method == "minibatch-kmeans"
    assert cluster.cluster_quality(mb.labels, truth)["ari"] == 1.0


def test_kmeans_on_truncated_dims() -> None:
    # Blobs live on coordinates 0..3: truncating to 4 keeps them apart (ARI 1.0).
    x, truth = _blobs(offset=0)
    assert cluster.cluster_quality(cluster.kmeans(x, 4, dim=4, seed=0).labels, truth)["ari"] == 1.0
    # Blobs on coordinates 8..11: the first 4 coordinates are pure noise, so clusters there are arbitrary.
    y, truth_y = _blobs(offset=8)
    assert cluster.cluster_quality(cluster.kmeans(y, 4, dim=4, seed=0).labels, truth_y)["ari"] < 0.2


@pytest.mark.parametrize(("k", "seed"), [(0, 0), (81, 0), (2.0, 0), (2, "0"), (True, 0)])
def test_kmeans_rejects_bad_k_and_seed(k, seed) -> None:
    x, _ = _blobs()
    with pytest.raises((ValueError, TypeError)):
        cluster.kmeans(x, k, seed=seed)


def test_cluster_quality_by_hand() -> None:
    # Cluster 0 holds a, a, b (majority 2); cluster 1 holds b, b, b (3): purity 5/6.
    q = cluster.cluster_quality([0, 0, 0, 1, 1, 1], ["a", "a", "b", "b", "b", "b"])
    assert q["purity"] == pytest.approx(5 / 6)
    assert 0 < q["nmi"] < 1
    # Renaming clusters changes nothing.
    assert cluster.cluster_quality([5, 5, 9, 9], ["x", "x", "y", "y"]) == {"nmi": 1.0, "ari": 1.0, "purity": 1.0}
    with pytest.raises(ValueError, match="same non-zero length"):
        cluster.cluster_quality([0, 1], ["a"])


def test_dimension_agreement_on_blobs() -> None:
    # Blobs on coordinates 4..7: dims 2 and 4 see noise only, 8 and 16 see the blobs.
    x, truth = _blobs(offset=4)
    table = cluster.dimension_agreement(x, [2, 4, 8, 16], 4, seeds=[0, 1], truth=truth)
    assert list(table.index) == [2, 4, 8, 16]
    assert table.loc[16, "ari_vs_full"] == 1.0 and table.loc[8, "ari_vs_full"] == 1.0
    assert table.loc[2, "ari_vs_full"] < 0.3 and table.loc[4, "ari_vs_full"] < 0.3
    assert table.loc[8, "truth_purity"] == 1.0
    assert table.loc[16, "megabytes"] == pytest.approx(80 * 16 * 4 / 1e6)
    with pytest.raises(ValueError, match="between 1 and"):
        cluster.dimension_agreement(x, [32], 4)
    with pytest.raises(ValueError, match="labels for"):
        cluster.dimension_agreement(x, [8], 4, truth=truth[:3])


def test_seed_agreement_is_one_on_blobs_and_lower_on_noise() -> None:
    x, _ = _blobs()
    assert cluster.seed_agreement(x, 4, seeds=[0, 1, 2]) == {"ari": 1.0, "nmi": 1.0}
    noise = np.random.default_rng(0).standard_normal((200, 8))
    assert cluster.seed_agreement(noise, 6, seeds=[0, 1, 2])["ari"] < 0.9
    with pytest.raises(ValueError, match="two seeds"):
        cluster.seed_agreement(x, 4, seeds=[0])


def test_k_sweep_peaks_at_the_true_k() -> None:
    x, truth = _blobs()
    table = cluster.k_sweep(x, [2, 3, 4, 6, 8], seed=0, truth=truth)
    assert table["silhouette"].idxmax() == 4
    assert table.loc[4, "truth_purity"] == 1.0 and table.loc[4, "smallest"] == 20
    with pytest.raises(ValueError, match="2 <= k"):
        cluster.k_sweep(x, [1])


# ---------------------------------------------------------------------------------------------
# Batches
# ---------------------------------------------------------------------------------------------


def test_form_batches_hand_example_never_repeats_a_passage() -> None:
    values = [{"q1", "p1"}, {"q2", "p1"}, {"q3", "p2"}, {"q4", "p3"}]
    for seed in range(10):
        batches = cluster.form_batches(values, 2, seed=seed)
        assert sorted(i for b in batches for i in b) == [0, 1, 2, 3]
        assert all(not {0, 1} <= set(b) for b in batches)


def test_form_batches_covers_every_pair_once_and_is_seeded() -> None:
    pairs, _, _, topic = _topic_pairs()
    for clusters in (None, topic):
        a = cluster.form_batches(pairs, 8, clusters=clusters, seed=1)
        assert a == cluster.form_batches(pairs, 8, clusters=clusters, seed=1)
        assert a != cluster.form_batches(pairs, 8, clusters=clusters, seed=2)
        assert sorted(i for b in a for i in b) == list(range(len(pairs)))
        assert all(len(b) == 8 for b in a)


def test_clustered_batches_hold_one_cluster() -> None:
    pairs, _, _, topic = _topic_pairs(per_topic=10)  # 10 per cluster: one batch of 8 and 2 left over
    kept = cluster.form_batches(pairs, 8, clusters=topic, seed=0, remainder="keep")
    assert all(len(set(topic[b])) == 1 for b in kept)
    assert sorted(len(b) for b in kept) == [2, 2, 2, 2, 8, 8, 8, 8]
    dropped = cluster.form_batches(pairs, 8, clusters=topic, seed=0, remainder="drop")
    assert sorted(len(b) for b in dropped) == [8, 8, 8, 8]
    pooled = cluster.form_batches(pairs, 8, clusters=topic, seed=0, remainder="pool")
    assert sorted(len(b) for b in pooled) == [8, 8, 8, 8, 8]  # the 4 × 2 leftovers make one mixed batch
    mixed = [b for b in pooled if len(set(topic[b])) > 1]
    assert len(mixed) == 1 and len(set(topic[mixed[0]])) == 4


def test_duplicates_are_deferred_not_dropped() -> None:
    # 6 queries share 2 passages: batches of 2 must pair one query of p1 with one of p2.
    values = [{f"q{i}", "p1" if i < 3 else "p2"} for i in range(6)]
    batches = cluster.form_batches(values, 2, seed=0, remainder="keep")
    assert sorted(i for b in batches for i in b) == list(range(6))
    assert all(len(b) == 2 and (b[0] < 3) != (b[1] < 3) for b in batches)


def test_no_duplicate_pass_matches_sentence_transformers() -> None:
    torch = pytest.importorskip("torch")
    datasets = pytest.importorskip("datasets")
    from sentence_transformers.base.sampler import NoDuplicatesBatchSampler

    rng = np.random.default_rng(0)
    anchors = [f"q{rng.integers(0, 30)}" for _ in range(60)]
    positives = [f"p{rng.integers(0, 12)}" for _ in range(60)]
    ds = datasets.Dataset.from_dict({"anchor": anchors, "positive": positives})
    for seed in (0, 5):
        sampler = NoDuplicatesBatchSampler(ds, batch_size=8, drop_last=False, generator=torch.Generator(), seed=seed)
        expected = list(sampler)
        order = torch.randperm(len(ds), generator=torch.Generator().manual_seed(seed)).tolist()
        full, partial = _no_duplicate_pass(order, [{a, p} for a, p in zip(anchors, positives, strict=True)], 8)
        assert full + partial == expected[: len(full) + len(partial)]


@pytest.mark.parametrize(
    "kwargs", [{"batch_size": 0}, {"batch_size": 2, "remainder": "spill"}, {"batch_size": 2, "clusters": [0, 1]}]
)
def test_form_batches_rejects_bad_input(kwargs) -> None:
    with pytest.raises(ValueError):
        cluster.form_batches([{"a"}, {"b"}, {"c"}], **kwargs)


# ---------------------------------------------------------------------------------------------
# Loss and batch measures
# ---------------------------------------------------------------------------------------------


def test_infonce_loss_by_hand() -> None:
    e = np.eye(2, dtype=np.float32)
    # Positive cosine 1, negative 0, τ = 1: −log(e / (e + 1)) = log(1 + e^−1).
    np.testing.assert_allclose(cluster.infonce_loss(e, e, temperature=1.0), [math.log(1 + math.exp(-1))] * 2)
    # At τ = 0.01 the same batch is solved: log(1 + e^−100) ≈ 4e−44.
    np.testing.assert_allclose(cluster.infonce_loss(e, e, temperature=0.01), [0.0, 0.0], atol=1e-30)
    # A small gap at τ = 0.01: cosines 0.9 and 0.8 → log(1 + e^−10).
    q1 = np.array([[1.0, 0.0]], np.float32)
    p2 = _unit_angles([math.degrees(math.acos(0.9)), math.degrees(math.acos(0.8))])
    loss = cluster.infonce_loss(np.vstack([q1, q1]), p2, temperature=0.01)[0]
    assert loss == pytest.approx(math.log1p(math.exp(-10)), rel=1e-4)
    # Masking the only negative leaves the positive alone: loss 0; the diagonal is never masked.
    np.testing.assert_allclose(cluster.infonce_loss(e, e, temperature=1.0, mask=np.ones((2, 2), bool)), [0.0, 0.0])
    # A negative as close as the positive: loss log 2.
    q = np.array([[1.0, 0.0]], np.float32)
    two = np.array([[1.0, 0.0], [1.0, 0.0]], np.float32)
    assert cluster.infonce_loss(np.vstack([q, q]), two, temperature=0.5)[0] == pytest.approx(math.log(2))
    with pytest.raises(ValueError, match="temperature"):
        cluster.infonce_loss(e, e, temperature=0.0)
    with pytest.raises(ValueError, match="same shape"):
        cluster.infonce_loss(e, e[:1])


def test_gist_temperature_is_sentence_transformers_default() -> None:
    from sentence_transformers.sentence_transformer.losses import CachedGISTEmbedLoss

    default = inspect.signature(CachedGISTEmbedLoss.__init__).parameters["temperature"].default
    assert default == cluster.GIST_TEMPERATURE


def _unit_angles(degrees: list[float]) -> np.ndarray:
    r = np.radians(degrees)
    return np.stack([np.cos(r), np.sin(r)], axis=1).astype(np.float32)


def test_batch_measures_by_hand() -> None:
    # All queries point along 0°. Positives at 0°, 60°, 90°: query 1's positive (60°) is beaten by
    # the passage at 0° (rank 2); query 2's (90°) by both others (rank 3).
    q = _unit_angles([0, 0, 0])
    p = _unit_angles([0, 60, 90])
    pairs = cluster.Pairs(
        query_ids=("a", "b", "c"),
        queries=("qa", "qb", "qc"),
        passage_ids=("pa", "pb", "pc"),
        passages=("PA", "PB", "PC"),
        relevant=(frozenset({"pa"}), frozenset({"pb", "pa"}), frozenset({"pc"})),  # pa is also relevant to b
        hard_negatives=(frozenset({"pb"}), frozenset(), frozenset()),
        domains=("x", "x", "y"),
    )
    report = cluster.batch_measures(
        q, p, [[0, 1, 2]], pairs=pairs, guide=(q, p), clusters=[0, 0, 0], keep_negatives=True, temperature=1.0
    )
    pq = report.per_query.set_index("pair")
    assert pq["pos_rank"].tolist() == [1, 2, 3]
    np.testing.assert_allclose(pq["pos_sim"], [1.0, 0.5, 0.0], atol=1e-6)
    np.testing.assert_allclose(pq.loc[0, "neg_mean"], 0.25, atol=1e-6)  # (cos 60° + cos 90°) / 2
    np.testing.assert_allclose(pq.loc[2, "neg_max"], 1.0, atol=1e-6)
    assert pq["false_negatives"].tolist() == [0, 1, 0]
    assert pq["hard_negatives"].tolist() == [1, 0, 0]
    assert pq["guide_masked"].tolist() == [0, 1, 2]  # guide = model: negatives ranked above the positive
    expected = [
        math.log(math.e + math.exp(0.5) + 1) - 1,
        math.log(math.e + math.exp(0.5) + 1) - 0.5,
        math.log(math.e + math.exp(0.5) + 1),
    ]
    np.testing.assert_allclose(pq["loss"], expected, rtol=1e-6)
    np.testing.assert_allclose(pq.loc[2, "loss_gist"], 0.0, atol=1e-9)  # both negatives masked
    assert report.per_batch.loc[0, "clusters"] == 1 and report.per_batch.loc[0, "domains"] == 2
    assert len(report.negatives) == 6
    assert sorted(report.negatives["kind"]) == ["hard negative", "other", "other", "other", "other", "relevant"]
    s = report.summary()
    assert s["top1"] == pytest.approx(1 / 3) and s["false_neg_total"] == 1
    assert s["single_cluster_share"] == 1.0 and s["single_domain_share"] == 0.0


def test_batch_measures_rejects_bad_batches() -> None:
    q = _unit_angles([0, 10, 20])
    with pytest.raises(ValueError, match="outside"):
        cluster.batch_measures(q, q, [[0, 3]])
    with pytest.raises(ValueError, match="more than one batch"):
        cluster.batch_measures(q, q, [[0, 1], [1, 2]])
    with pytest.raises(ValueError, match="same shape"):
        cluster.batch_measures(q, q[:2], [[0, 1]])


def test_clustered_batches_are_harder_than_random_ones() -> None:
    pairs, q, p, _ = _topic_pairs()
    labels = cluster.kmeans(q, 4, seed=0).labels
    random = cluster.batch_measures(q, p, cluster.form_batches(pairs, 8, seed=0), pairs=pairs, clusters=labels)
    clustered = cluster.batch_measures(
        q, p, cluster.form_batches(pairs, 8, clusters=labels, seed=0), pairs=pairs, clusters=labels
    )
    r, c = random.summary(), clustered.summary()
    # Same topic: cosine ≈ 1 / (1 + 16 · 0.1²) ≈ 0.86; other topics: ≈ 0. Random batches of 8 from
    # 4 topics hold about 1/4 same-topic negatives (mean ≈ 0.2), clustered batches only same-topic ones.
    assert c["single_cluster_share"] == 1.0 and r["single_cluster_share"] < 0.2
    assert c["neg_mean"] > 0.75
    assert r["neg_mean"] < 0.4
    assert c["loss"] > r["loss"] + 1.0
    assert c["pos_sim"] == pytest.approx(r["pos_sim"])  # positives do not change with batching


def test_batching_sweep_shape_and_random_reference() -> None:
    pairs, q, p, _ = _topic_pairs()
    df = cluster.batching_sweep(
        q, p, cluster_emb=q, batch_sizes=[4, 8], ks=[2, 4], seeds=[0, 1], dim=8, pairs=pairs, guide=(q, p)
    )
    assert len(df) == 2 * 2 * 2 * 2
    rnd = df[df["strategy"] == "random"]
    # Random batches ignore k: identical rows for every k.
    assert (rnd.groupby(["seed", "batch_size"])["loss"].nunique() == 1).all()
    clu = df[(df["strategy"] == "clustered") & (df["k"] == 4)].groupby("batch_size")["neg_mean"].mean()
    assert (clu > rnd.groupby("batch_size")["neg_mean"].mean()).all()


# ---------------------------------------------------------------------------------------------
# Seeds, false negatives per need, chance NMI, the card
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "verdict"),
    [
        ([0.1, 0.2], [0.3, 0.4], "higher"),
        ([0.3, 0.4], [0.1, 0.2], "lower"),
        ([0.1, 0.3], [0.2, 0.4], "within"),
        ([0.1, 0.2], [0.2, 0.4], "within"),  # touching ranges overlap
    ],
)
def test_seed_verdict_by_hand(a, b, verdict) -> None:
    assert cluster.seed_verdict(a, b) == verdict


def test_seed_verdict_needs_two_finite_seeds() -> None:
    with pytest.raises(ValueError, match="at least two seeds"):
        cluster.seed_verdict([0.1], [0.2, 0.3])
    with pytest.raises(ValueError, match="finite"):
        cluster.seed_verdict([0.1, np.nan], [0.2, 0.3])


def _per_seed_frame(random: dict[str, list[float]], clustered: dict[str, list[float]]) -> pd.DataFrame:
    rows = [
        {"strategy": name, "seed": i, **{m: v[i] for m, v in values.items()}}
        for name, values in (("random", random), ("clustered", clustered))
        for i in range(len(next(iter(values.values()))))
    ]
    return pd.DataFrame(rows)


def test_seed_table_by_hand() -> None:
    per_seed = _per_seed_frame({"loss": [1.0, 3.0], "x": [0.0, 1.0]}, {"loss": [4.0, 6.0], "x": [0.5, 0.6]})
    t = cluster.seed_table(per_seed, ["loss", "x"])
    assert t.loc["loss", "random mean"] == 2.0 and t.loc["loss", "random sd"] == pytest.approx(math.sqrt(2))
    assert (t.loc["loss", "clustered min"], t.loc["loss", "clustered max"]) == (4.0, 6.0)
    assert t["verdict"].tolist() == ["higher", "within"] and t["seeds"].tolist() == [2, 2]
    with pytest.raises(ValueError, match="lacks columns"):
        cluster.seed_table(per_seed, ["nope"])


def test_sweep_verdicts_per_setting() -> None:
    sweep = pd.concat(
        [
            _per_seed_frame({"loss": [1.0, 1.1]}, {"loss": [2.0, 2.1]}).assign(batch_size=8, k=2),
            _per_seed_frame({"loss": [1.0, 1.1]}, {"loss": [0.5, 0.6]}).assign(batch_size=64, k=2),
        ]
    )
    v = cluster.sweep_verdicts(sweep, "loss").set_index("batch_size")
    assert v.loc[8, "verdict"] == "higher" and v.loc[64, "verdict"] == "lower"
    assert v.loc[64, "clustered"] == pytest.approx(0.55)


def test_seed_reports_and_false_negatives_per_need() -> None:
    pairs, q, p, _ = _topic_pairs()
    # Pairs 0 and 1 share a need and each other's positive: a false negative whenever they share a batch.
    pairs = cluster.Pairs(
        query_ids=pairs.query_ids,
        queries=pairs.queries,
        passage_ids=pairs.passage_ids,
        passages=pairs.passages,
        relevant=(frozenset({"p0", "p1"}), frozenset({"p0", "p1"}), *pairs.relevant[2:]),
        hard_negatives=pairs.hard_negatives,
        domains=pairs.domains,
        needs=("n0", "n0", *(f"n{i}" for i in range(2, len(pairs)))),
    )
    reports = cluster.seed_reports(q, p, cluster_emb=p, batch_size=16, k=4, seeds=[0, 1], dim=8, pairs=pairs)
    assert sorted(reports) == [("clustered", 0), ("clustered", 1), ("random", 0), ("random", 1)]
    per_seed = cluster.seed_summaries(reports)
    assert set(per_seed.columns) >= {"strategy", "seed", "loss", "needs_with_false_neg"}
    # A topic is a cluster of 16 pairs, one batch of 16: pairs 0 and 1 share it on every seed, so each
    # meets the other's positive as a negative: 2 false negatives, from one need.
    clustered = per_seed[per_seed["strategy"] == "clustered"]
    assert (clustered["false_neg_total"] == 2).all() and (clustered["needs_with_false_neg"] == 1).all()
    by_need = cluster.false_negatives_by_need(reports)
    assert set(by_need.loc[by_need["strategy"] == "clustered", "need"]) == {"n0"}
    assert by_need.loc[by_need["strategy"] == "clustered", "false_negatives"].tolist() == [2, 2]
    assert (reports[("clustered", 1)].per_batch["clusters"] == 1).all()
    assert reports[("random", 0)].per_batch["clusters"].max() > 1  # random batches, measured with the seed's clusters


def test_false_negatives_by_need_without_needs_and_without_hits() -> None:
    pairs, q, p, _ = _topic_pairs()
    report = cluster.batch_measures(q, p, cluster.form_batches(pairs, 8, seed=0), pairs=pairs)
    with pytest.raises(ValueError, match="no need column"):
        report.false_negatives_by_need()
    with_needs = cluster.Pairs(**{**pairs.__dict__, "needs": tuple(f"n{i}" for i in range(len(pairs)))})
    empty = cluster.batch_measures(q, p, cluster.form_batches(with_needs, 8, seed=0), pairs=with_needs)
    assert empty.false_negatives_by_need().empty and empty.summary()["needs_with_false_neg"] == 0


def test_chance_nmi_is_near_zero_for_unrelated_labels_and_checks_input() -> None:
    labels = np.repeat(np.arange(4), 50)
    assert cluster.chance_nmi(labels, labels, seeds=[0, 1]) < 0.05
    assert cluster.cluster_quality(labels, labels)["nmi"] == 1.0
    with pytest.raises(ValueError, match="same non-zero length"):
        cluster.chance_nmi([0, 1], ["a"])


def test_card_setup_reads_the_shipped_card() -> None:
    s = cluster.card_setup()
    assert s.loss_line == "Loss: CachedGISTEmbedLoss with these parameters:" and not s.loss_parameters_given
    assert s.batch_sizes == (20000, 10000) and s.batch_sampler == "no_duplicates"
    assert s.clustering[0] == "Samples within the same batch are clustered together."
    assert "to 256 dimensions" in s.clustering[1] and len(s.clustering) == 2


def test_card_setup_on_a_hand_made_card() -> None:
    text = (
        "4. Efficient clustering without hard negatives:\n\n   - Batches come from one cluster.\n"
        "   - The clustering approach is inspired by the findings in the following papers:\n"
        "     - *A paper*\n\n5. Next item\n\n* Loss: [<code>MyLoss</code>](https://x) with these parameters:\n"
        '  ```json\n  {"scale": 20}\n  ```\n'
    )
    s = cluster.card_setup(text)
    assert s.clustering == ("Batches come from one cluster.",)
    assert s.loss_line == "Loss: MyLoss with these parameters:" and s.loss_parameters_given
    assert s.batch_sizes == () and s.batch_sampler is None
    bare = cluster.card_setup("nothing here")
    assert bare.loss_line is None and bare.clustering == ()


# ---------------------------------------------------------------------------------------------
# Pairs
# ---------------------------------------------------------------------------------------------


def _toy_set() -> RetrievalSet:
    corpus = {f"d{i}": {"title": "제목" if i == 0 else "", "text": f"문서 {i}"} for i in range(4)}
    return RetrievalSet(
        name="toy",
        corpus=corpus,
        queries={"q1": "질문 하나", "q2": "질문 둘"},
        qrels={"q1": {"d0": 2, "d1": 1}, "q2": {"d2": 2, "d3": 2}},
    )


def test_pairs_from_qrels() -> None:
    pairs = cluster.pairs_from_qrels(
        _toy_set(), min_grade=2, hard_negatives={"q1": ["d1", "d3"]}, domains={"q1": "a", "q2": "b"}
    )
    assert list(zip(pairs.query_ids, pairs.passage_ids, strict=True)) == [("q1", "d0"), ("q2", "d2"), ("q2", "d3")]
    assert pairs.passages[0] == "제목 문서 0"
    assert pairs.relevant[0] == {"d0", "d1"}
    assert pairs.hard_negatives[0] == {"d3"}  # d1 is relevant (grade 1), so not a hard negative
    assert pairs.domains == ("a", "b", "b")
    assert len(cluster.pairs_from_qrels(_toy_set(), min_grade=1)) == 4
    assert pairs.take([2]).passage_ids == ("d3",)
    with pytest.raises(ValueError, match="no judgment"):
        cluster.pairs_from_qrels(_toy_set(), min_grade=3)
    with pytest.raises(ValueError, match="one per pair"):
        cluster.Pairs(("a",), ("b", "c"), ("d",), ("e",), (frozenset(),), (frozenset(),))


def test_first_per_passage_keeps_the_first_pair_of_each_passage() -> None:
    n = 4
    pairs = cluster.Pairs(
        query_ids=tuple(f"q{i}" for i in range(n)),
        queries=tuple(f"query {i}" for i in range(n)),
        passage_ids=("p1", "p2", "p1", "p3"),
        passages=("one", "two", "one", "three"),
        relevant=tuple(frozenset() for _ in range(n)),
        hard_negatives=tuple(frozenset() for _ in range(n)),
    )
    assert pairs.first_per_passage() == [0, 1, 3]


def test_probe_pairs() -> None:
    from ko_embed_lab.data import load_probe

    probe = load_probe()
    pairs = cluster.probe_pairs(probe)
    grade2 = sum(1 for q in probe.data.qrels.values() for g in q.values() if g >= 2)
    assert len(pairs) == grade2
    questions = cluster.probe_pairs(probe, forms=["question"])
    assert set(probe.queries.loc[list(questions.query_ids), "form"]) == {"question"}
    assert all(d == probe.queries.loc[q, "domain"] for q, d in zip(pairs.query_ids, pairs.domains or (), strict=True))
    some = next(i for i, h in enumerate(pairs.hard_negatives) if h)
    assert pairs.hard_negatives[some] <= set(probe.hard_negatives(pairs.query_ids[some]))
    with pytest.raises(ValueError, match="unknown query forms"):
        cluster.probe_pairs(probe, forms=["poem"])
    assert all(n == probe.queries.loc[q, "need_id"] for q, n in zip(pairs.query_ids, pairs.needs or (), strict=True))
    assert pairs.take([0, 1]).needs == pairs.needs[:2] and "need" in pairs.frame()


def test_embed_pairs_encodes_each_text_once() -> None:
    vecs = {"q1": [1, 0], "q2": [0, 1], "P1": [1, 1], "P2": [1, -1]}
    enc = LookupEncoder(vecs)
    pairs = cluster.Pairs(
        ("a", "b", "a"),
        ("q1", "q2", "q1"),
        ("p1", "p1", "p2"),
        ("P1", "P1", "P2"),
        (frozenset(),) * 3,
        (frozenset(),) * 3,
    )
    q, p = cluster.embed_pairs(enc, pairs)
    assert [c[0] for c in enc.calls] == ["query", "document"] and [c[2] for c in enc.calls] == [2, 2]
    np.testing.assert_allclose(q[2], [1, 0])
    np.testing.assert_allclose(p[1], np.array([1, 1]) / math.sqrt(2), rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# Maps and figures
# ---------------------------------------------------------------------------------------------


def test_map_frame_hover_text_and_labels() -> None:
    long = "가나다 <b>" + "라" * 200
    df = cluster.map_frame(np.zeros((2, 2)), [long, "짧은\n글"], cluster=[0, 1], domain=["법", "뉴스"])
    assert df["cluster"].tolist() == ["0", "1"] and df["domain"].tolist() == ["법", "뉴스"]
    assert "&lt;b&gt;" in df.loc[0, "text"] and "<br>" in df.loc[0, "text"] and df.loc[0, "text"].endswith("…")
    assert df.loc[1, "text"] == "짧은 글"
    with pytest.raises(ValueError, match="texts for"):
        cluster.map_frame(np.zeros((2, 2)), ["하나"])


def test_figures_name_the_model() -> None:
    df = cluster.map_frame(np.arange(8.0).reshape(4, 2), ["가", "나", "다", "라"], cluster=[0, 0, 1, 1])
    fig = cluster_plots.map_figure(df, color="cluster", title="지도", model="fake-model")
    assert "model: fake-model" in fig.layout.title.text
    assert "%{customdata[0]}" in fig.data[0].hovertemplate
    hist = cluster_plots.distribution_figure(
        __import__("pandas").DataFrame({"sim": [0.1, 0.2, 0.3], "strategy": ["a", "b", "a"]}),
        x="sim",
        color="strategy",
        title="t",
        model="fake-model",
    )
    assert "model: fake-model" in hist.layout.title.text
    with pytest.raises(ValueError, match="not a column"):
        cluster_plots.map_figure(df, color="domain", title="t")


def test_chapter_figures_name_the_model_and_draw_each_measure() -> None:
    import pandas as pd

    agreement = pd.DataFrame(
        {"ari_vs_full": [0.5, 1.0], "nmi_vs_full": [0.6, 1.0], "truth_nmi": [0.3, 0.4]},
        index=pd.Index([2, 4], name="dim"),
    )
    fig = cluster_plots.truncation_figure(agreement, seed_ari=0.7, k=3, n_seeds=2, model="fake-model")
    assert "model: fake-model" in fig.layout.title.text and "k = 3" in fig.layout.title.text
    assert {t.name for t in fig.data} == {
        "ARI with full-dim clusters",
        "NMI with full-dim clusters",
        "NMI with domain labels",
    }
    assert fig.layout.shapes[0].y0 == 0.7  # the seed-noise line
    no_truth = cluster_plots.truncation_figure(agreement[["ari_vs_full"]], seed_ari=0.7, k=3, n_seeds=2)
    assert [t.name for t in no_truth.data] == ["ARI with full-dim clusters"]
    with pytest.raises(ValueError, match="none of the columns"):
        cluster_plots.truncation_figure(agreement[[]], seed_ari=0.7, k=3, n_seeds=2)

    k_table = pd.DataFrame({"silhouette": [0.1, 0.2], "inertia": [5.0, 3.0]}, index=pd.Index([2, 4], name="k"))
    assert [t.name for t in cluster_plots.k_figure(k_table, dim=8, model="m").data] == ["silhouette"]

    mean = pd.DataFrame(
        {
            "strategy": ["random", "clustered"] * 2,
            "batch_size": [4, 4, 8, 8],
            "k": [2] * 4,
            "loss": [1.0, 2.0, 3.0, 4.0],
        }
    )
    sweep = cluster_plots.sweep_figure(mean, y="loss", title="t", model="m")
    assert {a.text for a in sweep.layout.annotations} == {"batches of 4", "batches of 8"}

    per_query = pd.DataFrame({"loss": [1.0, 0.0, 10.0], "strategy": ["random", "clustered", "random"]})
    loss = cluster_plots.loss_figure(per_query, temperature=0.01, batch_size=4, k=2, model="m")
    xs = sorted(x for t in loss.data for x in t.x)
    assert xs == [-6.0, 0.0, 1.0]  # log10, with a zero loss clipped at 1e-6
    negs = cluster_plots.negatives_figure(per_query.rename(columns={"loss": "sim"}), batch_size=4, k=2, model="m")
    assert "batches of 4" in negs.layout.title.text and "model: m" in negs.layout.title.text


@pytest.mark.slow
def test_umap_2d_is_seeded_and_keeps_blobs_apart() -> None:
    x, truth = _blobs(n_per=15)
    a = cluster.umap_2d(x, seed=0, n_neighbors=10)
    b = cluster.umap_2d(x, seed=0, n_neighbors=10)
    assert a.shape == (60, 2)
    np.testing.assert_allclose(a, b)
    assert cluster.cluster_quality(cluster.kmeans(a, 4, seed=0).labels, truth)["ari"] == 1.0
    with pytest.raises(ValueError, match="at least 4"):
        cluster.umap_2d(x[:3])


# ---------------------------------------------------------------------------------------------
# Integration with the bundled model
# ---------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_bundled_model_on_a_probe_sample(model) -> None:
    from ko_embed_lab.data import load_probe

    probe = load_probe().sample(8, n_docs=40, seed=0)
    pairs = cluster.probe_pairs(probe, forms=["question"])
    q, p = cluster.embed_pairs(model, pairs)
    assert q.shape == p.shape == (len(pairs), model.dim)
    report = cluster.batch_measures(q, p, cluster.form_batches(pairs, 4, seed=0), pairs=pairs, guide=(q, p))
    s = report.summary()
    assert s["pos_sim"] > s["neg_mean"]
    assert s["guide_masked_per_query"] == pytest.approx((report.per_query["pos_rank"] - 1).mean())
