"""The mteb path, offline: card task mapping, KoProbe as an mteb task, results cache, leaderboard, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("mteb")

from ko_embed_lab import benchmark as bench
from ko_embed_lab.benchmark import card as rep
from ko_embed_lab.benchmark import runner
from ko_embed_lab.cli import main as cli_main
from ko_embed_lab.data.beir import RetrievalSet
from ko_embed_lab.models import ModelNotAvailableError

from .fakes import LookupEncoder, angle_vectors


def _toy() -> tuple[RetrievalSet, LookupEncoder]:
    """Three documents at 0°, 40° and 80° from the query direction: d0 ranks first, d2 last."""
    angles = angle_vectors(3)
    vecs = {f"doc {i}": angles[i] for i in range(3)} | {"q1": [1.0, 0.0], "q2": [1.0, 0.0]}
    corpus = {f"d{i}": {"title": "", "text": f"doc {i}"} for i in range(3)}
    data = RetrievalSet(
        name="toy", corpus=corpus, queries={"q1": "q1", "q2": "q2"}, qrels={"q1": {"d2": 1}, "q2": {"d0": 1}}
    )
    return data, LookupEncoder(vecs)


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


# --- task mapping ----------------------------------------------------------------------------


def test_card_tasks_are_mteb_tasks_with_the_cards_split_and_korean_subset() -> None:
    tasks = bench.card_tasks()
    assert [t.metadata.name for t in tasks] == [c.task for c in rep.CARD_TASKS]
    for task, card in zip(tasks, rep.CARD_TASKS, strict=True):
        assert task.eval_splits == [card.split]
        assert task.hf_subsets == [card.subset]
        langs = task.metadata.eval_langs
        langs = langs[card.subset] if isinstance(langs, dict) else langs
        assert all(code.startswith("kor") for code in langs), (card.task, langs)
    with pytest.raises(ValueError, match="not one of the card's tasks"):
        bench.card_tasks(["NFCorpus"])


def test_probe_task_loads_offline_and_is_keyed_by_content() -> None:
    data, _ = _toy()
    task = bench.probe_task(data)
    assert task.metadata.name == "toy" and task.metadata.main_score == "ndcg_at_10"
    assert task.metadata.dataset["revision"] == data.content_hash()[:16]
    task.load_data()
    split = task.dataset["default"]["test"]
    assert split["queries"]["id"] == ["q1", "q2"]
    assert split["corpus"]["text"] == ["doc 0", "doc 1", "doc 2"]
    assert split["relevant_docs"] == {"q1": {"d2": 1}, "q2": {"d0": 1}}
    with pytest.raises(TypeError, match="RetrievalSet or a Probe"):
        bench.probe_task("KoProbe")  # type: ignore[arg-type]


# --- mteb end to end with a fake encoder (answers by hand) -----------------------------------


def test_mteb_scores_a_fake_encoder_as_computed_by_hand(tmp_path: Path) -> None:
    from ko_embed_lab import evaluate_retrieval

    data, enc = _toy()
    run = bench.run_mteb(enc, [bench.probe_task(data)], backend="ko-embed-lab", results_folder=tmp_path)
    # q1's relevant document ranks 3rd: NDCG@10 = 1/log2(4) = 0.5; q2's ranks 1st: 1.0.
    row = run.table.iloc[0]
    assert row["ndcg_at_10"] == pytest.approx(0.75)
    assert row[bench.FULL_PRECISION_KEY] == pytest.approx(0.75)
    assert run.per_query["toy"] == pytest.approx({"q1": 0.5, "q2": 1.0})
    ours = evaluate_retrieval(enc, data)
    assert ours.metrics["ndcg@10"] == pytest.approx(0.75)
    assert [c[0] for c in enc.calls[:2]] == ["query", "document"]


def test_results_are_cached_in_mtebs_format_and_a_rerun_resumes(tmp_path: Path) -> None:
    data, enc = _toy()
    bench.run_mteb(enc, [bench.probe_task(data)], backend="ko-embed-lab", results_folder=tmp_path)
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert "results/lookup-fake/no_revision_available/toy.json" in files
    assert f"results/lookup-fake/no_revision_available/{bench.PROVENANCE_FILE}" in files
    calls = len(enc.calls)
    again = bench.run_mteb(enc, [bench.probe_task(data)], backend="ko-embed-lab", results_folder=tmp_path)
    assert len(enc.calls) == calls  # read from mteb's results cache, nothing encoded
    assert again.table["ndcg_at_10"].iloc[0] == pytest.approx(0.75)
    bench.run_mteb(enc, [bench.probe_task(data)], backend="ko-embed-lab", results_folder=tmp_path, overwrite="always")
    assert len(enc.calls) > calls
    prov = [
        json.loads(line)
        for line in (tmp_path / "results/lookup-fake/no_revision_available" / bench.PROVENANCE_FILE).open()
    ]
    assert len(prov) == 3 and prov[0]["settings"]["backend"] == "ko-embed-lab" and "versions" in prov[0]


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    data, enc = _toy()
    with pytest.raises(ValueError, match="batch_size"):
        bench.run_mteb(enc, [bench.probe_task(data)], backend="ko-embed-lab", batch_size=0, results_folder=tmp_path)
    with pytest.raises(ValueError, match="overwrite"):
        bench.run_mteb(
            enc, [bench.probe_task(data)], backend="ko-embed-lab", overwrite="sometimes", results_folder=tmp_path
        )
    with pytest.raises(ValueError, match="KoProbe"):
        bench.run_mteb(enc, ["Ko-Strategy"], backend="ko-embed-lab", results_folder=tmp_path)
    with pytest.raises(ValueError, match="backend"):
        bench.mteb_encoder(enc, backend="vllm")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="EmbeddingModel"):
        bench.mteb_encoder(enc)


# --- the hub path, offline: clear errors -----------------------------------------------------


def test_unavailable_model_fails_fast_with_ways_out(offline: None, tmp_path: Path) -> None:
    with pytest.raises(ModelNotAvailableError, match="Ways out"):
        bench.run_mteb("some-org/not-a-cached-model", ["Ko-StrategyQA"], results_folder=tmp_path)
    assert not (tmp_path / "results").exists()


def test_unavailable_dataset_fails_before_any_work(offline: None, tmp_path: Path) -> None:
    _, enc = _toy()
    with pytest.raises(bench.DatasetUnavailableError, match=r"Ko-StrategyQA.*HF_HUB_OFFLINE") as err:
        bench.run_mteb(enc, ["Ko-StrategyQA"], backend="ko-embed-lab", results_folder=tmp_path)
    assert "KoProbe" in str(err.value)
    assert enc.calls == [] and not (tmp_path / "results").exists()


# --- reading an mteb results cache -----------------------------------------------------------


def _fake_cache(folder: Path) -> None:
    """A results folder written with mteb's own objects: two card tasks and one other task."""
    import mteb
    from mteb.models.model_meta import ModelMeta

    cache = mteb.ResultCache(folder)
    meta = ModelMeta.create_empty(overwrites={"name": rep.CARD_MODEL, "revision": "abc123"})
    strategy = mteb.get_task("Ko-StrategyQA", eval_splits=["dev"])
    belebele = mteb.get_task("BelebeleRetrieval", hf_subsets=["kor_Hang-kor_Hang", "eng_Latn-kor_Hang"])
    results = [
        mteb.TaskResult.from_task_results(
            strategy, {"dev": {"default": {"ndcg_at_10": 0.8, "main_score": 0.8}}}, evaluation_time=1.0
        ),
        mteb.TaskResult.from_task_results(
            belebele,
            {
                "test": {
                    "kor_Hang-kor_Hang": {"ndcg_at_10": 0.95, "main_score": 0.95},
                    "eng_Latn-kor_Hang": {"ndcg_at_10": 0.5, "main_score": 0.5},
                }
            },
            evaluation_time=2.0,
        ),
    ]
    for tr in results:
        cache.save_to_cache(tr, meta)
    data, _ = _toy()
    other = mteb.TaskResult.from_task_results(
        bench.probe_task(data), {"test": {"default": {"ndcg_at_10": 0.75, "main_score": 0.75}}}, evaluation_time=0.1
    )
    cache.save_to_cache(other, ModelMeta.create_empty(overwrites={"name": "lookup-fake", "revision": "r1"}))


