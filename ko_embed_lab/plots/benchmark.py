"""Figures of the benchmark chapter: the card's tables as heatmaps, size and length against score, the leaderboard.

Every figure names who produced its numbers in its subtitle: for the card's tables that is
:data:`~ko_embed_lab.benchmark.card.SOURCE_LABEL` (reported figures, not measured here).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._style import style
from .charts import bar_by_group, scatter_2d

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

    from ..benchmark.leaderboard import Leaderboard

__all__ = [
    "board_figure",
    "card_vs_mteb_figure",
    "comparison_bars",
    "fine_tune_bars",
    "leaderboard_bars",
    "long_vs_short_scatter",
    "matrix_figure",
    "size_scatter",
    "speed_bars",
]


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


def comparison_bars(cmp: Any, label: str, model: str) -> go.Figure:
    """NDCG@10 of every system of a :func:`~ko_embed_lab.compare` run by one query label.

    Args:
        cmp: A :class:`~ko_embed_lab.retrieval.compare.Comparison` with ``by_label[label]``.
        label: ``"form"`` or ``"domain"``.
        model: Who produced the numbers (the subtitle).
    """
    wide = cmp.by_label[label].drop(columns=("", "n")).xs("ndcg@10", axis=1, level=1)
    order = list(cmp.frame().index)
    long = (
        wide[[s for s in order if s in wide.columns]]
        .reset_index()
        .melt(id_vars=label, var_name="system", value_name="ndcg@10")
    )
    return bar_by_group(
        long,
        x=label,
        y="ndcg@10",
        color="system",
        hover=[],
        title=f"NDCG@10 on KoProbe by {'query form' if label == 'form' else label} (measured here)",
        model=model,
        yrange=(0, 1),
    )


def speed_bars(table: pd.DataFrame, model: str) -> go.Figure:
    """Tokens per second of each encoder (log scale), from :func:`~ko_embed_lab.benchmark.encoding_speed`."""
    df = table.reset_index()
    fig = bar_by_group(
        df,
        x="encoder",
        y="tokens/s",
        color="encoder",
        hover=["texts/s", "chars/s", "dim"],
        title="Encoding speed on the same passages, CPU (measured here)",
        model=model,
    )
    fig.update_yaxes(type="log", title="tokens/s (log scale)")
    return fig


def card_vs_mteb_figure(table: pd.DataFrame, source: str) -> go.Figure:
    """Card − mteb by model and task (0 where they agree), from :func:`~ko_embed_lab.data.card_vs_mteb`.

    Args:
        table: The comparison table.
        source: Where both sets of figures come from (the subtitle).
    """
    wide = table.pivot_table(index="model", columns="task", values="difference", aggfunc="first")
    return matrix_figure(
        wide,
        "The card's NDCG@10 minus mteb's official figure, by model and task (reported)",
        source,
        value_name="card − mteb",
        fmt="+.3f",
        colorscale="RdBu",
        zmid=0,
    )


def board_figure(board: pd.DataFrame, focus: str, title: str, *, top: int = 15) -> go.Figure:
    """The first ``top`` models of an MTEB(kor, v2) board and ``focus`` (wherever it ranks), task by task.

    Args:
        board: :func:`~ko_embed_lab.data.mteb_kor_board` (its ``attrs["source"]`` is the subtitle).
        focus: A model to show even below the first ``top``.
        title: The figure's title.
        top: How many of the best models to show.
    """
    tasks = list(board.attrs.get("tasks", []))
    rows = list(board.index[:top]) + ([focus] if focus in board.index and focus not in board.index[:top] else [])
    view = board.loc[rows, [*tasks, "average"]]
    view.index = [f"{m} (#{int(board.loc[m, 'rank'])})" for m in rows]
    return matrix_figure(view, title, board.attrs.get("source", "reported figures"), value_name="main score")
