"""Hand-built encoders whose right answers can be worked out by hand."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


class LookupEncoder:
    """Returns a fixed, normalised vector per text; records the prompts it was asked for."""

    def __init__(self, vectors: dict[str, Sequence[float]], query_prompt: str = "query: ") -> None:
        self.vectors = {k: np.asarray(v, dtype=np.float32) / np.linalg.norm(v) for k, v in vectors.items()}
        self.query_prompt = query_prompt
        self.calls: list[tuple[str, str | None, int]] = []

    def encode(
        self, texts: Sequence[str], *, kind: str = "document", prompt: str | None = None, **kwargs: Any
    ) -> np.ndarray:
        self.calls.append((kind, prompt, len(texts)))
        return np.stack([self.vectors[t] for t in texts]) if texts else np.zeros((0, 2), np.float32)

    def identity(self) -> dict[str, Any]:
        return {"model": "lookup-fake", "query_prompt": self.query_prompt, "document_prompt": ""}


def angle_vectors(n: int) -> list[list[float]]:
    """n unit vectors at angles 0..80 degrees: cosine with [1, 0] decreases strictly with index."""
    return [[float(np.cos(np.radians(a))), float(np.sin(np.radians(a)))] for a in np.linspace(0, 80, n)]
