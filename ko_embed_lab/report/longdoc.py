"""Tested summaries of the longdoc chapter: the sentences that draw its conclusions, chosen from the run's numbers.

Each function takes the chapter's results (DataFrames of :mod:`ko_embed_lab.longdoc`, ``{strategy:
RetrievalResult}``) and returns a :class:`Finding`: which case the numbers fall in, the numbers
behind it, the paragraph to show and, where the chapter's take-aways repeat it, a one-line version.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..longdoc import (
    STRATEGIES,
    STRATEGY_LABELS,
    chars_for_tokens,
    compare_strategies,
    content_window,
    grid_intervals,
    length_regime,
    reliable_length,
    time_orderings,
)
from ._core import signed

if TYPE_CHECKING:
    import pandas as pd

    from ..longdoc import HangulCoverage
    from ..models import EmbeddingModel

__all__ = [
    "Finding",
    "advice",
    "bm25_by_position",
    "chunk_size_finding",
    "cost_finding",
    "dilution_finding",
    "length_finding",
    "mldr_sentence",
    "natural_finding",
    "regime_finding",
    "syllable_finding",
    "takeaways",
    "window_sentence",
]


_WHERE = {0.0: "at the start", 0.5: "in the middle", 1.0: "at the end"}


def _where(position: float) -> str:
    return _WHERE.get(float(position), f"at {position:g}")


def _ci(row: Any, digits: int = 3) -> str:
    return f"[{row['low']:.{digits}f}, {row['high']:.{digits}f}]"


@dataclass(frozen=True)
class Finding:
    """A conclusion chosen from the numbers of a run.

    Attributes:
        case: Which branch the numbers fell in (e.g. ``"past the window"``).
        text: The paragraph (Markdown) that states it.
        numbers: The values the text quotes, by name.
        takeaway: A one-line version for the chapter's take-aways (``""`` if none).
    """

    case: str
    text: str
    numbers: dict[str, Any] = field(default_factory=dict)
    takeaway: str = ""


def length_finding(konlpy: pd.DataFrame, model: EmbeddingModel) -> Finding:
    """Characters per token on the konlpy texts, and how many of them exceed the model's window.

    Args:
        konlpy: :func:`~ko_embed_lab.longdoc.length_stats` of the konlpy documents.
        model: The model (its ``max_seq_length``).

    Example:
        >>> length_finding(stats, model).numbers["chars_1300"]  # doctest: +SKIP
        2533.1
    """
    cpt = konlpy["chars"].sum() / konlpy["tokens"].sum()
    cpt_ns = konlpy["chars_no_space"].sum() / konlpy["tokens"].sum()
    chars_1300 = chars_for_tokens(konlpy, 1300)
    chars_window = chars_for_tokens(konlpy, model.max_seq_length)
    n_over = int((konlpy["tokens"] > model.max_seq_length).sum())
    off = chars_1300 / 2500 - 1  # the card: 1,300 tokens are about 2,500 Korean characters
    verdict = "holds" if abs(off) <= 0.1 else ("overstates" if off < 0 else "understates")
    text = (
        f"On the konlpy texts one token covers {cpt:.2f} characters ({cpt_ns:.2f} without spaces), so 1,300 tokens "
        f"are about {chars_1300:,.0f} characters: the card's estimate of 2,500 {verdict} for Korean legal prose "
        f"({off:+.0%}; the XLM-R tokenizer, shared by the target and the bundled model). "
        f"The model of this build reads {model.max_seq_length:,} "
        f"tokens, about {chars_window:,.0f} characters; {n_over} of the {len(konlpy)} konlpy documents are longer, "
        f"the longest ({konlpy['tokens'].idxmax()}) {konlpy['tokens'].max():,} tokens."
    )
    numbers = {"chars_per_token": cpt, "chars_1300": chars_1300, "chars_window": chars_window, "n_over": n_over}
    numbers["card_offset"] = off
    return Finding("some longer than the window" if n_over else "all within the window", text, numbers)


def syllable_finding(coverage: HangulCoverage, usage: Mapping[str, Any]) -> Finding:
    """How many Hangul syllables become ``<unk>``, and how often real text uses them.

    Args:
        coverage: :func:`~ko_embed_lab.longdoc.hangul_coverage`.
        usage: :func:`~ko_embed_lab.longdoc.syllable_usage` of the texts.
    """
    sample = " ".join(coverage.unknown[:: max(1, coverage.n_unknown // 16)][:16])
    seen = ", ".join(f"{s} ({c})" for s, c in usage["top_unknown"][:8]) or "none"
    text = (
        f"**{coverage.n_unknown:,} of the 11,172 syllables ({coverage.share_unknown:.1%}) become `<unk>`**, for "
        f"example {sample}. "
        + ("They are rare ones: i" if usage["share_unknown"] < 0.001 else "They are not only rare ones: i")
        + f"n the {usage['hangul']:,} Hangul syllables of the texts and queries "
        f"above, {usage['unknown']:,} are unknown ({usage['share_unknown']:.3%}), {usage['distinct_unknown']} distinct "
        f"syllables out of {usage['distinct']:,} used; {usage['known_in_top']} of the {usage['top']} most frequent "
        f"syllables are known. Unknown syllables seen: {seen}. Names, slang and archaic spellings are where "
        "`<unk>` causes problems; a retrieval set built from them would need a check like this one."
    )
    numbers = {"share_unknown_syllables": coverage.share_unknown, "share_unknown_text": usage["share_unknown"]}
    return Finding("some unknown seen" if usage["unknown"] else "none seen", text, numbers)


def window_sentence(model: EmbeddingModel, chunk: int) -> Finding:
    """What the model's window holds, and what the default chunk size is."""
    window, reliable = content_window(model), reliable_length(model)
    fills = chunk == window
    text = (
        f"With this model the window holds {window} content tokens of a document (its {model.max_seq_length} tokens "
        f"minus `<s>`, `</s>` and the document prompt {model.document_prompt!r}); chunks are {chunk} tokens, "
        f"{'the whole window' if fills else f'the {reliable} tokens the model was fine-tuned on'}."
    )
    return Finding("chunk fills the window" if fills else "chunk fills the trained length", text, {"window": window})


