"""Long-document scoring: the dense strategies, BM25 and rank fusion, on retrieval sets.

:class:`LongDocScorer` scores long documents seven ways: the five dense strategies of
:mod:`.chunking` (``truncate``, ``max-chunk``, ``mean-chunk``, ``late-chunk``, ``context-chunk``;
computed by its :class:`~ko_embed_lab.longdoc.chunking.LongDocEmbedder`, the same code that
:func:`~ko_embed_lab.retrieval.evaluate_retrieval` uses with ``long_docs=``), BM25 over Korean
morphemes (``bm25``), and reciprocal-rank fusion of a dense run with BM25 (``fusion``, via ranx).
It embeds each distinct truncation and chunk once, however many retrieval sets share the document.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..data.beir import RetrievalSet
from ..provenance import provenance
from ..retrieval import RetrievalResult, run_from_matrix, score_run
from ..types import Run, encoder_identity
from .chunking import DENSE_STRATEGIES, HEADER_TOKENS, LongDocEmbedder, canonical_strategy, chunk_scores, chunk_texts

if TYPE_CHECKING:
    from ..cache import EmbeddingCache
    from ..models import EmbeddingModel

__all__ = ["STRATEGIES", "STRATEGY_LABELS", "LongDocScorer", "chunk_scores", "chunk_texts", "score_strategies"]

#: Long-document scoring strategies, in display order.
STRATEGIES = (*DENSE_STRATEGIES, "bm25", "fusion")
#: Human labels of the strategies (figures and tables).
STRATEGY_LABELS = {
    "truncate": "whole document (truncated)",
    "max-chunk": "chunks: best chunk",
    "mean-chunk": "chunks: mean embedding",
    "late-chunk": "late chunks: best chunk",
    "context-chunk": "chunks with header: best chunk",
    "bm25": "BM25 (morphemes)",
    "fusion": "RRF: best chunk + BM25",
}
_DENSE = frozenset(DENSE_STRATEGIES)


class _MemoTokenizer:
    """Wraps a BM25 tokenizer and remembers the tokens of texts seen (haystacks repeat across cells)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = getattr(inner, "name", type(inner).__name__)
        self._memo: dict[str, list[str]] = {}

    def __call__(self, text: str) -> list[str]:
        return self.tokenize_many([text])[0]

    def tokenize_many(self, texts: Sequence[str]) -> list[list[str]]:
        todo = list(dict.fromkeys(t for t in texts if t not in self._memo))
        if todo:
            for t, toks in zip(todo, self.inner.tokenize_many(todo), strict=True):
                self._memo[t] = toks
        return [self._memo[t] for t in texts]


