"""MTEB(kor, v2) figures from mteb's results repository: the shipped data, the loader, the board,
the card comparison and the extraction script's --check."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import pandas as pd
import pytest

from ko_embed_lab.data import mteb_kor as mk

ROOT = Path(__file__).resolve().parents[1]
TARGET = "dragonkue/snowflake-arctic-embed-l-v2.0-ko"
E5_SMALL = "intfloat/multilingual-e5-small"
MIRROR = Path("/work/.mirror/embeddings-benchmark+results/repo")


@pytest.fixture(scope="module")
def scores() -> pd.DataFrame:
    return mk.load_mteb_kor()


@pytest.fixture(scope="module")
def subsets() -> pd.DataFrame:
    return mk.load_mteb_kor("subset")


# ---------------------------------------------------------------- the shipped data


def test_shipped_scores_are_well_formed(scores: pd.DataFrame, subsets: pd.DataFrame) -> None:
    assert len(scores.attrs["commit"]) == 40
    assert scores.attrs["source"].startswith(f"embeddings-benchmark/results@{scores.attrs['commit']}")
    assert not scores.duplicated(["model", "revision", "task"]).any()
    assert not subsets.duplicated(["model", "revision", "task", "split", "subset"]).any()
    # 0-1 scale; an STS score is a Spearman correlation, negative for a few non-Korean models.
    sts = scores["task_type"] == "STS"
    assert scores.loc[~sts, "main_score"].between(0, 1).all()
    assert scores.loc[sts, "main_score"].between(-1, 1).all() and scores.loc[sts, "main_score"].median() > 0.5
    assert subsets["main_score"].between(-1, 1).all()
    bench = scores[scores["in_benchmark"]]
    assert bench["task"].nunique() == 20
    assert set(scores.loc[~scores["in_benchmark"], "task"]) == {"XPQARetrieval"}
    full = bench.groupby(["model", "revision"])["task"].nunique()
    assert (full == 20).sum() >= 10, "at least some models have all 20 tasks"
    assert set(bench["task_type"]) == {
        "Classification",
        "Clustering",
        "PairClassification",
        "Reranking",
        "Retrieval",
        "STS",
    }
    # Every task-level figure is the mean of its parts (mteb's rule), where all parts are shipped.
    k = ["model", "revision", "task"]
    mean = subsets.groupby(k)["main_score"].mean().rename("mean_of_parts").reset_index()
    both = scores.merge(mean, on=k)
    assert len(both) == len(scores)
    assert (both["main_score"] - both["mean_of_parts"]).abs().max() < 1e-7


def test_target_and_e5_small_rows(scores: pd.DataFrame, subsets: pd.DataFrame) -> None:
    target = scores[(scores["model"] == TARGET) & scores["in_benchmark"]]
    assert target["task"].nunique() == 20
    e5 = scores[scores["model"] == E5_SMALL]
    assert e5["revision"].nunique() == 2  # two revisions, 6 and 15 tasks: the loader picks the latter
    chosen = mk.choose_revisions(scores)
    assert chosen.set_index("model").loc[E5_SMALL, "revision"].startswith("fd1525a9")


# Published e5-small figures (DESIGN.md §1, NDCG@10 × 100) and the mteb part each one is.
E5_PUBLISHED = [
    ("MrTidyRetrieval", "test", "korean", 55.97),
    ("MIRACLRetrieval", "dev", "ko", 61.24),
    ("XPQARetrieval", "test", "kor-kor", 32.98),
    ("BelebeleRetrieval", "test", "kor_Hang-kor_Hang", 90.53),
    ("PublicHealthQA", "test", "korean", 73.70),
    ("AutoRAGRetrieval", "test", "default", 80.07),
    ("Ko-StrategyQA", "dev", "default", 75.16),
]


@pytest.mark.parametrize(("task", "split", "subset", "published"), E5_PUBLISHED)
def test_e5_small_matches_its_published_figures(
    subsets: pd.DataFrame, task: str, split: str, subset: str, published: float
) -> None:
    row = subsets[
        (subsets["model"] == E5_SMALL)
        & (subsets["task"] == task)
        & (subsets["split"] == split)
        & (subsets["subset"] == subset)
    ]
    assert len(row) == 1
    assert 100 * float(row["main_score"].iloc[0]) == pytest.approx(published, abs=0.005)


def test_e5_small_mldr_published_figure_is_the_dev_test_mean(scores: pd.DataFrame, subsets: pd.DataFrame) -> None:
    """21.18 is the benchmark's figure (mean of dev and test), not either split alone."""
    row = scores[(scores["model"] == E5_SMALL) & (scores["task"] == "MultiLongDocRetrieval")]
    assert row["split"].item() == "dev;test"
    assert 100 * row["main_score"].item() == pytest.approx(21.18, abs=0.005)
    parts = subsets[(subsets["model"] == E5_SMALL) & (subsets["task"] == "MultiLongDocRetrieval")]
    assert not (100 * parts["main_score"] - 21.18).abs().lt(0.005).any()


