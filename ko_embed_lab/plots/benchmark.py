"""Figures of the benchmark chapter: the card's tables as heatmaps, size and length against score, the leaderboard.

Every figure names who produced its numbers in its subtitle: for the card's tables that is
:data:`~ko_embed_lab.benchmark.card.SOURCE_LABEL` (reported figures, not measured here).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._style import style
from .charts import bar_by_group, scatter_2d

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

    from ..benchmark.leaderboard import Leaderboard

__all__ = ["fine_tune_bars", "leaderboard_bars", "long_vs_short_scatter", "matrix_figure", "size_scatter"]


def matrix_figure(
    matrix: pd.DataFrame,
    title: str,
    model: str | None = None,
    *,
    value_name: str = "NDCG@10",
    fmt: str = ".3f",
    colorscale: str = "Blues",
    reverse: bool = False,
    zmid: float | None = None,
    height: int | None = None,
) -> go.Figure:
    """An annotated heatmap of a labelled matrix (models × tasks, task × task...), house style.

    Missing cells stay blank. ``model`` names who produced the numbers (the subtitle).
    """
    import numpy as np
    import plotly.graph_objects as go

    z = matrix.to_numpy(dtype=float)
    text = [["" if np.isnan(v) else format(v, fmt) for v in row] for row in z]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[str(c) for c in matrix.columns],
            y=[str(i) for i in matrix.index],
            text=text,
            texttemplate="%{text}",
            colorscale=colorscale,
            reversescale=reverse,
            zmid=zmid,
            hovertemplate=f"%{{y}}<br>%{{x}}<br>{value_name}: %{{z:{fmt}}}<extra></extra>",
            colorbar={"title": {"text": value_name}},
        )
    )
    fig.update_yaxes(autorange="reversed")
    return style(fig, title, model, height=height or max(380, 26 * len(matrix.index) + 160))


def size_scatter(sizes: pd.DataFrame, model: str) -> go.Figure:
    """Parameters (log scale) against the card's average, coloured by maximum input length.

    Args:
        sizes: :func:`~ko_embed_lab.benchmark.card.model_sizes` of the card's table.
        model: Who produced the numbers (the subtitle).
    """
    return scatter_2d(
        sizes,
        x="params_millions",
        y="average (card)",
        color="max input tokens",
        hover=["model"],
        log_x=True,
        title="Model size against the card's average NDCG@10 (reported)",
        model=model,
    )


def fine_tune_bars(pair: pd.DataFrame, focus: str, base: str) -> go.Figure:
    """Per-task difference of a fine-tuned model and its base, coloured by which is better beyond noise.

    Args:
        pair: :func:`~ko_embed_lab.benchmark.card.difference_noise` of the two (``difference``,
            ``queries``, ``threshold``, ``beyond noise``).
        focus: The fine-tuned model.
        base: The model it was fine-tuned from.
    """
    import numpy as np

    bars = pair.reset_index()
    better = np.where(bars["difference"] > 0, "fine-tuned better", "base better")
    bars["direction"] = np.where(bars["beyond noise"], better, "within noise")
    return bar_by_group(
        bars,
        x="task",
        y="difference",
        color="direction",
        hover=["queries", "threshold"],
        title="NDCG@10 of the Korean fine-tune minus its base, by task (reported)",
        model=f"{focus} vs {base}; reported figures",
    )


def long_vs_short_scatter(lvs: pd.DataFrame, model: str) -> go.Figure:
    """MLDR score against the short-task average, coloured by maximum input length.

    Args:
        lvs: :func:`~ko_embed_lab.benchmark.card.long_vs_short` of the card.
        model: Who produced the numbers (the subtitle).
    """
    from ..benchmark.card import LONG_TASK

    df = lvs.reset_index()
    df["max input tokens"] = df["max_tokens"].astype(int).astype(str)
    return scatter_2d(
        df,
        x="short average",
        y=LONG_TASK,
        color="max input tokens",
        hover=["model", "short rank", "MLDR rank"],
        title="Long documents (MLDR) against the average of the seven short tasks (reported)",
        model=model,
    )


def leaderboard_bars(board: Leaderboard, label: str, model: str) -> go.Figure:
    """NDCG@10 of every leaderboard system by one query label (``form``, ``domain``...).

    Args:
        board: The leaderboard.
        label: A query label of its probe.
        model: Who produced the numbers (the subtitle).
    """
    return bar_by_group(
        board.long(label),
        x=label,
        y="ndcg@10",
        color="system",
        hover=["kind"],
        title=f"NDCG@10 on KoProbe by {'query form' if label == 'form' else label}",
        model=model,
        yrange=(0, 1),
    )
