"""Long-document scoring: truncation, chunks (best chunk, mean of chunks), BM25 and rank fusion.

:class:`LongDocScorer` scores long documents five ways: the whole document truncated at the
model's window (``truncate``), chunks of N tokens scored by their best chunk (``chunk-max``) or by
the mean of their embeddings (``chunk-mean``), BM25 over Korean morphemes (``bm25``), and
reciprocal-rank fusion of a dense run with BM25 (``fusion``, via ranx). It embeds each distinct
truncation and chunk once, however many retrieval sets share the document.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..data.beir import RetrievalSet
from ..provenance import provenance
from ..retrieval import RetrievalResult, run_from_matrix, score_run
from ..tokens import Window, windows_from_offsets
from ..types import Run, encoder_identity
from .lengths import _encode_many, content_window, default_chunk_tokens

if TYPE_CHECKING:
    from ..cache import EmbeddingCache
    from ..models import EmbeddingModel

__all__ = ["STRATEGIES", "STRATEGY_LABELS", "LongDocScorer", "chunk_scores", "chunk_texts", "score_strategies"]

#: Long-document scoring strategies, in display order.
STRATEGIES = ("truncate", "chunk-max", "chunk-mean", "bm25", "fusion")
#: Human labels of the strategies (figures and tables).
STRATEGY_LABELS = {
    "truncate": "whole document (truncated)",
    "chunk-max": "chunks: best chunk",
    "chunk-mean": "chunks: mean embedding",
    "bm25": "BM25 (morphemes)",
    "fusion": "RRF: best chunk + BM25",
}
_DENSE = frozenset({"truncate", "chunk-max", "chunk-mean"})


def chunk_texts(model_or_tokenizer: Any, texts: Sequence[str], *, window: int, overlap: int = 0) -> list[list[Window]]:
    """Split each text into windows of ``window`` content tokens overlapping by ``overlap``.

    Every token lies in at least one window (the rule of :func:`ko_embed_lab.tokens.split_windows`,
    applied to many texts at once); an empty text gives one empty window.

    Example:
        >>> [w.text for w in chunk_texts(model, ["가 나 다 라 마"], window=2, overlap=1)[0]][:2]
        ['가 나', ' 나 다']
    """
    if window < 1:
        raise ValueError(f"window={window} must be at least 1 token")
    if not 0 <= overlap < window:
        raise ValueError(f"overlap={overlap} must be between 0 and window-1 ({window - 1})")
    encs = _encode_many(model_or_tokenizer, list(texts))
    return [
        windows_from_offsets(t, [tuple(o) for o in e.offsets], window, overlap)
        for t, e in zip(texts, encs, strict=True)
    ]


def chunk_scores(
    queries: np.ndarray, chunks: np.ndarray, owner: Sequence[int], n_docs: int, how: str = "max"
) -> np.ndarray:
    """Score documents from the embeddings of their chunks.

    Args:
        queries: ``(n_queries, dim)`` normalised query embeddings.
        chunks: ``(n_chunks, dim)`` normalised chunk embeddings.
        owner: Document index of each chunk (``0 … n_docs-1``; every document needs a chunk).
        n_docs: Number of documents.
        how: ``"max"`` — cosine of the best chunk; ``"mean"`` — cosine with the normalised mean of
            the document's chunk embeddings (one vector per document, as an index would store).

    Returns:
        ``(n_queries, n_docs)`` scores.

    Example:
        >>> q = np.array([[1.0, 0.0]]); c = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
        >>> chunk_scores(q, c, [0, 0, 1], 2, "max").round(2).tolist()
        [[1.0, 0.6]]
    """
    owner_arr = np.asarray(owner, dtype=np.int64)
    if chunks.shape[0] != owner_arr.shape[0]:
        raise ValueError(f"{chunks.shape[0]} chunk embeddings but {owner_arr.shape[0]} owners")
    if owner_arr.size and (owner_arr.min() < 0 or owner_arr.max() >= n_docs):
        raise ValueError(f"chunk owners must lie in 0..{n_docs - 1}")
    counts = np.bincount(owner_arr, minlength=n_docs)
    if (counts == 0).any():
        raise ValueError(f"documents {np.flatnonzero(counts == 0)[:5].tolist()} have no chunk; give each at least one")
    if how == "max":
        sims = queries @ chunks.T
        out = np.full((queries.shape[0], n_docs), -np.inf, dtype=np.float64)
        np.maximum.at(out.T, owner_arr, sims.T)
        return out.astype(np.float32)
    if how == "mean":
        sums = np.zeros((n_docs, chunks.shape[1]), dtype=np.float64)
        np.add.at(sums, owner_arr, chunks)
        means = sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
        return (queries @ means.T.astype(np.float32)).astype(np.float32)
    raise ValueError(f"how={how!r}: use 'max' or 'mean'")


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


def _check_strategies(strategies: Sequence[str], fusion: Sequence[str]) -> None:
    unknown = [s for s in strategies if s not in STRATEGIES]
    if unknown or not strategies:
        raise ValueError(f"unknown strategies {unknown}; choose from {STRATEGIES}")
    if "fusion" in strategies and (len(fusion) != 2 or any(f not in STRATEGIES or f == "fusion" for f in fusion)):
        raise ValueError(f"fusion={fusion!r} must name two of {STRATEGIES[:-1]}")


def _check_sizes(window: int, chunk_tokens: int, overlap: int, truncate_tokens: int) -> None:
    if not 1 <= chunk_tokens <= window:
        raise ValueError(
            f"chunk_tokens={chunk_tokens} must be between 1 and the model's window of {window} content tokens"
        )
    if not 0 <= overlap < chunk_tokens:
        raise ValueError(f"overlap={overlap} must be between 0 and chunk_tokens-1 ({chunk_tokens - 1})")
    if not 1 <= truncate_tokens <= window:
        raise ValueError(f"truncate_tokens must be between 1 and the model's window of {window} content tokens")


def _fuse(runs: Sequence[Run], *, k: int, top_k: int) -> Run:
    """Reciprocal-rank fusion of runs (the package's one fusion, in the trec tie order)."""
    from ..retrieval.fusion import rrf_fuse

    return rrf_fuse(list(runs), k=k, top_k=top_k)


class LongDocScorer:
    """Score long documents with several strategies, reusing every embedding it has computed.

    Args:
        model: A loaded model.
        strategies: Any of :data:`STRATEGIES`.
        chunk_tokens: Chunk size in content tokens (default :func:`default_chunk_tokens`).
        overlap: Overlap of consecutive chunks, in tokens.
        truncate_tokens: Content tokens kept by ``truncate`` (default: the model's whole window,
            :func:`content_window` — what the model itself would keep).
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
        {'truncate': 0.61, 'chunk-max': 0.83, ...}
    """

    def __init__(
        self,
        model: EmbeddingModel,
        *,
        strategies: Sequence[str] = STRATEGIES,
        chunk_tokens: int | None = None,
        overlap: int = 0,
        truncate_tokens: int | None = None,
        fusion: tuple[str, str] = ("chunk-max", "bm25"),
        rrf_k: int = 60,
        top_k: int = 100,
        bm25_tokenizer: Any | None = None,
        cache: EmbeddingCache | bool | None = True,
        show_progress: bool | None = None,
    ) -> None:
        _check_strategies(strategies, fusion)
        self.model = model
        self.strategies = tuple(strategies)
        self.window = content_window(model)
        self.chunk_tokens = int(chunk_tokens) if chunk_tokens is not None else default_chunk_tokens(model)
        self.truncate_tokens = int(truncate_tokens) if truncate_tokens is not None else self.window
        _check_sizes(self.window, self.chunk_tokens, int(overlap), self.truncate_tokens)
        self.overlap = int(overlap)
        self.fusion = tuple(fusion)
        self.rrf_k, self.top_k = int(rrf_k), int(top_k)
        self.cache, self.show_progress = cache, show_progress
        from ..retrieval.lexical import KoreanTokenizer

        self._bm25_tok = _MemoTokenizer(bm25_tokenizer or KoreanTokenizer())
        self._docs: dict[str, np.ndarray] = {}
        self._queries: dict[str, np.ndarray] = {}
        self._views: dict[str, tuple[str, list[str]]] = {}

    def settings(self) -> dict[str, Any]:
        """The scoring settings, as recorded in results."""
        return {
            "strategies": list(self.strategies),
            "chunk_tokens": self.chunk_tokens,
            "overlap": self.overlap,
            "truncate_tokens": self.truncate_tokens,
            "window": self.window,
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

    def _view(self, text: str) -> tuple[str, list[str]]:
        return self._views[text]

    def views(self, text: str) -> tuple[str, list[str]]:
        """What the dense strategies embed of one document: its truncation and its chunks.

        Example:
            >>> cut, chunks = LongDocScorer(model).views(long_text)
            >>> long_text.startswith(cut), len(chunks) > 1  # a text longer than one window
            (True, True)
        """
        self._prepare_views([text])
        return self._views[text]

    def _prepare_views(self, texts: Sequence[str]) -> None:
        todo = list(dict.fromkeys(t for t in texts if t not in self._views))
        if not todo:
            return
        encs = _encode_many(self.model, todo)
        for t, e in zip(todo, encs, strict=True):
            offsets = [tuple(o) for o in e.offsets]
            cut = t if len(offsets) <= self.truncate_tokens else t[: offsets[self.truncate_tokens - 1][1]]
            chunks = [w.text for w in windows_from_offsets(t, offsets, self.chunk_tokens, self.overlap)]
            self._views[t] = (cut, chunks)

    def prepare(self, texts: Sequence[str]) -> None:
        """Embed the truncations and chunks of these documents in one pass (then scoring is cheap)."""
        if not self._needs_dense():
            return
        self._prepare_views(texts)
        wanted: list[str] = []
        for t in dict.fromkeys(texts):
            cut, chunks = self._view(t)
            wanted.append(cut)
            wanted.extend(chunks)
        todo = list(dict.fromkeys(w for w in wanted if w not in self._docs))
        if todo:
            vecs = self.model.encode(todo, kind="document", cache=self.cache, show_progress=self.show_progress)
            self._docs.update(zip(todo, np.asarray(vecs, dtype=np.float32), strict=True))

    def _embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        todo = list(dict.fromkeys(t for t in texts if t not in self._queries))
        if todo:
            vecs = self.model.encode(todo, kind="query", cache=self.cache, show_progress=False)
            self._queries.update(zip(todo, np.asarray(vecs, dtype=np.float32), strict=True))
        return np.stack([self._queries[t] for t in texts])

    def _dense_runs(self, data: RetrievalSet, wanted: set[str]) -> dict[str, Run]:
        """Runs of the dense strategies in ``wanted``: one embedding per truncation and per chunk."""
        qids, dids, texts = list(data.queries), data.doc_ids(), data.doc_texts()
        self.prepare(texts)
        q = self._embed_queries([data.queries[i] for i in qids])
        runs: dict[str, Run] = {}
        if "truncate" in wanted:
            d = np.stack([self._docs[self._view(t)[0]] for t in texts])
            runs["truncate"] = run_from_matrix(qids, dids, q @ d.T, self.top_k)
        if wanted & {"chunk-max", "chunk-mean"}:
            owner = [i for i, t in enumerate(texts) for _ in self._view(t)[1]]
            chunks = np.stack([self._docs[c] for t in texts for c in self._view(t)[1]])
            for name, how in (("chunk-max", "max"), ("chunk-mean", "mean")):
                if name in wanted:
                    scores = chunk_scores(q, chunks, owner, len(dids), how)
                    runs[name] = run_from_matrix(qids, dids, scores, self.top_k)
        return runs

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
