"""Quality per byte: quantisation, calibration, rescoring, the binary centre, the PCA control, faiss, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from ko_embed_lab import compress as cmp
from ko_embed_lab.data.beir import RetrievalSet
from ko_embed_lab.report import compress as rep
from ko_embed_lab.retrieval.search import exact_search

from .fakes import LookupEncoder


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _clustered(n_clusters: int = 16, per: int = 12, dim: int = 64, offset: float = 0.0, seed: int = 0):
    """Clustered unit vectors plus a common offset; queries are fresh draws of each cluster."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_clusters, dim))
    docs = np.repeat(centres, per, axis=0) + 0.4 * rng.standard_normal((n_clusters * per, dim))
    queries = centres + 0.4 * rng.standard_normal((n_clusters, dim))
    shift = offset * np.ones(dim)
    return _unit(queries + shift), _unit(docs + shift)


# --- bytes and calibration -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("precision", "expected"),
    [("float32", 4 * 100), ("float16", 2 * 100), ("int8", 100), ("uint8", 100), ("binary", 13), ("ubinary", 13)],
)
def test_bytes_per_vector_per_precision(precision: str, expected: int) -> None:
    docs = _unit(np.random.default_rng(0).standard_normal((20, 100)))
    store = cmp.quantize(docs, precision)
    assert cmp.bytes_per_vector(100, precision) == expected
    assert store.bytes_per_vector == expected
    assert store.codes.nbytes == 20 * expected


def test_unknown_precision_and_integer_input_are_refused() -> None:
    with pytest.raises(ValueError, match="precision"):
        cmp.bytes_per_vector(8, "int4")
    with pytest.raises(TypeError, match="floats"):
        cmp.quantize(np.ones((3, 4), dtype=np.int8), "int8")


def test_calibration_is_fitted_on_the_corpus_and_queries_never_change_it() -> None:
    docs = np.array([[0.0, -1.0], [1.0, 1.0], [0.5, 0.0]], dtype=np.float32)
    store = cmp.quantize(docs, "int8")
    assert store.calibration.ranges.tolist() == [[0.0, -1.0], [1.0, 1.0]]
    before = store.calibration.identity
    q_far = np.array([[5.0, -5.0]], dtype=np.float32)  # far outside the corpus range: clipped, not refitted
    codes = store.encode_queries(q_far)
    assert store.calibration.identity == before
    assert codes.tolist() == [[127, -128]]
    bin_store = cmp.quantize(docs, "binary")
    np.testing.assert_allclose(bin_store.calibration.center, docs.mean(axis=0))
    bin_store.encode_queries(q_far)
    np.testing.assert_allclose(bin_store.calibration.center, docs.mean(axis=0))


def test_int8_dequantise_is_within_one_bucket() -> None:
    docs = _unit(np.random.default_rng(1).standard_normal((50, 16)))
    store = cmp.quantize(docs, "int8")
    step = (store.calibration.ranges[1] - store.calibration.ranges[0]) / 255
    assert np.all(np.abs(store.dequantize() - docs) <= step + 1e-6)


def test_hamming_by_hand() -> None:
    a = np.array([[0b11110000]], dtype=np.uint8)
    b = np.array([[0b11110000], [0b00001111], [0b11100000]], dtype=np.uint8)
    assert cmp.hamming(a, b).tolist() == [[0.0, 8.0, 1.0]]


# --- rescoring ---------------------------------------------------------------------------------


