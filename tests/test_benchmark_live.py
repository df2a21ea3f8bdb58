"""Chapter 4's live leaderboard, speed, static-model finding, MTEB(kor, v2) board and card-vs-mteb sentences,
and ``ko-embed-lab benchmark --benchmark``: every branch with hand-made inputs."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from ko_embed_lab import benchmark as bench
from ko_embed_lab.benchmark import runner
from ko_embed_lab.cli import main as cli_main
from ko_embed_lab.report import benchmark as rb


def _test(mean: float, low: float, high: float) -> dict[str, float | int]:
    return {"mean_diff": mean, "low": low, "high": high, "n": 20, "n_clusters": 5, "sign_test_p": 0.01}


def _groups(rows: dict[tuple[str, str], tuple[float, float, float, bool]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"system": s, "group": g, "n": 10, "mean_diff": m, "low": lo, "high": hi, "significant": sig}
            for (s, g), (m, lo, hi, sig) in rows.items()
        ]
    ).set_index(["system", "group"])


def _comparison(ndcg: dict[str, float], tests: dict[str, dict], group_tests: dict | None = None) -> SimpleNamespace:
    results = {
        n: SimpleNamespace(metrics={"ndcg@10": v}, per_query={f"q{i}": {} for i in range(20)}) for n, v in ndcg.items()
    }
    frame = pd.DataFrame({"ndcg@10": ndcg}).sort_values("ndcg@10", ascending=False)
    return SimpleNamespace(
        results=results,
        baseline=next(iter(ndcg)),
        comparisons=tests,
        group_tests=group_tests or {},
        frame=lambda: frame,
    )


# --- the live leaderboard ----------------------------------------------------------------------


def test_leaderboard_book_model_leads_bm25_groups_and_fusion_cost() -> None:
    groups = {
        "form": _groups(
            {
                ("bm25", "keywords"): (0.1, 0.05, 0.15, True),
                ("bm25", "question"): (-0.2, -0.3, -0.1, True),
                ("bm25", "phrase"): (0.05, -0.01, 0.1, False),
            }
        ),
        "domain": _groups({("bm25", "law"): (0.04, 0.01, 0.08, False)}),
    }
    cmp = _comparison(
        {"bundled": 0.86, "rrf:bundled+bm25": 0.79, "bm25": 0.76, "use": 0.85},
        {
            "rrf:bundled+bm25": _test(-0.07, -0.09, -0.05),
            "bm25": _test(-0.1, -0.13, -0.07),
            "use": _test(-0.01, -0.03, 0.01),
        },
        groups,
    )
    text = rb.leaderboard(cmp)
    assert text.startswith("On this build's KoProbe (20 queries), **`bundled`** leads with NDCG@10 0.860. ")
    assert "worse beyond noise: `rrf:bundled+bm25` (−0.070), `bm25` (−0.100); within noise: `use` (−0.010)" in text
    assert "BM25 is better on 1 of 3 query forms (keywords), worse on 1 (question) and within noise on 1" in text
    # law: interval off zero but Holm does not reject: within noise
    assert "better on 0 of 1 domains, worse on 0 and within noise on 1" in text
    assert text.endswith("against `bundled` alone: a cost beyond noise (the next section asks why).")


def test_leaderboard_another_leader_fusion_gain_or_within_noise_no_groups() -> None:
    cmp = _comparison(
        {"book": 0.7, "rrf:book+bm25": 0.8, "bm25": 0.6},
        {"rrf:book+bm25": _test(0.1, 0.05, 0.15), "bm25": _test(0.01, -0.02, 0.03)},
    )
    text = rb.leaderboard(cmp)
    assert "**`rrf:book+bm25`** leads with NDCG@10 0.800, ahead of the book's model `book` (0.700)." in text
    assert "better beyond noise: `rrf:book+bm25` (+0.100); within noise: `bm25` (+0.010)" in text
    assert "BM25 is no form breakdown" not in text and "no query forms breakdown" in text
    assert text.endswith(": a gain beyond noise.")
    cmp.comparisons["rrf:book+bm25"] = _test(0.01, -0.01, 0.03)
    assert rb.leaderboard(cmp).endswith(": within noise.")


# --- speed ------------------------------------------------------------------------------------


def _speed() -> pd.DataFrame:
    return pd.DataFrame(
        {"texts": [32, 32], "tokens/s": [100_000.0, 250.0], "chars/s": [200_000.0, 500.0]},
        index=pd.Index(["static", "bundled"], name="encoder"),
    )


def test_speed_faster_with_a_large_small_or_no_loss() -> None:
    cmp = _comparison({"bundled": 0.86, "static": 0.33}, {"static": _test(-0.53, -0.6, -0.48)})
    text = rb.speed(_speed(), cmp, "static", "bundled")
    assert "`static` encodes 100,000 tokens/s against 250 for `bundled`: 400 times as many" in text
    assert "(characters/s, which does not depend on the tokenizer: 400.0×)" in text
    assert "The price is quality: NDCG@10 0.330 against 0.860" in text and "far beyond noise" in text
    cmp = _comparison({"bundled": 0.86, "static": 0.80}, {"static": _test(-0.06, -0.08, -0.03)})
    assert "It costs NDCG@10 0.800 against 0.860" in rb.speed(_speed(), cmp, "static", "bundled")
    cmp = _comparison({"bundled": 0.86, "static": 0.85}, {"static": _test(-0.01, -0.03, 0.01)})
    assert rb.speed(_speed(), cmp, "static", "bundled").endswith("is not worse beyond noise: speed comes free here.")
    cmp = _comparison({"other": 0.9, "bundled": 0.86, "static": 0.85}, {})
    assert "no paired test: `bundled` is not the comparison's first system" in rb.speed(
        _speed(), cmp, "static", "bundled"
    )


def test_speed_about_as_fast_and_slower() -> None:
    cmp = _comparison({"bundled": 0.86, "static": 0.85}, {"static": _test(-0.01, -0.03, 0.01)})
    table = _speed()
    table.loc["static", "tokens/s"] = 300.0
    assert "about as many" in rb.speed(table, cmp, "static", "bundled")
    table.loc["static", "tokens/s"] = 100.0
    assert "250 for `bundled`: fewer" in rb.speed(table, cmp, "static", "bundled")


# --- the static model's finding -----------------------------------------------------------------


def _diag(**kw: object) -> dict:
    d = {
        "ndcg": 0.33,
        "ndcg_no_prompt": 0.32,
        "n_docs": 384,
        "truncated": 0,
        "max_tokens": 315,
        "max_seq_length": 512,
        "toy_correct": 4,
        "toy_n": 5,
        "teacher_toy_correct": 5,
        "lexical_ndcg": 0.71,
        "idf_ndcg": 0.42,
    }
    d.update(kw)
    return d


def test_static_finding_low_not_prompt_not_truncation_lost_in_the_vectors() -> None:
    text = rb.static_finding(_diag(), 0.866)
    assert text.startswith("The static model stays far below its teacher (NDCG@10 0.330 against 0.866).")
    assert "not the prompt (without prompts 0.320)" in text
    assert "not truncation (the longest passage has 315 tokens, the limit is 512)" in text
    assert "rank 4 of 5 simple Korean query–sentence pairs right (the teacher 5)" in text
    assert "TF-IDF over the very same tokens reaches NDCG@10 0.710" in text and "lifts it to 0.420" in text


def test_static_finding_prompt_truncation_and_unknown_branches() -> None:
    text = rb.static_finding(_diag(ndcg_no_prompt=0.45, truncated=100, lexical_ndcg=0.4), 0.866)
    assert "the prompt is part of it (without prompts NDCG@10 is 0.450)" in text
    assert "truncation is part of it (100 of 384 passages reach the 512-token limit)" in text
    assert text.endswith("the cause is not found by these checks.")


def test_static_finding_close_to_its_teacher() -> None:
    assert rb.static_finding(_diag(ndcg=0.8), 0.866).endswith("nothing to explain.")


# --- the MTEB(kor, v2) board ----------------------------------------------------------------------


def _board(scores: dict[str, list[float]], tasks: list[str]) -> pd.DataFrame:
    b = pd.DataFrame(scores, index=tasks).T
    b["n_tasks"] = len(tasks)
    b["average"] = b[tasks].mean(axis=1)
    b["rank"] = b["average"].rank(ascending=False, method="min").astype(int)
    b = b.sort_values("rank")
    b.attrs.update(tasks=tasks, note=f"{len(b)} models", source="embeddings-benchmark/results@abc")
    return b


def test_mteb_kor_rank_placed_with_best_and_lowest_tasks() -> None:
    tasks = ["T1", "T2", "T3", "T4"]
    ret = _board(
        {"a": [0.9, 0.9, 0.9, 0.9], "f": [0.95, 0.5, 0.6, 0.1], "c": [0.1, 0.6, 0.5, 0.2], "d": [0.2, 0.7, 0.4, 0.3]},
        tasks,
    )
    every = _board({"f": [0.9, 0.9, 0.9, 0.9], "a": [0.1, 0.1, 0.1, 0.1]}, tasks)
    text = rb.mteb_kor_rank(ret, every, "f")
    assert "On the retrieval tasks (4 tasks, 4 models that have all of them) `f` ranks **2 of 4**" in text
    assert "`a` leads with 0.900. Its best places (rank within the task) are on T1 (1), T3 (2)" in text
    assert "its lowest is T4 (4 of 4)" in text
    assert (
        "On all task types (4 tasks, 2 models that have all of them) `f` ranks **1 of 2** with a mean main score of 0.900."
        in text
    )
    assert text.endswith("Every figure here is reported, from embeddings-benchmark/results@abc.")


def test_mteb_kor_rank_not_ranked_and_never_in_the_top_three() -> None:
    tasks = ["T1"]
    ret = _board({m: [v] for m, v in zip("abcde", [0.9, 0.8, 0.7, 0.6, 0.5], strict=True)}, tasks)
    text = rb.mteb_kor_rank(ret, _board({"a": [0.9]}, tasks), "e")
    assert "It is in the top three on none of them; its lowest is T1 (5 of 5)" in text
    assert (
        "On all task types (1 tasks) `e` is not ranked: it lacks some of them (1 models); `a` leads with 0.900" in text
    )


# --- the card against mteb -------------------------------------------------------------------------


def _card_mteb(rows: list[tuple]) -> pd.DataFrame:
    t = pd.DataFrame(rows, columns=["model", "task", "difference", "agree", "matching_part", "likely_cause"])
    t.attrs["tolerance"] = 0.001
    return t


def test_card_vs_mteb_all_agree() -> None:
    t = _card_mteb([("m", "A", 0.0, True, "", "agrees"), ("n", "A", 0.0005, True, "", "agrees")])
    assert rb.card_vs_mteb(t) == (
        "Of the **2 figures** (model, task) that both the card and mteb's results repository give, for 2 models, "
        "**2 agree** within 0.001 NDCG@10: the card copies mteb's official runs."
    )


def test_card_vs_mteb_split_long_task_other_and_unknown_causes() -> None:
    long = "MultiLongDocRetrieval"
    t = _card_mteb(
        [
            ("m", "A", 0.0, True, "", "agrees"),
            ("m", "Belebele", 0.03, False, "test/kor-kor figure 0.9", "split/subset: card test/x, mteb test/x;y"),
            ("m", long, 0.02, False, "dev/ko figure 0.4", "split/subset: card test/ko, mteb dev;test/ko"),
            ("n", long, -0.01, False, "", "split/subset: card test/ko, mteb dev;test/ko"),
            ("n", "B", 0.04, False, "", "unknown"),
            ("o", "B", 0.005, False, "", "mteb revisions disagree (spread 0.01 over 2 revisions)"),
        ]
    )
    text = rb.card_vs_mteb(t)
    assert "for 3 models, **1 agree** within 0.001 NDCG@10 and 5 differ (card − mteb from −0.0100 to +0.0400)" in text
    assert "3 differ because the card reports another split or subset" in text and f"(Belebele, {long})" in text
    assert "for 2 of them mteb's files hold the card's exact figure" in text
    assert f"On {long} the card's figures equal mteb's **dev** split for 1 of 2 models (test: 0)" in text
    assert "1 have a known cause on mteb's side (mteb revisions disagree" in text
    assert "1 differ at the card's own split with no cause in the data (largest: `n` on B, +0.0400)" in text
    no_unknown = t[t["likely_cause"] != "unknown"].copy()
    no_unknown.attrs["tolerance"] = 0.001
    assert rb.card_vs_mteb(no_unknown).endswith("Every difference has a cause in the data.")


# --- systems, speed, static checks -------------------------------------------------------------


def test_system_names_and_live_systems() -> None:
    assert bench.system_name("bundled") == "bundled"
    assert bench.system_name("static") == "static-e5-small"
    assert bench.system_name("org/model") == "org/model"
    assert bench.live_systems("bundled", ["bundled", "x"]) == ["bundled", "offline", "x", "rrf:bundled+bm25"]


class _Fake:
    """A fake encoder: 2-d vectors from text length, one token per character."""

    dim = 2
    document_prompt = "p: "

    def __init__(self) -> None:
        self.calls = 0

    def prompt_for(self, kind: str) -> str:
        return self.document_prompt

    def token_lengths(self, texts: list[str]) -> list[int]:
        return [len(t) for t in texts]

    def encode(self, texts: list[str], cache: object = None) -> np.ndarray:
        self.calls += 1
        return np.ones((len(texts), 2), dtype=np.float32)


def test_encoding_speed_counts_tokens_with_the_prompt_and_times_every_repeat() -> None:
    a, b = _Fake(), _Fake()
    df = bench.encoding_speed({"a": a, "b": b}, ["xy", "xyz"], repeats=2)
    assert list(df.columns) == ["dim", "texts", "tokens", "wall_s", "texts/s", "tokens/s", "chars/s", "speed-up"]
    assert df.loc["a", "tokens"] == 5 + 2 * 3  # "p: " before each text
    assert a.calls == 3 and df["speed-up"].min() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="no texts"):
        bench.encoding_speed({"a": a}, [])
    with pytest.raises(ValueError, match="repeats"):
        bench.encoding_speed({"a": a}, ["x"], repeats=0)
    with pytest.raises(TypeError, match="no tokenizer"):
        bench.speed.token_counts(object(), ["x"])


def test_toy_check_counts_queries_whose_passage_comes_first() -> None:
    class Toy:
        def encode_queries(self, texts: list[str]) -> np.ndarray:
            return np.eye(len(texts))

        def encode_documents(self, texts: list[str]) -> np.ndarray:
            d = np.eye(len(texts))
            return d[[1, 0, 2, 3, 4]]  # passages 0 and 1 swapped

    assert bench.toy_check(Toy()) == 3


# --- ko-embed-lab benchmark --benchmark ----------------------------------------------------------


def test_benchmark_tasks_by_name_and_unknown_names() -> None:
    pytest.importorskip("mteb")
    names = [t.metadata.name for t in bench.benchmark_tasks("MTEB(kor, v2)")]
    assert len(names) == 20 and "Ko-StrategyQA" in names
    with pytest.raises(ValueError, match=r"no benchmark 'MTEB\(kor, v3\)'.*close names: .*MTEB\(kor"):
        bench.benchmark_tasks("MTEB(kor, v3)")
    with pytest.raises(ValueError, match="name a benchmark"):
        bench.benchmark_tasks(" ")


def test_cli_benchmark_by_name(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    seen: dict = {}

    def fake_run(model, name, *, batch_size, results_folder):  # type: ignore[no-untyped-def]
        seen.update(model=model, name=name, batch_size=batch_size, folder=results_folder)
        trs = [
            SimpleNamespace(task_name=t, get_score=lambda v=v: v, evaluation_time=1.0)
            for t, v in (("A", 0.5), ("B", 0.7))
        ]
        table = pd.DataFrame([{"model": "m"}])
        return bench.BenchmarkRun(table=table, task_results=trs, provenance={"results_folder": "/r"})

    monkeypatch.setattr(bench, "run_benchmark", fake_run)
    args = ["benchmark", "--model", "m", "--benchmark", "MTEB(kor, v2)", "--batch-size", "8", "--output-folder", "/r"]
    assert cli_main(args) == 0
    out = capsys.readouterr().out
    assert seen == {"model": "m", "name": "MTEB(kor, v2)", "batch_size": 8, "folder": "/r"}
    assert "m: MTEB(kor, v2), main score per task" in out and "mean over 2 tasks: 0.6000" in out
    assert "results cache: /r" in out
    # --tasks and --benchmark together: a user error, rc 2
    assert cli_main(["benchmark", "--benchmark", "MTEB(kor, v2)", "--tasks", "Ko-StrategyQA"]) == 2
    assert "either --benchmark" in capsys.readouterr().err


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def test_cli_benchmark_by_name_offline_fails_fast(
    offline: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("mteb")
    monkeypatch.setattr(runner, "load_model", lambda *a, **k: SimpleNamespace())  # no model work before the check
    rc = cli_main(["benchmark", "--benchmark", "MTEB(kor, v2)", "--output-folder", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 4 and "HF_HUB_OFFLINE" in err and "KLUE-STS" in err and "Ko-StrategyQA" in err
    assert cli_main(["benchmark", "--benchmark", "MTEB(nope)"]) == 2
    assert "no benchmark 'MTEB(nope)'" in capsys.readouterr().err
    assert not (tmp_path / "results").exists()


def test_check_datasets_stops_asking_the_hub_once_it_did_not_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []

    def down(path: str, revision: str | None) -> str:
        asked.append(path)
        return "not in the local Hugging Face cache and the hub did not answer (ConnectError: x)"

    monkeypatch.setattr(runner, "_hub_dataset_problem", down)
    monkeypatch.setattr(runner, "_local_dataset_problem", lambda p, r: f"{p} not cached (not asked again)")
    tasks = [SimpleNamespace(metadata=SimpleNamespace(name=f"T{i}", dataset={"path": f"d{i}"})) for i in range(3)]
    monkeypatch.setattr(runner, "is_probe_task", lambda t: False)
    with pytest.raises(bench.DatasetUnavailableError, match="T2 \\(d2\\): d2 not cached"):
        runner._check_datasets(tasks)
    assert asked == ["d0"]
