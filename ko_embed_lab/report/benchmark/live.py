"""Tested summaries of the chapter's live part: the leaderboard of :func:`~ko_embed_lab.compare` on KoProbe,
encoding speed, the static model's finding, and the fusion study."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._core import signed

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "fusion",
    "fusion_verdict",
    "leaderboard",
    "skipped_models",
    "speed",
    "static_finding",
]


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


def _verdict(c: Mapping[str, Any]) -> str:
    if c["low"] > 0:
        return "better"
    if c["high"] < 0:
        return "worse"
    return "within noise"


def _groups(tests: pd.DataFrame, sign: int) -> list[str]:
    """Groups where the system differs from the baseline in direction ``sign``: interval off zero and Holm p < 0.05."""
    if not len(tests):
        return []
    hit = tests[tests["significant"] & (tests["mean_diff"] * sign > 0) & (tests["low"] * tests["high"] > 0)]
    return [str(g) for g in hit.index]


def _group_line(cmp: Any, system: str, label: str, what: str) -> str:
    tests = cmp.group_tests.get(label)
    if tests is None or system not in tests.index.get_level_values("system"):
        return f"no {what} breakdown"
    t = tests.xs(system, level="system")
    better, worse = _groups(t, +1), _groups(t, -1)
    within = len(t) - len(better) - len(worse)
    return (
        f"better on {len(better)} of {len(t)} {what}{' (' + ', '.join(better) + ')' if better else ''}, worse on "
        f"{len(worse)}{' (' + ', '.join(worse) + ')' if worse else ''} and within noise on {within}"
    )


def leaderboard(cmp: Any, bm25: str = "bm25", fused: str | None = None) -> str:
    """Who leads the live leaderboard, how every system stands against the first, where BM25 differs, and fusion.

    Args:
        cmp: A :class:`~ko_embed_lab.retrieval.compare.Comparison` whose first system is the book's
            model, with group tests by ``form`` and ``domain`` (KoProbe).
        bm25: The BM25 system's name.
        fused: The fusion of the first system with BM25 (``None``: ``rrf:<first>+bm25``).
    """
    frame = cmp.frame()
    base = cmp.baseline
    fused = fused or f"rrf:{base}+bm25"
    n = len(cmp.results[base].per_query)
    leader = str(frame.index[0])
    text = f"On this build's KoProbe ({n} queries), **`{leader}`** leads with NDCG@10 {frame['ndcg@10'].iloc[0]:.3f}"
    text += "." if leader == base else f", ahead of the book's model `{base}` ({frame.loc[base, 'ndcg@10']:.3f})."
    groups: dict[str, list[str]] = {"better": [], "worse": [], "within noise": []}
    for name in frame.index:
        if name != base:
            groups[_verdict(cmp.comparisons[name])].append(f"`{name}` ({signed(cmp.comparisons[name]['mean_diff'])})")
    parts = [
        f"{k} beyond noise: {', '.join(v)}" if k != "within noise" else f"within noise: {', '.join(v)}"
        for k, v in groups.items()
        if v
    ]
    text += (
        f" Against `{base}`, query by query (95% intervals that resample whole information needs), the other "
        f"systems are {'; '.join(parts)}."
    )
    if bm25 in cmp.results and bm25 != base:
        text += (
            f" Within query forms and domains (Holm-adjusted sign tests, interval off zero), BM25 is "
            f"{_group_line(cmp, bm25, 'form', 'query forms')}; and "
            f"{_group_line(cmp, bm25, 'domain', 'domains')}."
        )
    if fused in cmp.comparisons:
        c = cmp.comparisons[fused]
        text += f" Reciprocal-rank fusion with BM25 changes NDCG@10 by {_interval(c)} against `{base}` alone"
        verdict = _verdict(c)
        text += {
            "worse": ": a cost beyond noise (the next section asks why).",
            "better": ": a gain beyond noise.",
            "within noise": ": within noise.",
        }[verdict]
    return text


def speed(table: pd.DataFrame, cmp: Any, fast: str, slow: str) -> str:
    """How much faster the fastest encoder is than the transformer, and what it costs in quality.

    Args:
        table: :func:`~ko_embed_lab.benchmark.encoding_speed` (index: system names of ``cmp``).
        cmp: The comparison whose NDCG@10 the encoders are judged by (first system = ``slow``, or
            any system with a paired test against it).
        fast: The encoder to describe (e.g. the static model).
        slow: The encoder it is set against (e.g. its teacher).
    """
    ratio = table.loc[fast, "tokens/s"] / table.loc[slow, "tokens/s"]
    q_fast, q_slow = cmp.results[fast].metrics["ndcg@10"], cmp.results[slow].metrics["ndcg@10"]
    text = (
        f"On the same {int(table.loc[fast, 'texts'])} passages, `{fast}` encodes {table.loc[fast, 'tokens/s']:,.0f} "
        f"tokens/s against {table.loc[slow, 'tokens/s']:,.0f} for `{slow}`: "
    )
    text += f"{ratio:,.0f} times as many" if ratio >= 1.5 else ("about as many" if ratio > 1 / 1.5 else "fewer")
    text += f" (characters/s, which does not depend on the tokenizer: {table.loc[fast, 'chars/s'] / table.loc[slow, 'chars/s']:,.1f}×). "
    c = cmp.comparisons.get(fast) if cmp.baseline == slow else None
    if c is None:
        return text + (
            f"Its NDCG@10 is {q_fast:.3f} against {q_slow:.3f} (no paired test: `{slow}` is not the comparison's "
            "first system)."
        )
    if c["high"] < 0:
        return text + (
            f"The price is quality: NDCG@10 {q_fast:.3f} against {q_slow:.3f}, a loss of {_interval(c)}, far beyond noise."
            if q_slow - q_fast > 0.1
            else f"It costs NDCG@10 {q_fast:.3f} against {q_slow:.3f}, a loss of {_interval(c)}, beyond noise."
        )
    return text + f"Its NDCG@10 ({q_fast:.3f} against {q_slow:.3f}) is not worse beyond noise: speed comes free here."


def static_finding(diag: Mapping[str, Any], teacher_ndcg: float) -> str:
    """What explains the static model's NDCG@10, from :func:`~ko_embed_lab.benchmark.static_diagnosis`.

    Args:
        diag: The diagnosis (``ndcg``, ``ndcg_no_prompt``, ``truncated``, ``n_docs``, ``max_tokens``,
            ``max_seq_length``, ``toy_correct``, ``toy_n``, ``teacher_toy_correct``, ``lexical_ndcg``,
            ``idf_ndcg``).
        teacher_ndcg: The teacher's NDCG@10 on the same set.
    """
    nd = diag["ndcg"]
    if nd >= 0.8 * teacher_ndcg:
        return (
            f"The static model keeps most of its teacher's quality here (NDCG@10 {nd:.3f} against {teacher_ndcg:.3f}): "
            "nothing to explain."
        )
    text = f"The static model stays far below its teacher (NDCG@10 {nd:.3f} against {teacher_ndcg:.3f}). Checked one by one: "
    checks = []
    gain = diag["ndcg_no_prompt"] - nd
    checks.append(
        f"the prompt is part of it (without prompts NDCG@10 is {diag['ndcg_no_prompt']:.3f})"
        if gain > 0.05
        else f"not the prompt (without prompts {diag['ndcg_no_prompt']:.3f})"
    )
    share = diag["truncated"] / max(diag["n_docs"], 1)
    checks.append(
        f"truncation is part of it ({diag['truncated']} of {diag['n_docs']} passages reach the "
        f"{diag['max_seq_length']}-token limit)"
        if share > 0.1
        else f"not truncation (the longest passage has {diag['max_tokens']} tokens, the limit is {diag['max_seq_length']})"
    )
    checks.append(
        f"its vectors rank {diag['toy_correct']} of {diag['toy_n']} simple Korean query–sentence pairs right "
        f"(the teacher {diag['teacher_toy_correct']})"
    )
    text += "; ".join(checks) + ". "
    lex = diag["lexical_ndcg"]
    if lex - nd > 0.2:
        return text + (
            f"The information is in its tokens: TF-IDF over the very same tokens reaches NDCG@10 {lex:.3f}, and "
            f"weighting its vectors by the tokens' IDF on this corpus lifts it to {diag['idf_ndcg']:.3f}. What is "
            "lost is lost in the vectors: each token was embedded alone, without context, and about 250,000 "
            "token identities share 256 dimensions, so passages on different subjects average to similar vectors — "
            "and KoProbe's hard negatives share the answer's subject."
        )
    return text + (
        f"TF-IDF over the same tokens does no better ({lex:.3f}): the tokenizer itself loses what the teacher's "
        "context recovers; the cause is not found by these checks."
    )
