"""The longdoc chapter's conclusions: every branch of report.longdoc, on hand-made numbers."""

from __future__ import annotations

import itertools
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest

from ko_embed_lab.longdoc import HangulCoverage
from ko_embed_lab.report import longdoc as rep


def _model(window: int, trained: int | None = None) -> Any:
    return SimpleNamespace(
        max_seq_length=window, spec=SimpleNamespace(train_max_length=trained) if trained else None, label="fake"
    )


def _grid(scores: dict[tuple[str, float, int], float], *, n_docs: int = 7, window: int = 512) -> pd.DataFrame:
    """One row per (strategy, position, length) with the given NDCG@10; rank 1 when found, else 6."""
    rows = [
        {
            "strategy": s,
            "position": p,
            "length": n,
            "ndcg@10": v,
            "rank": 1.0 if v >= 0.5 else 6.0,
            "visible": n <= window or p == 0.0,
            "n_docs": n_docs,
        }
        for (s, p, n), v in scores.items()
    ]
    return pd.DataFrame(rows)


STRATS = ("truncate", "max-chunk", "mean-chunk", "bm25", "fusion")


def _cliff_grid() -> pd.DataFrame:
    # Truncation finds the needle everywhere except at the end of documents past the 512-token window.
    scores = {}
    for s, p, n in itertools.product(STRATS, (0.0, 1.0), (256, 512, 1024, 2048)):
        scores[(s, p, n)] = 0.0 if (s == "truncate" and p == 1.0 and n > 512) else 1.0
    return _grid(scores)


# ------------------------------------------------------------------------------------------------
# regime_finding: one test per regime
# ------------------------------------------------------------------------------------------------


def test_regime_past_the_window_is_the_truncation_cliff() -> None:
    f = rep.regime_finding(_cliff_grid(), _model(512), lengths=[256, 512, 1024, 2048], positions=(0.0, 1.0), chunk=508)
    assert f.case == "past the window"
    assert f.numbers["truncate_inside_end"] == 1.0
    assert f.numbers["truncate_past_end"] == 0.0
    assert f.numbers["truncate_past_start"] == 1.0
    assert f.numbers["chunk_max_past_end"] == 1.0
    assert f.numbers["kept_past_end"] == 0.0 and f.numbers["rank_past_end"] == 6.0
    # Rank 6 of 7, interval [6, 6], lies above chance (4.0).
    assert f.numbers["vs_chance"] == "worse than chance"
    assert "truncation cliff" in f.text and "where chance gives 4.0: worse than chance" in f.text
    assert "fine-tuned on at most" not in f.text  # no trained length below the window
    assert f.takeaway.startswith("- A fixed window loses whatever lies past it")
    assert "NDCG@10 0.000 (with the needle first: 1.000)" in f.takeaway


@pytest.mark.parametrize(("ranks", "verdict"), [([3.0, 5.0], "what chance gives"), ([1.0, 2.0], "better than chance")])
def test_regime_past_the_window_rank_against_chance(ranks: list[float], verdict: str) -> None:
    grid = _cliff_grid()
    lost = grid.index[(grid.strategy == "truncate") & (grid.position == 1.0) & (grid.length > 512)]
    grid.loc[lost, "rank"] = ranks
    f = rep.regime_finding(grid, _model(512), lengths=[256, 512, 1024, 2048], positions=(0.0, 1.0), chunk=508)
    assert f.numbers["vs_chance"] == verdict and f"chance gives 4.0: {verdict}" in f.text


def test_regime_past_the_window_mentions_a_shorter_trained_length() -> None:
    f = rep.regime_finding(
        _cliff_grid(), _model(512, trained=300), lengths=[256, 512, 1024, 2048], positions=(0.0, 1.0), chunk=298
    )
    assert f.case == "past the window"
    assert "fine-tuned on at most 300 tokens" in f.text