def test_belebele_benchmark_figure_averages_three_korean_subsets(scores: pd.DataFrame) -> None:
    row = scores[(scores["model"] == TARGET) & (scores["task"] == "BelebeleRetrieval")]
    assert row["subsets"].item() == "kor_Hang-kor_Hang;kor_Hang-eng_Latn;eng_Latn-kor_Hang"
    assert row["main_score"].item() == pytest.approx((0.95177 + 0.92258 + 0.89784) / 3, abs=1e-7)


def test_load_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="level"):
        mk.load_mteb_kor("split")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="revisions"):
        mk.load_mteb_kor(revisions="latest")  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError, match="extract_mteb_kor"):
        mk.load_mteb_kor(folder=tmp_path)


def test_load_chosen_keeps_one_revision_per_model(scores: pd.DataFrame) -> None:
    one = mk.load_mteb_kor(revisions="chosen")
    assert one.groupby("model")["revision"].nunique().max() == 1
    assert one["model"].nunique() == scores["model"].nunique()
    sub = mk.load_mteb_kor("subset", revisions="chosen")
    assert sub.groupby("model")["revision"].nunique().max() == 1


# ---------------------------------------------------------------- board


def _frame(rows: list[tuple]) -> pd.DataFrame:
    cols = ["model", "revision", "task", "task_type", "main_score", "date"]
    df = pd.DataFrame(rows, columns=cols)
    df["in_benchmark"] = True
    return df


def test_board_ranks_complete_models_and_counts_the_dropped() -> None:
    df = _frame(
        [
            ("a", "r1", "T1", "Retrieval", 0.8, None),
            ("a", "r1", "T2", "STS", 0.6, None),
            ("b", "r1", "T1", "Retrieval", 0.7, None),
            ("b", "r1", "T2", "STS", 0.7, None),
            ("c", "r1", "T1", "Retrieval", 0.9, None),  # lacks T2
            # d: an older revision with both tasks, a newer one with one: the one with more tasks counts
            ("d", "old", "T1", "Retrieval", 0.1, "2024-01-01"),
            ("d", "old", "T2", "STS", 0.1, "2024-01-01"),
            ("d", "new", "T1", "Retrieval", 0.95, "2025-01-01"),
        ]
    )
    board = mk.mteb_kor_board(df)
    assert list(board.index) == ["a", "b", "d"]
    assert board["rank"].tolist() == [1, 1, 3]  # a and b tie at 0.7
    assert board.attrs["dropped"] == 1
    assert board.attrs["tasks"] == ["T1", "T2"]
    assert board.attrs["note"] == "3 models with at least 2 of 2 tasks; 1 of the 4 models with any of them left out"
    assert board.loc["d", "T1"] == 0.1
    retrieval = mk.mteb_kor_board(df, task_types="Retrieval")
    assert retrieval.index[0] == "c" and retrieval.loc["d", "T1"] == 0.1  # d keeps its chosen revision, "old"
    assert retrieval.attrs["dropped"] == 0
    loose = mk.mteb_kor_board(df, min_tasks=1)
    assert loose.loc["c", "n_tasks"] == 1 and loose.attrs["dropped"] == 0
    with pytest.raises(ValueError, match="no task"):
        mk.mteb_kor_board(df, task_types="Clustering")
    with pytest.raises(ValueError, match="min_tasks"):
        mk.mteb_kor_board(df, min_tasks=3)


