"""The card's tables as package data, the tools that read them, and the chapter's sentences (hand-made tables)."""

from __future__ import annotations

import hashlib
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from ko_embed_lab.benchmark import card as r
from ko_embed_lab.plots.benchmark import matrix_figure
from ko_embed_lab.report import benchmark as rb

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


def _extract(*args: str) -> subprocess.CompletedProcess[str]:
    pytest.importorskip("mteb")  # models.csv takes facts from mteb's model registry
    script = ROOT / "scripts" / "extract_reported.py"
    return subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, cwd=ROOT)


def test_the_card_text_ships_with_the_package_and_matches_the_tables_hash() -> None:
    card = r.card_text_path()
    assert card.is_file(), "the model card text must ship as package data"
    sha = hashlib.sha256(card.read_text(encoding="utf-8").encode("utf-8")).hexdigest()
    for name in ("card_retrieval.csv", "card_mldr.csv", "models.csv"):
        head = (r.reported_dir() / name).read_text(encoding="utf-8").splitlines()[:4]
        assert any(sha in line for line in head), f"{name} was not extracted from the shipped card text"
    assert (r.reported_dir() / "README.md").read_text(encoding="utf-8").count(r.CARD_URL) >= 1


def test_extraction_script_reproduces_the_shipped_files() -> None:
    proc = _extract("--check")  # reads the shipped card text by default
    assert proc.returncode == 0, proc.stderr


def test_extraction_check_fails_when_the_card_changes(tmp_path: Path) -> None:
    text = r.card_text_path().read_text(encoding="utf-8")
    assert "0.90927" in text
    changed = tmp_path / "card.txt"
    changed.write_text(text.replace("0.90927", "0.90928", 1), encoding="utf-8")
    proc = _extract("--check", "--card", str(changed))
    assert proc.returncode == 1 and "stale" in proc.stderr


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
    fig = matrix_figure(rep.scores, "NDCG@10", r.SOURCE_LABEL)
    assert "model:" in fig.layout.title.text and r.CARD_MODEL in fig.layout.title.text
    text = fig.data[0].text
    row = rep.models.index(GRANITE)
    assert text[row][0] == "" and text[0][0] == "0.571"


# --- the chapter's sentences (ko_embed_lab.report.benchmark), one test per branch, hand-made tables --

F = "F"  # the focus model of the toy tables


def _toy_reported(c_row: list[float], a_row: list[float] | None = None) -> r.Reported:
    """Models F, A, B, C on tasks a, b, c; C misses task a. F scores below its average on a."""
    rows = {F: [0.8, 0.9, 1.0], "A": a_row or [0.4, 0.5, 0.6], "B": [0.3, 0.4, 0.5], "C": c_row}
    scores = pd.DataFrame.from_dict(rows, orient="index", columns=["a", "b", "c"])
    facts = pd.DataFrame({"params_millions": [1, 2, 3, 4]}, index=list(rows))
    mldr = pd.Series([0.1, 0.2], index=[F, "A"], name=r.LONG_TASK)
    return r.Reported(scores, r.average(scores).rename("average (card)"), mldr, facts, "toy")


def _toy_loo(leaders: list[str], focus_ranks: list[int]) -> pd.DataFrame:
    index = ["all tasks", "without a", "without b", "without c"]
    return pd.DataFrame(
        {
            "leader": leaders,
            f"rank of {F}": focus_ranks,
            "kendall tau vs all tasks": [1.0, 0.8, 0.6, 0.9],
            "models changing rank": [0, 2, 3, 1],
            "largest rank change": [0, 1, 2, 1],
        },
        index=index,
    )


def test_card_table_one_model_averaged_over_fewer_tasks() -> None:
    rep = _toy_reported([float("nan"), 0.2, 0.3])
    text = rb.card_table(rep, r.check_card_average(rep))
    assert "**4 models on 3 tasks**" in text and "for 2 of them on MultiLongDocRetrieval" in text
    assert "(`C` on a)" in text and text.endswith("so `C` is averaged over 2 tasks and every other model over 3.")


def test_card_table_several_models_averaged_over_fewer_tasks() -> None:
    rep = _toy_reported([float("nan"), 0.2, 0.3])
    check = r.check_card_average(rep).assign(n_tasks=[3, 2, 3, 2])
    assert rb.card_table(rep, check).endswith("so 2 models are averaged over fewer tasks than the others.")