def _trained_grid(past: float) -> pd.DataFrame:
    # Window 8,192, trained on 1,300: truncation scores 1.0 up to 1,300 tokens and `past` beyond.
    scores = {}
    for s, p, n in itertools.product(STRATS, (0.0, 1.0), (1024, 1300, 2048, 4096)):
        scores[(s, p, n)] = past if (s == "truncate" and n > 1300) else 1.0
    return _grid(scores, window=8192)


@pytest.mark.parametrize(("past", "verdict"), [(0.5, "can still be read poorly"), (0.99, "no drop was measured")])
def test_regime_past_the_trained_length(past: float, verdict: str) -> None:
    f = rep.regime_finding(
        _trained_grid(past),
        _model(8192, trained=1300),
        lengths=[1024, 1300, 2048, 4096],
        positions=(0.0, 1.0),
        chunk=1296,
    )
    assert f.case == "past the trained length"
    assert f.numbers["truncate_within"] == 1.0
    assert f.numbers["truncate_past"] == pytest.approx(past)
    assert f.numbers["chunk_max_past"] == 1.0
    assert "the 1,300-token effect" in f.text and "chunks of 1296 tokens" in f.text
    assert verdict in f.takeaway


def test_regime_within_the_trained_length() -> None:
    f = rep.regime_finding(_cliff_grid(), _model(8192, 1300), lengths=[256, 512, 1024], positions=(0.0, 1.0), chunk=1)
    assert f.case == "within the trained length"
    assert f.numbers == {}
    assert "raise MAX_LENGTH" in f.text and "rerun with a larger MAX_LENGTH" in f.takeaway


# ------------------------------------------------------------------------------------------------
# dilution_finding
# ------------------------------------------------------------------------------------------------


def _dilution_grid(mean_last: float) -> pd.DataFrame:
    return _grid(
        {
            ("mean-chunk", 0.0, 256): 1.0,
            ("mean-chunk", 0.0, 4096): mean_last,
            ("max-chunk", 0.0, 256): 1.0,
            ("max-chunk", 0.0, 4096): 0.9,
        }
    )


def test_dilution_when_the_mean_falls_further_than_the_best_chunk() -> None:
    f = rep.dilution_finding(_dilution_grid(0.5), position=0.0)
    assert f.case == "dilutes"
    assert (f.numbers["mean_first"], f.numbers["mean_last"], f.numbers["max_last"]) == (1.0, 0.5, 0.9)
    assert "lossy summary" in f.text
    assert f.takeaway.startswith("- One vector per document dilutes") and "from 1.000 to 0.500" in f.takeaway


def test_no_dilution_within_the_margin() -> None:
    f = rep.dilution_finding(_dilution_grid(0.89), position=0.0)  # 0.11 vs 0.10 + 0.02: within the margin
    assert f.case == "little dilution"
    assert "cost little more" in f.text and f.takeaway.startswith("- With the needle first")


# ------------------------------------------------------------------------------------------------
# natural_finding
# ------------------------------------------------------------------------------------------------


def _results(**primary: float) -> dict[str, Any]:
    return {s: SimpleNamespace(primary=primary[s.replace("-", "_")]) for s in STRATS}


def _evidence(inside: list[bool], truncate_ranks: list[float]) -> pd.DataFrame:
    n = len(inside)
    return pd.DataFrame(
        {
            "inside_window": inside,
            "rank: truncate": truncate_ranks,
            "rank: max-chunk": [1.0] * n,
            "rank: mean-chunk": [2.0] * n,
            "rank: bm25": [1.0] * n,
            "rank: fusion": [1.0] * n,
        }
    )


def test_natural_chunks_help_and_late_answers_are_counted() -> None:
    res = _results(truncate=0.6, max_chunk=0.8, mean_chunk=0.7, bm25=0.8, fusion=0.7998)
    f = rep.natural_finding(_evidence([True, False, False], [1.0, 3.0, 1.0]), res, window=508, n_docs=11)
    assert f.case == "chunks help"
    assert f.numbers["gap"] == pytest.approx(0.2)
    assert f.numbers["n_late"] == 2 and f.numbers["first: truncate"] == 1 and f.numbers["first: max-chunk"] == 2
    assert f.numbers["best"] == ["max-chunk", "bm25", "fusion"]  # ties at three decimals
    assert "2 of the 3 queries have their answer past the first 508 tokens" in f.text
    assert "worth +0.200 NDCG@10" in f.text
    assert "**chunks: best chunk** and **BM25 (morphemes)** and **RRF: best chunk + BM25**" in f.text
    assert f.takeaway.startswith("- On real long Korean documents the best NDCG@10 here, 0.800")