def regime_finding(
    grid: pd.DataFrame, model: EmbeddingModel, *, lengths: Sequence[int], positions: Sequence[float], chunk: int
) -> Finding:
    """What the needle grid shows, by the longest length's regime (see :func:`~ko_embed_lab.longdoc.length_regime`).

    ``"past the window"``: the truncation cliff (the needle at the end is cut off); ``"past the
    trained length"``: every haystack fits the window, so what changes is reading text longer than the
    model was fine-tuned on; ``"within the trained length"``: nothing to see, raise the length.

    Args:
        grid: :func:`~ko_embed_lab.longdoc.needle_grid` output.
        model: The model (``max_seq_length`` and its trained length).
        lengths: The grid's lengths.
        positions: The grid's needle positions (the first and last are compared).
        chunk: Chunk size of the chunk strategies.

    Example:
        >>> f = regime_finding(grid, model, lengths=[256, 512, 1024], positions=(0.0, 1.0), chunk=508)
        >>> f.case, round(f.numbers["truncate_past_end"], 3)  # doctest: +SKIP
        ('past the window', 0.125)
    """
    window, reliable = model.max_seq_length, reliable_length(model)
    mean = grid.groupby(["strategy", "position", "length"])["ndcg@10"].mean()
    longest, p_start, p_end = max(lengths), min(positions), max(positions)
    case = length_regime(longest, model)
    if case == "past the window":
        inside = [n for n in lengths if n < window]
        past = [n for n in lengths if n > window]
        t_in_end = mean.loc[("truncate", p_end, inside)].mean()
        t_past_end = mean.loc[("truncate", p_end, past)].mean()
        t_past_start = mean.loc[("truncate", p_start, past)].mean()
        c_past_end = mean.loc[("max-chunk", p_end, past)].mean()
        lost = grid[(grid.strategy == "truncate") & (grid.length > window) & (grid.position == p_end)]
        n_docs = int(grid["n_docs"].iloc[0])
        chance = (n_docs + 1) / 2
        ci = grid_intervals(lost, by=("strategy",)).iloc[0]
        rk = grid_intervals(lost, metric="rank", by=("strategy",)).iloc[0]
        vs_chance = (
            "worse than chance"
            if rk["low"] > chance
            else "better than chance"
            if rk["high"] < chance
            else "what chance gives"
        )
        text = (
            f"**What you are looking at: the truncation cliff.** The model of this build reads {window} "
            f"tokens, and the grid goes to {longest:,}. With the needle at the end, the truncated whole-document "
            f"embedding scores NDCG@10 {t_in_end:.3f} on documents shorter than the window and {t_past_end:.3f} on "
            f"longer ones (95% interval over needles {_ci(ci)}): truncation kept the needle in "
            f"{lost['visible'].mean():.0%} of those, and the needle's haystack then ranks {rk['mean']:.1f} "
            f"{_ci(rk, 1)} on average among {n_docs}, where chance gives {chance:.1f}: {vs_chance}. With the "
            f"needle at the start the same strategy still scores {t_past_start:.3f} past the window: it is not the "
            f"length that hurts but what is cut off. The best chunk sees the whole document and scores "
            f"{c_past_end:.3f} with the needle at the end."
        )
        if reliable < window:
            text += f" The model was fine-tuned on at most {reliable:,} tokens; see the table below for that regime."
        takeaway = (
            f"- A fixed window loses whatever lies past it: with the needle at the end of documents longer than the "
            f"{window}-token window, the whole-document embedding scored NDCG@10 {t_past_end:.3f} "
            f"(with the needle first: {t_past_start:.3f}). Test with the needle in several places."
        )
        numbers = {
            "truncate_inside_end": t_in_end,
            "truncate_past_end": t_past_end,
            "truncate_past_start": t_past_start,
            "chunk_max_past_end": c_past_end,
            "kept_past_end": lost["visible"].mean(),
            "rank_past_end": lost["rank"].mean(),
            "rank_interval": (rk["low"], rk["high"]),
            "vs_chance": vs_chance,
            "n_docs": n_docs,
        }
    elif case == "past the trained length":
        within = [n for n in lengths if n <= reliable]
        past = [n for n in lengths if n > reliable]
        t_within = mean.loc[("truncate", slice(None), within)].mean()
        t_past = mean.loc[("truncate", slice(None), past)].mean()
        c_past = mean.loc[("max-chunk", slice(None), past)].mean()
        text = (
            f"**What you are looking at: the {reliable:,}-token effect.** Every haystack fits in the window of "
            f"{window:,} tokens, so nothing is cut off; what changes past {reliable:,} tokens is that the "
            f"model reads text longer than anything it was fine-tuned on. Averaged over needle positions, the "
            f"whole-document embedding scores NDCG@10 {t_within:.3f} up to {reliable:,} tokens and {t_past:.3f} "
            f"beyond; chunks of {chunk} tokens (best chunk) score {c_past:.3f} beyond."
        )
        takeaway = (
            f"- Past the {reliable:,} tokens it was fine-tuned on, the whole-document embedding scored NDCG@10 "
            f"{t_past:.3f}, against {t_within:.3f} below: "
            + (
                "long inputs that fit the window can still be read poorly."
                if t_past < t_within - 0.02
                else "no drop was measured on these haystacks; check on your own documents."
            )
        )
        numbers = {"truncate_within": t_within, "truncate_past": t_past, "chunk_max_past": c_past}
    else:
        text = (
            f"**All haystacks fit within the {reliable:,} tokens this model was trained on**: raise MAX_LENGTH to see "
            "what happens past its limits."
        )
        takeaway = "- The haystacks did not exceed this model's limits; rerun with a larger MAX_LENGTH."
        numbers = {}
    return Finding(case, text, numbers, takeaway)