@pytest.mark.parametrize(
    ("known", "tail"), [([1500.0, 300.0, 300.0, 300.0], "none."), ([1500.0, 300.0, 300.0, None], "`D`.")]
)
def test_model_size_names_models_of_unknown_size(known: list[float | None], tail: str) -> None:
    table = pd.DataFrame(
        {"average (card)": [0.5, 0.9, 0.8, 0.7], "params_millions": known, "max_tokens": [8192, 512, 512, 512]},
        index=pd.Index(["Big", "S1", "S2", "D"], name="model"),
    )
    text = rb.model_size(table, r.model_sizes(table))
    assert "the best of the 1 models with a billion parameters or more, `Big` (1.5B), ranks 4 of 4" in text
    assert "the top 3 all have about 300M parameters" in text and text.endswith(f"unknown for {tail}")


def _toy_noise(diffs: list[float], threshold: float = 0.03) -> pd.DataFrame:
    pair = pd.DataFrame({"difference": diffs}, index=[f"t{i}" for i in range(len(diffs))])
    # SD chosen so that 1.96·SD·√(2/n) = threshold with n = 200.
    sd = threshold / 1.96 / math.sqrt(2 / 200)
    return r.difference_noise(pair, pd.Series(200, index=pair.index), sd)


FINE_SCORES = pd.DataFrame({"t0": [0.6, 0.5]}, index=[F, "Base"])


def test_difference_noise_by_hand() -> None:
    pair = pd.DataFrame({"difference": [0.05, -0.05, 0.01]}, index=["a", "b", "c"])
    out = r.difference_noise(pair, pd.Series({"a": 800, "b": 200, "c": 800, "x": 5}), 0.3)
    assert out["se"].tolist() == pytest.approx([0.3 * math.sqrt(2 / 800), 0.03, 0.3 * math.sqrt(2 / 800)])
    assert out["beyond noise"].tolist() == [True, False, False]  # 0.05 > 0.0294; 0.05 < 0.0588; 0.01 < 0.0294
    assert out["threshold (bound)"].iloc[0] == pytest.approx(1.96 * 0.5 * math.sqrt(2 / 800))
    with pytest.raises(KeyError, match="no query count"):
        r.difference_noise(pair, pd.Series({"a": 10}), 0.3)
    with pytest.raises(ValueError):
        r.difference_noise(pair, pd.Series({"a": 1, "b": 1, "c": 1}), 0.0)


def test_per_query_sd() -> None:
    assert r.per_query_sd({"a": {"ndcg@10": 0.2}, "b": {"ndcg@10": 0.6}}) == pytest.approx(math.sqrt(0.08))
    with pytest.raises(ValueError):
        r.per_query_sd({"a": {"ndcg@10": 0.2}})


def test_card_evaluation_note_quotes_the_card() -> None:
    lines = r.card_evaluation_note()
    assert lines[0] == "This evaluation references the KURE GitHub repository. (https://github.com/nlpai-lab/KURE)"
    assert len(lines) == 2 and "MTEB" in lines[1]


def test_fine_tune_some_beyond_noise_some_within() -> None:
    text = rb.fine_tune(_toy_noise([0.1, 0.01, -0.05]), FINE_SCORES, F, "Base", 0.2, "assumed")
    assert "SD = 0.200, assumed)" in text
    assert f"**2 of 3 differences** between `{F}` and `Base` are beyond noise: " in text
    assert "raised on **t0** (+0.100), lowered on **t2** (−0.050). " in text
    assert "1 is within noise: **t1** (+0.010). " in text
    assert "The card's average moves by +0.100." in text and "assumed, not known" in text


def test_fine_tune_none_beyond_noise() -> None:
    text = rb.fine_tune(_toy_noise([0.02, 0.01, -0.01]), FINE_SCORES, F, "Base", 0.2, "assumed")
    assert "**none of the 3 differences**" in text and "3 are within noise: **t0** (+0.020)" in text


def test_fine_tune_all_beyond_noise_only_up() -> None:
    text = rb.fine_tune(_toy_noise([0.2, 0.1]), FINE_SCORES, F, "Base", 0.2, "assumed")
    assert "**2 of 2 differences**" in text and "lowered on none. " in text and "within noise:" not in text


def test_task_agreement_finds_the_weakest_pair_and_the_loner() -> None:
    corr = pd.DataFrame([[1.0, 0.9, 0.1], [0.9, 1.0, 0.3], [0.1, 0.3, 1.0]], index=list("xyz"), columns=list("xyz"))
    text = rb.task_agreement(corr)
    assert (
        "between **x** and **z** (ρ = 0.10)" in text
        and "**z** agrees least with the others on average (mean ρ = 0.20)" in text
    )


