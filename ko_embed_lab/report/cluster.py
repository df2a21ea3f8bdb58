"""Tested summaries of the cluster chapter: the sentences that draw its conclusions, chosen from the run's numbers.

Each function takes the tables the chapter computes (from :mod:`ko_embed_lab.cluster`) and returns
Markdown. Where a conclusion depends on the numbers (truncation costs about as much as a new seed,
or more; query clusters follow the query's form, or not; a single-topic corpus is already hard,
or not), the function picks the sentence, and each branch has a test with hand-made inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ._core import fmt

if TYPE_CHECKING:
    import pandas as pd

    from ..cluster import Pairs

__all__ = [
    "SAME_AS_SEED_NOISE",
    "batches_sentence",
    "clustered_on_sentence",
    "cost_sentence",
    "false_negatives_sentence",
    "k_sentence",
    "pairs_sentence",
    "single_domain_sentence",
    "sweep_sentence",
    "takeaways",
    "truncation_caveat",
    "truncation_sentence",
]

#: Truncated clusters within this much ARI of the seed noise count as "about as different as a new seed".
SAME_AS_SEED_NOISE = 0.05
#: Query clusters whose NMI with the query form beats the passage clusters' by more than this follow the form.
FORM_MARGIN = 0.05
#: Below this best silhouette, the rows do not fall into well-separated groups.
SEPARATED_SILHOUETTE = 0.25
#: Clustered settings with fewer than this share of pairs in single-cluster batches have collapsed to random.
COLLAPSED_SHARE = 0.5
#: The card's scale, for the cost arithmetic: a million training pairs, 1024-d base embeddings, cut to 256.
CARD_ROWS, CARD_DIM, CARD_CLUSTER_DIM = 1_000_000, 1024, 256


def pairs_sentence(pairs: Pairs) -> str:
    """How many pairs, queries and distinct positives there are, and why the no-duplicates rule matters.

    Example:
        >>> pairs.passage_ids  # four pairs from four queries, two positives
        ('p1', 'p1', 'p2', 'p2')
        >>> pairs_sentence(pairs)[:44]
        '4 pairs from 4 queries, but only 2 distinct '
    """
    n_pos = len(set(pairs.passage_ids))
    return (
        f"{len(pairs)} pairs from {len(set(pairs.query_ids))} queries, but only {n_pos} distinct positive "
        f"passages: each passage is the positive of {len(pairs) / n_pos:.1f} queries on average (one need, "
        "asked in several forms). That makes the *no-duplicates* rule of sentence-transformers matter: "
        "two pairs that share a text can never share a batch, because the shared passage would be the "
        "positive of one query and a negative of the other. So a batch can hold at most as many pairs "
        "as its pool has distinct passages."
    )


def truncation_caveat(full_dim: int, cluster_dim: int, *, bundled: bool) -> str:
    """The caveat for a model not trained for truncation (the bundled one); empty for any other model.

    Example:
        >>> truncation_caveat(384, 256, bundled=True)[:40]
        'The bundled model has 384 dimensions and'
        >>> truncation_caveat(1024, 256, bundled=False)
        ''
    """
    if not bundled:
        return ""
    return (
        f"The bundled model has {full_dim} dimensions and, unlike the target's base model, was not trained "
        f"for truncation (no Matryoshka loss). Keeping {min(cluster_dim, full_dim)} of {full_dim} is the "
        "analogue of the card's 256 of 1024, but the bundled model was not built to be cut, so its "
        "truncated vectors lose more than a Matryoshka model's would."
    )


def truncation_sentence(agreement: pd.DataFrame, *, seed_ari: float, cluster_dim: int, full_dim: int) -> str:
    """Whether truncating to ``cluster_dim`` costs more agreement than a new k-means seed does.

    Args:
        agreement: ``cluster.dimension_agreement`` with ``truth`` (indexed by ``dim``).
        seed_ari: ARI of full-dimension k-means with itself under another seed.
        cluster_dim: The truncation asked for (capped at ``full_dim``).
        full_dim: The model's dimension.

    Example:
        >>> truncation_sentence(agreement, seed_ari=0.6, cluster_dim=256, full_dim=384)[:30]
        'At 256 dimensions the clusters'
    """
    cd = min(cluster_dim, full_dim)
    a_cd, a_full = agreement.loc[cd], agreement.loc[full_dim]
    close = a_cd["ari_vs_full"] >= seed_ari - SAME_AS_SEED_NOISE
    verdict = (
        "Truncation therefore costs about as much agreement as a new seed does: k-means on this data has "
        "no single best answer, and the truncated clustering is one of the many equally good ones. "
        if close
        else "Truncation costs more agreement than a new seed does: these clusters are not the same ones. "
    )
    return (
        f"At {cd} dimensions the clusters agree with the full-dimension ones at ARI {fmt(a_cd['ari_vs_full'])} "
        f"(NMI {fmt(a_cd['nmi_vs_full'])}), while full-dimension k-means agrees with itself under another "
        f"seed at ARI {fmt(seed_ari)}. "
        + verdict
        + f"Against the domain labels, NMI is {fmt(a_cd['truth_nmi'])} at {cd} dimensions and "
        f"{fmt(a_full['truth_nmi'])} at full dimension."
    )


def cost_sentence(agreement: pd.DataFrame, *, n_rows: int, cluster_dim: int, full_dim: int) -> str:
    """What truncation saves: the measured fit times here, and the arithmetic at the card's scale.

    Example:
        >>> cost_sentence(agreement, n_rows=559, cluster_dim=256, full_dim=384)[:20]
        '**Cost.** Truncation'
    """
    cd = min(cluster_dim, full_dim)
    t_cd, t_full = agreement.loc[cd, "seconds"], agreement.loc[full_dim, "seconds"]
    return (
        f"**Cost.** Truncation saves nothing in the encoder (the full model still runs); it saves k-means "
        f"work and memory. On these {n_rows} rows one fit took {1000 * t_cd:.0f} ms at {cd} "
        f"dimensions and {1000 * t_full:.0f} ms at {full_dim} (one thread, median over seeds). At this "
        f"size fixed overheads decide, not the dimension. At the card's scale the arithmetic decides: every "
        f"k-means iteration costs n·k·d multiply-adds, so {CARD_CLUSTER_DIM} of {CARD_DIM} dimensions is "
        f"{CARD_CLUSTER_DIM / CARD_DIM:.0%} of the work, and a million float32 vectors take "
        f"{CARD_ROWS * CARD_DIM * 4 / 1e9:.1f} GB at {CARD_DIM} dimensions against "
        f"{CARD_ROWS * CARD_CLUSTER_DIM * 4 / 1e9:.1f} GB at {CARD_CLUSTER_DIM}."
    )


def clustered_on_sentence(by_what: pd.DataFrame, query_labels: Sequence[int] | np.ndarray, forms: Sequence[str]) -> str:
    """Clusters of queries against clusters of passages: which follows the domain, which the query's form.

    Args:
        by_what: Rows ``"queries"`` and ``"positive passages"``, columns ``"domain nmi"`` and ``"query-form NMI"``.
        query_labels: The k-means cluster of each query.
        forms: The form of each query (``"question"``, ``"english"``...), aligned with ``query_labels``.

    Example:
        >>> clustered_on_sentence(by_what, q_labels, forms)[:40]
        'Against the domain labels, clusters of p'
    """
    import pandas as pd

    labels = np.asarray(query_labels)
    if len(labels) != len(forms):
        raise ValueError(f"{len(labels)} query labels for {len(forms)} query forms")
    dom_q, dom_p = by_what.loc["queries", "domain nmi"], by_what.loc["positive passages", "domain nmi"]
    form_q, form_p = by_what.loc["queries", "query-form NMI"], by_what.loc["positive passages", "query-form NMI"]
    text = (
        f"Against the domain labels, clusters of passages reach NMI {fmt(dom_p)} and clusters of queries "
        f"{fmt(dom_q)}. Against the query *form* (question, phrase, keywords, request, English), query clusters "
        f"reach NMI {fmt(form_q)} and passage clusters {fmt(form_p)}. "
    )
    if form_q > form_p + FORM_MARGIN:
        text += "Query embeddings carry the form of the query as well as its topic, and k-means picks that up. "
    english = pd.Series(labels[[f == "english" for f in forms]]).value_counts()
    if len(english):
        text += (
            f"{english.iloc[0]} of the {english.sum()} English queries fall into one query cluster, "
            f"which holds {(labels == english.index[0]).sum()} queries in all. "
        )
    return text + (
        "The rest of the chapter clusters on the positive passages, the variant whose clusters "
        "should follow topics rather than phrasing."
    )


def _median_loss(per_query: pd.DataFrame, strategy: str) -> float:
    return float(per_query.loc[per_query["strategy"] == strategy, "loss"].median())


def batches_sentence(summary: pd.DataFrame, per_query: pd.DataFrame) -> str:
    """Random against clustered batches: negatives, loss, labelled hard negatives, clusters against domains.

    Args:
        summary: ``BatchReport.summary()`` of each strategy, as columns ``"random"`` and ``"clustered"``.
        per_query: ``BatchReport.per_query`` of both strategies, with a ``strategy`` column.

    Example:
        >>> batches_sentence(summary, per_query)[:40]
        'Random → clustered: the mean cosine of a'
    """
    r, c = summary["random"], summary["clustered"]
    ratio = c["loss"] / r["loss"] if r["loss"] > 0 else float("nan")
    text = (
        f"Random → clustered: the mean cosine of a query with its in-batch negatives goes from {fmt(r['neg_mean'])} "
        f"to {fmt(c['neg_mean'])}, with the hardest negative from {fmt(r['neg_max'])} to "
        f"{fmt(c['neg_max'])}, and the mean loss from {fmt(r['loss'], 4)} to "
        f"{fmt(c['loss'], 4)} ({ratio:.1f}×); the median loss per query goes from "
        f"{_median_loss(per_query, 'random'):.4f} to "
        f"{_median_loss(per_query, 'clustered'):.4f}. The positives are the same in both (mean cosine "
        f"{fmt(r['pos_sim'])}); only the competition changes. "
    )
    if r["hard_neg_per_query"] > 0:
        text += (
            f"KoProbe's labelled hard negatives land in the same batch as their query "
            f"{c['hard_neg_per_query'] / r['hard_neg_per_query']:.1f} times as often "
            f"({r['hard_neg_per_query']:.3f} → {c['hard_neg_per_query']:.3f} per query): "
            "those are the negatives that clustering is for. "
        )
    elif c["hard_neg_per_query"] > 0:
        text += f"Labelled hard negatives appear only in clustered batches ({c['hard_neg_per_query']:.3f} per query). "
    else:
        text += "In this sample no labelled hard negative is the positive of another pair, so none can enter a batch. "
    return text + (
        f"{c['single_cluster_share']:.0%} of the pairs sit in a batch drawn from one cluster, but only "
        f"{c['single_domain_share']:.0%} in a batch from one domain: clusters are not domains."
    )


def false_negatives_sentence(summary: pd.DataFrame, *, n_pairs: int) -> str:
    """False negatives in random and clustered batches, what the guide masks, and the loss with masking.

    Example:
        >>> false_negatives_sentence(summary, n_pairs=559)[:20]
        '**False negatives.**'
    """
    r, c = summary["random"], summary["clustered"]
    return (
        f"**False negatives.** Passages that are relevant to a query but sit in its batch as negatives: "
        f"{int(r['false_neg_total'])} in random batches and {int(c['false_neg_total'])} in clustered ones, over "
        f"{n_pairs} pairs. KoProbe has few needs with more than one relevant passage, so these counts are small; "
        "in crawled training data full of near-duplicates they are not. The guide would mask "
        f"{r['guide_masked_per_query']:.3f} negatives per query in random batches and {c['guide_masked_per_query']:.3f} "
        f"in clustered ones, and the loss with masking (`loss_gist`) falls to {fmt(r['loss_gist'], 4)} and "
        f"{fmt(c['loss_gist'], 4)}."
    )


def sweep_sentence(mean: pd.DataFrame) -> str:
    """What the batch size × k sweep shows: the best setting, whether clustering buys a larger batch's hardness, collapse.

    Args:
        mean: ``cluster.batching_sweep`` averaged over seeds (``strategy``, ``batch_size``, ``k``,
            ``hard_neg_per_query``, ``single_cluster_share``).

    Example:
        >>> sweep_sentence(mean)[:40]
        'The most labelled hard negatives per que'
    """
    b_max = mean["batch_size"].max()
    rand_big = mean[(mean["strategy"] == "random") & (mean["batch_size"] == b_max)]["hard_neg_per_query"].iloc[0]
    clustered = mean[mean["strategy"] == "clustered"]
    hits = clustered[clustered["hard_neg_per_query"] >= rand_big].sort_values(["batch_size", "k"])
    best = clustered.loc[clustered["hard_neg_per_query"].idxmax()]
    collapsed = clustered[clustered["single_cluster_share"] < COLLAPSED_SHARE]
    text = (
        f"The most labelled hard negatives per query come from batches of {int(best['batch_size'])} "
        f"with k = {int(best['k'])} ({best['hard_neg_per_query']:.3f}). "
        if best["hard_neg_per_query"] > 0
        else ""
    )
    if rand_big > 0 and len(hits) and hits.iloc[0]["batch_size"] < b_max:
        h = hits.iloc[0]
        text += (
            f"Clustered batches of {int(h['batch_size'])} (k = {int(h['k'])}) already hold as many per query "
            f"({h['hard_neg_per_query']:.3f}) as random batches of {b_max} ({rand_big:.3f}): clustering "
            "buys the hardness of a larger batch at a fraction of its memory. "
        )
    if len(collapsed):
        text += (
            f"In {len(collapsed)} of the {len(clustered)} clustered settings fewer than half of the pairs sit in a "
            "single-cluster batch: the clusters hold fewer distinct positives than a batch needs, their pairs are "
            "pooled, and the clustered batches become random ones. Large batches need few, large clusters."
        )
    return text


def k_sentence(k_table: pd.DataFrame) -> str:
    """The silhouette's range and peak over k, and why batching should not pick k by it.

    Example:
        >>> k_sentence(k_table)[:26]
        'The silhouette ranges from'
    """
    best_k = int(k_table["silhouette"].idxmax())
    blurred = k_table["silhouette"].max() < SEPARATED_SILHOUETTE
    return (
        f"The silhouette ranges from {k_table['silhouette'].min():.3f} to {k_table['silhouette'].max():.3f} "
        + ("(the passages do not fall into well-separated groups) " if blurred else "")
        + f"and is highest at k = {best_k}, where the smallest cluster holds {int(k_table.loc[best_k, 'smallest'])} pairs. "
        "For batching, k is better chosen by what the batches need, clusters with at least a batch's worth of "
        "distinct positives, than by the silhouette."
    )


def _single_rows(single: pd.DataFrame, domain: str) -> tuple[Any, Any]:
    return single.loc[f"{domain} only, random"], single.loc[f"{domain} only, clustered"]


def single_domain_sentence(single: pd.DataFrame, summary: pd.DataFrame, *, domain: str, k_sub: int, n_sub: int) -> str:
    """Whether random batches from one domain are already as hard as clustered batches over all domains.

    Args:
        single: Summaries indexed ``"<domain> only, random"`` and ``"<domain> only, clustered"``
            (columns ``neg_mean``, ``hard_neg_per_query``, ``false_neg_total``).
        summary: The all-domain summaries, columns ``"random"`` and ``"clustered"``.
        domain: The one domain.
        k_sub: Clusters inside the domain.
        n_sub: Pairs of the domain.

    Example:
        >>> single_domain_sentence(single, summary, domain="law", k_sub=2, n_sub=80)[:30]
        'Random batches drawn from the '
    """
    one_r, one_c = _single_rows(single, domain)
    text = (
        f"Random batches drawn from the *{domain}* pairs alone meet negatives at mean cosine "
        f"{fmt(one_r['neg_mean'])} with {one_r['hard_neg_per_query']:.3f} labelled hard negatives per query; "
        f"clustered batches over all domains reach {fmt(summary.loc['neg_mean', 'clustered'])} and "
        f"{summary.loc['hard_neg_per_query', 'clustered']:.3f}. Clustering inside the domain (k = {k_sub}) gives "
        f"{fmt(one_c['neg_mean'])} and {one_c['hard_neg_per_query']:.3f}, and the false negatives in the batches "
        f"go from {int(one_r['false_neg_total'])} to {int(one_c['false_neg_total'])} (over {n_sub} pairs). "
    )
    if one_r["neg_mean"] >= summary.loc["neg_mean", "clustered"]:
        return text + (
            "A single-topic corpus makes hard batches without any clustering; clustering inside it packs "
            "closer neighbours together, which is where false negatives come from."
        )
    return text + "Even within one domain, clustering still separates sub-topics here."


def takeaways(
    summary: pd.DataFrame,
    single: pd.DataFrame,
    agreement: pd.DataFrame,
    *,
    seed_ari: float,
    domain: str,
    batch_size: int,
    k: int,
    cluster_dim: int,
    full_dim: int,
) -> str:
    """The chapter's take-aways as a Markdown list, with the run's numbers.

    Example:
        >>> takeaways(summary, single, agreement, seed_ari=0.6, domain="law", batch_size=8, k=8,
        ...           cluster_dim=256, full_dim=384)[:30]
        '- Clustered batches are harder'
    """
    r, c = summary["random"], summary["clustered"]
    one_r, one_c = _single_rows(single, domain)
    cd = min(cluster_dim, full_dim)
    a_cd = agreement.loc[cd]
    return (
        f"- Clustered batches are harder batches: on KoProbe (batches of {batch_size}, k = {k}) the mean loss goes from "
        f"{fmt(r['loss'], 4)} to {fmt(c['loss'], 4)} and labelled hard negatives per query from "
        f"{r['hard_neg_per_query']:.3f} to {c['hard_neg_per_query']:.3f}, with no mining step.\n"
        f"- Clusters from embeddings truncated to {cd} dimensions agree with full-dimension ones at ARI "
        f"{fmt(a_cd['ari_vs_full'])}; two seeds at full dimension agree at {fmt(seed_ari)}. "
        "Compare any such agreement with the seed noise first. Truncation saves k-means work and memory in "
        "proportion to the dimension, not encoder time.\n"
        "- Batch size and k interact: a cluster must hold at least a batch's worth of distinct positives, so large "
        "batches need few clusters; past that point clustered batches silently become random ones.\n"
        f"- The price is false negatives ({int(r['false_neg_total'])} → {int(c['false_neg_total'])} over all of KoProbe, "
        f"{int(one_r['false_neg_total'])} → {int(one_c['false_neg_total'])} within the {domain} pairs alone), which is why the card "
        "pairs clustered batches with GIST's guided masking. On a single-topic corpus random batches are already hard, "
        "and clustering there mostly adds risk."
    )
