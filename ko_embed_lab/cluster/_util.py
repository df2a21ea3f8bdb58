"""Small checks shared by the cluster modules: embedding matrices, unit rows, shortened text."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

__all__ = ["check_embeddings", "shorten", "unit"]


def check_embeddings(emb: Any, what: str = "embeddings") -> np.ndarray:
    """``emb`` as a float32 matrix, checked where it enters: non-empty, 2-D, numeric and finite."""
    arr = np.asarray(emb)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{what} must be a non-empty 2-D array (rows = items), got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.number):
        raise TypeError(f"{what} must be numeric, got dtype {arr.dtype}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{what} hold NaN or infinite values; re-encode them (dtype='float32' if on GPU)")
    return arr.astype(np.float32, copy=False)


def unit(x: np.ndarray) -> np.ndarray:
    """Rows divided by their L2 norm; a (near) zero row is an error, not a silent NaN."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    if (norms < 1e-12).any():
        raise ValueError("some rows have (near) zero norm and cannot be normalised; drop or re-encode them")
    return (x / norms).astype(np.float32)


_WS = re.compile(r"\s+")


def shorten(text: str, width: int) -> str:
    """Whitespace collapsed to single spaces, cut to ``width`` characters with an ellipsis."""
    flat = _WS.sub(" ", text).strip()
    return flat if len(flat) <= width else flat[: width - 1] + "…"