def test_board_ignores_tasks_outside_the_benchmark() -> None:
    df = _frame([("a", "r", "T1", "Retrieval", 0.5, None), ("a", "r", "X", "Retrieval", 0.9, None)])
    df.loc[1, "in_benchmark"] = False
    assert mk.mteb_kor_board(df).attrs["tasks"] == ["T1"]


def test_choose_revisions_prefers_tasks_then_date() -> None:
    df = _frame(
        [
            ("m", "a", "T1", "STS", 0.5, "2025-06-01"),
            ("m", "b", "T1", "STS", 0.5, "2024-01-01"),
            ("n", "x", "T1", "STS", 0.5, None),
            ("n", "y", "T1", "STS", 0.5, "2020-01-01"),
        ]
    )
    got = mk.choose_revisions(df).set_index("model")["revision"]
    assert got["m"] == "a"  # same task count: the later date
    assert got["n"] == "y"  # a known date beats an unknown one


# ---------------------------------------------------------------- card vs mteb


def _mteb(rows: list[tuple]) -> pd.DataFrame:
    cols = ["model", "revision", "task", "split", "subsets", "main_score", "model_prompts"]
    df = pd.DataFrame(rows, columns=cols)
    df["in_benchmark"] = True
    df["date"] = None
    return df


def test_card_vs_mteb_names_every_cause() -> None:
    card = pd.DataFrame(
        {
            "model": ["agree", "split", "rev", "offset", "noprompt", "unk"],
            "MrTidy": [50.0, 50.0, 45.0, 52.0, 50.0, 50.0],  # 0-100: divided by 100
            "MIRACL": [60.0, None, None, 62.0, None, None],
            "Ko-StrategyQA": [70.0, None, None, 72.0, None, None],
            "Belebele": [90.0, 90.0, None, None, None, None],
            "average": [1.0] * 6,  # not a task: ignored
        }
    )
    bel = ("test", "kor_Hang-kor_Hang;kor_Hang-eng_Latn;eng_Latn-kor_Hang")
    mteb = _mteb(
        [
            ("agree", "r", "MrTidyRetrieval", "test", "korean", 0.5, ""),
            ("agree", "r", "MIRACLRetrieval", "dev", "ko", 0.6004, ""),
            ("agree", "r", "Ko-StrategyQA", "dev", "default", 0.7, ""),
            ("agree", "r", "BelebeleRetrieval", *bel, 0.9, ""),
            ("split", "r", "MrTidyRetrieval", "test", "korean", 0.5, ""),
            ("split", "r", "BelebeleRetrieval", *bel, 0.8, ""),
            ("rev", "r1", "MrTidyRetrieval", "test", "korean", 0.45, ""),
            ("rev", "r2", "MrTidyRetrieval", "test", "korean", 0.50, ""),
            ("rev", "r2", "Ko-StrategyQA", "dev", "default", 0.5, ""),  # makes r2 the chosen one
            ("offset", "r", "MrTidyRetrieval", "test", "korean", 0.50, ""),
            ("offset", "r", "MIRACLRetrieval", "dev", "ko", 0.60, ""),
            ("offset", "r", "Ko-StrategyQA", "dev", "default", 0.70, ""),
            ("noprompt", "r", "MrTidyRetrieval", "test", "korean", 0.4, "none"),
            ("unk", "r", "MrTidyRetrieval", "test", "korean", 0.4, '{"query": "query: "}'),
            ("only_mteb", "r", "MrTidyRetrieval", "test", "korean", 0.4, ""),
        ]
    )
    parts = pd.DataFrame(
        [
            ("split", "r", "BelebeleRetrieval", "test", "kor_Hang-kor_Hang", 0.9),
            ("split", "r", "BelebeleRetrieval", "test", "kor_Hang-eng_Latn", 0.75),
            ("split", "r", "BelebeleRetrieval", "test", "eng_Latn-kor_Hang", 0.75),
        ],
        columns=["model", "revision", "task", "split", "subset", "main_score"],
    )
    out = mk.card_vs_mteb(card, mteb, tolerance=0.001, subsets=parts)
    cause = out.set_index(["model", "task"])["likely_cause"]
    assert set(out["model"]) == {"agree", "split", "rev", "offset", "noprompt", "unk"}
    assert len(out) == 4 + 2 + 1 + 3 + 1 + 1
    assert (out.loc[out["model"] == "agree", "likely_cause"] == "agrees").all()
    assert cause[("split", "BelebeleRetrieval")].startswith("split/subset: card test/kor_Hang-kor_Hang, mteb test/")
    assert "the card's figure is mteb's test/kor_Hang-kor_Hang figure 0.90000" in cause[("split", "BelebeleRetrieval")]
    assert cause[("split", "MrTidyRetrieval")] == "agrees"
    assert cause[("rev", "MrTidyRetrieval")].startswith("mteb revisions disagree (spread 0.05000 over 2")
    assert out.set_index(["model", "task"]).loc[("rev", "MrTidyRetrieval"), "revision"] == "r2"
    assert all(
        cause[("offset", t)].startswith("constant offset across tasks (about +0.02000")
        for t in ("MrTidyRetrieval", "MIRACLRetrieval", "Ko-StrategyQA")
    )
    assert cause[("noprompt", "MrTidyRetrieval")].startswith("no prompt in the mteb run")
    assert cause[("unk", "MrTidyRetrieval")] == "unknown"
    row = out.set_index(["model", "task"]).loc[("unk", "MrTidyRetrieval")]
    assert row["card"] == pytest.approx(0.5) and row["mteb"] == pytest.approx(0.4)
    assert row["difference"] == pytest.approx(0.1) and not row["agree"]
    assert math.isnan(row["mteb_at_card_split"])


