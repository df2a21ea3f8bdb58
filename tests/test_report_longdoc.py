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


STRATS = ("truncate", "chunk-max", "chunk-mean", "bm25", "fusion")


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
    # Rank 6 of 7 is worse than chance (4.0) by more than half a place: the filler remark is added.
    assert "truncation cliff" in f.text and "its filler avoids the query's domain" in f.text
    assert "fine-tuned on at most" not in f.text  # no trained length below the window
    assert f.takeaway.startswith("- A fixed window loses whatever lies past it")
    assert "NDCG@10 0.000 (with the needle first: 1.000)" in f.takeaway


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
            ("chunk-mean", 0.0, 256): 1.0,
            ("chunk-mean", 0.0, 4096): mean_last,
            ("chunk-max", 0.0, 256): 1.0,
            ("chunk-max", 0.0, 4096): 0.9,
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
            "rank: chunk-max": [1.0] * n,
            "rank: chunk-mean": [2.0] * n,
            "rank: bm25": [1.0] * n,
            "rank: fusion": [1.0] * n,
        }
    )


def test_natural_chunks_help_and_late_answers_are_counted() -> None:
    res = _results(truncate=0.6, chunk_max=0.8, chunk_mean=0.7, bm25=0.8, fusion=0.7998)
    f = rep.natural_finding(_evidence([True, False, False], [1.0, 3.0, 1.0]), res, window=508, n_docs=11)
    assert f.case == "chunks help"
    assert f.numbers["gap"] == pytest.approx(0.2)
    assert f.numbers["n_late"] == 2 and f.numbers["first: truncate"] == 1 and f.numbers["first: chunk-max"] == 2
    assert f.numbers["best"] == ["chunk-max", "bm25", "fusion"]  # ties at three decimals
    assert "2 of the 3 queries have their answer past the first 508 tokens" in f.text
    assert "worth +0.200 NDCG@10" in f.text
    assert "**chunks: best chunk** and **BM25 (morphemes)** and **RRF: best chunk + BM25**" in f.text
    assert f.takeaway.startswith("- On real long Korean documents the best NDCG@10 here, 0.800")


def test_natural_topic_suffices_and_no_late_answers() -> None:
    res = _results(truncate=0.9, chunk_max=0.905, chunk_mean=0.8, bm25=0.7, fusion=0.85)
    f = rep.natural_finding(_evidence([True, True], [1.0, 1.0]), res, window=508, n_docs=11)
    assert f.case == "topic suffices"
    assert f.text.startswith("Every answer lies within the first 508 tokens")
    assert "Among only 11 documents" in f.text
    assert f.numbers["best"] == ["chunk-max"]


# ------------------------------------------------------------------------------------------------
# cost_finding and advice
# ------------------------------------------------------------------------------------------------


def _cost(seconds: list[float], device: str = "cpu", lengths: tuple[int, ...] = (128, 256, 1024)) -> pd.DataFrame:
    return pd.DataFrame({"length": lengths, "seconds": seconds, "peak_mb": [10.0, 20.0, 80.0], "device": device})


def test_cost_past_the_window_on_cpu() -> None:
    f = rep.cost_finding(_cost([0.01, 0.02, 0.2]), _model(512))
    assert f.case == "past the window"
    assert f.numbers["time_ratio"] == pytest.approx(20.0) and f.numbers["length_ratio"] == 8
    assert "as 4 chunks of 256 tokens costs about 0.080 s, against 0.200 s" in f.text
    assert "CPU memory" in f.text and f.text.endswith("up to 8,192 tokens.")


def test_cost_within_the_window_on_cuda() -> None:
    f = rep.cost_finding(_cost([0.01, 0.02, 0.05], device="cuda:0"), _model(8192))
    assert f.case == "within the window"
    assert "chunks of" not in f.text and "CPU memory" not in f.text


def _sweep() -> pd.DataFrame:
    label = "chunks: best chunk"
    return pd.DataFrame(
        {
            "chunk tokens": ["128", "508", "128", "508"],
            "strategy": [label, label, "BM25 (morphemes)", "BM25 (morphemes)"],
            "ranked first": [0.9, 0.8, 0.7, 0.7],
            "ndcg@10": [0.95, 0.9, 0.85, 0.85],
        }
    )


@pytest.mark.parametrize(
    ("bm25", "seconds", "case", "words"),
    [
        (0.99, [0.01, 0.02, 0.2], "bm25 leads; more than proportional", ("Do not skip BM25", "quadratic in length")),
        (0.5, [0.01, 0.02, 0.08], "add bm25; proportional", ("Add BM25 when queries name", "about proportionally")),
        (0.5, [0.01, 0.02, 0.03], "add bm25; less than proportional", ("Add BM25", "fixed costs per pass")),
    ],
)
def test_advice_branches(bm25: float, seconds: list[float], case: str, words: tuple[str, str]) -> None:
    natural = _results(truncate=0.6, chunk_max=0.8, chunk_mean=0.7, bm25=bm25, fusion=0.85)
    hay = {s: 0.5 for s in STRATS} | {"bm25": bm25}
    grid = _grid({(s, 1.0, 2048): v for s, v in hay.items()} | {(s, 1.0, 256): 1.0 for s in STRATS})
    f = rep.advice(sweep=_sweep(), natural=natural, grid=grid, cost=_cost(seconds), model=_model(512), chunk=508)
    assert f.case == case
    assert f.numbers["best_size"] == "128"
    assert f.numbers["fusion_gain"] == pytest.approx(0.05)
    assert all(w in f.text for w in words)
    assert "the right document first for 90% of the queries, against 80% with 508-token chunks" in f.text


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
    regime = rep.Finding("x", "", {}, "- regime line")
    dil = rep.Finding("y", "", {}, "- dilution line")
    nat = rep.Finding("z", "", {}, "- natural line")
    lines = rep.takeaways(length, syl, regime, dil, nat).splitlines()
    assert lines[0].startswith("- 1,300 tokens of Korean legal text are about 2,600 characters")
    assert lines[1:] == ["- regime line", "- dilution line", "- natural line"]
