"""Figures of the longdoc chapter: document lengths, the needle curves, cost per length."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ._style import style

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

__all__ = ["cost_curve", "document_lengths", "needle_curves"]

#: The target model's fine-tuning length, drawn for reference on other models' figures.
_TARGET_TRAINED = 1300


def document_lengths(stats: pd.DataFrame, *, window: int, reliable: int, model: str | None = None) -> go.Figure:
    """Bars of each document's length in tokens, with the model's window and trained length as lines.

    Args:
        stats: :func:`~ko_embed_lab.longdoc.length_stats` rows (``tokens``, ``chars``, ``chars_per_token``),
            indexed by document id.
        window: The model's window (``max_seq_length``).
        reliable: :func:`~ko_embed_lab.longdoc.reliable_length` of the model.
        model: Model label for the subtitle.
    """
    import plotly.express as px

    fig = px.bar(stats.reset_index().sort_values("tokens"), x="id", y="tokens", hover_data=["chars", "chars_per_token"])
    fig.add_hline(y=window, line_dash="dash", annotation_text=f"window of this model: {window:,}")
    if reliable != _TARGET_TRAINED:  # the target model's fine-tuning length, for reference
        fig.add_hline(y=_TARGET_TRAINED, line_dash="dot", annotation_text="target model's fine-tuning length: 1,300")
    if reliable < window:
        fig.add_hline(y=reliable, line_dash="dot", annotation_text=f"fine-tuning length of this model: {reliable:,}")
    return style(fig, "Length of the konlpy documents in tokens", model)


def needle_curves(
    curves: pd.DataFrame, *, lengths: Sequence[int], window: int, n_docs: int, model: str | None = None
) -> go.Figure:
    """NDCG@10 of each strategy against haystack length, one panel per needle position, with intervals.

    Args:
        curves: One row per ``strategy`` (label), ``where`` (needle position, in words) and
            ``length``, with ``mean``, ``low`` and ``high`` (:func:`~ko_embed_lab.longdoc.grid_intervals`
            of NDCG@10) and ``n`` (needles).
        lengths: The grid's lengths (the x ticks).
        window: The model's window, drawn as a dashed line.
        n_docs: Haystacks per cell (in the title).
        model: Model label for the subtitle.
    """
    import plotly.express as px

    df = curves.assign(_up=curves["high"] - curves["mean"], _down=curves["mean"] - curves["low"])
    fig = px.line(
        df,
        x="length",
        y="mean",
        color="strategy",
        facet_col="where",
        log_x=True,
        markers=True,
        error_y="_up",
        error_y_minus="_down",
        hover_data=["low", "high", "n"],
        labels={"mean": "NDCG@10"},
    )
    fig.update_yaxes(range=[0, 1.05])
    fig.for_each_annotation(lambda a: a.update(text=a.text.split("=")[-1]))
    fig.add_vline(x=window, line_dash="dash", line_color="grey")
    fig.update_xaxes(tickvals=list(lengths))
    return style(
        fig,
        f"Finding the needle's document among {n_docs} haystacks (bars: 95% interval over needles)",
        model,
        height=440,
    )


def cost_curve(cost: pd.DataFrame, *, model: str | None = None) -> go.Figure:
    """Median seconds to embed one document against its length (log-log), bars from the fastest to the
    slowest pass; real weights and random copy apart.

    Args:
        cost: :func:`~ko_embed_lab.longdoc.measure_cost` output.
        model: Model label for the subtitle.
    """
    import plotly.express as px

    df = cost.assign(_up=cost["seconds_max"] - cost["seconds_median"], _down=cost["seconds_median"] - cost["seconds"])
    fig = px.line(
        df,
        x="length",
        y="seconds_median",
        color="weights",
        log_x=True,
        log_y=True,
        markers=True,
        error_y="_up",
        error_y_minus="_down",
        hover_data=["seconds", "seconds_max", "peak_mb", "tokens_per_s"],
        labels={"seconds_median": "seconds (median pass)"},
    )
    fig.update_xaxes(tickvals=list(cost["length"]))
    return style(fig, f"Time to embed one document on {cost['device'].iloc[0]}", model, height=440)
