"""Figures of the cluster chapter: 2-D maps, overlaid distributions, agreement and sweep curves.

Each takes the tables that :mod:`ko_embed_lab.cluster` returns and names the model that produced
them (the ``style`` subtitle).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from ._style import style
from .charts import line_chart

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

__all__ = [
    "distribution_figure",
    "k_figure",
    "loss_figure",
    "map_figure",
    "negatives_figure",
    "sweep_figure",
    "truncation_figure",
]


def map_figure(
    frame: pd.DataFrame,
    *,
    color: str,
    title: str,
    model: str | None = None,
    hover: Sequence[str] = (),
    symbol: str | None = None,
) -> go.Figure:
    """An interactive 2-D map (from :func:`map_frame`): points coloured by ``color``, Korean text on hover.

    Example:
        >>> fig = map_figure(frame, color="domain", title="Queries", model=model.label)
    """
    import plotly.express as px

    if color not in frame.columns:
        raise ValueError(f"color={color!r} is not a column of the frame; columns are {list(frame.columns)}")
    order = {color: sorted(frame[color].unique(), key=lambda v: (len(str(v)), str(v)))}
    fig = px.scatter(
        frame, x="x", y="y", color=color, symbol=symbol, category_orders=order, custom_data=["text", *hover]
    )
    extra = "".join(f"<br>{h}: %{{customdata[{i + 1}]}}" for i, h in enumerate(hover))
    fig.update_traces(
        marker={"size": 7, "opacity": 0.8}, hovertemplate=f"%{{customdata[0]}}{extra}<extra>%{{fullData.name}}</extra>"
    )
    fig.update_xaxes(showticklabels=False, title="UMAP 1")
    fig.update_yaxes(showticklabels=False, title="UMAP 2")
    return style(fig, title, model, height=560)


def distribution_figure(
    df: pd.DataFrame,
    *,
    x: str,
    color: str,
    title: str,
    model: str | None = None,
    facet_col: str | None = None,
    nbins: int = 50,
    x_title: str | None = None,
) -> go.Figure:
    """Overlaid, density-normalised histograms of ``x`` per ``color`` group (e.g. random vs clustered).

    Example:
        >>> fig = distribution_figure(negatives, x="sim", color="strategy", title="In-batch negatives")
    """
    import plotly.express as px

    for col in (x, color, facet_col):
        if col is not None and col not in df.columns:
            raise ValueError(f"{col!r} is not a column of the frame; columns are {list(df.columns)}")
    fig = px.histogram(
        df,
        x=x,
        color=color,
        facet_col=facet_col,
        nbins=nbins,
        histnorm="probability density",
        barmode="overlay",
        opacity=0.6,
    )
    fig.for_each_annotation(lambda a: a.update(text=a.text.split("=")[-1]))
    if x_title:
        fig.update_xaxes(title=x_title)
    return style(fig, title, model)


def negatives_figure(negatives: pd.DataFrame, *, batch_size: int, k: int, model: str | None = None) -> go.Figure:
    """Cosine of each query with each in-batch negative, one histogram per ``strategy``.

    Args:
        negatives: ``BatchReport.negatives`` of several strategies, with a ``strategy`` column.
        batch_size: Pairs per batch (for the title).
        k: Number of clusters of the clustered batches (for the title).
        model: The model's label.

    Example:
        >>> fig = negatives_figure(negatives, batch_size=8, k=8, model=model.label)
    """
    return distribution_figure(
        negatives,
        x="sim",
        color="strategy",
        x_title="cosine of a query with an in-batch negative",
        title=f"In-batch negatives, batches of {batch_size}: random vs clustered (k = {k})",
        model=model,
    )


def loss_figure(
    per_query: pd.DataFrame, *, temperature: float, batch_size: int, k: int, model: str | None = None
) -> go.Figure:
    """The InfoNCE loss of each query on a log10 scale (clipped at 1e-6), one histogram per ``strategy``.

    Args:
        per_query: ``BatchReport.per_query`` of several strategies, with a ``strategy`` column.
        temperature: The loss temperature (for the axis title).
        batch_size: Pairs per batch (for the title).
        k: Number of clusters of the clustered batches (for the title).
        model: The model's label.

    Example:
        >>> fig = loss_figure(per_query, temperature=0.01, batch_size=8, k=8, model=model.label)
    """
    df = per_query.assign(**{"log10 loss": np.log10(per_query["loss"].clip(lower=1e-6))})
    return distribution_figure(
        df,
        x="log10 loss",
        color="strategy",
        x_title=f"InfoNCE loss per query, log10 (τ = {temperature})",
        title=f"Loss per query, batches of {batch_size}: random vs clustered (k = {k})",
        model=model,
    )


def _long(table: pd.DataFrame, index: str, names: Mapping[str, str]) -> pd.DataFrame:
    """The columns of ``table`` named in ``names`` (those present), melted into ``measure``/``value``."""
    cols = [c for c in names if c in table.columns]
    if not cols:
        raise ValueError(f"the table has none of the columns {list(names)}; columns are {list(table.columns)}")
    out = table.reset_index().melt(id_vars=index, value_vars=cols, var_name="measure", value_name="value")
    out["measure"] = out["measure"].map(names)
    return out


def truncation_figure(
    agreement: pd.DataFrame, *, seed_ari: float, k: int, n_seeds: int, model: str | None = None
) -> go.Figure:
    """Agreement of truncated clusterings with full-dimension ones, against dimension, with the seed noise as a line.

    Args:
        agreement: The table of ``cluster.dimension_agreement`` (indexed by ``dim``).
        seed_ari: ARI of full-dimension k-means with itself under another seed (``cluster.seed_agreement``).
        k: Number of clusters (for the title).
        n_seeds: Seeds averaged over (for the title).
        model: The model's label.

    Example:
        >>> fig = truncation_figure(agreement, seed_ari=noise["ari"], k=8, n_seeds=5, model=model.label)
    """
    names = {
        "ari_vs_full": "ARI with full-dim clusters",
        "nmi_vs_full": "NMI with full-dim clusters",
        "truth_nmi": "NMI with domain labels",
    }
    fig = line_chart(
        _long(agreement, "dim", names),
        x="dim",
        y="value",
        color="measure",
        log_x=True,
        yrange=(0, 1.05),
        title=f"Clustering truncated embeddings (k = {k}), mean over {n_seeds} seeds",
        model=model,
    )
    fig.add_hline(y=seed_ari, line_dash="dot", annotation_text="ARI: full dim vs full dim, another seed")
    return fig


def sweep_figure(
    mean: pd.DataFrame, *, y: str, title: str, model: str | None = None, hover: Sequence[str] = ()
) -> go.Figure:
    """One measure of a batching sweep against k, a line per strategy, a panel per batch size.

    Args:
        mean: ``cluster.batching_sweep`` averaged over seeds: columns ``strategy``, ``batch_size``, ``k``, ``y``.
        y: The measure to draw (e.g. ``"loss"``).
        title: Figure title.
        model: The model's label.
        hover: Further columns shown on hover.

    Example:
        >>> mean = sweep.groupby(["strategy", "batch_size", "k"]).mean(numeric_only=True).reset_index()
        >>> fig = sweep_figure(mean, y="loss", title="Mean InfoNCE loss", model=model.label)
    """
    df = mean.assign(**{"batch size": "batches of " + mean["batch_size"].astype(str)})
    return line_chart(
        df,
        x="k",
        y=y,
        color="strategy",
        facet_col="batch size",
        log_x=True,
        hover=list(hover),
        title=title,
        model=model,
    )


def k_figure(k_table: pd.DataFrame, *, dim: int | None, model: str | None = None) -> go.Figure:
    """Silhouette and agreement with domain labels against k (the table of ``cluster.k_sweep``).

    Example:
        >>> fig = k_figure(k_table, dim=256, model=model.label)
    """
    names = {"silhouette": "silhouette", "truth_nmi": "truth_nmi", "truth_purity": "truth_purity"}
    return line_chart(
        _long(k_table, "k", names),
        x="k",
        y="value",
        color="measure",
        log_x=True,
        title=f"Choosing k: silhouette and agreement with domains ({dim}-d)",
        model=model,
    )
