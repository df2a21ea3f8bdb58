"""The card's tables as package data, and the tools that read them (synthetic tables with hand answers)."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from ko_embed_lab import reported as r

ROOT = Path(__file__).resolve().parent.parent
GRANITE = "ibm-granite/granite-embedding-278m-multilingual"
BASE = "Snowflake/snowflake-arctic-embed-l-v2.0"


@pytest.fixture(scope="module")
def rep() -> r.Reported:
    return r.load_reported()


def test_shipped_tables_have_the_cards_shape(rep: r.Reported) -> None:
    assert rep.scores.shape == (22, 7)
    assert tuple(rep.scores.columns) == r.SHORT_TASKS
    assert rep.models[0] == r.CARD_MODEL and rep.models[-1] == "jhgan/ko-sroberta-multitask"
    assert len(rep.mldr) == 20 and set(rep.mldr.index) <= set(rep.models)
    values = rep.scores.stack().dropna().tolist() + rep.mldr.tolist()
    assert all(0 < v < 1 for v in values)
    # Two cells checked by hand against the card.
    assert rep.scores.loc[r.CARD_MODEL, "AutoRAGRetrieval"] == 0.90927
    assert rep.mldr.loc["BAAI/bge-m3"] == 0.43011  # card label "BAAI/bge-m3/BAAI_bge-m3"


def test_the_cards_nan_stays_missing(rep: r.Reported) -> None:
    missing = rep.scores.isna().stack()
    assert missing.sum() == 1
    assert missing[missing].index[0] == (GRANITE, "MrTidyRetrieval")
    long = rep.long()
    row = long[(long["model"] == GRANITE) & (long["task"] == "MrTidyRetrieval")]
    assert len(row) == 1 and math.isnan(row["ndcg_at_10"].iloc[0])


def test_figures_are_labelled_reported_with_their_source(rep: r.Reported) -> None:
    for name in ("card_retrieval.csv", "card_mldr.csv"):
        head = (r.reported_dir() / name).read_text(encoding="utf-8").splitlines()[:4]
        text = "\n".join(head)
        assert head[0].startswith("#") and "REPORTED" in text and r.CARD_URL in text
    long = rep.long()
    assert set(long["kind"]) == {"reported"}
    assert long["source"].str.contains(r.CARD_URL, regex=False).all()
    assert rep.table().attrs["source"] == rep.source
    # Models absent from the MLDR table get no MLDR row (their absence is not a missing value).
    assert not ((long["model"] == "Qwen/Qwen3-Embedding-0.6B") & (long["task"] == r.LONG_TASK)).any()
    assert len(long) == 22 * 7 + 20


def test_registry_facts_are_joined(rep: r.Reported) -> None:
    table = rep.table()
    assert table.loc[r.CARD_MODEL, "params_millions"] == 568
    assert table.loc[r.CARD_MODEL, "dim"] == 1024
    assert table.loc["intfloat/multilingual-e5-large", "max_tokens"] == 512
    assert rep.facts.loc[r.CARD_MODEL, "facts_source"] == "ko_embed_lab.registry"
    assert math.isnan(table.loc["openai/text-embedding-3-large", "params_millions"])  # unknown stays unknown


def test_card_average_is_the_mean_of_available_tasks(rep: r.Reported) -> None:
    check = r.check_card_average(rep)
    assert check["difference"].abs().max() < 1e-6
    assert check.loc[GRANITE, "n_tasks"] == 6
    assert (check.drop(index=GRANITE)["n_tasks"] == 7).all()


def test_extraction_script_reproduces_the_shipped_files() -> None:
    seed = sorted((ROOT.parent / "shared" / "seed").glob("*.txt"))
    if not seed:
        pytest.skip("the model card seed is not next to this checkout")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "extract_reported.py"), "--check"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr


def test_average_skips_or_propagates_missing() -> None:
    df = pd.DataFrame({"a": [0.5, 0.4], "b": [0.7, None]}, index=["m1", "m2"])
    assert r.average(df).tolist() == pytest.approx([0.6, 0.4])
    assert math.isnan(r.average(df, skip_missing=False)["m2"])
    assert r.average(df, ["b"])["m1"] == pytest.approx(0.7)
    with pytest.raises(KeyError, match="unknown tasks"):
        r.average(df, ["c"])


def test_ranks_share_ties_and_keep_missing() -> None:
    df = pd.DataFrame({"t": [0.2, 0.9, 0.2, None]}, index=list("abcd"))
    assert r.ranks(df)["t"].tolist()[:3] == [2.0, 1.0, 2.0]
    assert math.isnan(r.ranks(df)["t"]["d"])


def test_pair_difference_by_hand_and_on_the_card(rep: r.Reported) -> None:
    df = pd.DataFrame({"x": [0.6, 0.5], "y": [0.2, 0.4]}, index=["A", "B"])
    diff = r.pair_difference(df, "A", "B")
    assert list(diff.index) == ["x", "y"]
    assert diff.loc["x", "difference"] == pytest.approx(0.1)
    assert diff.loc["y", "relative"] == pytest.approx(-0.5)
    card = r.pair_difference(rep.scores, r.CARD_MODEL, BASE)
    assert card.index[0] == "AutoRAGRetrieval" and card.index[-1] == "MrTidyRetrieval"
    assert card.loc["MrTidyRetrieval", "difference"] == pytest.approx(0.57121 - 0.59071)
    with pytest.raises(KeyError, match="not in the table"):
        r.pair_difference(df, "A", "Z")


def test_task_correlation_sees_opposite_tasks() -> None:
    df = pd.DataFrame({"x": [0.1, 0.2, 0.3, 0.4], "y": [0.9, 0.8, 0.7, 0.6], "z": [1, 2, 3, 4]})
    corr = r.task_correlation(df)
    assert corr.loc["x", "y"] == pytest.approx(-1.0)
    assert corr.loc["x", "z"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="method"):
        r.task_correlation(df, method="cosine")


def test_leave_one_task_out_by_hand() -> None:
    # m1 wins with every task, m2 wins without task a.
    df = pd.DataFrame({"a": [1.0, 0.0, 0.1], "b": [0.0, 0.5, 0.2], "c": [0.5, 0.6, 0.3]}, index=["m1", "m2", "m3"])
    loo = r.leave_one_task_out(df)
    assert list(loo.columns) == ["all tasks", "without a", "without b", "without c"]
    assert loo.loc["m1"].tolist() == pytest.approx([0.5, 0.25, 0.75, 0.5])
    summary = r.leave_one_task_out_summary(df, focus="m1")
    assert summary.loc["all tasks", "leader"] == "m1"
    assert summary.loc["without a", "leader"] == "m2"
    assert summary.loc["without a", "rank of m1"] == 2
    assert summary.loc["all tasks", "largest rank change"] == 0
    # Without a: m2 0.55, m1 0.25, m3 0.25 (tie, shared rank 2): all three move.
    assert summary.loc["without a", "models changing rank"] == 3


def test_ranking_agreement_extremes() -> None:
    a = pd.Series([1.0, 2.0, 3.0, 4.0], index=list("abcd"))
    assert r.ranking_agreement(a, a)["kendall_tau"] == pytest.approx(1.0)
    assert r.ranking_agreement(a, -a)["spearman_rho"] == pytest.approx(-1.0)
    assert r.ranking_agreement(a, a.drop("d"))["n"] == 3
    with pytest.raises(ValueError, match="at least three"):
        r.ranking_agreement(a, a[:2])


def test_long_vs_short_on_the_card(rep: r.Reported) -> None:
    lvs = r.long_vs_short(rep)
    assert len(lvs) == 20
    assert lvs.index[0] == "Alibaba-NLP/gte-multilingual-base"  # best on MLDR
    assert lvs.loc[r.CARD_MODEL, "short rank"] == 1 and lvs.loc[r.CARD_MODEL, "MLDR rank"] == 3
    assert lvs.loc[r.CARD_MODEL, "rank change"] == -2
    assert lvs.loc["Alibaba-NLP/gte-multilingual-base", "rank change"] > 0


def test_compare_reproduced_with_reported() -> None:
    reported = pd.DataFrame({"model": ["m", "m"], "task": ["t", "u"], "ndcg_at_10": [0.5, 0.3]})
    new = pd.DataFrame({"model": ["m", "m"], "task": ["t", "v"], "ndcg_at_10": [0.52, 0.1], "split": ["test"] * 2})
    out = r.compare(new, reported)
    assert list(out.columns[:5]) == ["model", "task", "reported", "reproduced", "difference"]
    assert out.loc[out["task"] == "t", "difference"].iloc[0] == pytest.approx(0.02)
    assert math.isnan(out.loc[out["task"] == "v", "difference"].iloc[0])  # no reported figure
    assert "split" in out.columns
    with pytest.raises(ValueError, match="lacks columns"):
        r.compare(new.drop(columns="ndcg_at_10"), reported)


def test_card_task_lookup() -> None:
    assert r.card_task("xpqaretrieval").subset == "kor-kor"
    assert r.card_task("MultiLongDocRetrieval").long
    assert len(r.CARD_TASKS) == 8 and r.LONG_TASK not in r.SHORT_TASKS
    with pytest.raises(ValueError, match="not one of the card's tasks"):
        r.card_task("STS12")


def test_load_reported_reports_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="extract_reported"):
        r.load_reported(tmp_path)


def test_matrix_figure_names_its_source_and_leaves_missing_blank(rep: r.Reported) -> None:
    fig = r.matrix_figure(rep.scores, "NDCG@10", r.SOURCE_LABEL)
    assert "model:" in fig.layout.title.text and r.CARD_MODEL in fig.layout.title.text
    text = fig.data[0].text
    row = rep.models.index(GRANITE)
    assert text[row][0] == "" and text[0][0] == "0.571"