@pytest.mark.parametrize("precision", ["int8", "binary"])
def test_rescoring_everything_equals_exact_search(precision: str) -> None:
    q, d = _clustered(offset=0.0)
    store = cmp.quantize(d, precision)
    k = 10
    hits = cmp.compressed_search(q, store, k, rescore=len(d) // k + 1, rescore_vectors=d)
    exact_idx, exact_val = exact_search(q, d, k)
    np.testing.assert_array_equal(hits.indices, exact_idx)
    np.testing.assert_allclose(hits.scores, exact_val, rtol=1e-5)
    assert hits.cost["candidates_per_query"] == len(d)


def test_rescore_needs_the_full_vectors() -> None:
    q, d = _clustered()
    with pytest.raises(ValueError, match="rescore_vectors"):
        cmp.compressed_search(q, cmp.quantize(d, "binary"), 5, rescore=2)


def test_top_k_breaks_ties_by_lower_index() -> None:
    idx, val = cmp.top_k(np.array([[0.5, 0.9, 0.5, 0.5]]), 3)
    assert idx.tolist() == [[1, 0, 2]]
    assert val.tolist() == [[0.9, 0.5, 0.5]]


# --- the binary centre -------------------------------------------------------------------------


def test_centred_sign_recovers_what_a_common_offset_takes_from_the_naive_sign() -> None:
    q, d = _clustered(offset=3.0)
    truth, _ = exact_search(q, d, 10)

    def recall(center: str) -> float:
        hits = cmp.compressed_search(q, cmp.quantize(d, "binary", center=center), 10)
        return cmp.recall_at_k(hits.indices, truth, 10)

    naive, centred, median = recall("zero"), recall("mean"), recall("median")
    assert naive < 0.3  # every component has the same sign in every text: the codes are nearly all equal
    assert centred > 0.8
    assert median > 0.8


def test_naive_sign_is_fine_without_an_offset() -> None:
    q, d = _clustered(offset=0.0)
    truth, _ = exact_search(q, d, 10)
    hits = cmp.compressed_search(q, cmp.quantize(d, "binary", center="zero"), 10)
    assert cmp.recall_at_k(hits.indices, truth, 10) > 0.8


# --- PCA control and the verdict ---------------------------------------------------------------


def test_pca_control_finds_the_information_truncation_misses() -> None:
    # All signal lives in the LAST 4 of 32 coordinates: truncation to 4 loses it, PCA to 4 keeps it.
    rng = np.random.default_rng(0)
    signal = rng.standard_normal((40, 4)) * 5
    docs = np.hstack([0.01 * rng.standard_normal((40, 28)), signal])
    # Queries share their document's signal but not its noise (fresh noise in the first 28 coordinates).
    queries = np.hstack([0.01 * rng.standard_normal((10, 28)), signal[:10] + 0.1 * rng.standard_normal((10, 4))])
    docs, queries = _unit(docs), _unit(queries)
    rot = cmp.fit_pca(docs, seed=0)
    truth = np.arange(10)[:, None]
    via_pca, _ = exact_search(rot.transform(queries, 4), rot.transform(docs, 4), 1)
    via_trunc, _ = exact_search(_unit(queries[:, :4]), _unit(docs[:, :4]), 1)
    assert (via_pca == truth).mean() == 1.0
    assert (via_trunc == truth).mean() < 0.5
    np.testing.assert_allclose(rot.transform(queries) @ rot.transform(docs).T, queries @ docs.T, atol=1e-5)


def test_pca_rotation_completes_the_basis_for_a_small_corpus() -> None:
    rot = cmp.fit_pca(_unit(np.random.default_rng(0).standard_normal((5, 12))), seed=0)
    assert rot.components.shape == (12, 12)
    np.testing.assert_allclose(rot.components @ rot.components.T, np.eye(12), atol=1e-5)


@pytest.mark.parametrize(
    ("trunc", "pca", "verdict", "worst"),
    [
        ({256: 0.60, 64: 0.57}, {256: 0.61, 64: 0.60}, "matryoshka", 64),
        ({256: 0.60, 64: 0.40}, {256: 0.61, 64: 0.60}, "not matryoshka", 64),
        ({256: 0.63}, {256: 0.60}, "matryoshka", 256),
        ({}, {64: 0.6}, "untested", None),
    ],
)
def test_matryoshka_verdict_with_its_margin(trunc, pca, verdict, worst) -> None:
    v = cmp.matryoshka_verdict(trunc, pca, 0.62, margin=0.05)
    assert v["verdict"] == verdict
    assert v["worst_dim"] == worst


def test_matryoshka_verdict_margin_edge() -> None:
    assert cmp.matryoshka_verdict({64: 0.5}, {64: 0.55}, 1.0, margin=0.05)["verdict"] == "matryoshka"
    assert cmp.matryoshka_verdict({64: 0.5}, {64: 0.5501}, 1.0, margin=0.05)["verdict"] == "not matryoshka"


# --- faiss -------------------------------------------------------------------------------------


def test_faiss_flat_equals_exact_search() -> None:
    q, d = _clustered()
    idx, val = cmp.build_index("flat", d).search(q, 10)
    exact_idx, exact_val = exact_search(q, d, 10)
    np.testing.assert_allclose(val, exact_val, rtol=1e-5)
    assert cmp.recall_at_k(idx, exact_idx, 10) == 1.0


def test_faiss_binary_matches_numpy_hamming_and_rescoring_is_exact() -> None:
    q, d = _clustered(offset=2.0)
    ann = cmp.build_index("binary", d, keep_full=True)
    ours = cmp.compressed_search(q, cmp.quantize(d, "ubinary"), 10)
    _, their_scores = ann.search(q, 10)
    np.testing.assert_allclose(np.sort(their_scores, axis=1), np.sort(ours.scores, axis=1))
    idx, _ = ann.search(q, 10, rescore=len(d))
    assert cmp.recall_at_k(idx, exact_search(q, d, 10)[0], 10) == 1.0


def test_index_benchmark_is_seeded_and_complete() -> None:
    base = _clustered(dim=32)[1]
    corpus = cmp.synthetic_corpus(base, 600, seed=1)
    assert corpus.shape == (600, 32)
    np.testing.assert_allclose(corpus[: len(base)], base, atol=1e-6)
    np.testing.assert_array_equal(corpus, cmp.synthetic_corpus(base, 600, seed=1))
    bench = cmp.benchmark_indexes(corpus, base[:20], [300, 600], seed=0, nlist=4, pq_m=4)
    assert set(bench["index"]) == {"flat", "hnsw", "ivfpq", "ivfpq + rescore ×4", "binary", "binary + rescore ×4"}
    assert (bench.loc[bench["index"] == "flat", "recall@10"] == 1.0).all()
    assert (bench["bytes_per_vector"] > 0).all()


# --- evaluation and the CLI --------------------------------------------------------------------


def _fake_set() -> tuple[LookupEncoder, RetrievalSet]:
    q, d = _clustered(n_clusters=6, per=4, dim=16, offset=1.0)
    vectors = {f"q{i}": q[i] for i in range(len(q))} | {f"doc {j}": d[j] for j in range(len(d))}
    enc = LookupEncoder(vectors, query_prompt="")
    data = RetrievalSet(
        name="fake",
        corpus={f"d{j}": {"title": "", "text": f"doc {j}"} for j in range(len(d))},
        queries={f"q{i}": f"q{i}" for i in range(len(q))},
        qrels={f"q{i}": {f"d{i * 4 + r}": 1 for r in range(4)} for i in range(len(q))},
    )
    return enc, data


def test_evaluate_compressed_records_its_settings_and_matches_exact_at_float32() -> None:
    from ko_embed_lab import evaluate_retrieval

    enc, data = _fake_set()
    exact = evaluate_retrieval(enc, data)
    same = cmp.evaluate_compressed(enc, data)
    assert same.metrics["ndcg@10"] == pytest.approx(exact.metrics["ndcg@10"])
    res = cmp.evaluate_compressed(enc, data, dim=8, precision="binary", rescore=3)
    s = res.provenance["settings"]
    assert (s["dim"], s["precision"], s["rescore"], s["index"], s["center"]) == (8, "binary", 3, "exact", "mean")
    assert len(s["calibration"]["id"]) == 16
    assert res.provenance["cost"]["index_bytes_per_vector"] == 1
    assert all(len(docs) <= 10 for docs in res.run.values())


def test_compression_sweep_grid() -> None:
    enc, data = _fake_set()
    emb = cmp.embed_set(enc, data)
    df = cmp.compression_sweep(emb, dims=(None, 8), precisions=("float32", "int8", "binary"), rescores=(None, 2))
    assert len(df) == 2 * (1 + 2 + 2)
    full = df[(df["dim"] == 16) & (df["precision"] == "float32")].iloc[0]
    assert full["pct_of_float32"] == pytest.approx(100.0)
    pca = cmp.compression_sweep(emb, dims=(None,), precisions=("float32",), pca=True)
    assert pca["ndcg@10"].iloc[0] == pytest.approx(full["ndcg@10"])  # a rotation changes no cosine


def test_cli_flags_are_recorded_in_provenance(tmp_path, monkeypatch) -> None:
    from ko_embed_lab import cli

    enc, data = _fake_set()
    monkeypatch.setattr("ko_embed_lab.models.load_model", lambda *a, **k: _Labelled(enc))
    monkeypatch.setattr("ko_embed_lab.data.beir.load_beir", lambda *a, **k: data)
    out = tmp_path / "r.json"
    argv = ["evaluate", "--data", "x", "--dim", "8", "--precision", "int8", "--rescore", "2", "--output", str(out)]
    assert cli.main([*argv, "--index", "exact", "-q"]) == 0
    s = json.loads(out.read_text())["provenance"]["settings"]
    assert (s["dim"], s["precision"], s["rescore"], s["index"]) == (8, "int8", 2, "exact")
    assert s["calibration"]["precision"] == "int8"
    assert cli.main(["evaluate", "--data", "x", "--index", "hnsw", "--output", str(out), "-q"]) == 0
    assert json.loads(out.read_text())["provenance"]["settings"]["index"] == "hnsw"


class _Labelled:
    def __init__(self, enc: LookupEncoder) -> None:
        self.enc, self.label = enc, "lookup-fake"

    def encode(self, texts, **kw):
        kw.pop("cache", None), kw.pop("show_progress", None)
        return self.enc.encode(texts, **kw)

    def identity(self):
        return self.enc.identity()


# --- report ------------------------------------------------------------------------------------


def _sweep() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"dim": 384, "precision": "float32", "rescore": 0, "ndcg@10": 0.80, "bytes_per_vector": 1536},
            {"dim": 128, "precision": "binary", "rescore": 4, "ndcg@10": 0.76, "bytes_per_vector": 16},
            {"dim": 64, "precision": "int8", "rescore": 0, "ndcg@10": 0.70, "bytes_per_vector": 64},
        ]
    ).assign(pct_of_float32=lambda d: 100 * d["ndcg@10"] / 0.80)


