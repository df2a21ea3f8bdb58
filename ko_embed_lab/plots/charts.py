"""General charts: heatmaps, grouped bars, box plots, lines and scatter plots in the house style."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ._style import style

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

__all__ = ["bar_by_group", "box_by_kind", "heatmaps", "line_chart", "scatter_2d"]


def heatmaps(
    matrices: dict[str, pd.DataFrame],
    title: str,
    model: str | None = None,
    *,
    zmin: float | None = None,
    zmax: float | None = None,
) -> go.Figure:
    """Side-by-side annotated heatmaps (e.g. query × document scores with and without a prompt)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    names = list(matrices)
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=names, shared_yaxes=True, horizontal_spacing=0.06)
    lo = zmin if zmin is not None else min(float(m.values.min()) for m in matrices.values())
    hi = zmax if zmax is not None else max(float(m.values.max()) for m in matrices.values())
    for i, name in enumerate(names, 1):
        m = matrices[name]
        fig.add_trace(
            go.Heatmap(
                z=m.values,
                x=list(m.columns),
                y=list(m.index),
                zmin=lo,
                zmax=hi,
                colorscale="Blues",
                text=[[f"{v:.3f}" for v in row] for row in m.values],
                texttemplate="%{text}",
                hovertemplate="query: %{y}<br>document: %{x}<br>cosine: %{z:.4f}<extra></extra>",
                showscale=i == len(names),
            ),
            row=1,
            col=i,
        )
    fig.update_yaxes(autorange="reversed")
    return style(fig, title, model, height=380)


def bar_by_group(
    df: pd.DataFrame,
    *,
    x: str,
    y: str,
    color: str,
    title: str,
    model: str | None = None,
    error_y: str | None = None,
    hover: Sequence[str] = (),
    yrange: tuple[float, float] | None = None,
    barmode: str = "group",
) -> go.Figure:
    """Grouped bars from a long DataFrame."""
    import plotly.express as px

    fig = px.bar(df, x=x, y=y, color=color, barmode=barmode, error_y=error_y, hover_data=list(hover))
    if yrange:
        fig.update_yaxes(range=list(yrange))
    return style(fig, title, model)


def box_by_kind(
    df: pd.DataFrame, *, x: str, y: str, color: str, title: str, model: str | None = None, hover: Sequence[str] = ()
) -> go.Figure:
    """Box plots of a score by category (e.g. relevant / hard negative / random)."""
    import plotly.express as px

    fig = px.box(df, x=x, y=y, color=color, points=False, hover_data=list(hover))
    return style(fig, title, model)


def line_chart(
    df: pd.DataFrame,
    *,
    x: str,
    y: str,
    color: str,
    title: str,
    model: str | None = None,
    facet_col: str | None = None,
    log_x: bool = False,
    hover: Sequence[str] = (),
    markers: bool = True,
    yrange: tuple[float, float] | None = None,
) -> go.Figure:
    """Lines with markers (curves against length, batch size, k...)."""
    import plotly.express as px

    fig = px.line(df, x=x, y=y, color=color, facet_col=facet_col, log_x=log_x, markers=markers, hover_data=list(hover))
    if yrange:
        fig.update_yaxes(range=list(yrange))
    fig.for_each_annotation(lambda a: a.update(text=a.text.split("=")[-1]))
    return style(fig, title, model, height=440)


def scatter_2d(
    df: pd.DataFrame,
    *,
    x: str,
    y: str,
    color: str,
    title: str,
    model: str | None = None,
    hover: Sequence[str] = (),
    symbol: str | None = None,
    size: str | None = None,
    text: str | None = None,
    log_x: bool = False,
) -> go.Figure:
    """A 2-D scatter with Korean hover text (projections, size-vs-score)."""
    import plotly.express as px

    fig = px.scatter(
        df, x=x, y=y, color=color, symbol=symbol, size=size, text=text, hover_data=list(hover), log_x=log_x
    )
    if text:
        fig.update_traces(textposition="top center")
    return style(fig, title, model, height=520)
