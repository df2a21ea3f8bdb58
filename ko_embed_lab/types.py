"""The encoder contract and the shapes of retrieval data: a leaf module (imports nothing of ours).

An *encoder* is any object with ``encode(texts, *, kind, prompt, **kwargs)`` returning L2-normalised
float rows, and ``identity()`` returning what produced them (as in mteb, where an encoder is a
``Protocol``): a loaded :class:`~ko_embed_lab.models.EmbeddingModel`, a test fake, or a non-transformer
model all fit, and everything that evaluates or caches takes an ``Encoder``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, Protocol, TypeAlias, runtime_checkable

import numpy as np

__all__ = ["Encoder", "Kind", "Qrels", "Run", "encoder_identity"]

#: Which side of retrieval a text is on: it picks the prompt.
Kind: TypeAlias = Literal["query", "document"]
#: A trec run: ``{query_id: {doc_id: score}}``.
Run: TypeAlias = dict[str, dict[str, float]]
#: Graded relevance judgments: ``{query_id: {doc_id: grade}}``.
Qrels: TypeAlias = Mapping[str, Mapping[str, int]]


@runtime_checkable
class Encoder(Protocol):
    """Anything that embeds texts.

    ``encode`` must return an ``(n, dim)`` float array of L2-normalised rows, one per text, and
    accept ``kind`` (``"query"``/``"document"``) and ``prompt`` (``None``: the encoder's own for
    ``kind``; ``""``: none). ``identity`` returns a JSON-serialisable dict with at least ``"model"``.
    """

    def encode(
        self,
        texts: Sequence[str],
        *,
        kind: Kind = "document",
        prompt: str | None = None,
        **kwargs: Any,
    ) -> np.ndarray: ...

    def identity(self) -> dict[str, Any]: ...


def encoder_identity(encoder: Any) -> dict[str, Any]:
    """``encoder.identity()``, or ``{"model": <class name>}`` for a bare object with only ``encode``.

    Example:
        >>> class Fake:
        ...     def encode(self, texts, **kw): ...
        >>> encoder_identity(Fake())
        {'model': 'Fake'}
    """
    ident = getattr(encoder, "identity", None)
    if callable(ident):
        return dict(ident())
    return {"model": type(encoder).__name__}