def test_read_results_keeps_the_cards_split_and_subset(tmp_path: Path) -> None:
    _fake_cache(tmp_path)
    table = bench.read_results(tmp_path)
    assert len(table) == 3
    card = table[table["model"] == rep.CARD_MODEL].set_index("task")
    assert card.loc["Ko-StrategyQA", "ndcg_at_10"] == pytest.approx(0.8)
    assert card.loc["BelebeleRetrieval", "subset"] == "kor_Hang-kor_Hang"  # the English-query subset is dropped
    assert card.loc["BelebeleRetrieval", "ndcg_at_10"] == pytest.approx(0.95)
    assert set(table["kind"]) == {"reproduced"}
    assert card.loc["Ko-StrategyQA", "revision"] == "abc123"
    assert card["source"].map(lambda s: Path(s).exists()).all()
    assert table.loc[table["model"] == "lookup-fake", "task"].tolist() == ["toy"]
    assert len(bench.read_results(tmp_path, models=[rep.CARD_MODEL], tasks=["ko-strategyqa"])) == 1


def test_reproduced_against_reported(tmp_path: Path) -> None:
    _fake_cache(tmp_path)
    cmp = rep.compare(bench.read_results(tmp_path, models=[rep.CARD_MODEL]), rep.load_reported().long()).set_index(
        "task"
    )
    assert cmp.loc["Ko-StrategyQA", "reported"] == pytest.approx(0.80498)
    assert cmp.loc["Ko-StrategyQA", "difference"] == pytest.approx(0.8 - 0.80498)
    assert cmp.loc["BelebeleRetrieval", "difference"] == pytest.approx(0.95 - 0.95177)