def test_leave_one_out_focus_leads_everywhere() -> None:
    text = rb.leave_one_out(_toy_loo([F] * 4, [1] * 4), _toy_reported([float("nan"), 0.2, 0.3]), F)
    assert text.startswith(f"`{F}` leads in all 4 variants. ")
    assert "up to 3 of 4 models change rank, one by 2 places" in text and "down to 0.60" in text


def test_leave_one_out_one_other_leader_and_a_steady_focus() -> None:
    text = rb.leave_one_out(_toy_loo(["A"] * 4, [2] * 4), _toy_reported([float("nan"), 0.2, 0.3]), F)
    assert text.startswith(f"Across the 4 variants the leader is always `A` and `{F}` ranks 2 in every variant. ")


def test_leave_one_out_several_leaders_and_a_moving_focus() -> None:
    text = rb.leave_one_out(_toy_loo([F, "A", F, "B"], [1, 2, 1, 3]), _toy_reported([float("nan"), 0.2, 0.3]), F)
    assert f"the leader is one of 3 models (`{F}`, `A`, `B`) and `{F}` ranks between 1 and 3. " in text


def test_leave_one_out_every_other_model_below_and_the_same_rank() -> None:
    # C (0.25 over b, c) is last either way; every other model scores below its own average on a.
    text = rb.leave_one_out(_toy_loo([F] * 4, [1] * 4), _toy_reported([float("nan"), 0.2, 0.3]), F)
    assert "a task on which every other model scores below its own average. " in text
    assert text.endswith(
        "(4 either way, against the others on the same 2 tasks), but such an average is not comparable by construction."
    )


def test_leave_one_out_some_models_above_and_a_different_rank() -> None:
    # A scores above its average on a; C is 3rd by the card's average (0.46 < A's 0.5) but 2nd on b, c (A: 0.45).
    rep = _toy_reported([float("nan"), 0.46, 0.46], a_row=[0.6, 0.5, 0.4])
    text = rb.leave_one_out(_toy_loo([F] * 4, [1] * 4), rep, F)
    assert "a task on which 67% of the other models score below their own average. " in text
    assert text.endswith("It ranks 3 by the card's average but 2 against the others on the same 2 tasks.")


def test_long_vs_short_on_the_card_sentence(rep: r.Reported) -> None:
    text = rb.long_vs_short(r.long_vs_short(rep), r.CARD_MODEL, 1300, 8192)
    assert (
        "the 20 models they share" in text
        and f"`{r.CARD_MODEL}` is ranked 1 of 20 on the short tasks and 3 of 20 on MLDR" in text
    )
    assert "the best on MLDR, `Alibaba-NLP/gte-multilingual-base`" in text and "at most 1,300 tokens" in text


TOY_FACTS = pd.DataFrame({"documents": [2_500_000, 1_200_000, 500]}, index=["Big1", "Big2", "Small"])


def test_reproduced_when_the_cache_is_empty() -> None:
    text = rb.reproduced(None, TOY_FACTS, "/cache")
    assert text.startswith("**No reproduced results in this build.**") and "`/cache`" in text
    assert "where the 3 datasets" in text and "Big1 and Big2 each search about 1.2 million passages" in text


def test_reproduced_with_reported_figures() -> None:
    comparison = pd.DataFrame(
        {"model": ["m", "m", "n"], "reported": [0.5, 0.4, None], "difference": [0.01, -0.02, None]}
    )
    text = rb.reproduced(comparison, TOY_FACTS, "/cache")
    assert text.startswith(
        "Read 3 reproduced results (2 models) from `/cache`. Where the card has a figure (2 of them)"
    )
    assert "ranges from −0.0200 to +0.0100 (mean absolute difference 0.0150)" in text


def test_reproduced_without_reported_figures() -> None:
    comparison = pd.DataFrame({"model": ["n"], "reported": [None], "difference": [None]})
    assert rb.reproduced(comparison, TOY_FACTS, "/c").endswith("None of them is a model the card reports.")


