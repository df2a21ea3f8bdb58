"""The dense long-document strategies, for any corpus: one implementation behind the chapter and
:func:`~ko_embed_lab.retrieval.evaluate_retrieval`.

A document longer than the model's window can be embedded five ways (:data:`DENSE_STRATEGIES`):

* ``truncate`` — the document cut at the model's window, one vector;
* ``max-chunk`` — chunks of N tokens embedded alone; a document scores as its best chunk;
* ``mean-chunk`` — the same chunks, averaged into one vector per document;
* ``late-chunk`` — late chunking (:mod:`.late`): chunk vectors pooled from token embeddings of the
  whole document; a document scores as its best chunk;
* ``context-chunk`` — *contextual chunks*: each chunk embedded with a short document header in
  front (the title, or the first sentence when there is no title), best chunk — the cheap
  alternative to late chunking (one more short text per chunk, no change to the model's pass).

:class:`LongDocEmbedder` computes the vectors of any of them, each distinct text once, and the
score matrix of a set of queries. Plain chunks and contextual chunks are texts, cached by the
model's embedding cache like any document; late-chunk vectors are cached in a namespace of the
same model whose key adds the chunking settings.

This module imports nothing from :mod:`ko_embed_lab.retrieval`, which calls it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..cache import text_key
from ..tokens import Window, special_token_count, windows_from_offsets
from .late import LateChunker
from .lengths import _encode_many, default_chunk_tokens, prompt_token_count

if TYPE_CHECKING:
    from ..cache import EmbeddingCache
    from ..models import EmbeddingModel

__all__ = [
    "DENSE_STRATEGIES",
    "HEADER_TOKENS",
    "LongDocEmbedder",
    "canonical_strategy",
    "chunk_scores",
    "chunk_texts",
    "document_header",
    "late_chunk_vectors",
]

#: Dense long-document strategies, in display order.
DENSE_STRATEGIES = ("truncate", "max-chunk", "mean-chunk", "late-chunk", "context-chunk")
#: Older spellings still accepted.
_ALIASES = {"chunk-max": "max-chunk", "chunk-mean": "mean-chunk", "late": "late-chunk", "contextual": "context-chunk"}
#: Longest document header of a contextual chunk, in tokens.
HEADER_TOKENS = 32
_SENTENCE_END = re.compile(r"[.!?。]\s|\n")


def canonical_strategy(name: str, allowed: Sequence[str] = DENSE_STRATEGIES) -> str:
    """The strategy's name as the package spells it (``"chunk-max"`` → ``"max-chunk"``), checked.

    Example:
        >>> canonical_strategy("chunk-max")
        'max-chunk'
    """
    if not isinstance(name, str):
        raise TypeError(f"a strategy is a str, got {type(name).__name__}")
    out = _ALIASES.get(name, name)
    if out not in allowed:
        raise ValueError(f"unknown long-document strategy {name!r}; choose from {', '.join(allowed)}")
    return out


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
        >>> np.allclose(chunk_scores(q, c, [0, 0, 1], 2, "max"), [[1.0, 0.6]])
        True
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


def document_header(model_or_tokenizer: Any, text: str, title: str = "", *, max_tokens: int = HEADER_TOKENS) -> str:
    """The header a contextual chunk carries: the title, else the text's first sentence (or line).

    Cut to at most ``max_tokens`` tokens.

    Example:
        >>> document_header(model, "대한민국헌법\\n\\n유구한 역사와 전통에 빛나는 우리 대한국민은 ...")
        '대한민국헌법'
    """
    head = title.strip()
    if not head:
        body = text.strip()
        m = _SENTENCE_END.search(body)
        head = (body[: m.start() + 1] if m else body).strip()
    enc = _encode_many(model_or_tokenizer, [head])[0]
    if len(enc.ids) > max_tokens:
        head = head[: enc.offsets[max_tokens - 1][1]]
    return head


def _late_namespace(model: EmbeddingModel, late: LateChunker, chunk_tokens: int, overlap: int, cache: Any) -> Any:
    extra = {**late.settings(), "chunk_tokens": int(chunk_tokens), "overlap": int(overlap), "format": 1}
    return model.cache_namespace(late.prompt, cache, extra=extra)


def late_chunk_vectors(
    model: EmbeddingModel,
    texts: Sequence[str],
    *,
    sizes: Sequence[tuple[int, int]],
    prompt: str | None = None,
    macro_overlap: int | None = None,
    cache: EmbeddingCache | bool | None = True,
) -> dict[tuple[int, int], list[np.ndarray]]:
    """Late-chunk vectors of each text for several ``(chunk_tokens, overlap)`` at the cost of one pass.

    The token embeddings of a document do not depend on the chunk size, so every size is pooled
    from one forward pass; vectors found in the cache are not recomputed.

    Returns:
        ``{(chunk_tokens, overlap): [array (n_chunks, dim) per text]}``.

    Example:
        >>> vecs = late_chunk_vectors(model, [long_text], sizes=[(128, 0), (508, 0)])
        >>> vecs[(128, 0)][0].shape[0] > vecs[(508, 0)][0].shape[0]
        True
    """
    late = LateChunker(model, prompt=prompt, macro_overlap=macro_overlap)
    docs = [late.tokenize(t) for t in texts]
    out: dict[tuple[int, int], list[np.ndarray | None]] = {}
    keys: dict[tuple[int, int], list[list[str]]] = {}
    missing: set[int] = set()
    for size in sizes:
        ns = _late_namespace(model, late, size[0], size[1], cache)
        keys[size] = [[text_key(f"{i}\x1f{d.text}") for i in range(max(1, len(d.chunks(*size))))] for d in docs]
        out[size] = [None] * len(docs)
        for j, ks in enumerate(keys[size]):
            found, vecs = ns.get_keys(ks) if ns is not None else ([], None)
            if len(found) == len(ks):
                out[size][j] = vecs
            else:
                missing.add(j)
    todo = sorted(missing)
    if todo:
        spaces = {size: _late_namespace(model, late, size[0], size[1], cache) for size in sizes}
        for group in _groups(todo, [len(docs[j].ids) for j in todo]):
            # token embeddings of a group of documents at a time: memory stays bounded on a large corpus
            tokens = late.token_embeddings([docs[j] for j in group], frame=True)
            for size, ns in spaces.items():
                for j, tok in zip(group, tokens, strict=True):
                    vecs = late.pool_document(docs[j], tok, chunk_tokens=size[0], overlap=size[1])
                    out[size][j] = vecs
                    if ns is not None:
                        ns.put_keys(keys[size][j], vecs)
    return {s: [v for v in vs if v is not None] for s, vs in out.items()}


def _groups(items: list[int], sizes: list[int], budget: int = 131072) -> list[list[int]]:
    """Consecutive groups of items whose sizes add up to at most ``budget`` (an item alone may exceed it)."""
    out: list[list[int]] = []
    total = budget + 1
    for item, n in zip(items, sizes, strict=True):
        if total + n > budget:
            out.append([])
            total = 0
        out[-1].append(item)
        total += n
    return out


class LongDocEmbedder:
    """Vectors and scores of the dense long-document strategies, each distinct text embedded once.

    Args:
        model: A loaded model.
        chunk_tokens: Chunk size in content tokens (default :func:`default_chunk_tokens`: the model's
            reliable length, prompt included).
        overlap: Overlap of consecutive chunks, in tokens.
        truncate_tokens: Content tokens kept by ``truncate`` (default: the model's whole window).
        header_tokens: Longest header of a contextual chunk, in tokens.
        macro_overlap: Overlap of the macro-windows of late chunking (default: a quarter of the window).
        document_prompt: Prompt before documents (``None``: the model's own).
        cache: Embedding cache (``True``: the default on-disk cache).
        show_progress: Progress bar while embedding (default: only for large batches).

    Example:
        >>> emb = LongDocEmbedder(model, chunk_tokens=256)
        >>> s = emb.scores(model.encode(["헌법 개정 절차"], kind="query"), [long_text], "late-chunk")
        >>> s.shape
        (1, 1)
    """

    def __init__(
        self,
        model: EmbeddingModel,
        *,
        chunk_tokens: int | None = None,
        overlap: int = 0,
        truncate_tokens: int | None = None,
        header_tokens: int = HEADER_TOKENS,
        macro_overlap: int | None = None,
        document_prompt: str | None = None,
        cache: EmbeddingCache | bool | None = True,
        show_progress: bool | None = None,
    ) -> None:
        if not hasattr(model, "tokenizer"):
            raise TypeError(
                "long-document strategies need a loaded EmbeddingModel (its tokenizer, and for 'late-chunk' "
                f"its token outputs), got {type(model).__name__}"
            )
        self.model = model
        self.prompt = document_prompt if document_prompt is not None else str(getattr(model, "document_prompt", ""))
        self.window = (
            model.max_seq_length - special_token_count(model.tokenizer) - prompt_token_count(model, self.prompt)
        )
        self.chunk_tokens = int(chunk_tokens) if chunk_tokens is not None else default_chunk_tokens(model)
        self.truncate_tokens = int(truncate_tokens) if truncate_tokens is not None else self.window
        self.overlap = int(overlap)
        if not 1 <= self.chunk_tokens <= self.window:
            raise ValueError(
                f"chunk_tokens={self.chunk_tokens} must be between 1 and the model's window of {self.window} "
                "content tokens"
            )
        if not 0 <= self.overlap < self.chunk_tokens:
            raise ValueError(f"overlap={overlap} must be between 0 and chunk_tokens-1 ({self.chunk_tokens - 1})")
        if not 1 <= self.truncate_tokens <= self.window:
            raise ValueError(
                f"truncate_tokens must be between 1 and the model's window of {self.window} content tokens"
            )
        if not 1 <= int(header_tokens) < self.window:
            raise ValueError(f"header_tokens={header_tokens} must be between 1 and {self.window - 1}")
        self.header_tokens = int(header_tokens)
        self.macro_overlap = macro_overlap
        self.cache, self.show_progress = cache, show_progress
        self._vecs: dict[str, np.ndarray] = {}
        self._views: dict[str, tuple[str, list[str]]] = {}
        self._context: dict[tuple[str, str], list[str]] = {}
        self._late: dict[str, np.ndarray] = {}

    def settings(self) -> dict[str, Any]:
        """The settings of every dense strategy, as recorded in results."""
        late = (
            LateChunker(self.model, prompt=self.prompt, macro_overlap=self.macro_overlap)
            if hasattr(self.model, "st")
            else None
        )
        return {
            "chunk_tokens": self.chunk_tokens,
            "overlap": self.overlap,
            "truncate_tokens": self.truncate_tokens,
            "window": self.window,
            "document_prompt": self.prompt,
            "header_tokens": self.header_tokens,
            "late_macro_overlap": late.macro_overlap if late else None,
            "late_pooling": late.settings()["pooling"] if late else None,
        }

    # -- views: what each strategy embeds of a document --------------------------------------

    def _prepare_views(self, texts: Sequence[str]) -> None:
        todo = list(dict.fromkeys(t for t in texts if t not in self._views))
        for t, e in zip(todo, _encode_many(self.model, todo), strict=True):
            offsets = [tuple(o) for o in e.offsets]
            cut = t if len(offsets) <= self.truncate_tokens else t[: offsets[self.truncate_tokens - 1][1]]
            chunks = [w.text for w in windows_from_offsets(t, offsets, self.chunk_tokens, self.overlap)]
            self._views[t] = (cut, chunks)

    def views(self, text: str) -> tuple[str, list[str]]:
        """What ``truncate`` and the plain chunks embed of one document: its truncation and its chunks.

        Example:
            >>> cut, chunks = LongDocEmbedder(model).views(long_text)
            >>> long_text.startswith(cut), len(chunks) > 1  # a text longer than one window
            (True, True)
        """
        self._prepare_views([text])
        return self._views[text]

    def context_chunks(self, text: str, title: str = "") -> list[str]:
        """The texts ``context-chunk`` embeds: ``header + "\\n" + chunk`` for each chunk.

        The chunks are those of the plain strategies, shortened where needed so that header and
        chunk fit in the model's window together.

        Example:
            >>> LongDocEmbedder(model, chunk_tokens=8).context_chunks("대한민국헌법\\n\\n제1조 대한민국은 민주공화국이다.")[0]
            '대한민국헌법\\n대한민국헌법\\n\\n제1조 대한민국은'
        """
        key = (text, title)
        if key not in self._context:
            header = document_header(self.model, text, title, max_tokens=self.header_tokens)
            room = self.window - len(_encode_many(self.model, [header + "\n"])[0].ids) - 1
            size = max(1, min(self.chunk_tokens, room))
            enc = _encode_many(self.model, [text])[0]
            wins = windows_from_offsets(text, [tuple(o) for o in enc.offsets], size, min(self.overlap, size - 1))
            self._context[key] = [f"{header}\n{w.text}" for w in wins]
        return self._context[key]

    # -- vectors ------------------------------------------------------------------------------

    def _encode(self, texts: list[str]) -> None:
        todo = list(dict.fromkeys(w for w in texts if w not in self._vecs))
        if todo:
            vecs = self.model.encode(
                todo, kind="document", prompt=self.prompt, cache=self.cache, show_progress=self.show_progress
            )
            self._vecs.update(zip(todo, np.asarray(vecs, dtype=np.float32), strict=True))

    def prepare(self, texts: Sequence[str], strategies: Sequence[str], titles: Sequence[str] | None = None) -> None:
        """Embed what ``strategies`` need of these documents in one pass (then scoring is cheap)."""
        wanted = {canonical_strategy(s) for s in strategies}
        titles = list(titles) if titles is not None else [""] * len(texts)
        texts = list(texts)
        self._prepare_views(texts)
        need: list[str] = []
        if "truncate" in wanted:
            need += [self._views[t][0] for t in texts]
        if wanted & {"max-chunk", "mean-chunk"}:
            need += [c for t in texts for c in self._views[t][1]]
        if "context-chunk" in wanted:
            need += [c for t, h in zip(texts, titles, strict=True) for c in self.context_chunks(t, h)]
        self._encode(need)
        if "late-chunk" in wanted:
            if not hasattr(self.model, "st"):
                raise TypeError(
                    f"'late-chunk' needs a sentence-transformers model's token outputs; {type(self.model).__name__} has none"
                )
            todo = list(dict.fromkeys(t for t in texts if t not in self._late))
            if todo:
                size = (self.chunk_tokens, self.overlap)
                vecs = late_chunk_vectors(
                    self.model,
                    todo,
                    sizes=[size],
                    prompt=self.prompt,
                    macro_overlap=self.macro_overlap,
                    cache=self.cache,
                )[size]
                self._late.update(zip(todo, vecs, strict=True))

    def vectors(
        self, texts: Sequence[str], strategy: str, titles: Sequence[str] | None = None
    ) -> tuple[np.ndarray, list[int]]:
        """The vectors a strategy stores for these documents, and the document index of each.

        ``truncate`` stores one vector per document; the chunk strategies one per chunk
        (``mean-chunk`` stores the chunks here, averaged at scoring).
        """
        name = canonical_strategy(strategy)
        texts = list(texts)
        titles = list(titles) if titles is not None else [""] * len(texts)
        self.prepare(texts, [name], titles)
        if name == "truncate":
            rows = [self._vecs[self._views[t][0]] for t in texts]
            return np.stack(rows), list(range(len(texts)))
        if name == "late-chunk":
            blocks = [self._late[t] for t in texts]
            owner = [i for i, b in enumerate(blocks) for _ in range(b.shape[0])]
            return np.concatenate(blocks), owner
        per_doc = (
            [self.context_chunks(t, h) for t, h in zip(texts, titles, strict=True)]
            if name == "context-chunk"
            else [self._views[t][1] for t in texts]
        )
        owner = [i for i, cs in enumerate(per_doc) for _ in cs]
        return np.stack([self._vecs[c] for cs in per_doc for c in cs]), owner

    def scores(
        self, queries: np.ndarray, texts: Sequence[str], strategy: str, titles: Sequence[str] | None = None
    ) -> np.ndarray:
        """``(n_queries, n_docs)`` scores of a strategy (cosine; best chunk, or the mean for ``mean-chunk``)."""
        name = canonical_strategy(strategy)
        vecs, owner = self.vectors(texts, name, titles)
        if name == "truncate":
            return np.asarray(queries @ vecs.T, dtype=np.float32)
        return chunk_scores(queries, vecs, owner, len(texts), "mean" if name == "mean-chunk" else "max")

    def stored_per_document(self, texts: Sequence[str], strategy: str, titles: Sequence[str] | None = None) -> float:
        """Mean number of vectors a strategy stores per document (``mean-chunk`` and ``truncate``: 1)."""
        name = canonical_strategy(strategy)
        if name in ("truncate", "mean-chunk"):
            return 1.0
        _, owner = self.vectors(texts, name, titles)
        return len(owner) / max(1, len(texts))