def dilution_finding(grid: pd.DataFrame, *, position: float) -> Finding:
    """Whether one mean vector per document loses the needle as the document grows (needle at ``position``).

    The mean of the chunks *dilutes* when its NDCG@10 falls more than 0.02 further than the best
    chunk's between the shortest and the longest haystack.
    """
    mean = grid.groupby(["strategy", "position", "length"])["ndcg@10"].mean()
    dil = mean.loc[("mean-chunk", position)]
    mx = mean.loc[("max-chunk", position)]
    dilutes = bool(dil.iloc[0] - dil.iloc[-1] > mx.iloc[0] - mx.iloc[-1] + 0.02)
    text = (
        f"The mean of the chunk embeddings keeps every part of the document, but the needle's share of the average "
        f"shrinks as the document grows. With the needle at the start its NDCG@10 goes "
        f"from {dil.iloc[0]:.3f} at {dil.index[0]:,} tokens to {dil.iloc[-1]:.3f} at {dil.index[-1]:,}, while the best "
        f"chunk goes from {mx.iloc[0]:.3f} to {mx.iloc[-1]:.3f}. "
        + (
            "One vector per long document is a lossy summary, whatever window the model has."
            if dilutes
            else "On these haystacks the averaging cost little more than the best chunk."
        )
    )
    takeaway = (
        "- One vector per document dilutes a short relevant passage as the document grows: w" if dilutes else "- W"
    ) + (
        f"ith the needle first, the mean of the chunks went from {dil.iloc[0]:.3f} to {dil.iloc[-1]:.3f} NDCG@10 "
        f"between {dil.index[0]:,} and {dil.index[-1]:,} tokens, the best chunk from {mx.iloc[0]:.3f} to "
        f"{mx.iloc[-1]:.3f}."
    )
    numbers = {
        "mean_first": dil.iloc[0],
        "mean_last": dil.iloc[-1],
        "max_first": mx.iloc[0],
        "max_last": mx.iloc[-1],
        "first_length": dil.index[0],
        "last_length": dil.index[-1],
    }
    return Finding("dilutes" if dilutes else "little dilution", text, numbers, takeaway)