def test_read_results_of_a_missing_folder_is_empty_and_creates_nothing(tmp_path: Path) -> None:
    where = tmp_path / "nothing-here"
    table = bench.read_results(where)
    assert table.empty and "ndcg_at_10" in table.columns
    assert not where.exists()


# --- the real model: mteb's NDCG@10 equals ours ----------------------------------------------


@pytest.mark.slow
def test_mteb_ndcg_equals_ours_on_the_same_embeddings(model, tmp_path: Path) -> None:
    from ko_embed_lab import evaluate_retrieval
    from ko_embed_lab.cache import EmbeddingCache
    from ko_embed_lab.data.probe import load_probe

    data = load_probe().sample(8, n_docs=48, seed=0).data
    store = EmbeddingCache(tmp_path / "emb")
    ours = evaluate_retrieval(model, data, cache=store)
    # Our encoder behind mteb, reading the very embeddings our evaluator used (from the cache).
    run = bench.run_mteb(
        model, [bench.probe_task(data)], backend="ko-embed-lab", encode_kwargs={"cache": store}, results_folder=tmp_path
    )
    row = run.table.iloc[0]
    assert abs(row[bench.FULL_PRECISION_KEY] - ours.metrics["ndcg@10"]) < 1e-6
    assert abs(row["ndcg_at_10"] - ours.metrics["ndcg@10"]) <= 5e-6 + 1e-9  # mteb rounds to 5 decimals
    per_query = run.per_query[data.name]
    assert set(per_query) == set(ours.per_query)
    assert max(abs(per_query[q] - ours.per_query[q]["ndcg@10"]) for q in per_query) < 1e-6
    assert row["model"] == model.label and row["revision"].startswith("bundled-")

    # The card's path: mteb's sentence-transformers wrapper with model_prompts (its own batching).
    prompts = dict(model.st.prompts)
    st_run = bench.run_mteb(model, [bench.probe_task(data)], batch_size=16, results_folder=tmp_path / "st")
    assert model.st.prompts == prompts  # the caller's model is left as it was
    assert abs(st_run.table[bench.FULL_PRECISION_KEY].iloc[0] - ours.metrics["ndcg@10"]) < 1e-6
    assert st_run.provenance["settings"]["query_prompt"] == "query: "
    assert st_run.provenance["settings"]["attn_implementation"] == "sdpa"  # the card's setting


# --- leaderboard -----------------------------------------------------------------------------


@pytest.mark.slow
def test_probe_leaderboard_systems_and_breakdowns(model, offline: None) -> None:
    from ko_embed_lab.data.probe import load_probe
    from ko_embed_lab.retrieval.lexical import evaluate_bm25

    probe = load_probe().sample(4, n_docs=24, seed=0)
    board = bench.probe_leaderboard(probe, [model, "some-org/not-a-cached-model"], cache=False)
    assert set(board.skipped) == {"some-org/not-a-cached-model"}
    names = list(board.results)
    assert names[0] == "BM25 (Korean morphemes)"
    assert f"{model.label} (prompt 'query: ')" in names and f"{model.label} (no prompt)" in names
    assert f"RRF: {model.label} + BM25" in names
    table = board.table()
    assert table["rank"].tolist() == list(range(1, len(names) + 1))
    assert table["ndcg@10"].is_monotonic_decreasing
    assert set(table["kind"]) == {"dense", "lexical", "fusion"}
    bm25 = evaluate_bm25(probe.data)
    assert board.results["BM25 (Korean morphemes)"].metrics["ndcg@10"] == pytest.approx(bm25.metrics["ndcg@10"])
    by_form = board.by("form")
    assert by_form["n"].sum() == len(probe.data.queries)
    assert list(by_form.columns[1:]) == names
    long = board.long("domain")
    assert set(long.columns) == {"domain", "system", "ndcg@10", "kind"}
    with pytest.raises(KeyError, match="unknown label"):
        board.by("colour")
    dense, fused = bench.dense_system(model), bench.fusion_system(model)
    overall = board.compare(dense, fused)
    assert overall["unit"] == "cluster" and overall["n_clusters"] == 4  # resampled by need
    by = board.compare(dense, "BM25 (Korean morphemes)", by="form")
    assert {"p_holm", "significant", "low", "high"} <= set(by.columns)
    with pytest.raises(KeyError, match="unknown system"):
        board.compare(dense, "nope")
    study = bench.fusion_study(board, probe, model, seed=0)
    assert len(study.tune_needs) == len(study.test_needs) == 2 and not set(study.tune_needs) & set(study.test_needs)
    assert set(study.test) == {"tuned fusion", "default RRF"}
    assert study.test["tuned fusion"]["n_clusters"] == 2
    assert study.diagnosis_by_form().loc["all", "n"] == len(probe.data.queries)


