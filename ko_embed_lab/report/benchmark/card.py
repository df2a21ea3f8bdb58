"""Tested summaries of the chapter's reading of the card's tables: average, size, fine-tune, tasks, long documents."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...benchmark.card import CARD_URL, LONG_TASK, average, ranking_agreement, ranks
from .._core import signed

if TYPE_CHECKING:
    import pandas as pd

    from ...benchmark.card import Reported

__all__ = [
    "card_table",
    "fine_tune",
    "leave_one_out",
    "long_vs_short",
    "model_size",
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
        "- A card's ranking table is reported data: keep it with its source, and check it — here the averages "
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