def natural_finding(evidence: pd.DataFrame, natural: Mapping[str, Any], *, window: int, n_docs: int) -> Finding:
    """Which strategy ranks KoLongQ's documents best, and how the answers past the window fare.

    Args:
        evidence: :func:`~ko_embed_lab.longdoc.evidence_ranks` (with ``rank: truncate``, ``max-chunk``,
            ``bm25``, ``fusion`` columns).
        natural: ``{strategy: RetrievalResult}`` (anything with ``.primary``) of all five strategies.
        window: Content tokens the truncation keeps.
        n_docs: Documents in the corpus.
    """
    late = evidence[~evidence["inside_window"]]
    first = {s: int((late[f"rank: {s}"] == 1).sum()) for s in natural}
    top = max(r.primary for r in natural.values())
    best_all = [s for s in natural if natural[s].primary >= top - 5e-4]  # ties at three decimals
    best_text = " and ".join(f"**{STRATEGY_LABELS[s]}**" for s in best_all)
    if len(late):
        detail = (
            f"{len(late)} of the {len(evidence)} queries have their answer past the first {window} tokens of the "
            f"document. For those, the right document comes first with truncation in {first['truncate']} cases, "
            f"with the best chunk in {first['max-chunk']}, with BM25 in {first['bm25']} and with fusion in "
            f"{first['fusion']}. "
        )
    else:
        detail = (
            f"Every answer lies within the first {window} tokens of its document, so truncation loses nothing here. "
        )
    gap = natural["max-chunk"].primary - natural["truncate"].primary
    text = (
        detail + f"Over all queries the best NDCG@10, {top:.3f}, goes to {best_text}; truncation scores "
        f"{natural['truncate'].primary:.3f}, the best chunk {natural['max-chunk'].primary:.3f} and BM25 "
        f"{natural['bm25'].primary:.3f}. "
        + (
            f"Among only {n_docs} documents the topic of a query often points to the right one even when "
            "the answer itself was cut off: the first page says what a bill is about."
            if gap < 0.01
            else f"Seeing the whole document is worth {signed(gap)} NDCG@10 over truncation here."
        )
    )
    takeaway = (
        f"- On real long Korean documents the best NDCG@10 here, {top:.3f}, went to "
        + " and ".join(STRATEGY_LABELS[s] for s in best_all)
        + f"; truncation scored {natural['truncate'].primary:.3f}. BM25 over morphemes "
        f"({natural['bm25'].primary:.3f}) needs no model and no window: measure it before any dense strategy."
    )
    numbers = {
        "top": top,
        "best": best_all,
        "n_late": len(late),
        "gap": gap,
        **{f"first: {s}": n for s, n in first.items()},
    }
    return Finding("chunks help" if gap >= 0.01 else "topic suffices", text, numbers, takeaway)


