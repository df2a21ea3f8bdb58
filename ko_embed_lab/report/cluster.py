"""Tested summaries of the cluster chapter: the sentences that draw its conclusions, chosen from the run's numbers.

Each function takes the tables the chapter computes (from :mod:`ko_embed_lab.cluster`) and returns
Markdown. Where a conclusion depends on the numbers, the function picks the sentence, and each
branch has a test with hand-made inputs. Comparisons of random and clustered batches are read
against the spread over seeds (:func:`ko_embed_lab.cluster.seed_verdict`): a difference counts only
when the ranges over seeds do not overlap; agreement with the domain labels is put into words by
stated thresholds against its chance level (:func:`nmi_words`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ._core import fmt

if TYPE_CHECKING:
    import pandas as pd

    from ..cluster import CardSetup, Pairs

__all__ = [
    "NMI_WORDS",
    "SAME_AS_SEED_NOISE",
    "batches_sentence",
    "card_setup_sentence",
    "clustered_on_sentence",
    "cost_sentence",
    "false_negatives_sentence",
    "k_sentence",
    "nmi_words",
    "pairs_sentence",
    "single_domain_sentence",
    "sweep_sentence",
    "takeaways",
    "truncation_caveat",
    "truncation_sentence",
    "verdict_phrase",
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
#: NMI with the domain labels, and the word for it: the largest threshold reached names it.
NMI_WORDS: tuple[tuple[float, str], ...] = ((0.7, "closely"), (0.4, "largely"), (0.2, "partly"))
#: An NMI within this much of its shuffled-cluster baseline is no better than chance.
CHANCE_MARGIN = 0.05


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
        "analogue of the card's 256 of 1024, but the bundled model was not built to be cut: what cutting "
        "costs it is measured below, and a Matryoshka model would be expected to lose less."
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
    gap = a_cd["ari_vs_full"] - seed_ari
    if gap > SAME_AS_SEED_NOISE:
        verdict = (
            "Truncation costs less agreement than a new seed does: the truncated clusters are closer to the "
            "full-dimension ones than two full-dimension seeds are to each other. "
        )
    elif gap >= -SAME_AS_SEED_NOISE:
        verdict = (
            "Truncation therefore costs about as much agreement as a new seed does: k-means on this data has "
            "no single best answer, and the truncated clustering is one of the many equally good ones. "
        )
    else:
        verdict = "Truncation costs more agreement than a new seed does: these clusters are not the same ones. "
    return (
        f"At {cd} dimensions the clusters agree with the full-dimension ones at ARI {fmt(a_cd['ari_vs_full'])} "
        f"(NMI {fmt(a_cd['nmi_vs_full'])}), while full-dimension k-means agrees with itself under another "
        f"seed at ARI {fmt(seed_ari)}. "
        + verdict
        + f"Against the domain labels, NMI is {fmt(a_cd['truth_nmi'])} at {cd} dimensions and "
        f"{fmt(a_full['truth_nmi'])} at full dimension."
    )


def _time_verdict(time_ratio: float, dim_ratio: float) -> str:
    """Whether the measured time ratio tracks the dimension ratio or stays near 1 (overheads)."""
    if not np.isfinite(time_ratio):
        return ""
    if time_ratio > (1 + dim_ratio) / 2:
        return (
            f"The time ratio ({time_ratio:.2f}) is closer to 1 than to the dimension ratio ({dim_ratio:.2f}): "
            "at this size fixed overheads decide, not the dimension. "
        )
    return (
        f"The time ratio ({time_ratio:.2f}) is closer to the dimension ratio ({dim_ratio:.2f}) than to 1: "
        "the work already scales with the dimension at this size. "
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
        f"dimensions and {1000 * t_full:.0f} ms at {full_dim} (one thread, median over seeds). "
        + _time_verdict(t_cd / t_full if t_full > 0 else float("nan"), cd / full_dim)
        + "At the card's scale the arithmetic decides: every "
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


def card_setup_sentence(
    setup: CardSetup, *, batch_sizes: Sequence[int], full_dim: int, cluster_dim: int, bundled: bool
) -> str:
    """The card's training set-up, quoted, and each way this chapter's set-up differs from it.

    Args:
        setup: :func:`ko_embed_lab.cluster.card_setup` of the card.
        batch_sizes: The batch sizes this chapter measures.
        full_dim: The loaded model's dimension.
        cluster_dim: The truncation used for clustering here.
        bundled: Whether the loaded model is the bundled one (not trained for truncation).

    Example:
        >>> card_setup_sentence(card_setup(), batch_sizes=[8, 64], full_dim=384, cluster_dim=256, bundled=True)[:30]
        '**The card, quoted.** On clust'
    """
    quotes = " and ".join(f"*“{c}”*" for c in setup.clustering) or "nothing further"
    text = f"**The card, quoted.** On clustering it says {quotes}. "
    if setup.loss_line:
        text += f"Its loss line reads *“{setup.loss_line}”*" + (
            ", and the parameters follow it. "
            if setup.loss_parameters_given
            else ", and no parameter follows: the guide model, temperature and margin are not stated. "
        )
    else:
        text += "It names no loss. "
    if setup.batch_sizes:
        listed = " and ".join(f"{b:,}" for b in dict.fromkeys(setup.batch_sizes))
        text += f"It lists `per_device_train_batch_size` as {listed}"
        text += f", with `batch_sampler` {setup.batch_sampler}. " if setup.batch_sampler else ". "
    lo, hi = min(batch_sizes), max(batch_sizes)
    cd = min(cluster_dim, full_dim)
    diffs = [
        f"batches of {lo}–{hi} pairs"
        + (
            f", {min(setup.batch_sizes) // hi:,} to {max(setup.batch_sizes) // lo:,} times smaller than the card's"
            if setup.batch_sizes
            else ""
        ),
        "a loss on query–passage logits only (CachedGISTEmbedLoss, like GISTEmbedLoss, also contrasts "
        "query–query and passage–passage pairs; those terms are dropped here)",
        "the guide is the model itself at full dimension, so before training it masks exactly the negatives "
        "that outrank the positive",
        f"clustering embeddings keep {cd} of {full_dim} dimensions of a model not trained for truncation, not "
        "the card's 256 of 1,024 of a Matryoshka-trained base"
        if bundled
        else f"clustering embeddings keep {cd} of {full_dim} dimensions (the card: 256 of 1,024)",
    ]
    return (
        text
        + "**Where this chapter differs:** "
        + "; ".join(f"({i}) {d}" for i, d in enumerate(diffs, 1))
        + ". The chapter measures what lands in a batch (batch composition); it trains nothing, so it cannot "
        "say whether clustered batches make a better model."
    )


def verdict_phrase(verdict: str) -> str:
    """Words for a :func:`~ko_embed_lab.cluster.seed_verdict`.

    Example:
        >>> verdict_phrase("within")
        'within the seed spread'
    """
    words = {
        "higher": "higher on every seed",
        "lower": "lower on every seed",
        "within": "within the seed spread",
    }
    if verdict not in words:
        raise ValueError(f"verdict={verdict!r}: use 'higher', 'lower' or 'within'")
    return words[verdict]


def _range(t: pd.Series, name: str, digits: int) -> str:
    return f"{t[f'{name} mean']:.{digits}f} ({t[f'{name} min']:.{digits}f}–{t[f'{name} max']:.{digits}f})"


def _move(t: pd.Series, digits: int = 3) -> str:
    return f"{_range(t, 'random', digits)} → {_range(t, 'clustered', digits)}, {verdict_phrase(t['verdict'])}"


def nmi_words(nmi: float, chance: float) -> str:
    """Describe an NMI with the domain labels by stated thresholds, against its chance level.

    ``nmi ≤ chance + CHANCE_MARGIN``: no better than chance; else the largest threshold of
    :data:`NMI_WORDS` it reaches (0.7 closely, 0.4 largely, 0.2 partly, below: hardly).

    Example:
        >>> nmi_words(0.598, 0.01)
        'follow the domains largely (NMI 0.598; 0.010 for shuffled clusters; thresholds 0.7 closely, 0.4 largely, 0.2 partly)'
    """
    scale = ", ".join(f"{t} {w}" for t, w in NMI_WORDS)
    tail = f"(NMI {fmt(nmi)}; {fmt(chance)} for shuffled clusters; thresholds {scale})"
    if nmi <= chance + CHANCE_MARGIN:
        return f"follow the domains no better than chance {tail}"
    word = next((w for t, w in NMI_WORDS if nmi >= t), "hardly")
    return f"follow the domains {word} {tail}"


def batches_sentence(table: pd.DataFrame, *, batch_size: int, k: int, domain_nmi: float, chance_nmi: float) -> str:
    """Random against clustered batches over seeds: each measure's range, and whether they differ beyond it.

    Args:
        table: :func:`~ko_embed_lab.cluster.seed_table` with rows ``neg_mean``, ``loss``,
            ``hard_neg_per_query``, ``single_cluster_share``, ``single_domain_share``.
        batch_size, k: The setting.
        domain_nmi: NMI of the clusters with the domain labels; chance_nmi: the same for shuffled clusters.

    Example:
        >>> batches_sentence(table, batch_size=8, k=8, domain_nmi=0.6, chance_nmi=0.01)[:24]
        'Over 5 seeds (each seed '
    """
    n = int(table["seeds"].min())
    neg, loss, hard = table.loc["neg_mean"], table.loc["loss"], table.loc["hard_neg_per_query"]
    text = (
        f"Over {n} seeds (each seed sets both the k-means fit and the batch formation), random → clustered "
        f"batches of {batch_size} with k = {k}, mean (range over seeds): the mean cosine of a query with its "
        f"in-batch negatives goes {_move(neg)}; the mean InfoNCE loss {_move(loss, 4)}; KoProbe's labelled hard "
        f"negatives per query {_move(hard)}. "
    )
    v = {neg["verdict"], loss["verdict"]}
    if v == {"higher"}:
        text += "On both the negatives' cosine and the loss, clustered batches are harder than random ones beyond the seed spread. "
    elif v == {"lower"}:
        text += "On both the negatives' cosine and the loss, clustered batches are easier than random ones beyond the seed spread. "
    elif "within" in v:
        within = [m for m, t in (("the negatives' cosine", neg), ("the loss", loss)) if t["verdict"] == "within"]
        text += f"On {' and '.join(within)} the seed spread covers the difference: at this setting the run cannot tell the two apart there. "
    else:
        text += "The negatives' cosine and the loss move in opposite directions beyond the seed spread. "
    sc, sd = table.loc["single_cluster_share", "clustered mean"], table.loc["single_domain_share", "clustered mean"]
    return text + (
        f"In clustered batches {sc:.0%} of the pairs sit in a batch of one cluster and {sd:.0%} in a batch of one "
        f"domain; the clusters {nmi_words(domain_nmi, chance_nmi)}."
    )


def false_negatives_sentence(table: pd.DataFrame, by_need: pd.DataFrame, per_seed: pd.DataFrame, pairs: Pairs) -> str:
    """False negatives over seeds, the needs they come from, what the guide masks and the loss with masking.

    Args:
        table: :func:`~ko_embed_lab.cluster.seed_table` with the row ``false_neg_total``.
        by_need: :func:`~ko_embed_lab.cluster.false_negatives_by_need` of the same reports.
        per_seed: :func:`~ko_embed_lab.cluster.seed_summaries` (``guide_masked_per_query``, ``loss_gist``).
        pairs: The pairs (with ``needs``), to count needs that have more than one positive.

    Example:
        >>> false_negatives_sentence(table, by_need, per_seed, pairs)[:20]
        '**False negatives.**'
    """
    fn = table.loc["false_neg_total"]
    text = (
        f"**False negatives.** Passages relevant to a query that sit in its batch as negatives, per seed over "
        f"{len(pairs)} pairs: {_move(fn, 1)}. "
    )
    parts = []
    for s in ("random", "clustered"):
        rows = by_need[by_need["strategy"] == s]
        if rows.empty:
            parts.append(f"none in {s} batches")
            continue
        needs = rows.groupby("need")["false_negatives"].sum().sort_values(ascending=False)
        share = needs.iloc[0] / needs.sum()
        parts.append(
            f"in {s} batches all {int(needs.sum())} (summed over seeds) come from one need, *{needs.index[0]}*"
            if len(needs) == 1
            else f"in {s} batches the {int(needs.sum())} (summed over seeds) come from {len(needs)} distinct needs, "
            f"{share:.0%} from the largest (*{needs.index[0]}*)"
        )
    text += "Counted per information need, " + "; ".join(parts) + ". "
    if pairs.needs is not None:
        pos: dict[str, set[str]] = {}
        for need, pid in zip(pairs.needs, pairs.passage_ids, strict=True):
            pos.setdefault(need, set()).add(pid)
        multi = sorted(nd for nd, ps in pos.items() if len(ps) > 1)
        text += f"{len(multi)} of the {len(pos)} needs here have more than one positive passage" + (
            f" ({', '.join(multi[:5])}{'…' if len(multi) > 5 else ''}). " if multi else ". "
        )
    g = per_seed.groupby("strategy")[["guide_masked_per_query", "loss_gist"]].mean()
    return text + (
        f"The guide would mask {g.loc['random', 'guide_masked_per_query']:.3f} negatives per query in random batches "
        f"and {g.loc['clustered', 'guide_masked_per_query']:.3f} in clustered ones (mean over seeds), and the loss "
        f"with masking (`loss_gist`) is {fmt(g.loc['random', 'loss_gist'], 4)} and {fmt(g.loc['clustered', 'loss_gist'], 4)}."
    )


def _count_verdicts(v: pd.DataFrame) -> str:
    n = len(v)
    lower = v[v["verdict"] == "lower"]
    where = ", ".join(f"B = {int(r.batch_size)}, k = {int(r.k)}" for r in lower.itertuples())
    return (
        f"higher beyond the seed spread in {int((v['verdict'] == 'higher').sum())} of {n} settings, lower in "
        f"{len(lower)}{f' ({where})' if len(lower) else ''} and within the spread in {int((v['verdict'] == 'within').sum())}"
    )


def sweep_sentence(sweep: pd.DataFrame) -> str:
    """What the batch size × k sweep shows, setting by setting against the seed spread, and where batches collapse.

    Args:
        sweep: ``cluster.batching_sweep`` (one row per strategy, batch size, k and seed).

    Example:
        >>> sweep_sentence(sweep)[:40]
        'Clustered against random, the mean loss '
    """
    from ..cluster import seed_verdict, sweep_verdicts

    loss_v, hard_v = sweep_verdicts(sweep, "loss"), sweep_verdicts(sweep, "hard_neg_per_query")
    text = (
        f"Clustered against random, the mean loss is {_count_verdicts(loss_v)}; labelled hard negatives per "
        f"query are {_count_verdicts(hard_v)}. "
    )
    mean = sweep.groupby(["strategy", "batch_size", "k"]).mean(numeric_only=True).reset_index()
    clustered = mean[mean["strategy"] == "clustered"]
    best = clustered.loc[clustered["hard_neg_per_query"].idxmax()]
    if best["hard_neg_per_query"] > 0:
        text += (
            f"The most labelled hard negatives per query come from batches of {int(best['batch_size'])} "
            f"with k = {int(best['k'])} ({best['hard_neg_per_query']:.3f}, mean over seeds). "
        )
    b_max = int(sweep["batch_size"].max())
    rand_big = sweep[(sweep["strategy"] == "random") & (sweep["batch_size"] == b_max)].drop_duplicates("seed")
    for r in clustered.sort_values(["batch_size", "k"]).itertuples():
        if r.batch_size >= b_max or rand_big["hard_neg_per_query"].mean() <= 0:
            break
        cell = sweep[(sweep["strategy"] == "clustered") & (sweep["batch_size"] == r.batch_size) & (sweep["k"] == r.k)]
        if seed_verdict(rand_big["hard_neg_per_query"], cell["hard_neg_per_query"]) == "higher":
            text += (
                f"Clustered batches of {int(r.batch_size)} (k = {int(r.k)}) hold more hard negatives per query than "
                f"random batches of {b_max} on every seed ({r.hard_neg_per_query:.3f} against "
                f"{rand_big['hard_neg_per_query'].mean():.3f}). "
            )
            break
    collapsed = clustered[clustered["single_cluster_share"] < COLLAPSED_SHARE]
    if len(collapsed):
        text += (
            f"In {len(collapsed)} of the {len(clustered)} clustered settings fewer than half of the pairs sit in a "
            "single-cluster batch: the clusters hold fewer distinct positives than a batch needs, their pairs are "
            "pooled, and the clustered batches become random ones."
        )
    return text


def k_sentence(k_table: pd.DataFrame, *, batch_size: int) -> str:
    """The silhouette's range and peak over k, and whether its best k leaves clusters smaller than a batch.

    Example:
        >>> k_sentence(k_table, batch_size=8)[:26]
        'The silhouette ranges from'
    """
    best_k = int(k_table["silhouette"].idxmax())
    blurred = k_table["silhouette"].max() < SEPARATED_SILHOUETTE
    smallest = int(k_table.loc[best_k, "smallest"])
    text = (
        f"The silhouette ranges from {k_table['silhouette'].min():.3f} to {k_table['silhouette'].max():.3f} "
        + ("(the passages do not fall into well-separated groups) " if blurred else "")
        + f"and is highest at k = {best_k}, where the smallest cluster holds {smallest} pairs"
    )
    if smallest < batch_size:
        return text + (
            f", fewer than a batch of {batch_size}: at the silhouette's k some clusters cannot fill a batch, so for "
            "batching k has to be chosen by what the batches need rather than by the silhouette."
        )
    return text + f", enough for a batch of {batch_size}."


def single_domain_sentence(
    domain_seeds: pd.DataFrame, all_seeds: pd.DataFrame, *, domain: str, k_sub: int, n_sub: int
) -> str:
    """Within one domain, random against clustered batches over seeds; and one domain's random batches against clustering over all.

    Args:
        domain_seeds: ``batching_sweep`` (or :func:`~ko_embed_lab.cluster.seed_summaries`) of the
            domain's pairs alone: ``strategy``, ``seed``, ``neg_mean``, ``hard_neg_per_query``, ``false_neg_total``.
        all_seeds: The same over all pairs.
        domain: The one domain; k_sub: clusters inside it; n_sub: its pairs.

    Example:
        >>> single_domain_sentence(domain_seeds, all_seeds, domain="law", k_sub=2, n_sub=80)[:30]
        'Within the *law* pairs alone ('
    """
    from ..cluster import seed_table, seed_verdict

    t = seed_table(domain_seeds, ("neg_mean", "hard_neg_per_query", "false_neg_total"))
    text = (
        f"Within the *{domain}* pairs alone ({n_sub} pairs, k = {k_sub}), random → clustered: negatives' cosine "
        f"{_move(t.loc['neg_mean'])}; labelled hard negatives per query {_move(t.loc['hard_neg_per_query'])}; false "
        f"negatives {_move(t.loc['false_neg_total'], 1)}. "
    )
    hard, fn = t.loc["hard_neg_per_query", "verdict"], t.loc["false_neg_total", "verdict"]
    if hard == "higher":
        text += "Clustering inside one domain still adds labelled hard negatives" + (
            ", and false negatives with them. "
            if fn == "higher"
            else " without more false negatives beyond the seed spread. "
        )
    elif fn == "higher":
        text += "Clustering inside one domain adds false negatives but no hard negatives beyond the seed spread. "
    else:
        text += (
            "Clustering inside one domain changes neither hard negatives nor false negatives beyond the seed spread. "
        )
    one_r = domain_seeds[domain_seeds["strategy"] == "random"].drop_duplicates("seed")["neg_mean"]
    all_c = all_seeds[all_seeds["strategy"] == "clustered"].drop_duplicates("seed")["neg_mean"]
    v = seed_verdict(all_c, one_r)
    words = {
        "higher": "closer than",
        "lower": "farther than",
        "within": "within the seed spread of",
    }[v]
    return text + (
        f"Random batches from {domain} alone meet negatives at mean cosine {one_r.mean():.3f}, {words} clustered "
        f"batches over all domains ({all_c.mean():.3f})."
    )


def takeaways(
    table: pd.DataFrame,
    sweep: pd.DataFrame,
    domain_seeds: pd.DataFrame,
    agreement: pd.DataFrame,
    *,
    by_need: pd.DataFrame,
    seed_ari: float,
    domain: str,
    batch_size: int,
    k: int,
    cluster_dim: int,
    full_dim: int,
) -> str:
    """The chapter's take-aways as a Markdown list, each chosen from the run's numbers and seed spread.

    Example:
        >>> takeaways(table, sweep, domain_seeds, agreement, by_need=by_need, seed_ari=0.6, domain="law",
        ...           batch_size=8, k=8, cluster_dim=256, full_dim=384)[:20]
        '- At batches of 8 wi'
    """
    from ..cluster import seed_table, sweep_verdicts

    loss, hard = table.loc["loss"], table.loc["hard_neg_per_query"]
    cd = min(cluster_dim, full_dim)
    a_cd = agreement.loc[cd]
    lv = sweep_verdicts(sweep, "loss")
    mean = sweep.groupby(["strategy", "batch_size", "k"]).mean(numeric_only=True).reset_index()
    collapsed = int((mean[mean["strategy"] == "clustered"]["single_cluster_share"] < COLLAPSED_SHARE).sum())
    fn_needs = by_need[by_need["strategy"] == "clustered"]["need"].nunique()
    t_dom = seed_table(domain_seeds, ("hard_neg_per_query", "false_neg_total"))
    lines = [
        f"At batches of {batch_size} with k = {k}, over {int(table['seeds'].min())} seeds, clustered against random: "
        f"mean loss {fmt(loss['random mean'], 4)} → {fmt(loss['clustered mean'], 4)} ({verdict_phrase(loss['verdict'])}), "
        f"labelled hard negatives per query {hard['random mean']:.3f} → {hard['clustered mean']:.3f} "
        f"({verdict_phrase(hard['verdict'])}).",
        f"Across the sweep of batch size and k, the clustered loss is {_count_verdicts(lv)}"
        + (
            f"; in {collapsed} of the {len(lv)} settings the clusters are too small for the batch and clustered "
            "batches become random ones."
            if collapsed
            else "."
        ),
        f"Clusters from embeddings truncated to {cd} dimensions agree with full-dimension ones at ARI "
        f"{fmt(a_cd['ari_vs_full'])}; two seeds at full dimension agree at {fmt(seed_ari)}.",
        f"False negatives in clustered batches: {table.loc['false_neg_total', 'clustered mean']:.1f} per seed on average "
        f"({table.loc['false_neg_total', 'random mean']:.1f} in random ones), from {fn_needs} distinct "
        f"need{'s' if fn_needs != 1 else ''}.",
        f"Within the {domain} pairs alone, clustering leaves hard negatives per query "
        f"{verdict_phrase(t_dom.loc['hard_neg_per_query', 'verdict'])} and false negatives "
        f"{verdict_phrase(t_dom.loc['false_neg_total', 'verdict'])}.",
        "All of this is batch composition, measured before any training step; whether clustered batches train a better "
        "model is not measured here.",
    ]
    return "\n".join(f"- {line}" for line in lines)
