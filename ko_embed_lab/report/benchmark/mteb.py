"""Tested summaries of the chapter's mteb parts: reproduced runs, mteb against the package's evaluator,
the MTEB(kor, v2) board, and a card's figures against mteb's official results."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._core import signed

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "card_vs_mteb",
    "mteb_agreement",
    "mteb_check_table",
    "mteb_difference",
    "mteb_kor_rank",
    "reproduced",
]


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


def _board_line(board: pd.DataFrame, focus: str, what: str) -> str:
    tasks = list(board.attrs.get("tasks", [c for c in board.columns if c not in ("n_tasks", "average", "rank")]))
    leader = str(board.index[0])
    if focus not in board.index:
        return (
            f"On {what} ({len(tasks)} tasks) `{focus}` is not ranked: it lacks some of them "
            f"({board.attrs.get('note', '')}); `{leader}` leads with {board['average'].iloc[0]:.3f}"
        )
    r = int(board.loc[focus, "rank"])
    per_task = board[tasks].rank(ascending=False, method="min")
    best = per_task.loc[focus].sort_values()
    top = [f"{t} ({int(best[t])})" for t in best.index if best[t] <= 3]
    low = best.index[-1]
    text = (
        f"On {what} ({len(tasks)} tasks, {len(board)} models that have all of them) `{focus}` ranks **{r} of "
        f"{len(board)}** with a mean main score of {board.loc[focus, 'average']:.3f}"
    )
    text += "" if r == 1 else f"; `{leader}` leads with {board['average'].iloc[0]:.3f}"
    text += (
        f". Its best places (rank within the task) are on {', '.join(top)}"
        if top
        else ". It is in the top three on none of them"
    )
    return text + f"; its lowest is {low} ({int(best[low])} of {len(board)})"


def mteb_kor_rank(retrieval: pd.DataFrame, every: pd.DataFrame, focus: str) -> str:
    """Where ``focus`` ranks on the MTEB(kor, v2) board, on retrieval and on every task type, and on what.

    Args:
        retrieval: :func:`~ko_embed_lab.data.mteb_kor_board` of the retrieval tasks.
        every: The same over every task type.
        focus: The model to place.
    """
    source = every.attrs.get("source", "mteb's results repository")
    return (
        _board_line(retrieval, focus, "the retrieval tasks")
        + ". "
        + _board_line(every, focus, "all task types")
        + f". Every figure here is reported, from {source}."
    )


def card_vs_mteb(table: pd.DataFrame, long_task: str = "MultiLongDocRetrieval") -> str:
    """How many of a card's figures agree with mteb's official results, and the main causes of the rest.

    Args:
        table: :func:`~ko_embed_lab.data.card_vs_mteb` (with ``subsets``, so that ``matching_part``
            names the split/subset of mteb's that equals the card's figure).
        long_task: The task whose split the card's figures turned out to match.
    """
    n = len(table)
    agree = int(table["agree"].sum())
    tol = table.attrs.get("tolerance", 0.001)
    head = (
        f"Of the **{n} figures** (model, task) that both the card and mteb's results repository give, for "
        f"{table['model'].nunique()} models, **{agree} agree** within {tol:g} NDCG@10"
    )
    if agree == n:
        return head + ": the card copies mteb's official runs."
    off = table[~table["agree"]]
    kind = off["likely_cause"].str.split(":").str[0]
    split = off[kind == "split/subset"]
    unknown = off[kind == "unknown"]
    other = off[~kind.isin(["split/subset", "unknown"])]
    text = (
        head
        + f" and {len(off)} differ (card − mteb from {signed(off['difference'].min(), 4)} to {signed(off['difference'].max(), 4)}). "
    )
    if len(split):
        matched = split[split["matching_part"] != ""]
        tasks = sorted(split["task"].unique())
        text += (
            f"{len(split)} differ because the card reports another split or subset than the benchmark averages "
            f"({', '.join(tasks)}); for {len(matched)} of them mteb's files hold the card's exact figure in one part. "
        )
        long_rows = table[table["task"] == long_task]
        if len(long_rows):
            dev = int(long_rows["matching_part"].str.startswith("dev/").sum())
            test = int(long_rows["matching_part"].str.startswith("test/").sum())
            text += (
                f"On {long_task} the card's figures equal mteb's **dev** split for {dev} of {len(long_rows)} models "
                f"(test: {test}), although the evaluation it cites reads the test split. "
            )
    if len(other):
        text += f"{len(other)} have a known cause on mteb's side ({'; '.join(sorted(set(other['likely_cause'])))}). "
    if len(unknown):
        big = unknown.loc[unknown["difference"].abs().idxmax()]
        text += (
            f"{len(unknown)} differ at the card's own split with no cause in the data (largest: "
            f"`{big['model']}` on {big['task']}, {signed(big['difference'], 4)}): a model revision, prompt or "
            "precision that the card does not state."
        )
    else:
        text += "Every difference has a cause in the data."
    return text
