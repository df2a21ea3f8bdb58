"""Every branch of report.latechunk, with hand-made inputs."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest

from ko_embed_lab.report import latechunk as rep


def _grid(
    diff: dict[str, dict[int, float]], *, n: int = 12, lengths=(1024, 2048), positions=(0.0, 1.0)
) -> pd.DataFrame:
    """Needles whose score under each strategy is 0.5 + diff[strategy][length] ± a small per-needle wobble."""
    rows = []
    for s in ("truncate", "max-chunk", *diff):
        for length in lengths:
            for p in positions:
                for q in range(n):
                    base = 0.5 + (0.02 if q % 2 else -0.02)
                    rows.append(
                        {
                            "seed": 0,
                            "query_id": f"q{q}",
                            "strategy": s,
                            "length": length,
                            "position": p,
                            "ndcg@10": base + diff.get(s, {}).get(length, 0.0),
                        }
                    )
    return pd.DataFrame(rows).drop_duplicates(["query_id", "strategy", "length", "position"])


def _natural(**deltas: float) -> dict[str, Any]:
    out = {}
    for s, d in {"max-chunk": 0.0, **deltas}.items():
        per = {f"q{i}": {"ndcg@10": 0.5 + d + (0.01 if i % 2 else -0.01)} for i in range(10)}
        out[s] = SimpleNamespace(per_query=per, primary=0.5 + d)
    return out


CLUSTERS = {f"q{i}": f"d{i % 5}" for i in range(10)}


def test_verdict() -> None:
    assert [rep.verdict(*x) for x in ((0.1, 0.2), (-0.2, -0.1), (-0.1, 0.1), (0.0, 0.1))] == [
        "better",
        "worse",
        "level",
        "level",
    ]


@pytest.mark.parametrize(
    ("late", "context", "short"),
    [
        (0.3, 0.0, "beat plain chunks everywhere"),
        (-0.3, 0.0, "lost to plain chunks in some settings and never won"),
        (0.0, 0.3, "could not be told apart"),
    ],
)
def test_late_finding_branches(late: float, context: float, short: str) -> None:
    grid = _grid({"late-chunk": {1024: late, 2048: late}, "context-chunk": {1024: context, 2048: context}})
    natural = _natural(**{"late-chunk": late, "context-chunk": context})
    f = rep.late_finding(grid, natural, lengths=[1024, 2048], clusters=CLUSTERS)
    assert short in f.takeaway
    want = rep.verdict(late - 0.001, late + 0.001) if late else "level"
    assert f.numbers["verdicts"][("late-chunk", 0.0)] == want
    assert f.numbers["verdicts"][("late-chunk", "KoLongQ")] == want
    assert "late chunks: best chunk" in f.text and "over 5 documents" in f.text


def test_late_finding_mixed_and_some() -> None:
    # Late chunks ahead on the haystacks, level on KoLongQ: "in some settings and never lost".
    grid = _grid({"late-chunk": {1024: 0.3, 2048: 0.3}, "context-chunk": {}})
    f = rep.late_finding(
        grid, _natural(**{"late-chunk": 0.0, "context-chunk": 0.0}), lengths=[1024, 2048], clusters=CLUSTERS
    )
    assert "in some settings and never lost" in f.takeaway
    # Ahead on the haystacks and behind on KoLongQ: mixed.
    f = rep.late_finding(
        grid, _natural(**{"late-chunk": -0.3, "context-chunk": 0.0}), lengths=[1024, 2048], clusters=CLUSTERS
    )
    assert "won in some settings and lost in others" in f.takeaway


def _model(window: int) -> Any:
    return SimpleNamespace(max_seq_length=window, label="fake")


def test_whole_vs_late_short_window() -> None:
    f = rep.whole_vs_late(_model(512), _grid({"late-chunk": {}}))
    assert f.case == "short window" and "reads 512 tokens" in f.text and "8,192" in f.text
    assert rep.whole_vs_late(_model(8192), None).case == "short window"  # no grid: nothing to compare


@pytest.mark.parametrize(
    ("diffs", "case", "cross"),
    [
        ({1024: -0.3, 2048: -0.3, 4096: -0.3}, "whole wins throughout", None),
        ({1024: 0.0, 2048: 0.2, 4096: 0.3}, "late wins throughout", 1024),
        ({1024: -0.3, 2048: -0.2, 4096: 0.0}, "crossover", 4096),
    ],
)
def test_whole_vs_late_long_window(diffs: dict[int, float], case: str, cross: int | None) -> None:
    # diffs are late − whole per length (the whole document is "truncate", which keeps it all up to 8,192).
    grid = _grid({"late-chunk": diffs}, lengths=(1024, 2048, 4096))
    f = rep.whole_vs_late(_model(8192), grid)
    assert (f.case, f.numbers["crossover"]) == (case, cross)
    assert "reads 8,192 tokens" in f.text


def _sweep(values: dict[str, dict[str, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"chunk tokens": size, "strategy": s, "ranked first": v, "vectors per document": 4000 / int(size)}
            for s, by in values.items()
            for size, v in by.items()
        ]
    )


@pytest.mark.parametrize(
    ("values", "case"),
    [
        ({"a": {"128": 0.9, "508": 0.5}, "b": {"128": 0.8, "508": 0.8}}, "small chunks"),
        ({"a": {"128": 0.5, "508": 0.9}, "b": {"128": 0.5, "508": 0.6}}, "large chunks"),
        ({"a": {"128": 0.5, "256": 0.9, "508": 0.5}, "b": {"128": 0.9, "256": 0.5, "508": 0.5}}, "mixed"),
    ],
)
def test_chunk_cost_finding(values: dict[str, dict[str, float]], case: str) -> None:
    f = rep.chunk_cost_finding(_sweep(values))
    assert f.case == case
    size, value, per = f.numbers["best"]["a"]
    assert value == max(values["a"].values()) and per == pytest.approx(4000 / int(size))
    assert "vectors stored per document" in f.text