def test_natural_topic_suffices_and_no_late_answers() -> None:
    res = _results(truncate=0.9, max_chunk=0.905, mean_chunk=0.8, bm25=0.7, fusion=0.85)
    f = rep.natural_finding(_evidence([True, True], [1.0, 1.0]), res, window=508, n_docs=11)
    assert f.case == "topic suffices"
    assert f.text.startswith("Every answer lies within the first 508 tokens")
    assert "Among only 11 documents" in f.text
    assert f.numbers["best"] == ["max-chunk"]


# ------------------------------------------------------------------------------------------------
# cost_finding and advice
# ------------------------------------------------------------------------------------------------


def _cost(
    seconds: list[float], device: str = "cpu", lengths: tuple[int, ...] = (128, 256, 1024), spread: float = 0.0
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "length": lengths,
            "seconds": seconds,
            "seconds_median": [x * (1 + spread / 2) for x in seconds],
            "seconds_max": [x * (1 + spread) for x in seconds],
            "repeats": 5,
            "peak_mb": [10.0, 20.0, 80.0],
            "device": device,
        }
    )


def test_cost_past_the_window_on_cpu() -> None:
    f = rep.cost_finding(_cost([0.01, 0.02, 0.2]), _model(512))
    assert f.case == "past the window"
    assert f.numbers["time_ratio"] == pytest.approx(20.0) and f.numbers["length_ratio"] == 8
    assert (
        "as 4 chunks of 256 tokens costs about 0.080 s (median), against 0.200 s for one pass over all of it." in f.text
    )
    assert "every pass at the longer length was slower" in f.text and "noise" not in f.text
    assert "CPU memory" in f.text and f.text.endswith("up to 8,192 tokens.")


def test_cost_within_the_window_on_cuda() -> None:
    f = rep.cost_finding(_cost([0.01, 0.02, 0.05], device="cuda:0"), _model(8192))
    assert f.case == "within the window"
    assert "chunks of" not in f.text and "CPU memory" not in f.text


def test_cost_noise_is_named() -> None:
    # 128 and 256 tokens overlap (and 128 is even slower); 1,024 vs 128 overlap too.
    f = rep.cost_finding(_cost([0.03, 0.02, 0.035], spread=1.0), _model(512))
    assert f.case == "past the window; noisy" and not f.numbers["supported"]
    assert "do not even order the two" in f.text
    assert "Between 128 and 256 and between 256 and 1,024 tokens the ranges overlap or reverse" in f.text
    assert "within the spread of the passes" not in f.text  # 4 chunks of 256 (0.08-0.16 s) vs 0.035-0.07 s
    g = rep.cost_finding(_cost([0.03, 0.02, 0.08], spread=1.0), _model(512))
    assert g.case == "past the window" and "within the spread of the passes" in g.text
    assert "Between 128 and 256 tokens" in g.text


def _hand_grid(diffs: dict[float, list[float]], base: float = 0.5) -> pd.DataFrame:
    """Per position, one needle per diff: bm25 = base + diff, max-chunk = base, others lower."""
    rows = []
    for p, ds in diffs.items():
        for i, d in enumerate(ds):
            for s, v in {
                "truncate": 0.1,
                "max-chunk": base,
                "mean-chunk": 0.2,
                "bm25": base + d,
                "fusion": 0.3,
            }.items():
                rows += [
                    {
                        "seed": 0,
                        "query_id": f"q{i}",
                        "position": p,
                        "length": n,
                        "strategy": s,
                        "ndcg@10": v,
                        "rank": 1.0,
                        "visible": True,
                        "n_docs": 7,
                    }
                    for n in (256, 1024, 2048)
                ]
    return pd.DataFrame(rows)