def test_card_vs_mteb_split_cause_without_a_matching_part() -> None:
    card = pd.DataFrame({"MultiLongDocRetrieval": [0.30]}, index=pd.Index(["m"], name="model"))
    mteb = _mteb([("m", "r", "MultiLongDocRetrieval", "dev;test", "ko", 0.25, "")])
    out = mk.card_vs_mteb(card, mteb)
    assert out["likely_cause"].item() == "split/subset: card test/ko, mteb dev;test/ko"
    assert out["matching_part"].item() == ""


def test_card_vs_mteb_rejects_a_card_without_tasks() -> None:
    with pytest.raises(ValueError, match="none of the tasks"):
        mk.card_vs_mteb(pd.DataFrame({"model": ["m"], "Foo": [1.0]}), _mteb([]))


def test_card_vs_mteb_on_the_shipped_card(scores: pd.DataFrame, subsets: pd.DataFrame) -> None:
    """The card's figures are mteb's; its MLDR column is mteb's dev split. (No XPQA run of the target in the repo.)"""
    folder = ROOT / "ko_embed_lab" / "data" / "reported"
    card = pd.read_csv(folder / "card_retrieval.csv", comment="#")
    mldr = pd.read_csv(folder / "card_mldr.csv", comment="#")[["model", "MultiLongDocRetrieval"]]
    out = mk.card_vs_mteb(card.merge(mldr, on="model", how="outer"), scores, subsets=subsets)
    target = out[out["model"] == TARGET].set_index("task")
    assert len(target) == 7 and "XPQARetrieval" not in target.index
    assert target.loc["MrTidyRetrieval", "agree"]
    assert target.loc["BelebeleRetrieval", "mteb_at_card_split"] == pytest.approx(0.95177)
    # The card's MLDR column is mteb's dev split, not test.
    assert target.loc["MultiLongDocRetrieval", "matching_part"].startswith("dev/ko")