def test_mteb_agreement_and_table_from_hand_made_runs() -> None:
    from types import SimpleNamespace

    key = "full"
    ours = SimpleNamespace(metrics={"ndcg@10": 0.75}, per_query={"q1": {"ndcg@10": 0.5}, "q2": {"ndcg@10": 1.0}})
    run = SimpleNamespace(
        table=pd.DataFrame({"ndcg_at_10": [0.75], key: [0.7500002]}), per_query={"toy": {"q1": 0.5000003, "q2": 1.0}}
    )
    data = SimpleNamespace(name="toy", queries={"q1": "", "q2": ""}, corpus={"d": {}})
    assert rb.mteb_difference(ours, run, key) == pytest.approx(2e-7)
    text = rb.mteb_agreement(ours, run, data, key)
    assert text.startswith(
        "On 2 queries and 1 passages the two evaluators differ by 2.0e-07 in mean NDCG@10 and by at most 3.0e-07"
    )
    table = rb.mteb_check_table(ours, run, key)
    assert table["NDCG@10"].tolist() == pytest.approx([0.75, 0.75, 0.7500002])


def test_skipped_models_none() -> None:
    assert rb.skipped_models({}) == "Every model asked for loaded in this build; none is left out of the leaderboard."


def test_skipped_models_some() -> None:
    text = rb.skipped_models({"org/x": "not cached", "org/y": "no hub"})
    assert (
        text == "Models that could not be loaded in this build and are left out: `org/x` (not cached); `org/y` (no hub)"
    )


def _fusion_cmp(mean: float, low: float, high: float) -> dict[str, float | int]:
    return {"mean_diff": mean, "low": low, "high": high, "n": 20, "n_clusters": 5}


DENSE = "m (prompt 'query: ')"


@pytest.mark.parametrize(
    ("tuned", "default", "head", "tail"),
    [
        (
            (0.03, 0.01, 0.05),
            (-0.05, -0.08, -0.02),
            "fusion with BM25 beats the dense run",
            "; default RRF costs −0.050",
        ),
        (
            (-0.03, -0.05, -0.01),
            (0.05, 0.02, 0.08),
            "Even tuned on half the needs, fusion with BM25 costs",
            "; default RRF gains +0.050",
        ),
        (
            (0.004, -0.005, 0.013),
            (0.0, -0.01, 0.01),
            "is indistinguishable from the dense run",
            "; default RRF is within noise, +0.000",
        ),
    ],
    ids=["tuned-gains", "tuned-costs", "tuned-within-noise"],
)
def test_fusion_verdict_branches(tuned: tuple[float, ...], default: tuple[float, ...], head: str, tail: str) -> None:
    text = rb.fusion_verdict({"tuned fusion": _fusion_cmp(*tuned), "default RRF": _fusion_cmp(*default)})
    assert head in text and tail in text and "5 needs" in text


def _study(promoted: list[bool], overtakes: list[bool]) -> object:
    from ko_embed_lab.benchmark import FusionStudy

    diag = pd.DataFrame(
        {
            "shared": [1, 1, 0, 2],
            "near_both": [1, 0, 0, 1],
            "promoted": promoted,
            "overtakes": overtakes,
            "form": ["a", "a", "b", "b"],
        },
        index=["q1", "q2", "q3", "q4"],
    )
    test = {"tuned fusion": _fusion_cmp(0.004, -0.005, 0.013), "default RRF": _fusion_cmp(-0.07, -0.1, -0.04)}
    study = FusionStudy(
        dense=DENSE,
        lexical="BM25",
        diagnosis=diag,
        tune_needs=["n1", "n2"],
        test_needs=["n3", "n4", "n5"],
        setting={"method": "rrf", "k": 5.0, "weights": (0.7, 0.3)},
        grid=pd.DataFrame({"x": range(7)}),
        test=test,
        by_form=pd.DataFrame(),
        seed=0,
    )
    return study


def test_fusion_overtaking_dominates() -> None:
    study = _study([False, False, False, False], [True, False, True, False])
    table = study.diagnosis_by_form()  # type: ignore[attr-defined]
    assert table.loc["all", "shared"] == 0.75 and table.loc["a", "near_both"] == 0.5 and table.loc["all", "n"] == 4
    text = rb.fusion(study)
    assert text.startswith(
        "Both systems put one of the query's hard negatives in their top ten for 75% of the 4 queries"
    )
    assert "for only 0% of queries; far more often (50%)" in text and "not what the fusion loses on" in text
    assert (
        "on 2 needs (seeded split, seed 0) from 7 settings picks RRF with k = 5 and weights dense 0.7, BM25 0.3" in text
    )
    assert "the other 3 needs report it" in text and "is indistinguishable from the dense run" in text


def test_fusion_shared_near_misses_dominate() -> None:
    text = rb.fusion(_study([True, True, False, False], [True, False, False, False]))
    assert "lifts such a shared near-miss above every relevant passage for 50% of queries, more often than" in text


