"""The search playground's logic, free of widgets: systems over one corpus, hits, highlighting, HTML.

A :class:`SearchSpace` holds a corpus (a :class:`~ko_embed_lab.data.RetrievalSet` or a list of
texts) and answers one query with any of its systems: each dense encoder (query prompt on or
off, Matryoshka dimension), BM25 over Korean morphemes, and reciprocal-rank fusion of an encoder
with BM25 (:func:`~ko_embed_lab.retrieval.rrf_fuse`). Passages are embedded once per encoder.
:func:`results_html` renders the hits of several systems side by side, with the query's morphemes
highlighted (:func:`highlight`) and, on KoProbe, relevant passages and hard negatives marked.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..data.beir import RetrievalSet
from ..encode import truncate_dim
from ..retrieval.fusion import rrf_fuse
from ..retrieval.lexical import _KEEP_PREFIXES, BM25Index, _kiwi
from ..retrieval.runs import ranked
from ..types import Encoder

__all__ = ["BM25", "Hit", "SearchSpace", "highlight", "morpheme_spans", "query_terms", "results_html"]

#: Name of the lexical system.
BM25 = "BM25"
_MARK_STYLE = {"relevant": "#e6f4ea", "hard negative": "#fdecea"}


@dataclass(frozen=True)
class Hit:
    """One retrieved passage: its rank, id, score, text and mark (``"relevant"``, ``"hard negative"`` or ``""``)."""

    rank: int
    doc_id: str
    score: float
    text: str
    mark: str = ""


def morpheme_spans(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, form)`` of each content morpheme (as :class:`~ko_embed_lab.retrieval.KoreanTokenizer` keeps them).

    Example:
        >>> morpheme_spans("서울의 인구")
        [(0, 2, '서울'), (4, 6, '인구')]
    """
    spans = []
    for t in _kiwi().tokenize(text):
        if t.tag.startswith(_KEEP_PREFIXES):
            spans.append((int(t.start), int(t.start + t.len), t.form.lower()))
    return spans


def query_terms(query: str) -> set[str]:
    """The query's content morphemes, lower-cased.

    Example:
        >>> sorted(query_terms("대한민국의 수도는?"))
        ['대한민국', '수도']
    """
    return {form for _, _, form in morpheme_spans(query)}


def highlight(text: str, terms: set[str] | Sequence[str]) -> str:
    """HTML of ``text`` with every morpheme in ``terms`` wrapped in ``<mark>`` (the rest escaped).

    Example:
        >>> highlight("서울의 인구는 <많다>", {"인구"})
        '서울의 <mark>인구</mark>는 &lt;많다&gt;'
    """
    wanted = {t.lower() for t in terms}
    spans = sorted((s, e) for s, e, form in morpheme_spans(text) if form in wanted)
    out, pos = [], 0
    for s, e in spans:
        if s < pos:  # overlapping analyses of one word: keep the first
            continue
        out += [html.escape(text[pos:s]), "<mark>", html.escape(text[s:e]), "</mark>"]
        pos = e
    out.append(html.escape(text[pos:]))
    return "".join(out)