# ---------------------------------------------------------------- the extraction script


def _script():
    spec = importlib.util.spec_from_file_location("extract_mteb_kor", ROOT / "scripts" / "extract_mteb_kor.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _task_json(parts: dict[str, list[tuple[str, list[str], float]]]) -> str:
    scores = {
        split: [{"hf_subset": s, "languages": langs, "main_score": v, "ndcg_at_10": v} for s, langs, v in rows]
        for split, rows in parts.items()
    }
    return json.dumps(
        {
            "dataset_revision": "abc",
            "task_name": "",
            "mteb_version": "2.1.0",
            "scores": scores,
            "evaluation_time": 1.0,
            "kg_co2_emissions": None,
        }
    )


def _fake_repo(root: Path, belebele_kk: float = 0.9) -> Path:
    rev = root / "results" / "org__model" / "rev1"
    rev.mkdir(parents=True)
    (rev / "model_meta.json").write_text(
        json.dumps({"name": "org/model", "revision": "rev1", "loader_kwargs": {}, "use_instructions": False})
    )
    mrtidy = json.loads(_task_json({"test": [("korean", ["kor-Kore"], 0.5), ("arabic", ["ara-Arab"], 0.1)]}))
    mrtidy["task_name"] = "MrTidyRetrieval"
    (rev / "MrTidyRetrieval.json").write_text(json.dumps(mrtidy))
    bel = json.loads(
        _task_json(
            {
                "test": [
                    ("kor_Hang-kor_Hang", ["kor-Hang", "kor-Hang"], belebele_kk),
                    ("kor_Hang-eng_Latn", ["kor-Hang", "eng-Latn"], 0.6),
                    ("eng_Latn-kor_Hang", ["eng-Latn", "kor-Hang"], 0.6),
                    ("deu_Latn-deu_Latn", ["deu-Latn", "deu-Latn"], 0.99),
                ]
            }
        )
    )
    bel["task_name"] = "BelebeleRetrieval"
    (rev / "BelebeleRetrieval.json").write_text(json.dumps(bel))
    sts = json.loads(_task_json({"test": [("en-en", ["eng-Latn"], 0.8)]}))  # no Korean part: no row
    sts["task_name"] = "STS17"
    (rev / "STS17.json").write_text(json.dumps(sts))
    return root


def test_check_passes_on_the_same_repo_and_fails_on_a_changed_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("mteb")
    script = _script()
    repo = _fake_repo(tmp_path / "repo")
    out = tmp_path / "out"
    assert script.main([str(repo), "--out", str(out)]) == 0
    shipped = mk.load_mteb_kor(folder=out)
    assert shipped.set_index("task")["main_score"].to_dict() == pytest.approx(
        {"MrTidyRetrieval": 0.5, "BelebeleRetrieval": 0.7}
    )
    assert shipped.loc[shipped["task"] == "MrTidyRetrieval", "model_prompts"].item() == "none"
    parts = mk.load_mteb_kor("subset", folder=out)
    assert len(parts) == 4  # MrTidy korean + Belebele's three Korean subsets; no German, no STS17
    assert script.main(["--check", str(repo), "--out", str(out)]) == 0

    changed = _fake_repo(tmp_path / "changed", belebele_kk=0.6)
    capsys.readouterr()
    assert script.main(["--check", str(changed), "--out", str(out)]) == 1
    printed = capsys.readouterr().out
    assert "scores.csv: differs: ('org/model', 'rev1', 'BelebeleRetrieval')" in printed
    assert "subsets.csv: differs: ('org/model', 'rev1', 'BelebeleRetrieval', 'test', 'kor_Hang-kor_Hang')" in printed


@pytest.mark.slow
def test_check_against_the_fetched_results_repository() -> None:
    if not MIRROR.exists():
        pytest.skip("the results repository is not fetched on this machine")
    assert _script().main(["--check", str(MIRROR)]) == 0
