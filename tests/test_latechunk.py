"""Late chunking, contextual chunks and the long-document strategies of evaluate_retrieval."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from ko_embed_lab import longdoc
from ko_embed_lab.data.beir import RetrievalSet
from ko_embed_lab.data.longqueries import load_long_queries, split_long_queries
from ko_embed_lab.longdoc.late import LateChunker, macro_windows, token_owners
from ko_embed_lab.retrieval import evaluate_retrieval
from tests.test_longdoc import NEEDLE, NeedleModel

KOREAN = (
    "대한민국은 민주공화국이다. 대한민국의 주권은 국민에게 있고, 모든 권력은 국민으로부터 나온다. "
    "대한민국의 국민이 되는 요건은 법률로 정한다. 국가는 법률이 정하는 바에 의하여 재외국민을 보호할 의무를 진다. "
    "대한민국의 영토는 한반도와 그 부속도서로 한다."
)


@pytest.fixture
def short_window(model) -> Iterator[Any]:
    """The bundled model with a 40-token window, so that a paragraph needs several macro-windows."""
    old = model.max_seq_length
    model.max_seq_length = 40
    try:
        yield model
    finally:
        model.max_seq_length = old


# ------------------------------------------------------------------------------------------------
# Macro-windows
# ------------------------------------------------------------------------------------------------


def test_macro_windows_by_hand() -> None:
    assert macro_windows(5, 8, 2) == [(0, 5)]
    assert macro_windows(20, 8, 2) == [(0, 8), (6, 14), (12, 20)]
    assert macro_windows(1000, 508, 127) == [(0, 508), (381, 889), (492, 1000)]
    with pytest.raises(ValueError, match="overlap"):
        macro_windows(10, 4, 4)


@pytest.mark.parametrize(("n", "window", "overlap"), [(1, 4, 0), (17, 8, 0), (20, 8, 2), (1000, 508, 127), (97, 10, 9)])
def test_macro_windows_give_every_token_exactly_one_owner_with_most_context(n: int, window: int, overlap: int) -> None:
    wins = macro_windows(n, window, overlap)
    assert wins[0][0] == 0 and wins[-1][1] == n and all(e - s == min(window, n) for s, e in wins)
    owner = token_owners(n, wins)
    assert owner.shape == (n,)  # one owner per token: every token is taken exactly once
    for i, w in enumerate(owner):
        s, e = wins[w]
        assert s <= i < e
        ctx = [min(i - s2 if s2 > 0 else np.inf, e2 - 1 - i if e2 < n else np.inf) for s2, e2 in wins if s2 <= i < e2]
        own = min(i - s if s > 0 else np.inf, e - 1 - i if e < n else np.inf)
        assert own == max(ctx)


def test_token_owners_by_hand() -> None:
    # Token 4 has one token after it in window 0 and none before it in window 1: window 0 keeps it.
    # Token 5 has none after it in window 0 and one before it in window 1: window 1 keeps it.
    assert token_owners(10, [(0, 6), (4, 10)]).tolist() == [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]
    with pytest.raises(ValueError, match="no window"):
        token_owners(10, [(0, 4), (6, 10)])


# ------------------------------------------------------------------------------------------------
# Late chunking on the bundled model
# ------------------------------------------------------------------------------------------------


def test_one_span_over_the_whole_input_equals_the_ordinary_embedding(model) -> None:
    # The bundled model mean-pools every token (prompt and <s>/</s> included): the mean of the framed
    # token embeddings of one window is its ordinary embedding. Tolerance: 1e-5 per coordinate (float32).
    late = LateChunker(model)
    doc = late.tokenize(KOREAN)
    tokens = late.token_embeddings([doc], frame=True)[0]
    assert tokens.shape[0] == len(doc.ids) + len(doc.prompt_ids) + 2
    np.testing.assert_allclose(late.pool(tokens, [(0, tokens.shape[0])]), model.encode([KOREAN]), atol=1e-5)
    # One chunk over all content tokens (the late-chunk recipe: no prompt, no specials) is the same
    # document read the same way, less 5 frame tokens out of ~60: cosine above 0.99.
    one = late.embed([KOREAN], chunk_tokens=late.window)[0]
    assert one.shape == (1, model.dim)
    assert float(one[0] @ model.encode([KOREAN])[0]) > 0.99


def test_chunk_spans_map_to_their_korean_text(model) -> None:
    late = LateChunker(model)
    assert late.prompt == "passage: " and len(late.prompt_ids) == 2
    doc = late.tokenize(KOREAN)
    # The prompt's tokens are context only; the content tokens are exactly those of the text alone.
    assert doc.ids == model.tokenizer(KOREAN, add_special_tokens=False)["input_ids"]
    for w in doc.chunks(12, 3):
        assert w.text == KOREAN[doc.offsets[w.token_start][0] if w.token_start else 0 : w.end]
        decoded = model.tokenizer.decode(doc.ids[w.token_start : w.token_end])
        assert decoded.strip() == w.text.strip()


def test_macro_windows_reproduce_a_single_window_where_the_context_is_the_same(short_window) -> None:
    model = short_window
    late = LateChunker(model, macro_overlap=10)
    doc = late.tokenize(KOREAN + " " + KOREAN)
    n = len(doc.ids)
    assert late.window == 36 and n > 2 * late.window  # several macro-windows
    tokens = late.token_embeddings([doc])[0]
    wins = macro_windows(n, late.window, 10)
    owner = token_owners(n, wins)
    for k, (s, e) in enumerate(wins):
        sub = dataclasses.replace(doc, ids=doc.ids[s:e], offsets=doc.offsets[s:e])
        alone = late.token_embeddings([sub])[0]
        mine = owner[s:e] == k
        np.testing.assert_allclose(tokens[s:e][mine], alone[mine], atol=1e-4)
    vecs = late.embed([doc.text], chunk_tokens=16)[0]
    assert vecs.shape == (len(doc.chunks(16)), model.dim)
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)


def test_cls_model_path_runs(model) -> None:
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import Normalize, Pooling

    st = SentenceTransformer(modules=[model.st[0], Pooling(model.dim, pooling_mode="cls"), Normalize()], device="cpu")
    cls_model = dataclasses.replace(model, st=st)
    late = LateChunker(cls_model)
    doc = late.tokenize(KOREAN)
    tokens = late.token_embeddings([doc], frame=True)[0]
    # The model's own embedding is the <s> row; late chunks mean-pool their span instead (documented).
    cls = tokens[0] / np.linalg.norm(tokens[0])
    np.testing.assert_allclose(cls, st.encode([f"passage: {KOREAN}"])[0], atol=1e-5)
    vecs = late.embed([KOREAN], chunk_tokens=20)[0]
    assert vecs.shape == (len(doc.chunks(20)), model.dim) and np.isfinite(vecs).all()


def test_late_chunk_vectors_are_cached_with_their_settings(model, tmp_path, monkeypatch) -> None:
    from ko_embed_lab.cache import EmbeddingCache

    cache = EmbeddingCache(tmp_path)
    first = longdoc.late_chunk_vectors(model, [KOREAN], sizes=[(16, 0), (32, 4)], cache=cache)
    assert first[(16, 0)][0].shape[0] > first[(32, 4)][0].shape[0]

    def boom(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("recomputed a cached late chunk")

    monkeypatch.setattr(LateChunker, "token_embeddings", boom)
    again = longdoc.late_chunk_vectors(model, [KOREAN], sizes=[(16, 0), (32, 4)], cache=cache)
    np.testing.assert_allclose(again[(16, 0)][0], first[(16, 0)][0], atol=0)
    with pytest.raises(AssertionError, match="recomputed"):  # another chunk size is another key
        longdoc.late_chunk_vectors(model, [KOREAN], sizes=[(24, 0)], cache=cache)


# ------------------------------------------------------------------------------------------------
# Contextual chunks
# ------------------------------------------------------------------------------------------------


def test_document_header_is_the_title_else_the_first_sentence(model) -> None:
    assert longdoc.document_header(model, "대한민국헌법\n\n전문 ...") == "대한민국헌법"
    assert longdoc.document_header(model, KOREAN) == "대한민국은 민주공화국이다."
    assert longdoc.document_header(model, KOREAN, "헌법 제1장") == "헌법 제1장"
    cut = longdoc.document_header(model, KOREAN.replace(".", ""), max_tokens=5)
    assert KOREAN.startswith(cut) and len(model.tokenizer(cut, add_special_tokens=False)["input_ids"]) == 5


def test_context_chunks_carry_the_header_and_fit_the_window(model, short_window) -> None:
    emb = longdoc.LongDocEmbedder(short_window, chunk_tokens=30, header_tokens=8)
    chunks = emb.context_chunks(KOREAN, "헌법 제1장 총강")
    assert len(chunks) > 2 and all(c.startswith("헌법 제1장 총강\n") for c in chunks)
    counts = [len(model.tokenizer(c, add_special_tokens=False)["input_ids"]) for c in chunks]
    assert max(counts) <= emb.window  # header + chunk never truncated


def test_context_chunks_score_with_their_header(model) -> None:
    # The fake scores a text 0.707 when it holds 바늘: a title holding it lifts every chunk of its document.
    fake = NeedleModel(model.tokenizer, max_seq_length=64)
    emb = longdoc.LongDocEmbedder(fake, chunk_tokens=20, cache=False)
    titles = ["바늘 이야기", "헌법"]
    scores = emb.scores(np.array([[1.0, 0.0]], dtype=np.float32), [KOREAN, KOREAN], "context-chunk", titles)
    np.testing.assert_allclose(scores, [[0.5**0.5, 0.0]], atol=1e-6)
    plain = emb.scores(np.array([[1.0, 0.0]], dtype=np.float32), [KOREAN, KOREAN], "max-chunk")
    np.testing.assert_allclose(plain, [[0.0, 0.0]], atol=1e-6)


# ------------------------------------------------------------------------------------------------
# evaluate_retrieval(long_docs=...)
# ------------------------------------------------------------------------------------------------


def _needle_set(model) -> RetrievalSet:
    fillers = {p: d["text"] for p, d in load_long_queries().data.corpus.items()}
    late = longdoc.build_haystack(model, NEEDLE, fillers, 300, 1.0, seed=0, doc_id="late")
    plain = longdoc.build_haystack(model, None, fillers, 300, seed=5, doc_id="plain")
    return RetrievalSet(
        name="toy",
        corpus={"late": {"title": "", "text": late.text}, "plain": {"title": "", "text": plain.text}},
        queries={"q": "바늘"},
        qrels={"q": {"late": 1}},
    )


def test_evaluate_retrieval_long_docs_strategies_with_a_fake(model) -> None:
    fake = NeedleModel(model.tokenizer, max_seq_length=64)
    data = _needle_set(model)
    trunc = evaluate_retrieval(fake, data)
    assert trunc.provenance["settings"]["long_docs"] == {"strategy": "truncate"}
    best = evaluate_retrieval(fake, data, long_docs="max-chunk", chunk_tokens=40, overlap=8)
    assert best.run["q"]["late"] == pytest.approx(0.5**0.5, abs=1e-6) and best.metrics["recall@1"] == 1.0
    rec = best.provenance["settings"]["long_docs"]
    assert rec["strategy"] == "max-chunk" and rec["chunk_tokens"] == 40 and rec["overlap"] == 8
    assert rec["vectors_per_document"] > 5  # ~300 tokens in chunks of 40 with a step of 32
    assert evaluate_retrieval(fake, data, long_docs="chunk-mean", chunk_tokens=40).provenance["settings"]["long_docs"][
        "strategy"
    ] == ("mean-chunk")
    # Default chunk size: 256, capped at the fake's window of 62 content tokens.
    assert (
        evaluate_retrieval(fake, data, long_docs="max-chunk").provenance["settings"]["long_docs"]["chunk_tokens"] == 62
    )


def test_evaluate_retrieval_long_docs_rejects_bad_input(model) -> None:
    fake = NeedleModel(model.tokenizer, max_seq_length=64)
    data = _needle_set(model)
    with pytest.raises(ValueError, match="unknown long-document strategy"):
        evaluate_retrieval(fake, data, long_docs="median-chunk")
    with pytest.raises(ValueError, match="chunk strategies"):
        evaluate_retrieval(fake, data, chunk_tokens=128)
    with pytest.raises(ValueError, match="chunk_tokens"):
        evaluate_retrieval(fake, data, long_docs="max-chunk", chunk_tokens=1000)
    with pytest.raises(TypeError, match="token outputs"):
        evaluate_retrieval(fake, data, long_docs="late-chunk")


def test_evaluate_retrieval_late_chunk_on_the_bundled_model(short_window) -> None:
    model = short_window
    data = RetrievalSet(
        name="toy",
        corpus={"ko": {"title": "", "text": KOREAN}, "other": {"title": "", "text": NEEDLE}},
        queries={"q": "대한민국의 영토는 어디인가?"},
        qrels={"q": {"ko": 1}},
    )
    res = evaluate_retrieval(model, data, long_docs="late-chunk", chunk_tokens=16, cache=False)
    rec = res.provenance["settings"]["long_docs"]
    assert rec["strategy"] == "late-chunk" and rec["late_macro_overlap"] == 9 and rec["vectors_per_document"] > 2
    assert res.metrics["recall@1"] == 1.0


def test_cli_evaluate_takes_the_long_doc_options() -> None:
    from ko_embed_lab.cli import build_parser

    args = build_parser().parse_args(["evaluate", "--data", "x", "--long-docs", "late-chunk", "--chunk-tokens", "128"])
    assert (args.long_docs, args.chunk_tokens, args.overlap) == ("late-chunk", 128, None)
    assert build_parser().parse_args(["evaluate", "--data", "x"]).long_docs == "truncate"


def test_split_long_queries(model) -> None:
    qs = load_long_queries().subset(["kobill-1809894", "kobill-1809898"])
    data = split_long_queries(qs, model, max_tokens=300)
    assert len(data.corpus) > 4 and set(data.queries) == set(qs.data.queries)
    for pid, doc in data.corpus.items():
        assert len(model.tokenizer(doc["text"], add_special_tokens=False)["input_ids"]) <= 300
        assert doc["title"] == qs.data.corpus[pid.split("#")[0]]["text"].split("\n", 1)[0].strip()
    for q, rel in data.qrels.items():
        (pid,) = rel
        assert qs.queries.loc[q, "evidence"] in data.corpus[pid]["text"]


def test_late_chunk_documents_are_grouped_under_a_token_budget() -> None:
    from ko_embed_lab.longdoc.chunking import _groups

    assert _groups([1, 2, 3, 4], [5, 5, 5, 5], budget=10) == [[1, 2], [3, 4]]
    assert _groups([1, 2], [20, 1], budget=10) == [[1], [2]]  # a document over the budget goes alone
    assert _groups([], [], budget=10) == []


def test_a_prompt_that_takes_an_extra_token_keeps_inputs_inside_the_window(model) -> None:
    # "passage: . …" tokenizes the prompt's trailing space as a token of its own ("▁"): that document's
    # macro-windows are one token shorter, so no input exceeds the 512 positions of the model.
    late = LateChunker(model)
    text = ". " + load_long_queries().data.corpus["kolaw-constitution"]["text"][:1500]
    doc = late.tokenize(text)
    assert len(doc.prompt_ids) == len(late.prompt_ids) + 1 and len(doc.ids) > late.window
    vecs = late.embed([text], chunk_tokens=256)[0]
    assert vecs.shape[0] == len(doc.chunks(256)) and np.isfinite(vecs).all()


def test_late_chunks_run_on_the_models_exported_backend(model) -> None:
    # A model loaded with backend="onnx"|"openvino" takes its token vectors from the exported graph,
    # as its plain chunks do; before, late chunks silently ran torch beside int8 plain chunks.
    import torch

    calls: list[tuple[int, ...]] = []

    def runner(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        calls.append(ids.shape)
        with torch.inference_mode():
            out = model.st[0]({"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask)})
        return out["token_embeddings"].numpy() + 1.0  # recognisably not torch's own

    fake = SimpleNamespace(runner=runner, key="fake:fp32:0", tag="fake fp32", backend="fake", identity=lambda: {})
    exported = dataclasses.replace(model, runtime=fake)
    torch_late, exported_late = LateChunker(model), LateChunker(exported)
    ref = torch_late.token_embeddings([torch_late.tokenize(KOREAN)])[0]
    got = exported_late.token_embeddings([exported_late.tokenize(KOREAN)])[0]
    assert calls, "the exported graph was not called"
    np.testing.assert_allclose(got, ref + 1.0, atol=1e-5)
