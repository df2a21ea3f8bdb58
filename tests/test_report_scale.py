"""The "Scaling out" chapter's sentences, figure and measurements: each conclusion follows the numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import ko_embed_lab as kel
from ko_embed_lab.report import scale as rs


def _table(startup_s: float = 0.0, source: str = "measured", efficiency: float = 1.0) -> pd.DataFrame:
    return kel.scale.estimate_table(
        10_000_000,
        200,
        (1, 8, 64),
        tokens_per_s_per_gpu=500_000,
        price_per_gpu_hour=4.0,
        throughput_source=source,
        startup_s=startup_s,
        scaling_efficiency=efficiency,
    )


def test_duration_units() -> None:
    assert [rs.duration(h) for h in (0.5, 1.0, 47.9, 48.0)] == ["30 min", "1.0 h", "47.9 h", "2.0 days"]


def test_estimate_sentence_follows_the_costs_and_the_source() -> None:
    same = rs.estimate_sentence(_table())
    assert "about the same for every count" in same and "measured" in same and "estimate" not in same
    assert "1.1 h on 1 GPU, 8 min on 8 GPUs, 1 min on 64 GPUs" in same
    startup = rs.estimate_sentence(_table(startup_s=600, source="estimate: x"))
    assert (
        "on 8 GPUs the start-up (600 s per GPU) takes longer than the encoding itself"
    )  # 4000 s / 8 < 600 s in startup
    assert "an estimate" in startup and "not a measurement" in startup
    small = rs.estimate_sentence(_table(startup_s=10))
    assert "a larger share of a shorter run" in small and "takes longer" not in small
    sub = rs.estimate_sentence(_table(efficiency=0.5))
    assert "about the same" in sub  # an efficiency that is the same for every count costs the same
    mixed = _table()
    mixed.loc[mixed.gpus == 64, "scaling_efficiency"] = 0.5
    mixed.loc[mixed.gpus == 64, "cost"] *= 2
    assert "falls short of linear" in rs.estimate_sentence(mixed)


def test_ray_sentence_cases() -> None:
    assert "not run in this build" in rs.ray_sentence(None)
    assert "bit for bit" in rs.ray_sentence(0.0)
    assert "within 3.0e-07" in rs.ray_sentence(3e-7)
    assert "differ" in rs.ray_sentence(1e-3)

    class Run:
        def __init__(self, rate: float, workers: int) -> None:
            self.rows_per_s, self.workers = rate, workers

    assert "12.0 passages/s with 2 workers against 20.0" in rs.ray_sentence(0.0, Run(12.0, 2), Run(20.0, 1))


def test_throughput_tokenizer_and_cpu_time_sentences() -> None:
    assert "50.0 passages/s, 2,500 tokens/s" in rs.throughput_sentence(100, 5000, 2.0, "m", 2)
    assert "embedded nothing" in rs.throughput_sentence(0, 0, 0.0, "m", 2)
    assert "the target's counts too" in rs.tokenizer_sentence(250_002, "m")
    assert "may differ" in rs.tokenizer_sentence(30_000, "m")
    assert "11.6 days" in rs.cpu_time_sentence(2000.0, 10_000_000, 200.0, "m")
    assert "about 14 times" in rs.cpu_time_sentence(2000.0, 10_000_000, 200.0, "m", 13.8)
    assert rs.cpu_time_sentence(0.0, 10, 10.0, "m") == ""


def test_estimate_figure_names_its_model_and_kind() -> None:
    fig = kel.plots.scale.estimate_bars(_table(source="estimate: x"), "target (paper estimate)")
    assert (
        "model: target (paper estimate)" in fig.layout.title.text
        and "estimated (not measured)" in fig.layout.title.text
    )
    assert list(fig.data[0].y) == pytest.approx(list(_table()["hours"]))
    assert "measured time" in kel.plots.scale.estimate_bars(_table(), "t").layout.title.text


def test_gpu_throughput_prefers_a_measurement() -> None:
    assert kel.scale.gpu_throughput(200, measured=123.0) == (123.0, "measured")
    tps, source = kel.scale.gpu_throughput(200, peak_tflops=100.0, mfu=0.5)
    assert tps == pytest.approx(5e13 / kel.scale.forward_flops_per_token(200)) and source.startswith("estimate:")
    with pytest.raises(ValueError):
        kel.scale.gpu_throughput(200, measured=0.0)


def test_measurements_on_the_bundled_model(model, tmp_path) -> None:
    demo = kel.scale.probe_passages(5, seed=0)
    assert len(demo) == 5 and demo != kel.scale.probe_passages(5) and demo == kel.scale.probe_passages(5, seed=0)
    stats = kel.scale.token_stats(model, [t for _, t in demo])
    counts = kel.count_tokens(model, [t for _, t in demo])
    assert stats["total"] == sum(counts) and stats["mean"] == pytest.approx(np.mean(counts))
    shape = kel.scale.shape_of(model)
    assert (shape.hidden, shape.layers, shape.ffn) == (384, 12, 1536)
    assert 10 < kel.scale.target_flops_ratio(model, 200) < 20  # XLM-R large against e5-small
    src = kel.scale.write_corpus(tmp_path / "c.parquet", demo)
    assert pd.read_parquet(src)["id"].tolist() == [i for i, _ in demo]