def bm25_by_position(grid: pd.DataFrame, model: EmbeddingModel) -> Finding:
    """BM25 against the best other strategy, per needle position, on the long haystacks.

    Long haystacks are those past ``min(window, trained length)`` (all lengths if none is). At each
    position the best other strategy is the one with the highest mean there; the paired bootstrap
    over needles (:func:`~ko_embed_lab.longdoc.compare_strategies`) says whether BM25 is
    ``"ahead"`` (interval above 0), ``"behind"`` (below 0) or ``"level"`` (the interval holds 0).

    Example:
        >>> bm25_by_position(grid, model).numbers["verdicts"]  # doctest: +SKIP
        {0.0: 'behind', 0.5: 'level', 1.0: 'ahead'}
    """
    limit = min(model.max_seq_length, reliable_length(model))
    lengths = [n for n in sorted(set(grid["length"])) if n > limit] or sorted(set(grid["length"]))
    others = [s for s in STRATEGIES if s != "bm25" and s in set(grid["strategy"])]
    means = grid[grid["length"].isin(lengths)].groupby(["position", "strategy"])["ndcg@10"].mean()
    verdicts: dict[float, str] = {}
    rivals: dict[float, str] = {}
    parts = []
    for p in sorted(set(grid["position"])):
        best = max(others, key=lambda s: (means.loc[(p, s)], -others.index(s)))
        c = compare_strategies(grid[grid["position"] == p], best, "bm25", lengths=lengths).loc[p]
        verdict = "ahead" if c["low"] > 0 else "behind" if c["high"] < 0 else "level"
        verdicts[float(p)], rivals[float(p)] = verdict, best
        say = {"ahead": "BM25 is ahead", "behind": "BM25 is behind", "level": "the needles cannot tell them apart"}
        parts.append(
            f"with the needle {_where(p)}, BM25 scores {c['b']:.3f} and the best other strategy, "
            f"{STRATEGY_LABELS[best]}, {c['a']:.3f} (difference {signed(c['mean_diff'])}, 95% interval "
            f"{_ci(c)} over {int(c['n'])} needles): {say[verdict]}"
        )
    text = f"On haystacks of {', '.join(f'{n:,}' for n in lengths)} tokens, " + "; ".join(parts) + "."
    case = "; ".join(f"{p:g}: {v}" for p, v in verdicts.items())
    short = ", ".join(f"{v} {_where(p)}" for p, v in verdicts.items())
    return Finding(case, text, {"verdicts": verdicts, "rivals": rivals, "lengths": lengths}, f"BM25 {short}")