def test_budget_advice_picks_the_best_that_fits_and_says_when_none_does() -> None:
    df = _sweep()
    assert rep.best_within_budget(df, 64)["precision"] == "binary"
    assert rep.best_within_budget(df, 2) is None
    text = rep.budget_advice(df, [2, 64])
    assert "At 2 bytes per vector: no setting" in text
    assert "128-d binary, rescore ×4" in text and "95.0%" in text and "40 full vectors" in text


@pytest.mark.parametrize(
    ("naive", "centred", "start"),
    [(59, 93, "Centring the sign"), (90, 92, "Centring changes little"), (90, 70, "Centring costs")],
)
def test_binary_centre_sentence_branches(naive, centred, start) -> None:
    s = rep.binary_centre_sentence({"pct_of_float32": naive}, {"pct_of_float32": centred}, "384-d binary")
    assert s.startswith(start)


@pytest.mark.parametrize(
    ("verdict", "phrase"),
    [("matryoshka", "truncates like"), ("not matryoshka", "does not"), ("untested", "not tested")],
)
def test_matryoshka_sentence_branches(verdict, phrase) -> None:
    v = {"verdict": verdict, "worst_dim": 64, "worst_gap": 0.12, "margin": 0.05}
    assert phrase in rep.matryoshka_sentence(v, "m")


