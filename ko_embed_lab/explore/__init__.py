"""Exploration in JupyterLab: a search playground and an embedding map.

* :class:`SearchSpace` and :func:`playground`: type a Korean query, compare systems (any encoder,
  BM25 over morphemes, their rank fusion) side by side, with the query's morphemes highlighted and,
  on KoProbe, relevant passages and hard negatives marked. :func:`static_playground` is the
  kernel-free view of a few fixed queries, for the book.
* :func:`build_map` and :func:`map_explorer`: a seeded 2-D map of passages and queries, lines from
  each query to its relevant passages, and a point's nearest neighbours in the full space.

Example:
    >>> space = kel.explore.SearchSpace(probe.data, {model.label: model}, probe=probe)
    >>> kel.explore.playground(space, examples=kel.explore.example_queries(probe))  # doctest: +SKIP
"""

from __future__ import annotations

from .embedmap import EmbeddingMap, build_map, map_explorer, nearest_neighbours
from .playground import example_queries, playground, static_playground
from .search import BM25, Hit, SearchSpace, highlight, morpheme_spans, query_terms, results_html

__all__ = [
    "BM25",
    "EmbeddingMap",
    "Hit",
    "SearchSpace",
    "build_map",
    "example_queries",
    "highlight",
    "map_explorer",
    "morpheme_spans",
    "nearest_neighbours",
    "playground",
    "query_terms",
    "results_html",
    "static_playground",
]
