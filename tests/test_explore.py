"""kel.explore: the search playground's logic, its widget and static view, and the embedding map."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from ko_embed_lab.data import RetrievalSet
from ko_embed_lab.explore import (
    BM25,
    Hit,
    SearchSpace,
    highlight,
    morpheme_spans,
    nearest_neighbours,
    playground,
    query_terms,
    results_html,
    static_playground,
)
from ko_embed_lab.explore.embedmap import EmbeddingMap

DOCS = [
    "서울은 대한민국의 수도이다.",
    "부산은 항구 도시이다.",
    "한글은 세종대왕이 만들었다.",
    "서울의 인구는 약 천만 명이다.",
]


class CharEncoder:
    """Bag of characters in 64 buckets: texts sharing characters are close; records the prompts."""

    label = "char-fake"

    def __init__(self) -> None:
        self.prompts: list[tuple[str, str | None]] = []

    def encode(self, texts: Any, *, kind: str = "document", prompt: str | None = None, **kw: Any) -> np.ndarray:
        self.prompts.append((kind, prompt))
        out = np.zeros((len(texts), 64), dtype=np.float32)
        for i, t in enumerate(texts):
            for ch in t:
                if not ch.isspace():
                    out[i, ord(ch) % 64] += 1
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def _set() -> RetrievalSet:
    return RetrievalSet(
        name="toy",
        corpus={f"d{i}": {"title": "", "text": t} for i, t in enumerate(DOCS)},
        queries={"q1": "대한민국의 수도는?"},
        qrels={"q1": {"d0": 1}},
    )


class _Probe:  # the part of KoProbe the playground reads
    def __init__(self) -> None:
        import pandas as pd

        self.queries = pd.DataFrame({"need_id": ["n1"]}, index=["q1"])

    def hard_negatives(self, qid: str) -> list[str]:
        return ["d3"]


def test_morphemes_and_highlight() -> None:
    assert query_terms("서울의 인구는?") == {"서울", "인구"}
    assert [f for _, _, f in morpheme_spans("부산은 항구다")] == ["부산", "항구"]
    assert highlight("서울의 인구 <b>", {"인구"}) == "서울의 <mark>인구</mark> &lt;b&gt;"
    assert highlight("부산", set()) == "부산"


def test_search_systems_on_a_list_of_texts() -> None:
    enc = CharEncoder()
    space = SearchSpace(DOCS, {"fake": enc})
    assert space.systems == ["fake", BM25, "RRF(fake + BM25)"]
    dense = space.search("서울 인구", "fake", k=2)
    assert [h.rank for h in dense] == [1, 2] and dense[0].doc_id == "3"
    assert dense[0].score >= dense[1].score
    assert space.search("부산 항구", BM25, k=1)[0].doc_id == "1"
    fused = space.search("서울 인구", "RRF(fake + BM25)", k=3)
    assert fused[0].doc_id == "3" and len(fused) == 3
    space.search("수도", "fake", prompt=False)
    assert enc.prompts[-1] == ("query", "")
    space.search("수도", "fake", prompt=True)
    assert enc.prompts[-1] == ("query", None)
    assert [p for p in enc.prompts if p[0] == "document"] == [("document", None)]  # passages embedded once
    assert len(space.search("수도", "fake", dim=8)) == 4 and space.dims("fake") == 64
    assert space.search("  ", BM25) == []
    with pytest.raises(ValueError, match="unknown system"):
        space.search("수도", "nope")
    with pytest.raises(TypeError):
        SearchSpace([])


def test_marks_on_a_set_with_hard_negatives() -> None:
    space = SearchSpace(_set(), CharEncoder(), probe=_Probe())
    assert space.systems[0] == "char-fake"
    assert space.marks("대한민국의 수도는?") == {"d0": "relevant", "d3": "hard negative"}
    assert space.marks("다른 질문") == {}
    hits = {h.doc_id: h.mark for h in space.search("대한민국의 수도는?", BM25, k=4)}
    assert hits["d0"] == "relevant" and hits.get("d3", "hard negative") == "hard negative"


def test_results_html_side_by_side() -> None:
    page = results_html(
        "서울 인구",
        {
            "A": [Hit(1, "d0", 0.9, "서울의 인구", "relevant")],
            "B": [Hit(1, "d3", 0.5, "<부산>", "hard negative"), Hit(2, "d1", 0.1, "x")],
        },
    )
    assert page.count("<th") == 2 and page.count("<tr>") == 3
    assert "<mark>서울</mark>" in page and "&lt;부산&gt;" in page
    assert "kel-hit relevant" in page and "kel-hit hard-negative" in page and "#e6f4ea" in page
    assert "no hits" in results_html("q", {"A": []})


def test_static_and_live_playground() -> None:
    space = SearchSpace(_set(), CharEncoder(), probe=_Probe())
    html = static_playground(space, ["대한민국의 수도는?"], k=2).data
    assert "kel-playground-static" in html and "relevant" in html and html.count("<th") == 3
    box = playground(space, examples=["대한민국의 수도는?"])
    results = next(c for c in box.children if "kel-results" in c._dom_classes)
    query = box.children[0].children[0]
    query.value = "서울 인구"
    assert "<mark>서울</mark>" in results.value and "RRF(char-fake + BM25)" in results.value
    box.children[1].value = "대한민국의 수도는?"  # an example fills the box and searches
    assert query.value == "대한민국의 수도는?" and "relevant" in results.value


def test_nearest_neighbours_in_the_full_space() -> None:
    e = np.array([[1, 0], [0.8, 0.6], [0, 1], [0.8, 0.6]], dtype=np.float32)
    assert nearest_neighbours(e, 0, k=3) == [(1, pytest.approx(0.8)), (3, pytest.approx(0.8)), (2, 0.0)]
    with pytest.raises(IndexError):
        nearest_neighbours(e, 4)


def test_map_figure_links_selection_and_note() -> None:
    from ko_embed_lab.cluster import map_frame

    enc = CharEncoder()
    texts = [*DOCS, "대한민국의 수도는?"]
    emb = enc.encode(texts)
    coords = np.arange(10, dtype=np.float32).reshape(5, 2)
    frame = map_frame(
        coords, texts, kind=["passage"] * 4 + ["query"], id=["d0", "d1", "d2", "d3", "q1"], label=list("aabbq")
    )
    m = EmbeddingMap(frame=frame, embeddings=emb, links=[(4, 0)], texts=texts, model="char-fake")
    nb = m.neighbours(4, k=2)
    assert list(nb.columns) == ["id", "kind", "label", "cosine", "text"] and nb["cosine"].is_monotonic_decreasing
    fig = m.figure(selected=4, k=2)
    names = [t.name for t in fig.data]
    assert "query → relevant" in names and "selected" in names and "nearest (full dim)" in names
    assert "distorts distances" in fig.layout.annotations[0].text and "64-dimensional" in fig.layout.annotations[0].text
    assert "model: char-fake" in fig.layout.title.text
    links = next(t for t in fig.data if t.name == "query → relevant")
    assert list(links.x) == [8.0, 0.0, None]


@pytest.mark.slow
def test_build_map_and_explorer() -> None:
    from ko_embed_lab.explore import build_map, map_explorer

    m = build_map(CharEncoder(), _set(), seed=0, n_clusters=2)
    assert list(m.frame["kind"]) == ["passage"] * 4 + ["query"] and m.links == [(4, 0)]
    assert m.frame["label"].str.startswith("cluster").all()
    box = map_explorer(m)
    box.children[0].value = 4
    assert "kel-neighbours" in box.children[2].value
