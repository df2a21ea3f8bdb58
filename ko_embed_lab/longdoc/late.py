"""Late chunking (Günther et al., 2024, arXiv:2409.04701): chunk vectors that have seen their document.

Naive chunking embeds each chunk alone, so a chunk that says "this article" no longer knows which
article. Late chunking runs the *whole* document through the transformer once and only then pools
the token embeddings of each chunk's span: every chunk vector is built from tokens that attended to
the whole document (up to the model's window).

How it is done here:

* The document is tokenized once, with its prompt in front (``"passage: "`` for the bundled e5); a
  token whose character span ends inside the prompt is a prompt token, the others are content
  tokens. The prompt's tokens (and ``<s>``/``</s>``) are part of the context of every window but of
  no chunk span.
* A document longer than the model's window is cut into **macro-windows** of the window's length
  that overlap by ``macro_overlap`` tokens (the paper's "long late chunking"); each token's
  embedding is taken from the window where it has the most context, i.e. where its distance to the
  nearer window edge is largest (a document edge counts as full context: there is nothing more to
  see). :func:`token_owners` makes that choice; every token gets exactly one owner.
* A chunk's vector is the **mean of its span's token embeddings**, passed through the modules that
  follow the model's pooling (``Normalize``), then L2-normalised. That is the published recipe for
  every model, CLS-pooled ones included (the target model, arctic-embed-ko, pools the ``<s>``
  token): a CLS vector summarises its whole window, so it cannot be split into chunks; the mean of a
  span's tokens is the only chunk-local vector the transformer produces. For a CLS-trained model the
  mean of tokens is a pooling it was not trained for, which is one reason to measure rather than
  assume that late chunking helps it.

Example:
    >>> late = LateChunker(model)
    >>> vecs = late.embed(["대한민국은 민주공화국이다. 대한민국의 주권은 국민에게 있다."], chunk_tokens=8)
    >>> vecs[0].shape  # one row per chunk of 8 tokens
    (3, 384)
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..tokens import Window, windows_from_offsets
from .lengths import _backend, _hf_tokenizer

if TYPE_CHECKING:
    from ..models import EmbeddingModel

__all__ = ["LateChunker", "TokenizedDocument", "macro_windows", "token_owners"]

logger = logging.getLogger(__name__)


def macro_windows(n_tokens: int, window: int, overlap: int) -> list[tuple[int, int]]:
    """Token ranges ``[start, end)`` of the macro-windows that cover a document of ``n_tokens``.

    Windows have ``window`` tokens and start every ``window - overlap`` tokens; the last one is
    moved back so that it ends at the document's end with a full window of context. A document that
    fits gives one window.

    Example:
        >>> macro_windows(1000, 508, 127)
        [(0, 508), (381, 889), (492, 1000)]
    """
    if window < 1:
        raise ValueError(f"window={window} must be at least 1 token")
    if not 0 <= overlap < window:
        raise ValueError(f"macro overlap={overlap} must be between 0 and window-1 ({window - 1})")
    if n_tokens <= window:
        return [(0, n_tokens)]
    step = window - overlap
    out: list[tuple[int, int]] = []
    start = 0
    while start + window < n_tokens:
        out.append((start, start + window))
        start += step
    out.append((n_tokens - window, n_tokens))
    return out


def token_owners(n_tokens: int, windows: Sequence[tuple[int, int]]) -> np.ndarray:
    """For each token, the index of the window whose embedding of it is kept: the one with most context.

    A token's context in a window is its distance to the nearer window edge; an edge that is also
    the document's edge does not limit it. Ties go to the earlier window.

    Example:
        >>> token_owners(10, [(0, 6), (4, 10)]).tolist()
        [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]
    """
    best = np.full(n_tokens, -1, dtype=np.int64)
    best_ctx = np.full(n_tokens, -1.0)
    idx = np.arange(n_tokens)
    for w, (s, e) in enumerate(windows):
        inside = (idx >= s) & (idx < e)
        left = np.where(s > 0, idx - s, np.inf)
        right = np.where(e < n_tokens, e - 1 - idx, np.inf)
        ctx = np.minimum(left, right)
        take = inside & (ctx > best_ctx)
        best[take], best_ctx[take] = w, ctx[take]
    if (best < 0).any():
        raise ValueError(f"tokens {np.flatnonzero(best < 0)[:5].tolist()} lie in no window")
    return best


@dataclass(frozen=True)
class TokenizedDocument:
    """A document tokenized with its prompt in front.

    Attributes:
        text: The document.
        prompt_ids: Token ids of the prompt (context, never part of a chunk).
        ids: Token ids of the content.
        offsets: Character span of each content token in ``text``.
    """

    text: str
    prompt_ids: list[int]
    ids: list[int]
    offsets: list[tuple[int, int]]

    def chunks(self, chunk_tokens: int, overlap: int = 0) -> list[Window]:
        """The document's chunks (:func:`~ko_embed_lab.tokens.windows_from_offsets` on its content tokens)."""
        return windows_from_offsets(self.text, self.offsets, chunk_tokens, overlap)