def chunk_size_finding(
    first: Mapping[str, Mapping[str, float]], *, default: str, clusters: Mapping[str, str]
) -> Finding:
    """Which chunk size put the right document first most often, and whether it beats the default.

    Args:
        first: ``{chunk size: {query_id: 1.0 if its document ranked first else 0.0}}`` (best chunk).
        default: The default chunk size (a key of ``first``).
        clusters: Document of each query: the bootstrap resamples documents, not queries.

    Returns:
        Case ``"default is best"``, ``"smaller is better"`` (the interval of the difference lies above
        0) or ``"not distinguishable"``.
    """
    from ..retrieval import paired_bootstrap

    if default not in first:
        raise ValueError(f"default={default!r} is not one of the sizes {list(first)}")
    counts = {s: int(sum(v.values())) for s, v in first.items()}
    n = len(first[default])
    best = max(first, key=lambda s: (counts[s], s == default))
    listing = ", ".join(f"{s} tokens {counts[s]}/{len(first[s])}" for s in first)
    numbers: dict[str, Any] = {"best": best, "counts": counts, "n": n}
    if best == default:
        text = (
            f"No chunk size put the right document first more often than the default of {default} tokens ({listing})."
        )
        return Finding("default is best", text, numbers)
    r = paired_bootstrap(first[default], first[best], clusters=clusters, seed=0)
    numbers |= {"diff": r["mean_diff"], "low": r["low"], "high": r["high"]}
    case = "smaller is better" if r["low"] > 0 else "not distinguishable"
    text = (
        f"{best}-token chunks put the right document first for {counts[best]} of {n} queries, {default}-token chunks "
        f"for {counts[default]} ({listing}): a difference of {signed(r['mean_diff'], 3)} (95% interval {_ci(r)}, "
        f"resampling the {r['n_clusters']} documents; better on {r['wins']}, worse on {r['losses']}). "
        + (
            f"The {best}-token chunks are better here."
            if case == "smaller is better"
            else f"On {r['n_clusters']} documents that difference cannot be told from chance."
        )
    )
    return Finding(case, text, numbers)


def cost_finding(cost: pd.DataFrame, model: EmbeddingModel) -> Finding:
    """How time and memory grow with length (medians; an ordering only where the passes' ranges allow it)."""
    c = cost.set_index("length")
    lo, hi = c.index.min(), c.index.max()
    device = cost["device"].iloc[0]
    orders = time_orderings(cost)
    ratio = c.loc[hi, "seconds_median"] / c.loc[lo, "seconds_median"]
    supported = bool(c.loc[hi, "seconds"] > c.loc[lo, "seconds_max"])
    text = (
        f"Each length was timed {int(c['repeats'].min())} times (the table gives the fastest, median and slowest "
        f"pass). From {lo:,} to {hi:,} tokens ({hi / lo:.0f}× longer) the median pass takes {ratio:.1f}× longer on "
        f"`{device}`"
        + (
            " — every pass at the longer length was slower than every pass at the shorter one"
            if supported
            else " — but the passes' ranges overlap, so this machine's timings do not even order the two"
        )
        + f"; peak memory goes from {c.loc[lo, 'peak_mb']:.0f} MB to {c.loc[hi, 'peak_mb']:.0f} MB above the "
        "loaded model. "
    )
    noisy = [f"{a:,} and {b:,}" for a, b, v in orders if v != "slower"]
    if noisy:
        text += f"Between {' and between '.join(noisy)} tokens the ranges overlap or reverse: that ordering is noise. "
    win = max(n for n in c.index if n <= model.max_seq_length)
    if hi > win:
        k = hi / win
        chunks, whole = k * c.loc[win, "seconds_median"], c.loc[hi, "seconds_median"]
        clear = (
            k * c.loc[win, "seconds_max"] < c.loc[hi, "seconds"] or k * c.loc[win, "seconds"] > c.loc[hi, "seconds_max"]
        )
        text += (
            f"Embedding a {hi:,}-token document as {k:.0f} chunks of {win} tokens costs about {chunks:.3f} s (median), "
            f"against {whole:.3f} s for one pass over all of it"
            + ("." if clear else ", a difference within the spread of the passes.")
            + " "
        )
    if device == "cpu":
        text += "(CPU memory is the process's resident memory, sampled: a rough figure.) "
    text += "The project's GPU check of the target architecture covers lengths up to 8,192 tokens."
    case = ("past the window" if hi > win else "within the window") + ("" if supported else "; noisy")
    return Finding(case, text, {"time_ratio": ratio, "length_ratio": hi / lo, "supported": supported, "orders": orders})


