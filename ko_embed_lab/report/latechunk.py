"""Tested summaries of chapter 3's second half: late chunking, contextual chunks, chunk size, window.

Like :mod:`.longdoc` (whose :class:`~ko_embed_lab.report.longdoc.Finding` they return), each
function chooses its sentence from the run's numbers; every branch is tested with hand-made inputs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..longdoc import STRATEGY_LABELS, compare_by_length, compare_strategies
from ._core import signed
from .longdoc import Finding, _ci, _where

if TYPE_CHECKING:
    import pandas as pd

    from ..models import EmbeddingModel

__all__ = ["chunk_cost_finding", "late_finding", "verdict", "whole_vs_late"]

#: Fine-tuning length of the target model: the length the chapter's question is about.
TRAINED = 1300

_SAY = {"better": "ahead", "worse": "behind", "level": "not distinguishable"}


def verdict(low: float, high: float) -> str:
    """``"better"`` when a 95% interval of b − a lies above 0, ``"worse"`` below, else ``"level"``.

    Example:
        >>> verdict(0.01, 0.2), verdict(-0.3, -0.1), verdict(-0.1, 0.1)
        ('better', 'worse', 'level')
    """
    return "better" if low > 0 else "worse" if high < 0 else "level"


def late_finding(
    grid: pd.DataFrame,
    natural: Mapping[str, Any],
    *,
    lengths: Sequence[int],
    clusters: Mapping[str, str],
    baseline: str = "max-chunk",
    rivals: Sequence[str] = ("late-chunk", "context-chunk"),
    seed: int = 0,
) -> Finding:
    """Late chunks and contextual chunks against plain chunks, on the haystacks and on KoLongQ.

    Haystacks: per needle position, paired over needles, averaged over ``lengths`` (those past the
    window). KoLongQ: NDCG@10 per query, paired, with whole documents resampled (``clusters``: the
    document of each query), since queries about one document are not independent.

    Returns:
        A Finding whose ``numbers["verdicts"]`` maps ``(rival, "haystack" position | "KoLongQ")`` to
        ``"better"``, ``"worse"`` or ``"level"`` (against ``baseline``); ``case`` lists them.
    """
    from ..retrieval import paired_bootstrap

    verdicts: dict[tuple[str, Any], str] = {}
    paras = []
    base = STRATEGY_LABELS[baseline]
    for rival in rivals:
        cmp = compare_strategies(grid, baseline, rival, lengths=lengths, seed=seed)
        parts = []
        for p, c in cmp.iterrows():
            v = verdict(c["low"], c["high"])
            verdicts[(rival, float(p))] = v  # type: ignore[arg-type]
            parts.append(f"{_where(float(p))} {signed(c['mean_diff'])} {_ci(c)} ({_SAY[v]})")  # type: ignore[arg-type]
        a = {q: s["ndcg@10"] for q, s in natural[baseline].per_query.items()}
        b = {q: s["ndcg@10"] for q, s in natural[rival].per_query.items()}
        r = paired_bootstrap(a, b, clusters=clusters, seed=seed)
        v = verdict(r["low"], r["high"])
        verdicts[(rival, "KoLongQ")] = v
        paras.append(
            f"**{STRATEGY_LABELS[rival]}** against {base}, NDCG@10 difference with its 95% interval: on the "
            f"haystacks of {', '.join(f'{n:,}' for n in lengths)} tokens, needle "
            + "; ".join(parts)
            + f". On KoLongQ {natural[rival].primary:.3f} against {natural[baseline].primary:.3f}, "
            f"{signed(r['mean_diff'])} [{r['low']:.3f}, {r['high']:.3f}] over {r['n_clusters']} documents "
            f"({_SAY[v]})."
        )
    case = "; ".join(f"{r} {k if isinstance(k, str) else _where(k)}: {v}" for (r, k), v in verdicts.items())
    late = [v for (r, _), v in verdicts.items() if r == "late-chunk"]
    if late and all(v == "better" for v in late):
        short = "late chunks beat plain chunks everywhere they were measured"
    elif late and "worse" not in late and "better" in late:
        short = "late chunks beat plain chunks in some settings and never lost"
    elif late and "better" not in late and "worse" in late:
        short = "late chunks lost to plain chunks in some settings and never won"
    elif late and set(late) == {"level"}:
        short = "late chunks and plain chunks could not be told apart"
    else:
        short = "late chunks won in some settings and lost in others"
    return Finding(case, "\n\n".join(paras), {"verdicts": verdicts}, f"For this model, {short}.")


def whole_vs_late(model: EmbeddingModel, grid: pd.DataFrame | None = None, *, seed: int = 0) -> Finding:
    """The 1,300-token question: from what length does late chunking beat embedding the whole document?

    Only a model whose window is longer than 1,300 tokens can embed a whole document of that length;
    for such a model the answer is read from the grid (``late-chunk`` − ``truncate`` per length,
    where ``truncate`` is the whole document up to the window). For a shorter window the function
    says what this build shows instead and how to get the other answer.

    Returns:
        A Finding with case ``"short window"`` or, for a long window, ``"whole wins throughout"``,
        ``"late wins throughout"`` or ``"crossover"`` (``numbers["crossover"]``: the first length at
        which the whole document is no longer ahead).
    """
    window = model.max_seq_length
    if window <= TRAINED or grid is None:
        text = (
            f"This build's model reads {window:,} tokens, so no document past {window:,} tokens is ever embedded "
            f"whole: the question of where embedding the whole document stops beating late chunking does not "
            f"arise for it. The truncation cliff above is its answer; late chunking here runs over overlapping "
            f"macro-windows of {window:,} tokens. Built with a model whose window passes {TRAINED:,} tokens (the "
            f"target model reads 8,192), this paragraph compares the two per length instead."
        )
        return Finding("short window", text, {"window": window})
    cmp = compare_by_length(grid[grid["length"] <= window], "truncate", "late-chunk", seed=seed)
    vs = {int(n): verdict(c["low"], c["high"]) for n, c in cmp.iterrows()}
    rows = "; ".join(
        f"{n:,} tokens: {signed(c['mean_diff'])} {_ci(c)}"  # type: ignore[arg-type]
        for n, c in cmp.iterrows()
    )
    not_behind = [n for n, v in vs.items() if v != "worse"]
    if not not_behind:
        case, cross = "whole wins throughout", None
        say = f"the whole document stays ahead of late chunking up to {max(vs):,} tokens, the longest tested"
    elif not_behind[0] == min(vs):
        case, cross = "late wins throughout", min(vs)
        say = f"the whole document is not ahead of late chunking at any length tested, from {min(vs):,} tokens"
    else:
        case, cross = "crossover", not_behind[0]
        say = f"the whole document is ahead of late chunking up to {max(n for n in vs if n < cross):,} tokens and no longer from {cross:,}"
    text = (
        f"For {model.label}, which reads {window:,} tokens, {say} (late chunks − whole document, NDCG@10 with "
        f"95% intervals over needles: {rows})."
    )
    return Finding(case, text, {"crossover": cross, "verdicts": vs})


def chunk_cost_finding(sweep: pd.DataFrame, *, metric: str = "ranked first") -> Finding:
    """The best chunk size of each strategy and what it stores per document.

    Args:
        sweep: One row per ``chunk tokens`` and ``strategy`` (label) with ``metric`` and
            ``vectors per document``.

    Returns:
        A Finding with ``numbers["best"]``: ``{strategy: (chunk tokens, value, vectors per document)}``;
        case ``"small chunks"`` when every strategy's best size is its smallest, ``"large chunks"`` when
        its largest, else ``"mixed"``.
    """
    best: dict[str, tuple[str, float, float]] = {}
    sizes = sorted(set(sweep["chunk tokens"]), key=int)
    where: list[str] = []
    for strategy, g in sweep.groupby("strategy", sort=False):
        g = g.assign(_n=g["chunk tokens"].astype(int)).sort_values("_n")
        top = g.loc[g[metric].idxmax()]  # the smallest size among ties: idxmax takes the first
        best[str(strategy)] = (str(top["chunk tokens"]), float(top[metric]), float(top["vectors per document"]))
        where.append(
            "small" if top["chunk tokens"] == sizes[0] else "large" if top["chunk tokens"] == sizes[-1] else "mid"
        )
    case = "small chunks" if set(where) == {"small"} else "large chunks" if set(where) == {"large"} else "mixed"
    parts = [
        f"{s}: {size} tokens ({metric} {v:.3f}, {per:.1f} vectors stored per document)"
        for s, (size, v, per) in best.items()
    ]
    lead = {
        "small chunks": "Every strategy did best with the smallest chunks tried",
        "large chunks": "Every strategy did best with the largest chunks tried",
        "mixed": "The best chunk size depends on the strategy",
    }[case]
    text = f"{lead} — " + "; ".join(parts) + ". Smaller chunks store proportionally more vectors per document."
    return Finding(case, text, {"best": best})