def _names(strategies: Sequence[str], fusion: Sequence[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Strategy names checked and in the package's spelling (``chunk-max`` → ``max-chunk``)."""
    try:
        names = tuple(canonical_strategy(s, STRATEGIES) for s in strategies)
    except (ValueError, TypeError):
        names = ()
    if not names or len(names) != len(strategies):
        raise ValueError(f"unknown strategies {list(strategies)}; choose from {STRATEGIES}")
    try:
        fused = tuple(canonical_strategy(f, STRATEGIES[:-1]) for f in fusion)
    except (ValueError, TypeError):
        fused = ()
    if "fusion" in names and len(fused) != 2:
        raise ValueError(f"fusion={fusion!r} must name two of {STRATEGIES[:-1]}")
    return names, fused


def _fuse(runs: Sequence[Run], *, k: int, top_k: int) -> Run:
    """Reciprocal-rank fusion of runs (the package's one fusion, in the trec tie order)."""
    from ..retrieval.fusion import rrf_fuse

    return rrf_fuse(list(runs), k=k, top_k=top_k)


class LongDocScorer:
    """Score long documents with several strategies, reusing every embedding it has computed.

    Args:
        model: A loaded model.
        strategies: Any of :data:`STRATEGIES` (``chunk-max``/``chunk-mean`` are accepted for
            ``max-chunk``/``mean-chunk``).
        chunk_tokens: Chunk size in content tokens (default :func:`default_chunk_tokens`); also the
            span of a late chunk and the longest chunk of a contextual one.
        overlap: Overlap of consecutive chunks, in tokens.
        truncate_tokens: Content tokens kept by ``truncate`` (default: the model's whole window,
            :func:`content_window` — what the model itself would keep).
        header_tokens: Longest document header of a contextual chunk, in tokens.
        macro_overlap: Overlap of late chunking's macro-windows (default: a quarter of the window).
        fusion: The two runs that ``fusion`` combines.
        rrf_k: The ``k`` of reciprocal-rank fusion.
        top_k: Depth of every run.
        bm25_tokenizer: Tokenizer of BM25 (default :class:`~ko_embed_lab.retrieval.KoreanTokenizer`).
        cache: Embedding cache (``True``: the default on-disk cache).
        show_progress: Progress bar while embedding (default: only for large batches).

    Example:
        >>> scorer = LongDocScorer(model)
        >>> results = scorer.evaluate(load_long_queries().data)
        >>> {k: round(r.primary, 3) for k, r in results.items()}  # doctest: +SKIP
        {'truncate': 0.61, 'max-chunk': 0.83, ...}
    """

    def __init__(
        self,
        model: EmbeddingModel,
        *,
        strategies: Sequence[str] = STRATEGIES,
        chunk_tokens: int | None = None,
        overlap: int = 0,
        truncate_tokens: int | None = None,
        header_tokens: int = HEADER_TOKENS,
        macro_overlap: int | None = None,
        fusion: tuple[str, str] = ("max-chunk", "bm25"),
        rrf_k: int = 60,
        top_k: int = 100,
        bm25_tokenizer: Any | None = None,
        cache: EmbeddingCache | bool | None = True,
        show_progress: bool | None = None,
    ) -> None:
        self.strategies, self.fusion = _names(strategies, fusion)
        self.model = model
        self.embedder = LongDocEmbedder(
            model,
            chunk_tokens=chunk_tokens,
            overlap=overlap,
            truncate_tokens=truncate_tokens,
            header_tokens=header_tokens,
            macro_overlap=macro_overlap,
            cache=cache,
            show_progress=show_progress,
        )
        self.window = self.embedder.window
        self.chunk_tokens, self.overlap = self.embedder.chunk_tokens, self.embedder.overlap
        self.truncate_tokens = self.embedder.truncate_tokens
        self.rrf_k, self.top_k = int(rrf_k), int(top_k)
        self.cache, self.show_progress = cache, show_progress
        from ..retrieval.lexical import KoreanTokenizer

        self._bm25_tok = _MemoTokenizer(bm25_tokenizer or KoreanTokenizer())
        self._queries: dict[str, np.ndarray] = {}

    def settings(self) -> dict[str, Any]:
        """The scoring settings, as recorded in results."""
        return {
            "strategies": list(self.strategies),
            **self.embedder.settings(),
            "fusion": list(self.fusion),
            "rrf_k": self.rrf_k,
            "top_k": self.top_k,
            "bm25_tokenizer": self._bm25_tok.name,
            "metrics_by": "pytrec_eval",
        }

    def _wanted(self) -> set[str]:
        """The strategies to run: those asked for, and the two that ``fusion`` combines."""
        return set(self.strategies) | (set(self.fusion) if "fusion" in self.strategies else set())

    def _needs_dense(self) -> bool:
        return bool(self._wanted() & _DENSE)

    def views(self, text: str) -> tuple[str, list[str]]:
        """What ``truncate`` and the plain chunks embed of one document: its truncation and its chunks.

        Example:
            >>> cut, chunks = LongDocScorer(model).views(long_text)
            >>> long_text.startswith(cut), len(chunks) > 1  # a text longer than one window
            (True, True)
        """
        return self.embedder.views(text)

    def prepare(self, texts: Sequence[str], titles: Sequence[str] | None = None) -> None:
        """Embed what the dense strategies need of these documents in one pass (then scoring is cheap)."""
        if self._needs_dense():
            self.embedder.prepare(texts, sorted(self._wanted() & _DENSE), titles)

    def _embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        todo = list(dict.fromkeys(t for t in texts if t not in self._queries))
        if todo:
            vecs = self.model.encode(todo, kind="query", cache=self.cache, show_progress=False)
            self._queries.update(zip(todo, np.asarray(vecs, dtype=np.float32), strict=True))
        return np.stack([self._queries[t] for t in texts])

    def _dense_runs(self, data: RetrievalSet, wanted: set[str]) -> dict[str, Run]:
        """Runs of the dense strategies in ``wanted``: one embedding per truncation and per chunk."""
        qids, dids, texts = list(data.queries), data.doc_ids(), data.doc_texts()
        titles = [d.get("title") or "" for d in data.corpus.values()]
        self.prepare(texts, titles)
        q = self._embed_queries([data.queries[i] for i in qids])
        return {
            name: run_from_matrix(qids, dids, self.embedder.scores(q, texts, name, titles), self.top_k)
            for name in DENSE_STRATEGIES
            if name in wanted
        }

    def _bm25_run(self, data: RetrievalSet) -> Run:
        from ..retrieval.lexical import BM25Index

        qids, dids = list(data.queries), data.doc_ids()
        index = BM25Index(self._bm25_tok).fit(data.doc_texts(), dids)
        scores = index.scores([data.queries[q] for q in qids])
        return run_from_matrix(qids, dids, scores, self.top_k, drop_zero=True)

    def runs(self, data: RetrievalSet) -> dict[str, Run]:
        """The ranked run of each strategy on a retrieval set."""
        wanted = self._wanted()
        runs = self._dense_runs(data, wanted) if wanted & _DENSE else {}
        if "bm25" in wanted:
            runs["bm25"] = self._bm25_run(data)
        if "fusion" in wanted:
            runs["fusion"] = _fuse([runs[f] for f in self.fusion], k=self.rrf_k, top_k=self.top_k)
        return {s: runs[s] for s in self.strategies}

    def evaluate(self, data: RetrievalSet) -> dict[str, RetrievalResult]:
        """Score every strategy on a retrieval set with ``pytrec_eval``.

        Returns:
            ``{strategy: RetrievalResult}`` in the order of ``strategies``.
        """
        t0 = time.perf_counter()
        runs = self.runs(data)
        wall = round(time.perf_counter() - t0, 3)
        ident = encoder_identity(self.model)
        out: dict[str, RetrievalResult] = {}
        for name, run in runs.items():
            metrics, per_query = score_run(data.qrels, run)
            prov = provenance(
                model=ident,
                dataset=data.identity(),
                settings={**self.settings(), "strategy": name},
                timings={"wall_s_all_strategies": wall},
            )
            out[name] = RetrievalResult(metrics=metrics, per_query=per_query, run=run, provenance=prov)
        return out


def score_strategies(model: EmbeddingModel, data: RetrievalSet, **kwargs: Any) -> dict[str, RetrievalResult]:
    """Score a retrieval set of long documents with each strategy (see :class:`LongDocScorer`).

    Example:
        >>> res = score_strategies(model, load_long_queries().data, strategies=("truncate", "bm25"))
        >>> sorted(res)
        ['bm25', 'truncate']
    """
    return LongDocScorer(model, **kwargs).evaluate(data)