def advice(
    *,
    chunk_size: Finding,
    bm25: Finding,
    natural: Mapping[str, Any],
    grid: pd.DataFrame,
    cost: pd.DataFrame,
    model: EmbeddingModel,
    chunk: int,
) -> Finding:
    """The chapter's practical advice, each point chosen from the measurements.

    Point 3 says "do not skip BM25" when BM25 was at least as good as every strategy on KoLongQ and
    behind at no needle position (:func:`bm25_by_position`), else "add BM25 when queries name
    things"; point 4 says whether the median time grew more than, about, or less than proportionally
    to length (±15%), or that the timings cannot say (the passes' ranges overlap).

    Args:
        chunk_size: :func:`chunk_size_finding`.
        bm25: :func:`bm25_by_position`.
        natural: ``{strategy: RetrievalResult}`` on KoLongQ at the default chunk size.
        grid: :func:`~ko_embed_lab.longdoc.needle_grid` output.
        cost: :func:`~ko_embed_lab.longdoc.measure_cost` output.
        model: The model.
        chunk: The default chunk size.
    """
    reliable = reliable_length(model)
    fusion_gain = natural["fusion"].primary - natural["max-chunk"].primary
    past = grid[grid["length"] > min(model.max_seq_length, reliable)]
    hay = (past if len(past) else grid).groupby("strategy")["ndcg@10"].mean()
    hay_gain = hay["fusion"] - hay["max-chunk"]
    top = max(r.primary for r in natural.values())
    bm25_leads = bool(natural["bm25"].primary >= top - 5e-4 and "behind" not in bm25.numbers["verdicts"].values())
    if bm25_leads:
        bm25_text = (
            f"3. **Do not skip BM25.** With this model, BM25 over morphemes alone was at least as good as every "
            f"strategy on KoLongQ ({natural['bm25'].primary:.3f}) and behind at no needle position on the long "
            f"haystacks ({bm25.takeaway}); fusion added {signed(fusion_gain)} and {signed(hay_gain)} to the best "
            "chunk. Queries that name things (article numbers, laws, amounts) favour exact matching; a lexical "
            "baseline is the first thing to beat.\n"
        )
    else:
        bm25_text = (
            f"3. **Add BM25 when queries name things** (article numbers, laws, amounts): on the long haystacks "
            f"{bm25.takeaway}; fusing it with the best chunk changed NDCG@10 by {signed(fusion_gain)} on KoLongQ and "
            f"by {signed(hay_gain)} on the haystacks; BM25 alone scored {natural['bm25'].primary:.3f} on KoLongQ, "
            "with no model and no length limit.\n"
        )
    c = cost.set_index("length")
    ratio_len = c.index.max() / c.index.min()
    ratio_time = c["seconds_median"].iloc[-1] / c["seconds_median"].iloc[0]
    if not bool(c["seconds"].iloc[-1] > c["seconds_max"].iloc[0]):
        growth, growth_text = (
            "noisy",
            ", but the passes' ranges overlap: measure on a quieter machine before budgeting.",
        )
    elif ratio_time > 1.15 * ratio_len:
        growth, growth_text = "more than proportional", ", more than proportionally: attention is quadratic in length."
    elif ratio_time >= 0.85 * ratio_len:
        growth = "proportional"
        growth_text = ", about proportionally: at these lengths the quadratic attention is a small share of the work."
    else:
        growth = "less than proportional"
        growth_text = ", less than proportionally: fixed costs per pass weigh on short inputs."
    text = (
        "Derived from the measurements above, for this model:\n\n"
        f"1. **Do not rely on the window for long documents.** Past {min(model.max_seq_length, reliable):,} tokens "
        f"the whole-document embedding scores NDCG@10 {hay['truncate']:.3f} on the haystacks, the best chunk "
        f"{hay['max-chunk']:.3f}, the mean of chunks {hay['mean-chunk']:.3f}.\n"
        f"2. **Index chunks.** On the long haystacks, where the answer is one passage among many, the best chunk "
        f"scored {hay['max-chunk']:.3f} and the mean of the chunks {hay['mean-chunk']:.3f}; on KoLongQ, at {chunk} "
        f"tokens, {natural['max-chunk'].primary:.3f} and {natural['mean-chunk'].primary:.3f}. {chunk_size.text} "
        f"Keep chunks at or below the length the model was trained on ({reliable:,} tokens for this model); overlap "
        "them when answers may straddle a boundary.\n"
        + bm25_text
        + f"4. **Budget for length.** Chunking makes the cost of a document proportional to its length; one pass over "
        f"{ratio_len:.0f}× more tokens took {ratio_time:.1f}× the median time here" + growth_text
    )
    case = f"{'bm25 leads' if bm25_leads else 'add bm25'}; {growth}"
    numbers = {"fusion_gain": fusion_gain, "hay_gain": hay_gain, "time_ratio": ratio_time}
    return Finding(case, text, numbers)


