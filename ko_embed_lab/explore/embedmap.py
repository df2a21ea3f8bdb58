"""An embedding map of a corpus with its queries, and nearest neighbours in the full space.

:func:`build_map` embeds passages and queries, projects them together to 2-D with a seeded UMAP
(:func:`~ko_embed_lab.cluster.umap_2d`) and keeps the full-dimensional rows, so that
:meth:`EmbeddingMap.neighbours` answers from the real geometry while the map only suggests it.
:func:`map_explorer` (ipywidgets) shows the map; choosing a point redraws it with that point's
nearest neighbours joined to it and lists them.

Why plotly and not ``embedding-atlas`` (PyPI, a notebook widget): it was tried offline, see
:data:`ATLAS_FINDING`. The plotly map needs nothing beyond what the package already uses, draws
offline in JupyterLab and in the book, and point selection (a drop-down that redraws the map)
works with plain ipywidgets (plotly's click-aware ``FigureWidget`` would need ``anywidget`` too).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..cluster.projection import map_frame, umap_2d
from ..data.beir import RetrievalSet
from ..types import Encoder, encoder_identity

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

__all__ = ["ATLAS_FINDING", "EmbeddingMap", "build_map", "map_explorer", "nearest_neighbours"]

#: What the offline evaluation of ``embedding-atlas`` found (embedding-atlas 0.26.0).
ATLAS_FINDING = (
    "embedding-atlas 0.26.0 installs from PyPI, but into a fresh folder it pulls 6.8 GB (a CUDA torch "
    "build, sentence-transformers, accelerate, boto3, duckdb...). Its notebook widget needs anywidget, "
    "which it does not declare: without it the import fails; with anywidget added, EmbeddingAtlasWidget "
    "builds offline from a DataFrame with precomputed x/y (its 5.4 MB front-end bundle names no CDN, "
    "though the standalone app's bundle defaults DuckDB-WASM to cdn.jsdelivr.net), while its own "
    "projection embeds texts with a sentence-transformers model by hub name (offline only from a local "
    "copy). It adds a second front-end and two dependencies for what plotly already draws offline in "
    "JupyterLab and in the static book, so the map here is plotly plus ipywidgets."
)


def nearest_neighbours(emb: np.ndarray, row: int, k: int = 5) -> list[tuple[int, float]]:
    """The ``k`` rows most cosine-similar to ``row`` (itself excluded), best first, ties by row.

    Example:
        >>> e = np.array([[1, 0], [0.8, 0.6], [0, 1]], dtype=np.float32)
        >>> [(j, round(s, 2)) for j, s in nearest_neighbours(e, 0, k=2)]
        [(1, 0.8), (2, 0.0)]
    """
    if not 0 <= row < emb.shape[0]:
        raise IndexError(f"row {row} is outside 0..{emb.shape[0] - 1}")
    sims = emb @ emb[row]
    order = [int(j) for j in np.lexsort((np.arange(len(sims)), -sims)) if j != row]
    return [(j, float(sims[j])) for j in order[:k]]


@dataclass
class EmbeddingMap:
    """A 2-D map and the full-dimensional embeddings behind it.

    Attributes:
        frame: One row per point: ``x``, ``y``, ``text`` (hover), ``kind`` (passage/query), ``id``, ``label``.
        embeddings: ``(n, dim)`` unit rows, aligned with ``frame``.
        links: ``(query_row, passage_row)`` for each relevant passage of each query.
        texts: The full text of each point.
        model: The encoder's label.
    """

    frame: Any
    embeddings: np.ndarray
    links: list[tuple[int, int]] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    model: str = ""

    def neighbours(self, row: int, k: int = 5) -> pd.DataFrame:
        """The ``k`` nearest points of ``row`` in the full space: ``id``, ``kind``, ``label``, ``cosine``, ``text``."""
        import pandas as pd

        rows = nearest_neighbours(self.embeddings, row, k)
        f = self.frame
        return pd.DataFrame(
            {
                "id": [f["id"].iat[j] for j, _ in rows],
                "kind": [f["kind"].iat[j] for j, _ in rows],
                "label": [f["label"].iat[j] for j, _ in rows],
                "cosine": [round(s, 4) for _, s in rows],
                "text": [self.texts[j][:160] for j, _ in rows],
            },
            index=pd.RangeIndex(1, len(rows) + 1, name="rank"),
        )

    def figure(self, *, color: str = "label", selected: int | None = None, k: int = 5) -> go.Figure:
        """The map (:func:`~ko_embed_lab.plots.explore.embedding_map_figure`), optionally with a selected point."""
        from ..plots.explore import embedding_map_figure

        nbrs = [j for j, _ in nearest_neighbours(self.embeddings, selected, k)] if selected is not None else []
        return embedding_map_figure(
            self.frame,
            links=self.links,
            color=color,
            model=self.model,
            dim=self.embeddings.shape[1],
            selected=selected,
            neighbours=nbrs,
        )


def build_map(
    encoder: Encoder,
    corpus: RetrievalSet | Sequence[str],
    *,
    labels: Mapping[str, Any] | None = None,
    n_clusters: int = 8,
    seed: int = 0,
    max_queries: int | None = None,
    **encode_kwargs: Any,
) -> EmbeddingMap:
    """Embed a corpus (and a retrieval set's queries) and project them to a seeded 2-D map.

    Args:
        encoder: Any encoder (queries get its query prompt, passages its document prompt).
        corpus: A retrieval set (passages, queries and qrels) or a list of texts (passages only).
        labels: ``{id: label}`` for colouring (e.g. KoProbe's domains); without it, k-means clusters.
        n_clusters: Clusters when there are no labels.
        seed: Seed of the projection and of k-means.
        max_queries: Keep at most this many queries (the first ones).
        **encode_kwargs: Passed to ``encoder.encode`` (``cache=True``...).
    """
    if isinstance(corpus, RetrievalSet):
        doc_ids, docs = corpus.doc_ids(), corpus.doc_texts()
        qids = list(corpus.queries)[:max_queries]
        queries = [corpus.queries[q] for q in qids]
    else:
        docs = list(corpus)
        doc_ids, qids, queries = [str(i) for i in range(len(docs))], [], []
    d = np.asarray(encoder.encode(docs, kind="document", **encode_kwargs), dtype=np.float32)
    q = np.asarray(encoder.encode(queries, kind="query", **encode_kwargs), dtype=np.float32) if queries else d[:0]
    emb = np.concatenate([d, q])
    ids = [*doc_ids, *qids]
    if labels is not None:
        label = [str(labels.get(i, "")) for i in ids]
    else:
        from ..cluster.kmeans import kmeans

        k = max(1, min(n_clusters, len(docs)))
        label = [f"cluster {c}" for c in kmeans(emb, k, seed=seed).labels]
    coords = umap_2d(emb, seed=seed)
    texts = [*docs, *queries]
    frame = map_frame(coords, texts, kind=["passage"] * len(docs) + ["query"] * len(queries), id=ids, label=label)
    links: list[tuple[int, int]] = []
    if isinstance(corpus, RetrievalSet):
        pos = {dd: i for i, dd in enumerate(doc_ids)}
        for r, qid in enumerate(qids):
            links += [(len(docs) + r, pos[dd]) for dd, g in corpus.qrels.get(qid, {}).items() if g > 0 and dd in pos]
    model = str(getattr(encoder, "label", encoder_identity(encoder).get("model", "")))
    return EmbeddingMap(frame=frame, embeddings=emb, links=links, texts=texts, model=model)


def _neighbours_html(m: EmbeddingMap, row: int, k: int) -> str:
    import html

    head = f"<p><b>{html.escape(str(m.frame['kind'].iat[row]))} {html.escape(str(m.frame['id'].iat[row]))}</b>: "
    head += f"{html.escape(m.texts[row][:200])}</p><p>nearest {k} in the full {m.embeddings.shape[1]}-dimensional space:</p>"
    return "<div class='kel-neighbours'>" + head + m.neighbours(row, k).to_html(escape=True) + "</div>"


def map_explorer(m: EmbeddingMap, *, color: str = "label", k: int = 5) -> Any:
    """An ipywidgets view of the map: pick a point to see it starred with its nearest neighbours listed."""
    import ipywidgets as w
    from IPython.display import display

    options = [("(none)", -1)] + [
        (f"{m.frame['kind'].iat[i]} {m.frame['id'].iat[i]} · {m.texts[i][:40]}", i) for i in range(len(m.texts))
    ]
    pick = w.Dropdown(options=options, value=-1, description="point", layout=w.Layout(width="640px"))
    out = w.Output()
    table = w.HTML()

    def draw(change: Any = None) -> None:
        row = None if pick.value < 0 else int(pick.value)
        out.clear_output(wait=True)
        with out:
            display(m.figure(color=color, selected=row, k=k))
        table.value = _neighbours_html(m, row, k) if row is not None else ""

    pick.observe(draw, names="value")
    draw()
    box = w.VBox([pick, out, table])
    box.add_class("kel-map-explorer")
    return box
