"""Tested summaries of the benchmark chapter: the sentences that draw its conclusions, chosen from the run's numbers.

Each function takes the tables the chapter computes (the card's tables, a leaderboard's, an mteb
run) and returns Markdown; where the conclusion depends on the numbers (one model or several,
a leader that holds or changes, a fusion that helps or costs) the function chooses the sentence.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..benchmark.card import CARD_URL, LONG_TASK, average, ranking_agreement, ranks
from ..benchmark.leaderboard import BM25_SYSTEM, dense_system
from ._core import signed

if TYPE_CHECKING:
    import pandas as pd

    from ..benchmark.card import Reported

__all__ = [
    "card_table",
    "fine_tune",
    "fusion",
    "fusion_verdict",
    "leaderboard",
    "leave_one_out",
    "long_vs_short",
    "model_size",
    "mteb_agreement",
    "mteb_check_table",
    "mteb_difference",
    "reproduced",
    "skipped_models",
    "takeaways",
    "task_agreement",
]


def _missing_cells(scores: pd.DataFrame) -> list[tuple[str, str]]:
    """``(model, task)`` of every missing cell, in table order."""
    missing = scores.isna().stack()
    return list(missing[missing].index)


def card_table(rep: Reported, check: pd.DataFrame) -> str:
    """What the card's table holds, its missing cell, and how its average treats it.

    Args:
        rep: The card's tables (:func:`~ko_embed_lab.benchmark.load_reported`); needs a missing cell.
        check: :func:`~ko_embed_lab.benchmark.check_card_average` of ``rep``.

    Example:
        >>> card_table(load_reported(), check_card_average(load_reported()))[:40]  # doctest: +SKIP
        'The card reports NDCG@10 for **22 models'
    """
    n_models, n_tasks = rep.scores.shape
    missing = _missing_cells(rep.scores)
    gap_model, gap_task = missing[0]
    fewer = int((check["n_tasks"] < n_tasks).sum())
    text = (
        f"The card reports NDCG@10 for **{n_models} models on {n_tasks} tasks** and, separately, for "
        f"{len(rep.mldr)} of them on MultiLongDocRetrieval. The package ships both tables as data "
        f"(`ko_embed_lab/data/reported/`), each file headed by its source: the card at <{CARD_URL}>. "
        f"{len(missing)} cell is missing in the card (`{gap_model}` on {gap_task}) "
        "and stays missing here. Recomputing every model's average from the card's cells reproduces the card's "
        f"'Average' column to within {check['difference'].abs().max():.1e}: the card averages the tasks a model has, "
    )
    if fewer == 1:
        return (
            text
            + f"so `{gap_model}` is averaged over {int(check['n_tasks'].min())} tasks and every other model over {n_tasks}."
        )
    return text + f"so {fewer} models are averaged over fewer tasks than the others."


def model_size(table: pd.DataFrame, sizes: pd.DataFrame) -> str:
    """Whether size buys rank: the best billion-parameter model's rank against the top three's size.

    Args:
        table: :meth:`~ko_embed_lab.benchmark.Reported.table`.
        sizes: :func:`~ko_embed_lab.benchmark.model_sizes` of ``table`` (models of known size).
    """
    big = sizes[sizes["params_millions"] >= 1000]
    rank_avg = ranks(table["average (card)"])
    best_big = big.sort_values("average (card)", ascending=False).iloc[0]
    top = rank_avg[rank_avg <= 3].index
    no_size = sorted(set(table.index) - set(sizes["model"]))
    unknown = ", ".join(f"`{m}`" for m in no_size) if no_size else "none"
    lead = (
        "Size does not buy rank here"
        if int(rank_avg[best_big["model"]]) > 3
        else "A billion-parameter model is among the top three here"
    )
    return (
        f"{lead}: the best of the {len(big)} models with a billion parameters or more, "
        f"`{best_big['model']}` ({best_big['params_millions'] / 1000:.1f}B), ranks {int(rank_avg[best_big['model']])} of "
        f"{len(table)} by the card's average, while the top {int((rank_avg <= 3).sum())} all have about "
        f"{int(table.loc[top, 'params_millions'].median())}M parameters. "
        "Parameter counts come from the package's registry or from mteb's model registry "
        f"(`models.csv` says which); unknown for {unknown}."
    )


def _noise_parts(noise: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    beyond = noise[noise["beyond noise"]]
    return beyond[beyond["difference"] > 0], beyond[beyond["difference"] < 0], noise[~noise["beyond noise"]]


def _listed(part: pd.DataFrame) -> str:
    return ", ".join(f"**{t}** ({signed(v)})" for t, v in part["difference"].items())


def fine_tune(noise: pd.DataFrame, scores: pd.DataFrame, focus: str, base: str, sd: float, sd_source: str) -> str:
    """How many of the fine-tune's per-task differences from its base are beyond sampling noise.

    Args:
        noise: :func:`~ko_embed_lab.benchmark.difference_noise` of the pair (largest gain first).
        scores: The card's scores (for the average gain).
        focus: The fine-tuned model.
        base: Its base model.
        sd: The per-query SD of NDCG@10 the threshold assumes.
        sd_source: Where that SD comes from (a phrase).
    """
    up, down, within = _noise_parts(noise)
    n = len(noise)
    avg = average(scores)
    beyond = len(up) + len(down)
    text = (
        f"Against a noise threshold of 1.96 standard errors of a difference of two means (SE = SD·√(2/n), with "
        f"n each task's queries and SD = {sd:.3f}, {sd_source}), "
    )
    if beyond == 0:
        text += f"**none of the {n} differences** between `{focus}` and `{base}` is beyond noise. "
    else:
        text += f"**{beyond} of {n} differences** between `{focus}` and `{base}` are beyond noise: "
        text += f"raised on {_listed(up) if len(up) else 'none'}, lowered on {_listed(down) if len(down) else 'none'}. "
    if len(within):
        text += f"{len(within)} {'is' if len(within) == 1 else 'are'} within noise: {_listed(within)}. "
    bound = int(noise["beyond noise (bound)"].sum())
    text += (
        f"With the largest SD a score in [0, 1] can have (0.5, the binomial bound) {bound} of {n} would be beyond it. "
        f"The card's average moves by {signed(avg.loc[focus] - avg.loc[base])}. "
    )
    return text + (
        "The yardstick assumes the two rows were produced by identical set-ups (dataset revisions, code, precision) "
        "— assumed, not known: the card gives neither per-query scores nor its run settings — and it ignores the "
        "positive correlation of two models' scores on the same queries, which a paired test on the runs "
        "themselves would use."
    )


def task_agreement(corr: pd.DataFrame) -> str:
    """The pair of tasks that agree least on the models' order, and the task that agrees least with all.

    Args:
        corr: Task × task rank correlation (:func:`~ko_embed_lab.benchmark.task_correlation`).
    """
    import numpy as np

    pairs = corr.where(np.triu(np.ones(corr.shape, dtype=bool), k=1)).stack()
    low = pairs.idxmin()
    mean_corr = (corr.sum() - 1) / (len(corr) - 1)
    return (
        f"The weakest agreement is between **{low[0]}** and **{low[1]}** (ρ = {pairs.min():.2f}); "
        f"**{mean_corr.idxmin()}** agrees least with the others on average (mean ρ = {mean_corr.min():.2f}). "
        "Tasks that order models differently make the average depend on which of them are in it."
    )


def leave_one_out(loo: pd.DataFrame, rep: Reported, focus: str) -> str:
    """Whether the leader and the ``focus`` model hold when one task is left out, and what the missing cell does.

    Args:
        loo: :func:`~ko_embed_lab.benchmark.leave_one_task_out_summary` with ``focus=focus``.
        rep: The card's tables (its scores need a missing cell; its ``card_average`` is the card's).
        focus: The model whose rank ``loo`` reports.
    """
    leaders = list(loo["leader"].unique())
    focus_ranks = loo[f"rank of {focus}"]
    gap_model, gap_task = _missing_cells(rep.scores)[0]
    common = rep.scores.drop(columns=gap_task)
    card_rank = int(ranks(rep.card_average)[gap_model])
    fair_rank = int(ranks(average(common))[gap_model])
    below_share = (rep.scores[gap_task] < average(rep.scores)).drop(gap_model).mean()
    if leaders == [focus]:
        text = f"`{focus}` leads in all {len(loo)} variants. "
    else:
        if focus_ranks.min() == focus_ranks.max():
            focus_where = f"ranks {focus_ranks.min()} in every variant"
        else:
            focus_where = f"ranks between {focus_ranks.min()} and {focus_ranks.max()}"
        who = (
            f"always `{leaders[0]}`"
            if len(leaders) == 1
            else f"one of {len(leaders)} models ({', '.join(f'`{m}`' for m in leaders)})"
        )
        text = f"Across the {len(loo)} variants the leader is {who} and `{focus}` {focus_where}. "
    text += (
        "Below the top the order is less stable: "
        f"up to {loo['models changing rank'].max()} of {len(rep.scores)} models change rank, one by "
        f"{loo['largest rank change'].max()} places, when a single task is dropped (Kendall's τ with the full ranking "
        f"down to {loo['kendall tau vs all tasks'].min():.2f}). The missing cell is a second, quieter way the average "
        f"depends on its tasks: `{gap_model}` is averaged without {gap_task}, a task on which "
    )
    if below_share == 1:
        text += "every other model scores below its own average. "
    else:
        text += f"{below_share:.0%} of the other models score below their own average. "
    if card_rank == fair_rank:
        return text + (
            f"Here it makes no difference to its rank ({card_rank} either way, against the others on the same "
            f"{common.shape[1]} tasks), but such an average is not comparable by construction."
        )
    return (
        text
        + f"It ranks {card_rank} by the card's average but {fair_rank} against the others on the same {common.shape[1]} tasks."
    )


def long_vs_short(lvs: pd.DataFrame, focus: str, train_max_length: int, max_seq_length: int) -> str:
    """How the MLDR ranking compares with the short tasks', and where 512-token models land on MLDR.

    Args:
        lvs: :func:`~ko_embed_lab.benchmark.long_vs_short` of the card (best on MLDR first).
        focus: The card's model.
        train_max_length: Longest input ``focus`` was fine-tuned on.
        max_seq_length: Longest input ``focus`` reads.
    """
    agree = ranking_agreement(lvs["short average"], lvs[LONG_TASK])
    mldr_best = lvs.index[0]
    short_limit = lvs[lvs["max_tokens"] <= 514]
    n = agree["n"]
    how = "largely agree" if agree["kendall_tau"] >= 0.8 else "agree only partly"
    return (
        f"The two tables {how} on the order of the {n} models they share (Kendall's τ = "
        f"{agree['kendall_tau']:.2f}). Among them, `{focus}` is ranked {int(lvs.loc[focus, 'short rank'])} of {n} on "
        f"the short tasks and {int(lvs.loc[focus, 'MLDR rank'])} of {n} on MLDR; the best on MLDR, `{mldr_best}`, is "
        f"ranked {int(lvs.loc[mldr_best, 'short rank'])} of {n} on the short tasks. The card says `{focus}` was "
        f"fine-tuned on inputs of at most {train_max_length:,} tokens, although it reads up to {max_seq_length:,}. "
        f"None of the {len(short_limit)} models whose window is about 512 tokens ranks better than "
        f"{int(short_limit['MLDR rank'].min())} on MLDR: a model cannot find what it truncates away."
    )


def reproduced(comparison: pd.DataFrame | None, facts: pd.DataFrame, folder: str | Path) -> str:
    """What the mteb results cache holds for the card's tasks, and how far it is from the card.

    Args:
        comparison: :func:`~ko_embed_lab.benchmark.compare` of the reproduced results with the card's,
            or ``None`` when the cache holds none.
        facts: :func:`~ko_embed_lab.benchmark.task_facts` (for the sizes of the largest tasks).
        folder: The results cache that was read.
    """
    if comparison is None:
        big = facts[facts["documents"] > 1_000_000].index
        return (
            f"**No reproduced results in this build.** The mteb results cache at `{folder}` holds no results for the "
            f"card's tasks: this build ran without the Hugging Face hub, where the {len(facts)} datasets and "
            f"the models live. Run the command above on a machine with hub access (a GPU helps: {' and '.join(big)} "
            f"each search about {facts.loc[big, 'documents'].min() / 1e6:.1f} million passages), point `MTEB_RESULTS` "
            "(or `MTEB_CACHE`) at the results, and this section shows them next to the card's figures."
        )
    shown = comparison.dropna(subset=["reported"])
    text = f"Read {len(comparison)} reproduced results ({comparison['model'].nunique()} models) from `{folder}`. "
    if not len(shown):
        return text + "None of them is a model the card reports."
    return text + (
        f"Where the card has a figure ({len(shown)} of them), reproduced minus reported ranges from "
        f"{signed(shown['difference'].min(), 4)} to {signed(shown['difference'].max(), 4)} "
        f"(mean absolute difference {shown['difference'].abs().mean():.4f}). Small differences are expected from other "
        "hardware, precision (bf16 against fp32), library versions and dataset revisions; one query's worth of each "
        "task (table above) is the scale to judge them by."
    )


def mteb_check_table(ours: Any, via_mteb: Any, full_precision_key: str) -> pd.DataFrame:
    """NDCG@10 by the package's evaluator and by mteb (its rounded main score and its unrounded mean).

    Args:
        ours: A :class:`~ko_embed_lab.retrieval.RetrievalResult`.
        via_mteb: The :class:`~ko_embed_lab.benchmark.BenchmarkRun` of the same set.
        full_precision_key: The column of mteb's unrounded mean (``benchmark.FULL_PRECISION_KEY``).
    """
    import pandas as pd

    row = via_mteb.table.iloc[0]
    return pd.DataFrame(
        {
            "NDCG@10": {
                "ko-embed-lab evaluate_retrieval": ours.metrics["ndcg@10"],
                "mteb (its main score, rounded by mteb)": row["ndcg_at_10"],
                "mteb (mean of its per-query scores)": row[full_precision_key],
            }
        }
    )


def mteb_difference(ours: Any, via_mteb: Any, full_precision_key: str) -> float:
    """Absolute difference of mean NDCG@10, mteb's unrounded mean against the package's."""
    return float(abs(via_mteb.table.iloc[0][full_precision_key] - ours.metrics["ndcg@10"]))


def mteb_agreement(ours: Any, via_mteb: Any, data: Any, full_precision_key: str) -> str:
    """How closely mteb and the package's evaluator agree on one set, in the mean and per query.

    Args:
        ours: A :class:`~ko_embed_lab.retrieval.RetrievalResult` on ``data``.
        via_mteb: The :class:`~ko_embed_lab.benchmark.BenchmarkRun` on ``data``.
        data: The :class:`~ko_embed_lab.data.beir.RetrievalSet`.
        full_precision_key: The column of mteb's unrounded mean.
    """
    diff = mteb_difference(ours, via_mteb, full_precision_key)
    per_q = via_mteb.per_query.get(data.name, {})
    max_q = max((abs(per_q[q] - ours.per_query[q]["ndcg@10"]) for q in per_q), default=float("nan"))
    verdict = (
        "mteb's search and scoring and the package's agree, so numbers from either can be put side by side"
        if max(diff, max_q) < 1e-6
        else "**they disagree beyond that tolerance**: numbers from the two must not be put side by side until the "
        "cause is found"
    )
    return (
        f"On {len(data.queries)} queries and {len(data.corpus)} passages the two evaluators differ by "
        f"{diff:.1e} in mean NDCG@10 and by at most {max_q:.1e} on any single query (the test suite requires less than "
        f"1e-6): {verdict}. "
        "mteb stores its headline score rounded to five decimals; the KoProbe task also records the unrounded mean. "
        "The test suite checks the same with mteb's own sentence-transformers wrapper."
    )


def skipped_models(skipped: Mapping[str, str]) -> str:
    """Which models asked for could not be loaded for the leaderboard, and why (or that all loaded)."""
    if not skipped:
        return "Every model asked for loaded in this build; none is left out of the leaderboard."
    return "Models that could not be loaded in this build and are left out: " + "; ".join(
        f"`{m}` ({why})" for m, why in skipped.items()
    )


def _interval(r: Mapping[str, Any]) -> str:
    unit = f"{r['n_clusters']} needs" if r.get("n_clusters") else f"{r['n']} queries"
    return f"{signed(r['mean_diff'])} (95% interval {signed(r['low'])} to {signed(r['high'])}, {unit})"


def _groups(cmp: pd.DataFrame, sign: int) -> list[str]:
    if not len(cmp):
        return []
    hit = cmp[cmp["significant"] & (cmp["mean_diff"] * sign > 0) & (cmp["low"] * cmp["high"] > 0)]
    return [str(g) for g in hit.index]


def leaderboard(
    table: pd.DataFrame,
    bm25_by_form: pd.DataFrame,
    bm25_by_domain: pd.DataFrame,
    fusion_cmp: Mapping[str, Any],
    model: Any,
) -> str:
    """Who leads on KoProbe, where BM25 beats the model beyond noise, and what fusing the two does.

    Args:
        table: :meth:`~ko_embed_lab.benchmark.Leaderboard.table` (best first).
        bm25_by_form: :meth:`~ko_embed_lab.benchmark.Leaderboard.compare` of BM25 against the dense
            run (``compare(dense, BM25, by="form")``: cluster bootstrap by need, Holm across forms).
        bm25_by_domain: The same by domain.
        fusion_cmp: ``compare(dense, fusion)`` (one cluster-bootstrap comparison).
        model: The model on the board (its label and query prompt name its systems).
    """
    dense = dense_system(model)
    n = int(bm25_by_form["n"].sum())
    text = (
        f"On this build's KoProbe ({n} queries), **{table.index[0]}** leads with NDCG@10 "
        f"{table['ndcg@10'].iloc[0]:.3f}; BM25 over morphemes reaches {table.loc[BM25_SYSTEM, 'ndcg@10']:.3f}. "
        f"Compared query by query with `{dense}` (intervals resample whole needs; a group counts when its "
        "interval excludes zero and its Holm-adjusted sign test, across the groups read together, is below 0.05), "
        "BM25 is better on "
    )
    parts = []
    for what, cmp in (("query forms", bm25_by_form), ("domains", bm25_by_domain)):
        better, worse = _groups(cmp, +1), _groups(cmp, -1)
        within = len(cmp) - len(better) - len(worse)
        parts.append(
            f"{len(better)} of {len(cmp)} {what}{' (' + ', '.join(better) + ')' if better else ''}, worse on "
            f"{len(worse)}{' (' + ', '.join(worse) + ')' if worse else ''} and within noise on {within}"
        )
    text += "; and on ".join(parts) + ". "
    text += f"Reciprocal-rank fusion of the two changes NDCG@10 by {_interval(fusion_cmp)} against the dense run alone"
    if fusion_cmp["high"] < 0:
        return text + ": a cost beyond noise (the next section asks why)."
    if fusion_cmp["low"] > 0:
        return text + ": a gain beyond noise."
    return text + ": within noise."


def _setting(s: Mapping[str, Any]) -> str:
    w = s["weights"]
    if s["method"] == "wsum":
        return f"a weighted sum of min-max scores (dense {w[0]:g}, BM25 {w[1]:g})"
    return f"RRF with k = {s['k']:g} and weights dense {w[0]:g}, BM25 {w[1]:g}"


def fusion_verdict(test: Mapping[str, Mapping[str, Any]]) -> str:
    """One line: does a fusion tuned on held-out needs beat the dense run on the other needs?

    Args:
        test: :attr:`~ko_embed_lab.benchmark.FusionStudy.test` (``"tuned fusion"``, ``"default RRF"``).
    """
    tuned, default = test["tuned fusion"], test["default RRF"]
    if tuned["low"] > 0:
        head = f"Tuned on half the needs, fusion with BM25 beats the dense run on the other half: {_interval(tuned)}"
    elif tuned["high"] < 0:
        head = f"Even tuned on half the needs, fusion with BM25 costs on the other half: {_interval(tuned)}"
    else:
        head = (
            "Tuned on half the needs, fusion with BM25 is indistinguishable from the dense run on the other half: "
            f"{_interval(tuned)}"
        )
    if default["high"] < 0:
        return head + f"; default RRF costs {_interval(default)}."
    if default["low"] > 0:
        return head + f"; default RRF gains {_interval(default)}."
    return head + f"; default RRF is within noise, {_interval(default)}."


def fusion(study: Any) -> str:
    """Why the default RRF of the dense run with BM25 falls where it does, and what tuning changes.

    Args:
        study: A :class:`~ko_embed_lab.benchmark.FusionStudy`.
    """
    diag = study.diagnosis_by_form().loc["all"]
    text = (
        f"Both systems put one of the query's hard negatives in their top ten for {diag['shared']:.0%} of the "
        f"{int(diag['n'])} queries, and both rank one 2nd–5th for {diag['near_both']:.0%}. "
    )
    if diag["promoted"] >= diag["overtakes"]:
        text += (
            f"RRF lifts such a shared near-miss above every relevant passage for {diag['promoted']:.0%} of queries, "
            f"more often than it lets BM25 push a hard negative the dense run had ranked below the answer over it "
            f"({diag['overtakes']:.0%}): agreement on near-misses is what the fusion rewards, and what costs it. "
        )
    else:
        text += (
            f"But RRF lifts such a shared near-miss above every relevant passage for only {diag['promoted']:.0%} of "
            f"queries; far more often ({diag['overtakes']:.0%}) a hard negative that the dense run ranked below the "
            "answer ends above it, because BM25 ranks it high: with equal weights the weaker run outvotes the "
            "stronger one's order. Shared hard negatives are common, but they are not what the fusion loses on. "
        )
    text += (
        f"Choosing the fusion on {len(study.tune_needs)} needs (seeded split, seed {study.seed}) from "
        f"{len(study.grid)} settings picks {_setting(study.setting)}; the other {len(study.test_needs)} needs "
        "report it. "
    )
    return text + fusion_verdict(study.test)


def takeaways(
    check: pd.DataFrame, noise: pd.DataFrame, loo: pd.DataFrame, lvs: pd.DataFrame, mteb_diff: float, fusion: str
) -> str:
    """The chapter's take-aways, as a Markdown list chosen from its numbers.

    Args:
        check: :func:`~ko_embed_lab.benchmark.check_card_average`.
        noise: The fine-tune against its base with noise thresholds (as for :func:`fine_tune`).
        loo: :func:`~ko_embed_lab.benchmark.leave_one_task_out_summary`.
        lvs: :func:`~ko_embed_lab.benchmark.long_vs_short`.
        mteb_diff: :func:`mteb_difference`.
        fusion: :func:`fusion_verdict` of the fusion study (one line).
    """
    n_tasks = len(noise)
    fewer = int((check["n_tasks"] < n_tasks).sum())
    up, down, within = _noise_parts(noise)
    leaders = list(loo["leader"].unique())
    agree = ranking_agreement(lvs["short average"], lvs[LONG_TASK])
    if len(leaders) == 1:
        leader = (
            f"- The card's leader survives dropping any one task (`{leaders[0]}`); the middle of the table does not "
        )
    else:
        leader = f"- Even the leader depends on which tasks are averaged ({len(leaders)} different leaders); "
    lines = [
        "- A card's league table is reported data: keep it with its source, and check it — here the averages "
        f"recompute to within {check['difference'].abs().max():.0e}, but {fewer} of "
        f"{len(check)} models {'is' if fewer == 1 else 'are'} averaged over fewer tasks than the rest.",
        f"- Of the Korean fine-tune's {n_tasks} per-task differences from its base, {len(up) + len(down)} "
        f"{'is' if len(up) + len(down) == 1 else 'are'} beyond sampling noise ({len(up)} up, {len(down)} down) and {len(within)} within it, assuming identical set-ups: "
        "count differences against their standard error, not against what one query can move.",
        leader + f"(moves of up to {loo['largest rank change'].max()} places).",
        f"- Short-task and long-document rankings {'largely agree' if agree['kendall_tau'] >= 0.8 else 'agree only partly'} "
        f"(τ = {agree['kendall_tau']:.2f}): pick a model for the document lengths you have.",
        (
            f"- mteb and the package's evaluator agree on the same embeddings (difference {mteb_diff:.1e}), so "
            "reproduced mteb numbers and this book's own can be compared — and your own set can be run through mteb "
            "offline."
            if mteb_diff < 1e-6
            else f"- mteb and the package's evaluator differ on the same embeddings (difference {mteb_diff:.1e}): "
            "find out why before comparing their numbers."
        ),
        f"- {fusion}",
    ]
    return "\n".join(lines)
