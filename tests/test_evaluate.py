import math

import numpy as np
import pytest

from ko_embed_lab import evaluate_retrieval, exact_search, paired_bootstrap, score_run
from ko_embed_lab.data.beir import RetrievalSet

from .fakes import LookupEncoder, angle_vectors


def _set(n_docs: int, qrels: dict[str, dict[str, int]], queries: dict[str, str]) -> RetrievalSet:
    corpus = {f"d{i}": {"title": "", "text": f"doc {i}"} for i in range(n_docs)}
    return RetrievalSet(name="toy", corpus=corpus, queries=queries, qrels=qrels)


def test_perfect_ranking_scores_one() -> None:
    vecs = {f"doc {i}": [1.0 if j == i else 0.0 for j in range(4)] for i in range(4)}
    vecs.update({f"q{i}": [1.0 if j == i else 0.0 for j in range(4)] for i in range(4)})
    data = _set(4, {f"q{i}": {f"d{i}": 1} for i in range(4)}, {f"q{i}": f"q{i}" for i in range(4)})
    res = evaluate_retrieval(LookupEncoder(vecs), data)
    for m in ("ndcg@10", "mrr@10", "recall@1", "recall@10", "map@100"):
        assert res.metrics[m] == pytest.approx(1.0), m


def test_relevant_document_ranked_last_of_ten() -> None:
    # Document i's cosine with the query decreases with i, so d9 (the relevant one) ranks 10th.
    angles = angle_vectors(10)
    vecs = {f"doc {i}": angles[i] for i in range(10)} | {"q": [1.0, 0.0]}
    data = _set(10, {"q": {"d9": 1}}, {"q": "q"})
    res = evaluate_retrieval(LookupEncoder(vecs), data)
    assert res.metrics["ndcg@10"] == pytest.approx(1 / math.log2(11))
    assert res.metrics["mrr@10"] == pytest.approx(0.1)
    assert res.metrics["recall@1"] == 0.0
    assert res.metrics["recall@5"] == 0.0
    assert res.metrics["recall@10"] == 1.0
    assert res.metrics["map@100"] == pytest.approx(0.1)


def test_mrr_is_cut_at_ten() -> None:
    angles = angle_vectors(12)
    vecs = {f"doc {i}": angles[i] for i in range(12)} | {"q": [1.0, 0.0]}
    data = _set(12, {"q": {"d11": 1}}, {"q": "q"})
    res = evaluate_retrieval(LookupEncoder(vecs), data)
    assert res.metrics["mrr@10"] == 0.0
    assert res.metrics["recall@100"] == 1.0
    assert res.metrics["map@100"] == pytest.approx(1 / 12)


def test_graded_ndcg_by_hand() -> None:
    # Ranking: d0 (grade 1), d1 (grade 2). DCG = 1/log2(2) + 3/log2(3) with trec_eval's gain 2^g-1? No:
    # trec_eval's ndcg uses gain = grade, so DCG = 1 + 2/log2(3); ideal = 2 + 1/log2(3).
    angles = angle_vectors(3)
    vecs = {f"doc {i}": angles[i] for i in range(3)} | {"q": [1.0, 0.0]}
    data = _set(3, {"q": {"d0": 1, "d1": 2}}, {"q": "q"})
    res = evaluate_retrieval(LookupEncoder(vecs), data)
    expected = (1 + 2 / math.log2(3)) / (2 + 1 / math.log2(3))
    assert res.metrics["ndcg@10"] == pytest.approx(expected)


def test_query_prompt_is_passed_and_recorded() -> None:
    vecs = {"doc 0": [1, 0], "doc 1": [0, 1], "q": [1, 0]}
    enc = LookupEncoder(vecs)
    data = _set(2, {"q": {"d0": 1}}, {"q": "q"})
    res = evaluate_retrieval(enc, data, query_prompt="")
    assert enc.calls[0] == ("query", "", 1)
    assert enc.calls[1] == ("document", None, 2)
    assert res.provenance["settings"]["query_prompt"] == ""
    res = evaluate_retrieval(enc, data)
    assert res.provenance["settings"]["query_prompt"] == "query: "
    assert res.provenance["dataset"]["content_sha256"] == data.content_hash()
    assert set(res.provenance["versions"]) >= {"torch", "sentence-transformers", "pytrec-eval-terrier"}


def test_missing_query_in_run_scores_zero() -> None:
    means, per_query = score_run({"a": {"d": 1}, "b": {"d": 1}}, {"a": {"d": 1.0}})
    assert per_query["b"]["ndcg@10"] == 0.0
    assert means["ndcg@10"] == pytest.approx(0.5)


def test_exact_search_matches_argsort() -> None:
    rng = np.random.default_rng(0)
    q = rng.normal(size=(7, 5)).astype(np.float32)
    d = rng.normal(size=(50, 5)).astype(np.float32)
    idx, val = exact_search(q, d, 10, chunk=3)
    full = q @ d.T
    np.testing.assert_array_equal(idx, np.argsort(-full, axis=1)[:, :10])
    np.testing.assert_allclose(val, np.sort(full, axis=1)[:, ::-1][:, :10], rtol=1e-6)
    with pytest.raises(ValueError, match="same width"):
        exact_search(q, d[:, :4], 3)


def test_paired_bootstrap_detects_consistent_gain() -> None:
    a = {str(i): 0.5 for i in range(40)}
    b = {str(i): 0.6 + 0.01 * (i % 3) for i in range(40)}
    out = paired_bootstrap(a, b, seed=1)
    assert out["low"] > 0.09 and out["high"] < 0.13
    assert out["wins"] == 40 and out["sign_test_p"] < 1e-6
    same = paired_bootstrap(a, a)
    assert same["mean_diff"] == 0.0 and same["ties"] == 40


def test_result_save_is_json(tmp_path) -> None:
    import json

    vecs = {"doc 0": [1, 0], "doc 1": [0, 1], "q": [1, 0]}
    res = evaluate_retrieval(LookupEncoder(vecs), _set(2, {"q": {"d0": 1}}, {"q": "q"}))
    path = res.save(tmp_path / "r.json", include_run=True)
    loaded = json.loads(path.read_text())
    assert loaded["metrics"]["ndcg@10"] == 1.0 and loaded["run"]["q"]["d0"] == pytest.approx(1.0)