def test_index_sentence_branches() -> None:
    bench = pd.DataFrame(
        [
            {"index": "flat", "n": 1000, "query_ms": 2.0, "recall@10": 1.0, "bytes_per_vector": 1536},
            {"index": "hnsw", "n": 1000, "query_ms": 0.3, "recall@10": 0.95, "bytes_per_vector": 1700},
            {"index": "binary", "n": 1000, "query_ms": 0.2, "recall@10": 0.5, "bytes_per_vector": 48},
        ]
    )
    assert "**hnsw**" in rep.index_sentence(bench)
    assert "no approximate index reaches" in rep.index_sentence(bench, min_recall=0.99)


def test_takeaways_follow_the_numbers() -> None:
    t = rep.takeaways(_sweep(), {"verdict": "not matryoshka"}, 30.0, [64], "m")
    assert "need a centre" in t and "Do not truncate" in t
    t = rep.takeaways(_sweep(), {"verdict": "matryoshka"}, 1.0, [64], "m")
    assert "good enough" in t and "Truncate directly" in t


def test_offset_sentence_branches() -> None:
    d = _clustered(offset=3.0)[1]
    assert "a large common offset" in rep.offset_sentence(d)
    d = _clustered(offset=0.0, n_clusters=64)[1]
    assert "no large common offset" in rep.offset_sentence(d)


def test_centre_helpers_and_verdict_from_a_control_frame() -> None:
    enc, data = _fake_set()
    emb = cmp.embed_set(enc, data)
    centres = {
        c: cmp.compression_sweep(emb, precisions=("binary",), rescores=(None, 2), center=c) for c in ("zero", "mean")
    }
    naive, centred = rep.centre_pair(centres)
    assert rep.centre_gain(centres) == pytest.approx(centred["pct_of_float32"] - naive["pct_of_float32"])
    assert len(rep.centre_table(centres)) == 4
    sweep = cmp.compression_sweep(emb, dims=(None, 8), precisions=("float32",))
    pca = cmp.compression_sweep(emb, dims=(None, 8), precisions=("float32",), pca=True)
    v = rep.verdict_from(rep.control_frame(sweep, pca))
    assert v["worst_dim"] == 8 and v["verdict"] in ("matryoshka", "not matryoshka")
