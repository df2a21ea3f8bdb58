"""Lexical retrieval for Korean: BM25 over morphemes (kiwipiepy + bm25s) and rank fusion (ranx).

Korean BM25 depends heavily on tokenisation: whitespace tokens glue particles and endings to the
stem (서울의, 서울은, 서울에서 are three different tokens), character tokens lose word identity.
:class:`KoreanTokenizer` keeps the content morphemes that ``kiwipiepy`` finds (nouns, verb and
adjective stems, roots, numbers, foreign words, hanja) and drops particles, endings and
punctuation.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from ..data.beir import RetrievalSet
from ..provenance import provenance
from .evaluate import RetrievalResult
from .metrics import score_run

__all__ = [
    "BM25Index",
    "KoreanTokenizer",
    "WhitespaceTokenizer",
    "bm25_run",
    "evaluate_bm25",
    "evaluate_run",
]

# Kiwi tags kept: nouns, pronouns, numerals, verb/adjective stems, roots, modifiers, adverbs,
# foreign (Latin) words, numbers, hanja, and the other-symbol tags for mixed tokens.
_KEEP_PREFIXES = ("NN", "NP", "NR", "VV", "VA", "XR", "SL", "SN", "SH", "MAG", "MM", "W_")


@lru_cache(maxsize=1)
def _kiwi() -> Any:
    from kiwipiepy import Kiwi

    return Kiwi(num_workers=1)


class KoreanTokenizer:
    """Content-morpheme tokenizer for Korean (with Latin words lower-cased).

    Example:
        >>> KoreanTokenizer()("대한민국의 수도는 서울이다.")
        ['대한민국', '수도', '서울']
    """

    name = "kiwi-morphemes"

    def __call__(self, text: str) -> list[str]:
        return self.tokenize_many([text])[0]

    def tokenize_many(self, texts: Sequence[str]) -> list[list[str]]:
        """Tokenize many texts at once (kiwipiepy batches them)."""
        kiwi = _kiwi()
        out: list[list[str]] = []
        for tokens in kiwi.tokenize(list(texts)):
            out.append([t.form.lower() for t in tokens if t.tag.startswith(_KEEP_PREFIXES)])
        return out


class WhitespaceTokenizer:
    """Whitespace tokens, lower-cased (the naive baseline that Korean BM25 should beat)."""

    name = "whitespace"

    def __call__(self, text: str) -> list[str]:
        return text.lower().split()

    def tokenize_many(self, texts: Sequence[str]) -> list[list[str]]:
        return [self(t) for t in texts]


class BM25Index:
    """A BM25 index (bm25s, Lucene variant, k1=1.5, b=0.75 by default) over tokenized texts.

    Example:
        >>> idx = BM25Index().fit(["서울은 수도다", "한글은 세종이 만들었다"], ["d1", "d2"])
        >>> idx.search(["수도 서울"], k=1)[0]
        [('d1', ...)]
    """

    def __init__(self, tokenizer: Any | None = None, *, k1: float = 1.5, b: float = 0.75) -> None:
        self.tokenizer = tokenizer or KoreanTokenizer()
        self.k1, self.b = k1, b
        self._bm25: Any = None
        self.doc_ids: list[str] = []

    def fit(self, texts: Sequence[str], ids: Sequence[str] | None = None) -> BM25Index:
        """Index documents (ids default to their positions as strings)."""
        import bm25s

        if not texts:
            raise ValueError("cannot index an empty corpus")
        self.doc_ids = [str(i) for i in (ids if ids is not None else range(len(texts)))]
        if len(self.doc_ids) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(self.doc_ids)} ids")
        tokens = self.tokenizer.tokenize_many(texts)
        self._bm25 = bm25s.BM25(k1=self.k1, b=self.b)
        self._bm25.index(tokens, show_progress=False)
        return self

    def scores(self, queries: Sequence[str]) -> np.ndarray:
        """Dense ``(n_queries, n_docs)`` BM25 score matrix."""
        if self._bm25 is None:
            raise RuntimeError("call fit() before scores()")
        vocab = self._bm25.vocab_dict
        out = np.zeros((len(queries), len(self.doc_ids)), dtype=np.float32)
        for i, toks in enumerate(self.tokenizer.tokenize_many(queries)):
            known = [t for t in toks if t in vocab]
            if known:
                out[i] = self._bm25.get_scores(known)
        return out

    def search(self, queries: Sequence[str], k: int = 10) -> list[list[tuple[str, float]]]:
        """Top-``k`` ``(doc_id, score)`` per query, best first (documents scoring 0 are left out)."""
        s = self.scores(queries)
        k = min(k, s.shape[1])
        out = []
        for row in s:
            top = np.argsort(-row, kind="stable")[:k]
            out.append([(self.doc_ids[j], float(row[j])) for j in top if row[j] > 0])
        return out


def bm25_run(
    data: RetrievalSet, *, tokenizer: Any | None = None, top_k: int = 1000, doc_texts: Sequence[str] | None = None
) -> dict[str, dict[str, float]]:
    """BM25 run ``{query_id: {doc_id: score}}`` over a retrieval set (zero scores dropped)."""
    index = BM25Index(tokenizer).fit(list(doc_texts) if doc_texts is not None else data.doc_texts(), data.doc_ids())
    qids = list(data.queries)
    results = index.search([data.queries[q] for q in qids], k=top_k)
    return {q: dict(r) for q, r in zip(qids, results, strict=True)}


def evaluate_run(
    data: RetrievalSet,
    run: Mapping[str, Mapping[str, float]],
    *,
    system: str,
    settings: dict[str, Any] | None = None,
    wall_s: float | None = None,
) -> RetrievalResult:
    """Score any run on a retrieval set and wrap it with provenance."""
    metrics, per_query = score_run(data.qrels, run)
    prov = provenance(
        model={"model": system}, dataset=data.identity(), settings=settings or {}, timings={"wall_s": wall_s}
    )
    return RetrievalResult(
        metrics=metrics, per_query=per_query, run={q: dict(v) for q, v in run.items()}, provenance=prov
    )


def evaluate_bm25(data: RetrievalSet, *, tokenizer: Any | None = None, top_k: int = 1000) -> RetrievalResult:
    """BM25 baseline on a retrieval set, as a :class:`~ko_embed_lab.retrieval.RetrievalResult`."""
    tok = tokenizer or KoreanTokenizer()
    t0 = time.perf_counter()
    run = bm25_run(data, tokenizer=tok, top_k=top_k)
    return evaluate_run(
        data,
        run,
        system=f"BM25 ({tok.name})",
        settings={"k1": 1.5, "b": 0.75, "tokenizer": tok.name, "top_k": top_k},
        wall_s=round(time.perf_counter() - t0, 3),
    )
