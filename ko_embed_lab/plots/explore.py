"""Figures of :mod:`ko_embed_lab.explore`: the embedding map of a corpus with its queries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .cluster import map_figure

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

__all__ = ["DISTORTION_NOTE", "embedding_map_figure"]

#: The note every embedding map carries.
DISTORTION_NOTE = (
    "A 2-D map distorts distances: nearness here is not nearness in the embedding space. "
    "Select a point to list its nearest neighbours computed in the full {dim}-dimensional space."
)


def _segments(frame: pd.DataFrame, pairs: Sequence[tuple[int, int]]) -> tuple[list[float | None], list[float | None]]:
    xs: list[float | None] = []
    ys: list[float | None] = []
    for a, b in pairs:
        xs += [float(frame["x"].iat[a]), float(frame["x"].iat[b]), None]
        ys += [float(frame["y"].iat[a]), float(frame["y"].iat[b]), None]
    return xs, ys


def embedding_map_figure(
    frame: pd.DataFrame,
    *,
    links: Sequence[tuple[int, int]] = (),
    color: str = "label",
    title: str = "Embedding map: passages and queries",
    model: str | None = None,
    dim: int | None = None,
    selected: int | None = None,
    neighbours: Sequence[int] = (),
) -> go.Figure:
    """Passages and queries on a 2-D map, lines from each query to its relevant passages.

    Args:
        frame: From :func:`~ko_embed_lab.cluster.map_frame`, with ``kind`` (passage/query), ``id``
            and the ``color`` column.
        links: ``(query_row, passage_row)`` pairs to join with a line.
        color: Column that colours the points (a label or a cluster).
        title, model: As for :func:`~ko_embed_lab.plots.style`.
        dim: Dimension of the embeddings, for the note on distortion.
        selected: Row of a selected point, drawn as a star, with lines to its ``neighbours`` rows.
    """
    import plotly.graph_objects as go

    fig = map_figure(frame, color=color, symbol="kind", hover=["id"], title=title, model=model)
    if links:
        xs, ys = _segments(frame, links)
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                line={"color": "rgba(90,90,90,0.35)", "width": 1},
                name="query → relevant",
                hoverinfo="skip",
            )
        )
    if selected is not None:
        xs, ys = _segments(frame, [(selected, j) for j in neighbours])
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                line={"color": "#DC3912", "width": 2},
                name="nearest (full dim)",
                hoverinfo="skip",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=[frame["x"].iat[selected]],
                y=[frame["y"].iat[selected]],
                mode="markers",
                marker={"symbol": "star", "size": 18, "color": "#DC3912", "line": {"width": 1, "color": "black"}},
                name="selected",
                hovertext=[frame["text"].iat[selected]],
                hoverinfo="text",
            )
        )
    fig.add_annotation(
        text=DISTORTION_NOTE.format(dim=dim or "full"),
        xref="paper",
        yref="paper",
        x=0,
        y=-0.17,
        showarrow=False,
        align="left",
        font={"size": 11, "color": "#555"},
    )
    fig.update_layout(margin={"b": 95})
    return fig