class SearchSpace:
    """A corpus with the systems that search it.

    Args:
        corpus: A retrieval set (BEIR folder, KoProbe's ``.data``) or a list of texts.
        encoders: ``{name: encoder}`` (or one encoder, named by its ``label``); may be empty.
        probe: KoProbe (:func:`~ko_embed_lab.data.load_probe`): marks hard negatives too.
        **encode_kwargs: Passed to every ``encode`` call (``cache=True``...).

    Example:
        >>> space = SearchSpace(["서울은 수도다", "부산은 항구다"], {"e5": model})
        >>> [h.doc_id for h in space.search("수도", BM25, k=1)]
        ['0']
    """

    def __init__(
        self,
        corpus: RetrievalSet | Sequence[str],
        encoders: Mapping[str, Encoder] | Encoder | None = None,
        *,
        probe: Any = None,
        **encode_kwargs: Any,
    ) -> None:
        if isinstance(corpus, RetrievalSet):
            self.data: RetrievalSet | None = corpus
            self.doc_ids, self.texts = corpus.doc_ids(), corpus.doc_texts()
        else:
            texts = list(corpus)
            if not texts or not all(isinstance(t, str) for t in texts):
                raise TypeError("corpus must be a RetrievalSet or a non-empty list of strings")
            self.data, self.doc_ids, self.texts = None, [str(i) for i in range(len(texts))], texts
        if encoders is None:
            encoders = {}
        elif not isinstance(encoders, Mapping):
            encoders = {str(getattr(encoders, "label", type(encoders).__name__)): encoders}
        self.encoders: dict[str, Encoder] = dict(encoders)
        self.probe = probe
        self.encode_kwargs = encode_kwargs
        self._docs: dict[str, np.ndarray] = {}
        self._bm25: BM25Index | None = None
        self._query_ids = {text: qid for qid, text in (self.data.queries.items() if self.data else [])}

    @property
    def systems(self) -> list[str]:
        """Every system: the encoders, BM25, and each encoder fused with BM25."""
        return [*self.encoders, BM25, *(self.fusion_name(n) for n in self.encoders)]

    @staticmethod
    def fusion_name(encoder: str) -> str:
        """Name of the fusion of ``encoder`` with BM25."""
        return f"RRF({encoder} + BM25)"

    def dims(self, encoder: str) -> int:
        """Full dimension of an encoder's passage embeddings (they are computed on first use)."""
        return int(self._doc_embeddings(encoder).shape[1])

    def _doc_embeddings(self, name: str) -> np.ndarray:
        if name not in self._docs:
            enc = self.encoders[name]
            self._docs[name] = np.asarray(
                enc.encode(self.texts, kind="document", **self.encode_kwargs), dtype=np.float32
            )
        return self._docs[name]

    def _dense(self, name: str, query: str, depth: int, prompt: bool, dim: int | None) -> list[tuple[str, float]]:
        docs = self._doc_embeddings(name)
        q = np.asarray(
            self.encoders[name].encode([query], kind="query", prompt=None if prompt else "", **self.encode_kwargs),
            dtype=np.float32,
        )
        scores = (truncate_dim(q, dim) @ truncate_dim(docs, dim).T)[0]
        return ranked({d: float(s) for d, s in zip(self.doc_ids, scores, strict=True)})[:depth]

    def _lexical(self, query: str, depth: int) -> list[tuple[str, float]]:
        if self._bm25 is None:
            self._bm25 = BM25Index().fit(self.texts, self.doc_ids)
        return self._bm25.search([query], k=depth)[0]

    def marks(self, query: str) -> dict[str, str]:
        """``{doc_id: "relevant" | "hard negative"}`` when ``query`` is one of the set's queries, else ``{}``."""
        qid = self._query_ids.get(query.strip())
        if qid is None or self.data is None:
            return {}
        out = {d: "relevant" for d, g in self.data.qrels.get(qid, {}).items() if g > 0}
        if self.probe is not None and qid in self.probe.queries.index:
            out.update({d: "hard negative" for d in self.probe.hard_negatives(qid) if d not in out})
        return out

    def search(self, query: str, system: str, *, k: int = 5, prompt: bool = True, dim: int | None = None) -> list[Hit]:
        """Top-``k`` hits of one system for one query.

        Args:
            query: The query text.
            system: One of :attr:`systems`.
            k: Number of hits.
            prompt: Put the encoder's query prompt before the query (dense systems and fusions).
            dim: Matryoshka dimension of the dense systems (``None``: full).
        """
        if not query.strip():
            return []
        depth = max(k, 100)
        if system == BM25:
            top = self._lexical(query, k)
        elif system in self.encoders:
            top = self._dense(system, query, k, prompt, dim)
        else:
            name = next((n for n in self.encoders if self.fusion_name(n) == system), None)
            if name is None:
                raise ValueError(f"unknown system {system!r}; systems are {self.systems}")
            runs = [{"q": dict(self._dense(name, query, depth, prompt, dim))}, {"q": dict(self._lexical(query, depth))}]
            top = ranked(rrf_fuse(runs, top_k=k)["q"])[:k]
        marks, pos = self.marks(query), {d: i for i, d in enumerate(self.doc_ids)}
        return [Hit(r + 1, d, float(s), self.texts[pos[d]], marks.get(d, "")) for r, (d, s) in enumerate(top)]

    def compare(self, query: str, systems: Sequence[str] | None = None, **kwargs: Any) -> dict[str, list[Hit]]:
        """:meth:`search` with several systems (default: all)."""
        return {s: self.search(query, s, **kwargs) for s in (systems or self.systems)}


def results_html(query: str, results: Mapping[str, Sequence[Hit]], *, max_chars: int = 220) -> str:
    """The hits of several systems side by side, one column each, as an HTML table.

    Query morphemes are highlighted in every passage; relevant passages get a green, hard
    negatives a red background, with the mark spelled out.

    Example:
        >>> "<mark>" in results_html("수도", {"BM25": [Hit(1, "d1", 1.2, "서울은 수도다")]})
        True
    """
    terms = query_terms(query)
    head = "".join(f"<th style='text-align:left;padding:4px'>{html.escape(s)}</th>" for s in results)
    depth = max((len(h) for h in results.values()), default=0)
    rows = []
    for i in range(depth):
        cells = []
        for hits in results.values():
            if i >= len(hits):
                cells.append("<td></td>")
                continue
            h = hits[i]
            text = h.text if len(h.text) <= max_chars else h.text[:max_chars] + "…"
            bg = f"background:{_MARK_STYLE[h.mark]};" if h.mark else ""
            tag = f" <b>{h.mark}</b>" if h.mark else ""
            cells.append(
                f"<td style='text-align:left;vertical-align:top;padding:4px;border-top:1px solid #ddd;{bg}' class='kel-hit {h.mark.replace(' ', '-')}'>"
                f"<small>#{h.rank} · {html.escape(h.doc_id)} · {h.score:.3f}{tag}</small><br>{highlight(text, terms)}</td>"
            )
        rows.append("<tr>" + "".join(cells) + "</tr>")
    if not rows:
        rows.append(f"<tr><td colspan='{max(len(results), 1)}'>no hits</td></tr>")
    return (
        f"<div class='kel-playground-results'><p><b>query:</b> {html.escape(query)}</p>"
        f"<table style='border-collapse:collapse;table-layout:fixed;width:100%'><tr>{head}</tr>{''.join(rows)}</table></div>"
    )
