import pytest

from ko_embed_lab.data.beir import RetrievalSet
from ko_embed_lab.retrieval.fusion import rrf_fuse
from ko_embed_lab.retrieval.lexical import (
    BM25Index,
    KoreanTokenizer,
    WhitespaceTokenizer,
    bm25_run,
    evaluate_bm25,
)


def test_morpheme_tokenizer_drops_particles_and_endings() -> None:
    assert KoreanTokenizer()("대한민국의 수도는 서울이다.") == ["대한민국", "수도", "서울"]
    # Particles differ, morphemes agree: the reason BM25 needs a morphological analyser.
    assert KoreanTokenizer()("서울에서") == KoreanTokenizer()("서울은") == ["서울"]
    assert WhitespaceTokenizer()("서울에서") != WhitespaceTokenizer()("서울은")


def test_bm25_ranks_the_obvious_document_first() -> None:
    docs = ["한글은 세종대왕이 창제하였다.", "대한민국의 수도는 서울이다.", "부산은 항구 도시다."]
    idx = BM25Index().fit(docs, ["hangul", "seoul", "busan"])
    top = idx.search(["서울이 수도인 나라는?"], k=3)[0]
    assert top[0][0] == "seoul"
    assert all(score > 0 for _, score in top)
    assert idx.search(["완전히 무관한 영어 words"], k=3) == [[]]
    with pytest.raises(ValueError, match="empty corpus"):
        BM25Index().fit([])


def test_bm25_run_and_fusion() -> None:
    data = RetrievalSet(
        "toy",
        {"a": {"title": "", "text": "서울의 인구"}, "b": {"title": "", "text": "부산의 인구"}},
        {"q": "서울 인구"},
        {"q": {"a": 1}},
    )
    run = bm25_run(data)
    assert max(run["q"], key=run["q"].get) == "a"
    assert evaluate_bm25(data).metrics["ndcg@10"] == 1.0
    # RRF: a document first in both runs wins; a document only in one run still appears.
    fused = rrf_fuse([{"q": {"a": 3.0, "b": 1.0}}, {"q": {"a": 0.9, "c": 0.5}}], k=60)
    assert next(iter(fused["q"])) == "a"
    assert fused["q"]["a"] == pytest.approx(2 / 61)
    assert fused["q"]["b"] == fused["q"]["c"] == pytest.approx(1 / 62)
    with pytest.raises(ValueError):
        rrf_fuse([{"q": {"a": 1.0}}])
