"""What the non-transformer encoders share: prompts, cache namespace, ``encode`` through the engine."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._files import file_sha256_memo
from ..cache import EmbeddingCache
from ..encode import PromptedEncoder, encode_cached
from ..types import Kind

__all__ = ["LocalEncoder", "file_sha256"]

file_sha256 = file_sha256_memo  # the weights files are hashed once per process


class LocalEncoder(PromptedEncoder):
    """Base of encoders that run in this process without a transformer forward pass.

    Subclasses set :attr:`label`, :attr:`dim`, :attr:`max_seq_length`, the prompts, and implement
    :meth:`fingerprint`, :meth:`identity` and :meth:`_compute` (distinct, clean texts with the prompt
    already put before them → raw rows). Everything else — text checks, deduplication, the cache,
    normalisation, ``dim`` truncation — is :func:`~ko_embed_lab.encode.encode_cached`'s.
    """

    label: str = "encoder"
    dim: int = 0
    max_seq_length: int | None = None
    device: str = "cpu"
    dtype: str = "float32"
    query_prompt: str = ""
    document_prompt: str = ""

    def fingerprint(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def identity(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _compute(self, texts: list[str]) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _cache_fields(self) -> dict[str, Any]:
        return {
            "max_seq_length": self.max_seq_length,
            "dtype": self.dtype,
            "dim": self.dim,
            **self._extra_cache_fields(),
        }

    def _extra_cache_fields(self) -> dict[str, Any]:
        """Settings of a subclass besides those above that change the vectors."""
        return {}

    def encode(
        self,
        texts: Sequence[str],
        *,
        kind: Kind = "document",
        prompt: str | None = None,
        dim: int | None = None,
        cache: EmbeddingCache | bool | None = None,
        show_progress: bool | None = None,
        **kwargs: Any,
    ) -> np.ndarray:
        """Embed texts as L2-normalised float32 rows.

        Args:
            texts: The texts (see :func:`~ko_embed_lab.encode.check_texts` for what is accepted).
            kind: ``"query"`` or ``"document"``: picks the encoder's default prompt (none by default).
            prompt: A prompt put before every text (``""`` for none); ``None`` uses the encoder's own.
            dim: Keep the first ``dim`` coordinates and renormalise
                (:func:`~ko_embed_lab.encode.truncate_dim`). These models were not trained for it
                (no Matryoshka loss), so expect a larger loss than for a Matryoshka model.
            cache: ``True`` for the default on-disk cache, an :class:`EmbeddingCache`, or ``None``.
            show_progress: Accepted for interchangeability with ``EmbeddingModel``; these encoders
                are fast enough to need no bar.
            **kwargs: ``EmbeddingModel``'s batching options (``batch_tokens``, ``max_batch_size``),
                accepted and unused; anything else is a :class:`TypeError`.

        Returns:
            ``(len(texts), dim or self.dim)`` float32 array.
        """
        del show_progress
        unknown = set(kwargs) - {"batch_tokens", "max_batch_size"}
        if unknown:
            raise TypeError(f"{self.label}.encode() got unexpected keyword arguments: {sorted(unknown)}")
        prompt_text = self.prompt_for(kind, prompt)

        def compute(batch: list[str]) -> np.ndarray:
            return self._compute([prompt_text + t for t in batch] if prompt_text else batch)

        return encode_cached(
            compute,
            texts,
            full_dim=self.dim,
            dim=dim,
            namespace=self.cache_namespace(prompt_text, cache),
            label=f"{self.label} on {self.device}",
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.label!r}, dim={self.dim}, device={self.device!r})"