def test_leaderboard_refuses_fusion_without_bm25() -> None:
    from ko_embed_lab.data.probe import load_probe

    with pytest.raises(ValueError, match="fusion"):
        bench.probe_leaderboard(load_probe().sample(2, n_docs=16), [], bm25=False)


# --- command line ----------------------------------------------------------------------------


def test_cli_benchmark_exit_codes(offline: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["benchmark", "--batch-size", "8", "--output-folder", str(tmp_path)]
    assert cli_main([*args, "--tasks", "NotATask"]) == 2
    assert "not one of the card's tasks" in capsys.readouterr().err
    # an unknown or unreachable model is a user error like any other: one line, rc 2
    assert cli_main([*args, "--model", "some-org/not-a-cached-model", "--tasks", "Ko-StrategyQA"]) == 2
    assert "Ways out" in capsys.readouterr().err
    _, enc = _toy()
    with pytest.raises(bench.DatasetUnavailableError):  # the package raises; the CLI turns it into exit 4
        bench.run_mteb(enc, ["Ko-StrategyQA"], backend="ko-embed-lab", results_folder=tmp_path)


def test_cli_benchmark_exit_code_for_an_unavailable_dataset(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def no_data(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise bench.DatasetUnavailableError("Ko-StrategyQA: not in the local Hugging Face cache")

    monkeypatch.setattr(runner, "run_mteb", no_data)
    assert cli_main(["benchmark", "--tasks", "Ko-StrategyQA"]) == 4
    assert "not in the local Hugging Face cache" in capsys.readouterr().err


def _fake_run(seen: dict):  # type: ignore[no-untyped-def]
    table = pd.DataFrame(
        [{"model": rep.CARD_MODEL, "task": "Ko-StrategyQA", "split": "dev", "subset": "default", "ndcg_at_10": 0.81}]
    )

    def fake_run(model, tasks, *, batch_size, results_folder):  # type: ignore[no-untyped-def]
        seen.update(model=model, tasks=tasks, batch_size=batch_size, folder=results_folder)
        return bench.BenchmarkRun(table=table, task_results=[], provenance={"results_folder": "/r"})

    return fake_run


def test_reproduce_card_returns_reproduced_against_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict = {}
    monkeypatch.setattr(runner, "run_mteb", _fake_run(seen))
    result = bench.reproduce_card("arctic-ko", ["Ko-StrategyQA"], batch_size=64, results_folder="/r")
    assert seen == {"model": "arctic-ko", "tasks": ["Ko-StrategyQA"], "batch_size": 64, "folder": "/r"}
    assert result.model == rep.CARD_MODEL
    assert list(result.comparison.columns) == ["task", "split", "subset", "reproduced", "reported", "difference"]
    row = result.comparison.iloc[0]
    assert row["reproduced"] == pytest.approx(0.81) and row["reported"] == pytest.approx(0.80498)
    assert row["difference"] == pytest.approx(0.81 - 0.80498)


def test_cli_benchmark_prints_reproduced_against_reported(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: dict = {}
    monkeypatch.setattr(runner, "run_mteb", _fake_run(seen))
    args = ["benchmark", "--model", "arctic-ko", "--tasks", "Ko-StrategyQA", "--batch-size", "64"]
    assert cli_main([*args, "--output-folder", "/r"]) == 0
    out = capsys.readouterr().out
    assert seen == {"model": "arctic-ko", "tasks": ["Ko-StrategyQA"], "batch_size": 64, "folder": "/r"}
    assert "0.8100" in out and "0.8050" in out and "0.0050" in out  # reproduced, reported, difference
    assert "reported in the card" in out and "results cache: /r" in out


def test_task_facts_from_mtebs_shipped_statistics() -> None:
    facts = bench.task_facts()
    assert list(facts.index) == [c.task for c in rep.CARD_TASKS]
    # Counts as given by mteb's descriptive statistics for these subsets.
    assert facts.loc["AutoRAGRetrieval", "queries"] == 114
    assert facts.loc["PublicHealthQA", ["queries", "documents"]].tolist() == [77, 77]  # the Korean subset only
    assert facts.loc["AutoRAGRetrieval", "one query"] == pytest.approx(1 / 114)
    assert (
        facts.loc["MultiLongDocRetrieval", "mean document chars"]
        > 10 * facts.loc["Ko-StrategyQA", "mean document chars"]
    )
    assert facts["source"].str.startswith("mteb ").all()
