"""Figures of the quality-per-byte chapter: the Pareto plot, the PCA control, the index sweep."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._style import PALETTE, style

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

__all__ = ["index_sweep", "pareto", "pareto_frontier", "truncation_control"]


def pareto_frontier(df: pd.DataFrame, x: str = "bytes_per_vector", y: str = "ndcg@10") -> pd.DataFrame:
    """Rows no other row beats: none is at most as large in ``x`` and strictly better in ``y``.

    Example:
        >>> import pandas as pd
        >>> d = pd.DataFrame({"bytes_per_vector": [8, 16, 32], "ndcg@10": [0.5, 0.4, 0.8]})
        >>> pareto_frontier(d)["bytes_per_vector"].tolist()
        [8, 32]
    """
    order = df.sort_values([x, y], ascending=[True, False])
    best = float("-inf")
    keep = []
    for i, v in zip(order.index, order[y], strict=True):
        if v > best:
            keep.append(i)
            best = v
    return order.loc[keep]


def _label(row: pd.Series) -> str:
    rs = f", rescore ×{int(row['rescore'])}" if row.get("rescore") else ""
    return f"{int(row['dim'])}-d {row['precision']}{rs}"


def pareto(df: pd.DataFrame, model: str) -> go.Figure:
    """NDCG@10 against bytes per vector (log axis) for every setting of a sweep, frontier marked."""
    import plotly.graph_objects as go

    fig = go.Figure()
    d = df.assign(label=df.apply(_label, axis=1), rescored=df["rescore"] > 0)
    for i, precision in enumerate(dict.fromkeys(d["precision"])):
        part = d[d["precision"] == precision]
        for rescored, symbol in ((False, "circle"), (True, "diamond")):
            sub = part[part["rescored"] == rescored]
            if sub.empty:
                continue
            fig.add_trace(
                go.Scatter(
                    x=sub["bytes_per_vector"],
                    y=sub["ndcg@10"],
                    mode="markers",
                    name=f"{precision}{' + rescore' if rescored else ''}",
                    marker={"color": PALETTE[i % len(PALETTE)], "symbol": symbol, "size": 9, "opacity": 0.8},
                    text=sub["label"],
                    customdata=sub[["pct_of_float32"]],
                    hovertemplate="%{text}<br>%{x} bytes<br>NDCG@10 %{y:.3f} (%{customdata[0]:.1f}% of float32)"
                    "<extra></extra>",
                )
            )
    front = pareto_frontier(d)
    fig.add_trace(
        go.Scatter(
            x=front["bytes_per_vector"],
            y=front["ndcg@10"],
            mode="lines",
            name="Pareto frontier",
            line={"color": "#444", "dash": "dot", "shape": "hv"},
            hoverinfo="skip",
        )
    )
    fig.update_xaxes(type="log", title="bytes per vector in the index (log scale)")
    fig.update_yaxes(title="NDCG@10")
    return style(fig, "NDCG@10 against bytes per vector: dimensions × precision × rescoring", model, height=480)


def truncation_control(df: pd.DataFrame, model: str) -> go.Figure:
    """NDCG@10 against kept dimensions: the model's own truncation beside the PCA control (float32)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    names = {"truncation": "first d dimensions (Matryoshka truncation)", "pca": "first d principal axes (PCA control)"}
    for i, (reduction, part) in enumerate(df.groupby("reduction", sort=False)):
        part = part.sort_values("dim")
        fig.add_trace(
            go.Scatter(
                x=part["dim"],
                y=part["ndcg@10"],
                mode="lines+markers",
                name=names.get(str(reduction), str(reduction)),
                line={"color": PALETTE[i]},
                customdata=part[["pct_of_float32"]],
                hovertemplate="%{x} dimensions<br>NDCG@10 %{y:.3f} (%{customdata[0]:.1f}%)<extra></extra>",
            )
        )
    fig.update_xaxes(type="log", title="dimensions kept (log scale)", tickvals=sorted(df["dim"].unique()))
    fig.update_yaxes(title="NDCG@10 (float32)")
    return style(fig, "Truncation against the PCA control", model)


def index_sweep(df: pd.DataFrame, y: str, model: str) -> go.Figure:
    """One ANN measure (``"recall@10"`` or ``"query_ms"``) against corpus size, a line per index."""
    import plotly.graph_objects as go

    titles = {
        "recall@10": ("Recall@10 against exact search, by corpus size", "Recall@10 vs exact"),
        "query_ms": ("Query latency (one core), by corpus size", "ms per query (log scale)"),
        "build_s": ("Build time, by corpus size", "seconds"),
    }
    title, axis = titles.get(y, (y, y))
    fig = go.Figure()
    for i, (name, part) in enumerate(df.groupby("index", sort=False)):
        part = part.sort_values("n")
        fig.add_trace(
            go.Scatter(
                x=part["n"],
                y=part[y],
                mode="lines+markers",
                name=str(name),
                line={"color": PALETTE[i % len(PALETTE)]},
                customdata=part[["bytes_per_vector"]],
                hovertemplate=f"%{{x}} vectors<br>{axis} %{{y:.3g}}<br>%{{customdata[0]:.0f}} bytes/vector"
                "<extra></extra>",
            )
        )
    fig.update_xaxes(type="log", title="vectors in the index (log scale)")
    fig.update_yaxes(title=axis, type="log" if y == "query_ms" else "linear")
    return style(fig, title, model)