def test_bm25_by_position_gives_each_verdict() -> None:
    grid = _hand_grid({0.0: [-0.2, -0.1, -0.3], 0.5: [0.2, -0.2, 0.1], 1.0: [0.3, 0.2, 0.4]})
    f = rep.bm25_by_position(grid, _model(512))
    assert f.numbers["verdicts"] == {0.0: "behind", 0.5: "level", 1.0: "ahead"}
    assert f.numbers["rivals"] == {0.0: "max-chunk", 0.5: "max-chunk", 1.0: "max-chunk"}
    assert f.numbers["lengths"] == [1024, 2048]
    assert f.case == "0: behind; 0.5: level; 1: ahead"
    assert "with the needle at the start, BM25 scores 0.300 and the best other strategy" in f.text
    assert "the needles cannot tell them apart" in f.text
    assert f.takeaway == "BM25 behind at the start, level in the middle, ahead at the end"


def _firsts(default: list[int], small: list[int]) -> dict[str, dict[str, float]]:
    return {
        "128": {f"q{i}": float(v) for i, v in enumerate(small)},
        "508": {f"q{i}": float(v) for i, v in enumerate(default)},
    }


@pytest.mark.parametrize(
    ("default", "small", "case"),
    [
        ([1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 1, 1], "default is best"),
        ([0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1], "smaller is better"),
        ([1, 1, 1, 1, 0, 1], [1, 1, 1, 1, 1, 0 + 1], "not distinguishable"),
    ],
)
def test_chunk_size_finding(default: list[int], small: list[int], case: str) -> None:
    clusters = {f"q{i}": f"doc{i // 2}" for i in range(6)}
    f = rep.chunk_size_finding(_firsts(default, small), default="508", clusters=clusters)
    assert f.case == case
    if case == "default is best":
        assert f.numbers["best"] == "508" and "No chunk size" in f.text
    else:
        assert f.numbers["best"] == "128"
        assert f"for {sum(small)} of 6 queries, 508-token chunks for {sum(default)}" in f.text
        assert ("cannot be told from chance" in f.text) == (case == "not distinguishable")
    with pytest.raises(ValueError):
        rep.chunk_size_finding(_firsts(default, small), default="256", clusters=clusters)


def _sweep_finding() -> rep.Finding:
    return rep.Finding("not distinguishable", "Chunk sentence.", {})


@pytest.mark.parametrize(
    ("bm25", "verdicts", "seconds", "spread", "case", "words"),
    [
        (
            0.99,
            {0.0: "level", 1.0: "ahead"},
            [0.01, 0.02, 0.2],
            0.0,
            "bm25 leads; more than proportional",
            ("Do not skip BM25", "quadratic in length"),
        ),
        (
            0.99,
            {0.0: "behind", 1.0: "ahead"},
            [0.01, 0.02, 0.08],
            0.0,
            "add bm25; proportional",
            ("Add BM25 when queries name", "about proportionally"),
        ),
        (0.5, {0.0: "level"}, [0.01, 0.02, 0.03], 0.0, "add bm25; less than proportional", ("Add BM25", "fixed costs")),
        (0.5, {0.0: "level"}, [0.01, 0.02, 0.015], 1.0, "add bm25; noisy", ("Add BM25", "ranges overlap")),
    ],
)
def test_advice_branches(bm25, verdicts, seconds, spread, case, words) -> None:
    natural = _results(truncate=0.6, max_chunk=0.8, mean_chunk=0.7, bm25=bm25, fusion=0.85)
    hay = {s: 0.5 for s in STRATS} | {"bm25": bm25}
    grid = _grid({(s, 1.0, 2048): v for s, v in hay.items()} | {(s, 1.0, 256): 1.0 for s in STRATS})
    pos = rep.Finding("", "", {"verdicts": verdicts}, "BM25 x")
    f = rep.advice(
        chunk_size=_sweep_finding(),
        bm25=pos,
        natural=natural,
        grid=grid,
        cost=_cost(seconds, spread=spread),
        model=_model(512),
        chunk=508,
    )
    assert f.case == case
    assert f.numbers["fusion_gain"] == pytest.approx(0.05)
    assert all(w in f.text for w in words)
    assert "Chunk sentence." in f.text and "BM25 x" in f.text


