"""A seeded 2-D map of embeddings, as a frame ready for plotting with Korean hover text."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ._util import shorten
from .kmeans import truncate_normalize

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["map_frame", "umap_2d"]


def umap_2d(
    emb: np.ndarray,
    *,
    seed: int = 0,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    metric: str = "cosine",
    dim: int | None = None,
) -> np.ndarray:
    """A seeded 2-D UMAP projection (umap-learn) of embeddings, returned as an ``(n, 2)`` array.

    A fixed ``seed`` makes umap-learn run single-threaded, so that the map is reproducible. The
    first call in a process compiles numba code (10–20 s).

    Example:
        >>> umap_2d(p_emb, seed=0).shape  # p_emb: (559, 384)
        (559, 2)
    """
    import warnings

    import umap

    x = truncate_normalize(emb, dim)
    n = x.shape[0]
    if n < 4:
        raise ValueError(f"UMAP needs at least 4 rows, got {n}")
    neighbours = min(int(n_neighbors), n - 1)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*n_jobs.*overridden.*")
        reducer = umap.UMAP(
            n_components=2, n_neighbors=neighbours, min_dist=min_dist, metric=metric, random_state=int(seed), n_jobs=1
        )
        coords = reducer.fit_transform(x)
    return np.asarray(coords, dtype=np.float32)


def _hover(text: str, max_chars: int = 120, line: int = 40) -> str:
    """Flatten, shorten and wrap text for a plotly hover label (HTML-escaped)."""
    import html

    flat = html.escape(shorten(text, max_chars))
    return "<br>".join(flat[i : i + line] for i in range(0, len(flat), line))


def map_frame(coords: np.ndarray, texts: Sequence[str], **columns: Sequence[Any]) -> pd.DataFrame:
    """A projection as a DataFrame for plotting: ``x``, ``y``, hover-ready ``text`` and any label columns.

    Labels that are numbers (cluster ids) are turned into strings so that plotly colours them
    as categories.

    Example:
        >>> map_frame(np.zeros((2, 2)), ["가", "나"], cluster=[0, 1])["cluster"].tolist()
        ['0', '1']
    """
    import pandas as pd

    xy = np.asarray(coords)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(f"coords must be (n, 2), got {xy.shape}")
    if len(texts) != xy.shape[0]:
        raise ValueError(f"{len(texts)} texts for {xy.shape[0]} points")
    df = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "text": [_hover(t) for t in texts]})
    for name, values in columns.items():
        if len(values) != xy.shape[0]:
            raise ValueError(f"column {name!r} has {len(values)} values for {xy.shape[0]} points")
        vals = list(values)
        df[name] = [str(v) for v in vals] if all(isinstance(v, (int, np.integer)) for v in vals) else vals
    return df