def mldr_sentence(card: pd.DataFrame, reported: pd.DataFrame, *, bm25: str = "mteb/baseline-bm25s") -> Finding:
    """The published MLDR-ko figures, each with its source, and whether BM25 beats the card's dense models.

    Args:
        card: The card's MLDR table (``ko_embed_lab/data/reported/card_mldr.csv``: ``model``,
            ``MultiLongDocRetrieval``).
        reported: mteb's per-split figures (``ko_embed_lab/data/longdoc/mldr_ko_reported.csv``:
            ``model``, ``split``, ``ndcg_at_10``, ``file``).
        bm25: The BM25 row of ``reported``.
    """
    mean = reported.groupby("model")["ndcg_at_10"].mean()
    splits = reported.groupby("model")["split"].apply(lambda s: " and ".join(sorted(s)))
    top = card.sort_values("MultiLongDocRetrieval", ascending=False).iloc[0]
    beats = bool(mean[bm25] > top["MultiLongDocRetrieval"])
    others = [m for m in mean.index if m != bm25]
    text = (
        f"mteb's results repository (`embeddings-benchmark/results`) gives BM25 (`{bm25}`) NDCG@10 {mean[bm25]:.4f} "
        f"on the Korean part of MLDR (mean of its {splits[bm25]} splits) and "
        + ", ".join(f"`{m}` {mean[m]:.4f}" for m in others)
        + f" (file `{reported.loc[reported['model'] == others[0], 'file'].iloc[0]}`; the commits are in "
        "`ko_embed_lab/data/longdoc/mldr_ko_reported.csv`). "
        + (
            f"That BM25 figure is above every dense model of the card's table, whose best is `{top['model']}` "
            f"({top['MultiLongDocRetrieval']:.4f})"
            if beats
            else f"The card's table has a dense model above that BM25 figure: `{top['model']}` "
            f"({top['MultiLongDocRetrieval']:.4f})"
        )
        + ", though the card does not say which split it reports."
    )
    return Finding("bm25 above the card" if beats else "a dense model above bm25", text, {"bm25": mean[bm25]})


def takeaways(
    length: Finding, syllables: Finding, regime: Finding, dilution: Finding, natural: Finding, bm25: Finding
) -> str:
    """The chapter's take-aways (Markdown list), from the findings above."""
    return (
        f"- 1,300 tokens of Korean legal text are about {length.numbers['chars_1300']:,.0f} characters with this "
        f"tokenizer; {syllables.numbers['share_unknown_syllables']:.0%} of all Hangul syllables are `<unk>` to it, "
        f"but they make up {syllables.numbers['share_unknown_text']:.3%} of real text.\n"
        + regime.takeaway
        + "\n"
        + dilution.takeaway
        + "\n"
        + natural.takeaway
        + f"\n- On the long haystacks, against the best other strategy: {bm25.takeaway} (paired bootstrap over "
        "needles). Decide per position, not on the average."
    )
