"""kel.compare and `ko-embed-lab compare`: system strings, the leaderboard, paired tests, the CLI."""

from __future__ import annotations

import json

import pytest

import ko_embed_lab as kel
from ko_embed_lab import cli
from ko_embed_lab.data.beir import RetrievalSet, save_beir
from ko_embed_lab.retrieval.compare import expand_systems, parse_system

DOCS = {
    "d1": "대한민국의 수도는 서울이다. 서울에는 약 천만 명이 산다.",
    "d2": "한글은 1443년 세종대왕이 창제한 문자이다.",
    "d3": "김치찌개는 김치와 돼지고기를 넣고 끓인다.",
    "d4": "부산은 대한민국 제2의 도시이며 항구 도시이다.",
    "d5": "제주도는 화산섬으로 한라산이 있다.",
    "d6": "경주는 신라의 수도였으며 불국사가 있다.",
}
QUERIES = {
    "q1": "한국의 수도는 어디인가?",
    "q2": "한글을 만든 사람은?",
    "q3": "김치찌개 끓이는 법",
    "q4": "부산은 어떤 도시인가?",
    "q5": "한라산이 있는 섬",
    "q6": "불국사는 어디에 있나?",
}


@pytest.fixture(scope="module")
def tiny() -> RetrievalSet:
    corpus = {d: {"title": "", "text": t} for d, t in DOCS.items()}
    return RetrievalSet("tiny", corpus, dict(QUERIES), {q: {f"d{q[1:]}": 1} for q in QUERIES})


def test_parse_system_strings() -> None:
    s = parse_system("bundled@dim=256@no-prompt")
    assert (s.kind, s.model, s.dim, s.query_prompt, s.document_prompt) == ("dense", "bundled", 256, "", "")
    assert parse_system("bundled@no-query-prompt").document_prompt is None
    assert parse_system("BM25").kind == "bm25"
    fused = parse_system("rrf:bundled@dim=128+bm25")
    assert fused.kind == "rrf" and [p.name for p in fused.parts] == ["bundled@dim=128", "bm25"]
    for bad, msg in [
        ("bundled@dim=x", "unknown option"),
        ("bundled@fast", "unknown option"),
        ("rrf:bundled", "two or more"),
        ("rrf:bundled+rrf:a+b", "two or more|nest"),
        ("", "empty"),
        ("@dim=3", "no model"),
        ("offline", "expand"),
    ]:
        with pytest.raises(ValueError, match=msg):
            parse_system(bad)


def test_expand_offline() -> None:
    assert expand_systems(["offline"]) == ["bundled", "use-multilingual-v3", "static-e5-small", "bm25"]
    assert expand_systems(["bm25", "offline"])[0] == "bm25"
    with pytest.raises(TypeError):
        expand_systems("bundled")  # type: ignore[arg-type]


def test_compare_on_a_tiny_beir_set(tiny, model) -> None:
    cmp = kel.compare(["bundled", "bm25", "rrf:bundled+bm25", "bundled@dim=64"], tiny, n_resamples=200)
    # the bundled figure is evaluate_retrieval's, on the same data
    assert cmp.results["bundled"].metrics == kel.evaluate_retrieval(model, tiny).metrics
    df = cmp.frame()
    assert list(df.columns[:5]) == ["ndcg@10", "mrr@10", "recall@10", "recall@100", "time_s"]
    assert df["ndcg@10"].is_monotonic_decreasing and set(df.index) == set(cmp.results)
    assert cmp.baseline == "bundled" and set(cmp.comparisons) == {"bm25", "rrf:bundled+bm25", "bundled@dim=64"}
    c = cmp.comparisons["bm25"]
    assert c["unit"] == "query" and c["n"] == 6 and c["low"] <= c["mean_diff"] <= c["high"]
    assert cmp.by_label == {} and cmp.group_tests == {}
    assert cmp.results["rrf:bundled+bm25"].provenance["settings"]["parts"] == ["bundled", "bm25"]
    assert cmp.times["rrf:bundled+bm25"] >= cmp.times["bundled"] + cmp.times["bm25"]
    rec = json.loads(json.dumps(cmp.to_dict()))
    assert [r["system"] for r in rec["results"]] == list(df.index)
    assert rec["results"][0]["metrics"]["ndcg@10"] == df["ndcg@10"].iloc[0]
    assert {c["system"] for c in rec["comparisons"]} == set(cmp.comparisons)
    assert "(baseline)" in cmp.table()


def test_cli_compare_tiny_folder_and_user_errors(tiny, tmp_path, capsys) -> None:
    save_beir(tiny, tmp_path / "beir")
    argv = ["compare", "--data", str(tmp_path / "beir"), "--resamples", "200", "-q"]
    assert cli.main([*argv, "--systems", "bm25", "use-multilingual", "--output", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert "bm25" in out and "use-multilingual" in out and "(baseline)" in out
    rec = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert rec["baseline"] == "bm25" and rec["results"][0]["provenance"]["dataset"]["n_queries"] == 6
    for bad, msg in [(["--systems", "bundled@dim=x"], "unknown option"), (["--systems", "rrf:bm25"], "two or more")]:
        assert cli.main([*argv, *bad]) == 2
        err = capsys.readouterr().err.strip()
        assert msg in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert cli.main(["compare", "--data", str(tmp_path / "nope"), "--systems", "bm25"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_cli_compare_on_a_probe_sample(tmp_path, capsys) -> None:
    out_json = tmp_path / "probe.json"
    argv = ["compare", "--data", "probe", "--sample", "6", "--systems", "bundled", "bm25", "rrf:bundled+bm25"]
    assert cli.main([*argv, "--resamples", "200", "-q", "--output", str(out_json)]) == 0
    out = capsys.readouterr().out
    assert "information need (cluster bootstrap)" in out
    rec = json.loads(out_json.read_text(encoding="utf-8"))
    assert {c["unit"] for c in rec["comparisons"]} == {"cluster"}
    assert {c["n_clusters"] for c in rec["comparisons"]} == {6}
    assert set(rec["by_label"]) == {"form", "domain"} and set(rec["group_tests"]) == {"form", "domain"}
    assert cli.main(["compare", "--data", str(tmp_path), "--sample", "3", "--systems", "bm25"]) == 2
    assert "--sample" in capsys.readouterr().err
