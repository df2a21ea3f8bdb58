"""Running an exported transformer: tokenised by sentence-transformers, pooled in numpy.

A :class:`Runtime` is what an :class:`~ko_embed_lab.models.EmbeddingModel` holds when its
transformer runs as an exported graph (ONNX Runtime or OpenVINO) instead of torch. Everything else —
prompts, tokenisation (``SentenceTransformer.preprocess``), the token-budget batches, the cache,
Matryoshka truncation — stays the model's, so the two differ only in the graph's arithmetic. The
runtime's key and identity join the model's, so its embeddings never share cache entries with
torch's. This module imports no model class (the model is passed in).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from ko_embed_lab.encode import pack_batches, token_lengths

from .store import Export

__all__ = ["MAX_ABS_DIFF", "MIN_COSINE", "Runner", "Runtime", "Source", "check_against_torch", "pooling_of"]

logger = logging.getLogger(__name__)

#: An fp32 export equals torch when, on :data:`CHECK_TEXTS` in one padded batch, no coordinate of a
#: normalised embedding differs by more than this ...
MAX_ABS_DIFF = 1e-4
#: ... and every embedding has at least this cosine with torch's.
MIN_COSINE = 0.9999

_POOLINGS = ("cls", "mean", "max", "lasttoken")

#: Varied Korean texts (1 to ~300 tokens) for the export check: one padded batch.
CHECK_TEXTS = (
    "서울",
    "대한민국의 수도는 어디인가?",
    "한글은 1443년 세종대왕이 창제한 문자로, 자음 14개와 모음 10개로 이루어져 있다.",
    "비가 와서 우산을 챙겼다. 하지만 버스 정류장에 도착하자 비가 그쳤다.",
    "제1조 ① 대한민국은 민주공화국이다. ② 대한민국의 주권은 국민에게 있고, 모든 권력은 국민으로부터 나온다. " * 8,
    "ㅋㅋㅋ 진짜?? 123-456 (테스트) e-mail: test@example.com",
    "  앞뒤 공백이 있는 문장  ",
    "인공지능 기술의 발전으로 번역, 요약, 검색 같은 언어 처리 작업의 품질이 크게 좋아졌다. " * 4,
)


class Source(Protocol):
    """What an export needs of the torch model (an :class:`~ko_embed_lab.models.EmbeddingModel`)."""

    st: Any
    document_prompt: str
    device: str
    dtype: str

    @property
    def label(self) -> str: ...

    def fingerprint(self) -> str: ...


class Runner(Protocol):
    """An exported transformer: ``(input_ids, attention_mask) -> last_hidden_state`` (float32)."""

    threads: int

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray: ...


def pooling_of(st: Any) -> tuple[str, bool]:
    """``(mode, include_prompt)`` of a sentence-transformers model made of Transformer, Pooling [, Normalize].

    Raises:
        ValueError: The model has other modules (Dense, say) or a pooling the backends do not run.
    """
    names = [type(m).__name__ for m in st]
    if len(names) < 2 or names[0] != "Transformer" or names[1] != "Pooling" or any(n != "Normalize" for n in names[2:]):
        raise ValueError(
            f"the exported backends run Transformer + Pooling [+ Normalize] models; this one is {' + '.join(names)}. "
            "Use backend='torch'"
        )
    mode = st[1].pooling_mode
    if mode not in _POOLINGS:
        raise ValueError(f"pooling {mode!r} is not supported by the exported backends (use backend='torch')")
    if getattr(st.tokenizer, "padding_side", "right") != "right":
        raise ValueError("the exported backends expect right padding; use backend='torch'")
    return str(mode), bool(st[1].include_prompt)


def pool(hidden: np.ndarray, mask: np.ndarray, mode: str, prompt_length: int | None = None) -> np.ndarray:
    """Pool token vectors ``(batch, seq, dim)`` into ``(batch, dim)`` as sentence-transformers' Pooling does.

    Example:
        >>> h = np.array([[[1.0, 0.0], [3.0, 2.0], [9.0, 9.0]]], dtype=np.float32)
        >>> pool(h, np.array([[1, 1, 0]]), "mean")
        array([[2., 1.]], dtype=float32)
    """
    m = mask.astype(np.float32)
    if prompt_length:  # include_prompt=False: the prompt's tokens take no part in the pooling
        m = m.copy()
        m[:, :prompt_length] = 0.0
    if mode == "cls":
        return hidden[:, 0]
    if mode == "mean":
        return (hidden * m[..., None]).sum(axis=1) / np.maximum(m.sum(axis=1, keepdims=True), 1e-9)
    if mode == "max":
        return np.where(m[..., None] > 0, hidden, np.float32(-1e9)).max(axis=1)
    last = np.maximum(mask.sum(axis=1).astype(int) - 1, 0)  # lasttoken, right padding
    return hidden[np.arange(hidden.shape[0]), last]


def _features(st: Any, texts: list[str], prompt: str) -> tuple[np.ndarray, np.ndarray, int | None]:
    """Token ids, attention mask and prompt length exactly as sentence-transformers makes them."""
    feats = st.preprocess(texts, prompt=prompt or None)
    if "position_ids" in feats:  # pragma: no cover - only for padding-free (flattened) batches
        raise ValueError("flattened batches are not supported by the exported backends")
    pl = feats.get("prompt_length")
    return feats["input_ids"].numpy(), feats["attention_mask"].numpy(), (int(pl) if pl is not None else None)


def check_against_torch(
    model: Source, runner: Runner, *, strict: bool, texts: Sequence[str] = CHECK_TEXTS
) -> dict[str, float]:
    """Compare an exported graph with torch on ``texts`` (one padded batch, pooled and normalised).

    Args:
        model: The torch model the graph was exported from.
        runner: The exported graph.
        strict: Raise when the graph is not equal to torch (fp32 exports); else only report (int8).

    Returns:
        ``{"max_abs_diff", "min_cosine", "n_texts", "max_tokens"}``.

    Raises:
        RuntimeError: ``strict`` and the difference exceeds :data:`MAX_ABS_DIFF` / :data:`MIN_COSINE`.
    """
    import torch

    mode, include_prompt = pooling_of(model.st)
    prompt = model.document_prompt
    ids, mask, pl = _features(model.st, list(texts), prompt)
    with torch.inference_mode():
        ref = model.st.forward(model.st.preprocess(list(texts), prompt=prompt or None))["sentence_embedding"]
    ref_np = _normalise(ref.float().numpy())
    got = _normalise(pool(runner(ids, mask), mask, mode, None if include_prompt else pl))
    out = {
        "max_abs_diff": float(np.abs(got - ref_np).max()),
        "min_cosine": float((got * ref_np).sum(axis=1).min()),
        "n_texts": len(texts),
        "max_tokens": int(mask.sum(axis=1).max()),
    }
    if strict and (out["max_abs_diff"] > MAX_ABS_DIFF or out["min_cosine"] < MIN_COSINE):
        raise RuntimeError(
            f"the exported graph is not equal to torch (max |diff| {out['max_abs_diff']:.2e} > {MAX_ABS_DIFF:g} "
            f"or min cosine {out['min_cosine']:.6f} < {MIN_COSINE}); it was not saved. Use backend='torch'"
        )
    return out


def _normalise(x: np.ndarray) -> np.ndarray:
    return (x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)).astype(np.float32)


class Runtime:
    """An exported transformer that an :class:`~ko_embed_lab.models.EmbeddingModel` runs instead of torch.

    The model keeps its tokenizer, prompts, token-budget batches and cache; only the forward pass
    moves here. Its :attr:`key` joins the model's fingerprint (so cache entries never mix with
    torch's) and :meth:`identity` joins the model's identity (so every result records it).

    Attributes:
        backend: ``"onnx"`` or ``"openvino"``.
        quantize: ``None`` (fp32) or ``"int8"``.
        export: The export folder (its hash is part of the key).
        runner: The compiled graph.
        versions: Runtime facts recorded in the identity (library versions, threads, precision).
    """

    def __init__(
        self, backend: str, quantize: str | None, export: Export, runner: Runner, versions: dict[str, Any]
    ) -> None:
        self.backend = backend
        self.quantize = quantize
        self.export = export
        self.runner = runner
        self.versions = dict(versions)

    def __repr__(self) -> str:
        return f"Runtime({self.tag!r}, export={self.export.path.name!r})"

    @property
    def precision(self) -> str:
        """``"fp32"`` or ``"int8"``."""
        return self.quantize or "fp32"

    @property
    def tag(self) -> str:
        """E.g. ``"onnx int8"``: shown after the model's label."""
        return f"{self.backend} {self.precision}"

    @property
    def key(self) -> str:
        """Backend, precision and export hash: appended to the model's fingerprint."""
        return f"{self.backend}:{self.precision}:{self.export.sha256[:16]}"

    def identity(self) -> dict[str, Any]:
        """What the model's identity gains: backend, quantisation, the export's hash, key and check."""
        return {
            "backend": self.backend,
            "quantize": self.quantize,
            "export_sha256": self.export.sha256,
            "export_key": self.export.key,
            "export_check": self.export.marker.get("check"),
            "runtime": dict(self.versions),
        }

    def compute(
        self,
        st: Any,
        texts: list[str],
        prompt: str,
        *,
        batch_tokens: int | None = None,
        max_batch_size: int | None = None,
        show_progress: bool | None = None,
        devices: Sequence[str] | None = None,
        label: str = "model",
    ) -> np.ndarray:
        """Embed clean, distinct ``texts`` in token-budget batches (the counterpart of ``compute_embeddings``).

        Returns:
            ``(len(texts), dim)`` float32 rows, pooled as the model's Pooling module pools (not normalised).
        """
        from tqdm.auto import tqdm

        if devices:
            raise ValueError(f"devices= is for backend='torch'; the {self.backend} backend runs on the CPU")
        for name, value in (("batch_tokens", batch_tokens), ("max_batch_size", max_batch_size)):
            if value is not None and (not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1):
                raise ValueError(f"{name}={value!r} must be a positive int (or None for the default)")
        mode, include_prompt = pooling_of(st)
        lengths = token_lengths(st.tokenizer, texts, prompt, max_length=int(st.max_seq_length or 512))
        batches = pack_batches(lengths, batch_tokens or 8192, max_batch_size or 64)
        out = np.empty((len(texts), int(st.get_embedding_dimension() or 0)), dtype=np.float32)
        show = show_progress if show_progress is not None else len(batches) >= 20
        with tqdm(total=sum(lengths), unit="tok", disable=not show, desc=f"encode {label}") as bar:
            for batch in batches:
                ids, mask, pl = _features(st, [texts[i] for i in batch], prompt)
                out[batch] = pool(self.runner(ids, mask), mask, mode, None if include_prompt else pl)
                bar.update(sum(lengths[i] for i in batch))
        return out