def test_mldr_sentence_sources_each_figure() -> None:
    reported = pd.DataFrame(
        {
            "model": ["mteb/baseline-bm25s"] * 2 + ["intfloat/multilingual-e5-small"] * 2,
            "split": ["dev", "test"] * 2,
            "ndcg_at_10": [0.59266, 0.54163, 0.21429, 0.20923],
            "file": ["b.json", "b.json", "e5.json", "e5.json"],
        }
    )
    card = pd.DataFrame({"model": ["gte", "arctic"], "MultiLongDocRetrieval": [0.48402, 0.4459]})
    f = rep.mldr_sentence(card, reported)
    assert f.case == "bm25 above the card" and f.numbers["bm25"] == pytest.approx(0.567145)
    assert "NDCG@10 0.5671" in f.text and "`intfloat/multilingual-e5-small` 0.2118" in f.text and "e5.json" in f.text
    assert "whose best is `gte` (0.4840)" in f.text
    high = card.assign(MultiLongDocRetrieval=[0.6, 0.4])
    assert rep.mldr_sentence(high, reported).case == "a dense model above bm25"


def test_syllables_window_and_takeaways(model) -> None:
    usage = {
        "hangul": 100,
        "unknown": 2,
        "share_unknown": 0.02,
        "distinct": 10,
        "distinct_unknown": 1,
        "known_in_top": 9,
        "top": 10,
        "top_unknown": [("갂", 2)],
    }
    syl = rep.syllable_finding(HangulCoverage(unknown=("갂",)), usage)
    assert syl.case == "some unknown seen" and "갂 (2)" in syl.text
    assert (
        rep.syllable_finding(HangulCoverage(unknown=()), {**usage, "unknown": 0, "top_unknown": []}).case == "none seen"
    )
    full = rep.window_sentence(model, rep.content_window(model))
    assert full.case == "chunk fills the window" and full.text.endswith("the whole window.")
    assert rep.window_sentence(model, 100).case == "chunk fills the trained length"
    stats = pd.DataFrame(
        {"chars": [3000, 1000], "chars_no_space": [2400, 800], "tokens": [1500, 500]}, index=["a", "b"]
    )
    length = rep.length_finding(stats, _model(512))
    assert length.numbers["chars_1300"] == pytest.approx(2600.0) and length.numbers["n_over"] == 1
    assert "the longest (a) 1,500 tokens" in length.text
    assert "2,500 holds" in length.text and length.numbers["card_offset"] == pytest.approx(0.04)
    dense = stats.assign(chars=[1500, 500], chars_no_space=[1200, 400])  # one token per character: 1,300 chars
    assert "2,500 overstates" in rep.length_finding(dense, _model(512)).text
    loose = stats.assign(chars=[6000, 2000])
    assert "2,500 understates" in rep.length_finding(loose, _model(512)).text
    assert "They are not only rare ones" in syl.text  # 2% of the text's syllables are unknown
    rare = rep.syllable_finding(HangulCoverage(unknown=("갂",)), {**usage, "unknown": 1, "share_unknown": 0.0005})
    assert "They are rare ones" in rare.text
    regime = rep.Finding("x", "", {}, "- regime line")
    dil = rep.Finding("y", "", {}, "- dilution line")
    nat = rep.Finding("z", "", {}, "- natural line")
    pos = rep.Finding("w", "", {}, "BM25 level at the start")
    lines = rep.takeaways(length, syl, regime, dil, nat, pos).splitlines()
    assert lines[0].startswith("- 1,300 tokens of Korean legal text are about 2,600 characters")
    assert lines[1:4] == ["- regime line", "- dilution line", "- natural line"]
    assert lines[4].startswith("- On the long haystacks, against the best other strategy: BM25 level at the start")
