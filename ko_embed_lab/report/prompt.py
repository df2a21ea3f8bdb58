"""Tested summaries of chapter 1 (the query prompt): each conclusion is chosen from the run's numbers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._core import ci_sentence, fmt, signed

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "card_example_sentence",
    "group_tests_sentence",
    "interval_excludes_zero",
    "paths_agree",
    "paths_sentence",
    "precision_sentence",
    "prompt_effect_sentence",
    "scale_finding",
    "takeaways",
]


def interval_excludes_zero(stats: Mapping[str, Any]) -> bool:
    """True when a bootstrap interval lies wholly above or below zero."""
    return bool(stats["low"] > 0 or stats["high"] < 0)


def card_example_sentence(with_prompt: pd.DataFrame, no_prompt: pd.DataFrame) -> str:
    """Whether each setting ranks each card query's own document first, and the smallest margin.

    Both frames are queries × documents with the i-th document answering the i-th query.
    """
    parts = []
    for name, m in (("with the prompt", with_prompt), ("without", no_prompt)):
        v = m.to_numpy()
        margins = [v[i, i] - max(v[i, j] for j in range(v.shape[1]) if j != i) for i in range(v.shape[0])]
        parts.append((name, min(margins)))
    right = [name for name, margin in parts if margin > 0]
    if len(right) == len(parts):
        head = "Both settings rank the right document first for both queries."
    elif right:
        head = f"Only the setting {right[0]} ranks the right document first for every query."
    else:
        head = "Neither setting ranks the right document first for every query."
    margins_txt = " and ".join(f"{fmt(m)} {name}" for name, m in parts)
    return (
        f"{head} The smallest margin between the right and the best wrong document is {margins_txt}. "
        "Two pairs cannot say more than that: the rest of the chapter uses the project's Korean evaluation set."
    )


def prompt_effect_sentence(overall: Mapping[str, Any]) -> str:
    """The overall effect of the prompt, and whether its interval tells it apart from noise."""
    verdict = (
        "The interval excludes zero: on this set the prompt makes a measurable difference."
        if interval_excludes_zero(overall)
        else "The interval includes zero: on this set the prompt's effect cannot be told apart from noise."
    )
    unit = "information needs" if overall.get("unit") == "cluster" else "queries"
    return f"Adding the query prompt changes NDCG@10 by {ci_sentence(overall)}, resampling {unit}. {verdict}"


def group_tests_sentence(table: pd.DataFrame, what: str) -> str:
    """Which groups' differences survive Holm's correction, out of how many tests.

    ``table`` is :func:`~ko_embed_lab.retrieval.compare_by_group` output (``sign_test_p``, ``p_holm``,
    ``significant``, ``mean_diff``).
    """
    n = len(table)
    if n == 0:
        return f"No {what} has enough queries for a test."
    raw = table.index[table["sign_test_p"] < 0.05].tolist()
    kept = table.index[table["significant"]].tolist()
    lead = (
        f"{n} tests, one per {what}, are read together, so their p-values are adjusted with Holm's method "
        "(the chance that any one of them is a false alarm stays at 5%)."
    )
    if kept:
        signs = ", ".join(f"{g} ({signed(table.loc[g, 'mean_diff'])})" for g in kept)
        tail = f" After the adjustment the difference holds for: {signs}."
    else:
        tail = f" After the adjustment no {what} shows a difference that can be told apart from noise."
    lost = [g for g in raw if g not in kept]
    if lost:
        tail += f" Unadjusted p < 0.05 but not after the adjustment: {', '.join(map(str, lost))}."
    return lead + tail


def scale_finding(summary: pd.DataFrame) -> dict[str, Any]:
    """Does the prompt move the score scale? Compare the shift of random passages with the ranking gap.

    ``summary`` is indexed by ``(setting, kind)`` with a ``mean`` column, settings ``"with prompt"`` /
    ``"no prompt"`` and kinds ``"relevant"``, ``"hard negative"``, ``"random"``. The shift counts as a
    move of the scale when it is at least half the smaller relevant-vs-hard-negative gap: then a
    threshold tuned in one setting would cut in another place of the ranking in the other.

    Returns:
        ``{"shift", "gap_with", "gap_without", "moves_scale", "sentence", "takeaway"}``.
    """
    mean = summary["mean"]
    shift = float(mean[("with prompt", "random")] - mean[("no prompt", "random")])
    gap_with = float(mean[("with prompt", "relevant")] - mean[("with prompt", "hard negative")])
    gap_without = float(mean[("no prompt", "relevant")] - mean[("no prompt", "hard negative")])
    moves = abs(shift) >= 0.5 * min(abs(gap_with), abs(gap_without))
    head = (
        f"With the prompt, random passages score {signed(shift)} on average compared with no prompt. "
        f"What matters for ranking is the gap between relevant passages and hard negatives: "
        f"{fmt(gap_with)} with the prompt, {fmt(gap_without)} without."
    )
    if moves:
        tail = (
            " The shift is at least half that gap: the prompt moves the whole scale, so a similarity "
            "threshold tuned in one setting cuts at another place in the other."
        )
        take = "For this model the prompt shifts the similarity scale: never reuse a score threshold across settings."
    else:
        tail = (
            " The shift is small next to that gap: for this model the prompt barely moves the scale, and a "
            "threshold tuned in one setting would land in about the same place in the other."
        )
        take = (
            "For this model the prompt barely moves the similarity scale; still check before reusing a "
            "threshold across settings or models."
        )
    return {
        "shift": shift,
        "gap_with": gap_with,
        "gap_without": gap_without,
        "moves_scale": bool(moves),
        "sentence": head + tail,
        "takeaway": take,
    }


def precision_sentence(cmp: Mapping[str, float], boot: Mapping[str, Any]) -> str:
    """fp32 against bf16: how close the embeddings are, and whether NDCG@10 changes measurably."""
    close = (
        f"Between fp32 and bf16 the document embeddings keep a median cosine of {cmp['median_cosine']:.5f} "
        f"(minimum {cmp['min_cosine']:.5f}); NDCG@10 moves by {signed(boot['mean_diff'], 4)} "
        f"(95% CI {signed(boot['low'], 4)} to {signed(boot['high'], 4)})."
    )
    if interval_excludes_zero(boot):
        return close + " The interval excludes zero: bf16 changes retrieval measurably on this set."
    return close + " The interval includes zero: no change in retrieval can be measured on this set."


def paths_agree(paths: Mapping[str, float], tol: float = 1e-4) -> bool:
    """True when two inference paths give the same embeddings to float precision (max |difference| < tol)."""
    return bool(paths["max_abs_diff"] < tol)


def paths_sentence(paths: Mapping[str, float]) -> str:
    """Whether the sentence-transformers and the transformers paths agree."""
    head = f"The largest difference between the two paths is {paths['max_abs_diff']:.1e} (minimum cosine {paths['min_cosine']:.6f})"
    if paths_agree(paths):
        return head + ": they agree to float precision."
    return head + ": they disagree — check the pooling (CLS or mean) and the prompt of both paths."


def takeaways(
    overall: Mapping[str, Any], scale: Mapping[str, Any], paths: Mapping[str, float], bf16: Mapping[str, Any]
) -> str:
    """The chapter's take-aways as a Markdown list, each chosen by the run's numbers."""
    prompt = (
        "On this set the prompt makes a measurable difference overall"
        if interval_excludes_zero(overall)
        else "On this set the prompt's overall effect cannot be told apart from noise"
    )
    precision = (
        "bf16 inference changed retrieval measurably here: check it for your model before switching"
        if interval_excludes_zero(bf16)
        else "bf16 inference changed no measurable retrieval quality here"
    )
    items = [
        f"{prompt}. Whether a query prompt helps is an empirical question per model and per query form: "
        "measure it paired, resampling whole information needs, correct for the number of tests, and look "
        "at the queries that flip.",
        str(scale["takeaway"]),
        (
            "The sentence-transformers and transformers paths agreed to float precision here"
            if paths_agree(paths)
            else "The sentence-transformers and transformers paths disagreed here"
        )
        + "; mismatched pooling (CLS vs mean) or prompts are the usual cause of a disagreement.",
        f"{precision}.",
    ]
    return "\n".join(f"- {t}" for t in items)