def _frame(tok: Any) -> tuple[list[int], list[int]]:
    """Special tokens the tokenizer puts before and after one text (``[0]`` and ``[2]`` for XLM-R)."""
    alone = tok("가", add_special_tokens=False)["input_ids"]
    full = tok("가", add_special_tokens=True)["input_ids"]
    for i in range(len(full) - len(alone) + 1):
        if full[i : i + len(alone)] == alone:
            return list(full[:i]), list(full[i + len(alone) :])
    raise ValueError("cannot locate the text between the tokenizer's special tokens")


class LateChunker:
    """Late-chunk embeddings from a sentence-transformers model's token outputs.

    Args:
        model: A loaded :class:`~ko_embed_lab.models.EmbeddingModel`.
        prompt: Document prompt (``None``: the model's own; ``""``: none).
        macro_overlap: Overlap of macro-windows, in tokens (default: a quarter of the window).
        batch_tokens: Token budget of one forward batch (default 4,096 on CPU, 65,536 on CUDA).
    """

    def __init__(
        self,
        model: EmbeddingModel,
        *,
        prompt: str | None = None,
        macro_overlap: int | None = None,
        batch_tokens: int | None = None,
    ) -> None:
        self.model = model
        self.prompt = model.prompt_for("document", prompt)
        tok = _hf_tokenizer(model)
        self._backend = _backend(model)
        self.prefix, self.suffix = _frame(tok)
        self.prompt_ids = self.tokenize("가").prompt_ids
        self.window = model.max_seq_length - len(self.prefix) - len(self.suffix) - len(self.prompt_ids)
        if self.window < 1:
            raise ValueError(f"a window of {model.max_seq_length} tokens leaves no room after the prompt")
        self.macro_overlap = self.window // 4 if macro_overlap is None else int(macro_overlap)
        if not 0 <= self.macro_overlap < self.window:
            raise ValueError(f"macro_overlap={macro_overlap} must be between 0 and {self.window - 1}")
        self.batch_tokens = batch_tokens

    def settings(self) -> dict[str, Any]:
        """What changes the vectors besides the model: recorded in results and cache keys."""
        return {
            "method": "late chunking (arXiv:2409.04701)",
            "pooling": "mean of the span's content tokens, then the model's post-pooling modules",
            "prompt": self.prompt,
            "window": self.window,
            "macro_overlap": self.macro_overlap,
        }

    def tokenize(self, text: str) -> TokenizedDocument:
        """Tokenize ``prompt + text`` once; split the prompt's tokens from the content's.

        A token whose character span ends inside the prompt is the prompt's (XLM-R glues the
        prompt's trailing space to the first content token, which is therefore content).
        """
        n = len(self.prompt)
        enc = self._backend.encode(self.prompt + text, add_special_tokens=False)
        prompt_ids: list[int] = []
        ids: list[int] = []
        offsets: list[tuple[int, int]] = []
        for i, (s, e) in zip(enc.ids, enc.offsets, strict=True):
            if e <= n and not ids:
                prompt_ids.append(i)
            else:
                ids.append(i)
                offsets.append((max(s - n, 0), e - n))
        return TokenizedDocument(text, prompt_ids, ids, offsets)

    def token_embeddings(self, docs: Sequence[TokenizedDocument], *, frame: bool = False) -> list[np.ndarray]:
        """Contextual token embeddings of each document's content tokens, ``(n_tokens, hidden)``.

        With ``frame=True`` the rows of the special and prompt tokens are added: those before the
        content come from the first macro-window, those after it from the last. The vectors come
        from the model's backend: torch, or the exported graph of ``backend="onnx"|"openvino"``.
        """
        import torch

        from ..encode import _default_batch_tokens, _default_max_batch, pack_batches

        jobs: list[tuple[int, int, int, int]] = []  # (doc, window index, start, end)
        owners: list[np.ndarray] = []
        wins: list[list[tuple[int, int]]] = []
        for d, doc in enumerate(docs):
            # A text that starts with white space can give its prompt one token more ("▁"): the window
            # is that of the document's own prompt tokens, so no input passes max_seq_length.
            extra = len(doc.prompt_ids) - len(self.prompt_ids)
            w = macro_windows(
                len(doc.ids), self.window - max(0, extra), min(self.macro_overlap, self.window - max(0, extra) - 1)
            )
            wins.append(w)
            owners.append(token_owners(len(doc.ids), w))
            jobs += [(d, k, s, e) for k, (s, e) in enumerate(w)]
        inputs = [self.prefix + docs[d].prompt_ids + docs[d].ids[s:e] + self.suffix for d, _, s, e in jobs]
        st = self.model.st
        # A model loaded with backend="onnx"|"openvino" reads its tokens through the exported graph, as
        # its plain chunks do: late and plain chunks of one model are never from two backends.
        runtime = getattr(self.model, "runtime", None)
        device = "cpu" if runtime is not None else str(st.device)
        out: list[np.ndarray] = []
        frames: dict[tuple[int, str], np.ndarray] = {}
        budget = self.batch_tokens or _default_batch_tokens(device)
        st.eval()
        with torch.inference_mode():
            for batch in pack_batches([len(x) for x in inputs], budget, _default_max_batch(device)):
                width = max(len(inputs[j]) for j in batch)
                ids = torch.zeros((len(batch), width), dtype=torch.long)
                mask = torch.zeros((len(batch), width), dtype=torch.long)
                for r, j in enumerate(batch):
                    ids[r, : len(inputs[j])] = torch.tensor(inputs[j])
                    mask[r, : len(inputs[j])] = 1
                if runtime is not None:  # an exported graph (ONNX Runtime, OpenVINO): its own token vectors
                    emb = np.asarray(runtime.runner(ids.numpy(), mask.numpy()), dtype=np.float32)
                else:
                    feats = st[0]({"input_ids": ids.to(st.device), "attention_mask": mask.to(st.device)})
                    emb = feats["token_embeddings"].float().cpu().numpy()
                if not out:  # the hidden size, from the first output
                    out = [np.zeros((len(doc.ids), emb.shape[-1]), dtype=np.float32) for doc in docs]
                for r, j in enumerate(batch):
                    d, k, s, e = jobs[j]
                    head = len(self.prefix) + len(docs[d].prompt_ids)
                    rows = emb[r, head : head + (e - s)]
                    own = owners[d][s:e] == k
                    out[d][s:e][own] = rows[own]
                    if frame and k == 0:
                        frames[(d, "head")] = emb[r, :head]
                    if frame and k == len(wins[d]) - 1:
                        tail = head + (e - s)
                        frames[(d, "tail")] = emb[r, tail : tail + len(self.suffix)]
        if frame:
            return [np.concatenate([frames[(d, "head")], o, frames[(d, "tail")]]) for d, o in enumerate(out)]
        return out

    def pool(self, tokens: np.ndarray, spans: Sequence[tuple[int, int]]) -> np.ndarray:
        """Mean of each span's token rows, through the model's post-pooling modules, L2-normalised."""
        import torch

        if any(not 0 <= s < e <= tokens.shape[0] for s, e in spans):
            raise ValueError(f"spans must be non-empty ranges inside 0..{tokens.shape[0]}")
        means = np.stack([tokens[s:e].mean(axis=0) for s, e in spans]).astype(np.float32)
        st = self.model.st
        names = [type(m).__name__ for m in st]
        after = names.index("Pooling") + 1 if "Pooling" in names else len(st)
        with torch.inference_mode():
            feats: dict[str, Any] = {"sentence_embedding": torch.from_numpy(means).to(st.device)}
            for module in list(st)[after:]:
                feats = module(feats)
            vecs = feats["sentence_embedding"].float().cpu().numpy()
        return (vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)).astype(np.float32)

    def embed(self, texts: Sequence[str], *, chunk_tokens: int, overlap: int = 0) -> list[np.ndarray]:
        """Late-chunk vectors of each text: one row per chunk of :meth:`TokenizedDocument.chunks`.

        A text without content tokens gets one vector: the mean of its frame (special and prompt
        tokens), as the model itself would embed an empty text.
        """
        docs = [self.tokenize(t) for t in texts]
        tokens = self.token_embeddings(docs, frame=True)
        return [
            self.pool_document(doc, tok, chunk_tokens=chunk_tokens, overlap=overlap)
            for doc, tok in zip(docs, tokens, strict=True)
        ]

    def pool_document(
        self, doc: TokenizedDocument, tokens: np.ndarray, *, chunk_tokens: int, overlap: int = 0
    ) -> np.ndarray:
        """Chunk vectors of one document from its framed token embeddings (``token_embeddings(frame=True)``)."""
        if not doc.ids:
            return self.pool(tokens, [(0, tokens.shape[0])])
        head = len(self.prefix) + len(doc.prompt_ids)
        spans = [(head + w.token_start, head + w.token_end) for w in doc.chunks(chunk_tokens, overlap)]
        return self.pool(tokens, spans)