def _takeaways(n_short: list[int], diffs: list[float], leaders: list[str]) -> list[str]:
    check = pd.DataFrame({"difference": [1e-7, -2e-7, 0.0], "n_tasks": n_short})
    lvs = pd.DataFrame({"short average": [0.3, 0.2, 0.1, 0.4], r.LONG_TASK: [0.1, 0.2, 0.3, 0.4]})
    return rb.takeaways(check, _toy_noise(diffs), _toy_loo(leaders, [1] * 4), lvs, 3e-8, "Fusion verdict.").splitlines()


def test_takeaways_one_model_one_tiny_difference_one_leader() -> None:
    lines = _takeaways([3, 2, 3], [0.1, 0.005, -0.02], [F] * 4)
    assert lines[0].endswith(
        "here the averages recompute to within 2e-07, but 1 of 3 models is averaged over fewer tasks than the rest."
    )
    assert lines[1].startswith(
        "- Of the Korean fine-tune's 3 per-task differences from its base, 1 is beyond sampling noise (1 up, 0 down) "
        "and 2 within it"
    )
    assert lines[-1] == "- Fusion verdict."
    assert (
        lines[2]
        == f"- The card's leader survives dropping any one task (`{F}`); the middle of the table does not (moves of up to 2 places)."
    )
    assert "(τ = 0.00)" in lines[3] and "(difference 3.0e-08)" in lines[4]


def test_takeaways_several_models_several_tiny_differences_several_leaders() -> None:
    lines = _takeaways([2, 2, 3], [0.005, 0.004, -0.02], [F, "A", F, F])
    assert lines[0].endswith("but 2 of 3 models are averaged over fewer tasks than the rest.")
    assert "3 per-task differences from its base, 0 are beyond sampling noise (0 up, 0 down) and 3 within" in lines[1]
    assert (
        lines[2]
        == "- Even the leader depends on which tasks are averaged (2 different leaders); (moves of up to 2 places)."
    )


def test_model_size_when_a_big_model_is_in_the_top_three() -> None:
    table = pd.DataFrame(
        {
            "average (card)": [0.95, 0.9, 0.8, 0.7],
            "params_millions": [1500.0, 300.0, 300.0, 300.0],
            "max_tokens": [8192] * 4,
        },
        index=pd.Index(["Big", "S1", "S2", "D"], name="model"),
    )
    assert rb.model_size(table, r.model_sizes(table)).startswith(
        "A billion-parameter model is among the top three here"
    )


def test_long_vs_short_largely_agree_and_mteb_disagreement() -> None:
    from types import SimpleNamespace

    lvs = pd.DataFrame(
        {
            "short average": [0.4, 0.3, 0.2],
            r.LONG_TASK: [0.4, 0.3, 0.2],
            "short rank": [1, 2, 3],
            "MLDR rank": [1, 2, 3],
            "max_tokens": [8192, 512, 512],
        },
        index=["a", "b", "c"],
    )
    assert rb.long_vs_short(lvs, "a", 1300, 8192).startswith(
        "The two tables largely agree on the order of the 3 models"
    )
    ours = SimpleNamespace(metrics={"ndcg@10": 0.75}, per_query={"q1": {"ndcg@10": 0.5}, "q2": {"ndcg@10": 1.0}})
    run = SimpleNamespace(
        table=pd.DataFrame({"ndcg_at_10": [0.7], "full": [0.7]}), per_query={"toy": {"q1": 0.4, "q2": 1.0}}
    )
    data = SimpleNamespace(name="toy", queries={"q1": "", "q2": ""}, corpus={"d": {}})
    assert "**they disagree beyond that tolerance**" in rb.mteb_agreement(ours, run, data, "full")


def test_takeaways_when_mteb_and_ours_differ() -> None:
    check = pd.DataFrame({"difference": [0.0, 0.0, 0.0], "n_tasks": [3, 3, 3]})
    lvs = pd.DataFrame({"short average": [0.3, 0.2, 0.1, 0.4], r.LONG_TASK: [0.3, 0.2, 0.1, 0.4]})
    lines = rb.takeaways(check, _toy_noise([0.1, 0.0, 0.0]), _toy_loo([F] * 4, [1] * 4), lvs, 1e-3, "v").splitlines()
    assert "largely agree (τ = 1.00)" in lines[3] and "differ on the same embeddings (difference 1.0e-03)" in lines[4]
