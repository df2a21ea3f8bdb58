"""Figures of the "Scaling out" chapter: the estimated time and cost of a corpus on N GPUs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._style import PALETTE, style

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

__all__ = ["estimate_bars"]


def estimate_bars(table: pd.DataFrame, model: str) -> go.Figure:
    """Wall-clock hours (log scale) per GPU count, each bar labelled with its cost.

    ``table`` is :func:`ko_embed_lab.scale.estimate_table`'s output; the title says whether its
    per-GPU throughput was measured or estimated.
    """
    import plotly.graph_objects as go

    rows = table.sort_values("gpus")
    source = str(rows["throughput_source"].iloc[0])
    kind = "measured" if source == "measured" else "estimated (not measured)"
    fig = go.Figure(
        go.Bar(
            x=[f"{g} GPU{'s' * (g != 1)}" for g in rows["gpus"]],
            y=rows["hours"],
            marker_color=PALETTE[0],
            text=[f"{h:.2f} h · ${c:,.0f}" for h, c in zip(rows["hours"], rows["cost"], strict=True)],
            textposition="outside",
            customdata=rows[["gpu_hours", "tokens_per_s_per_gpu"]].to_numpy(),
            hovertemplate="%{x}<br>%{y:.2f} h wall<br>%{customdata[0]:.1f} GPU-hours"
            "<br>%{customdata[1]:,.0f} tokens/s per GPU<extra></extra>",
        )
    )
    passages = int(rows["passages"].iloc[0])
    fig.update_yaxes(type="log", title="wall-clock hours (log)")
    fig.update_xaxes(title=f"GPUs (one model each); cost at ${rows['price_per_gpu_hour'].iloc[0]:g} per GPU-hour")
    return style(fig, f"Embedding {passages:,} passages: {kind} time and cost", model)
