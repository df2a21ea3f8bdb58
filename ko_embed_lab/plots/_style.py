"""The house style of every figure."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["FONT", "PALETTE", "PLOTLY_CONFIG", "style"]

#: Font stack with Korean coverage (Noto CJK on Linux, Apple and Microsoft fonts elsewhere).
FONT = "Noto Sans CJK KR, Noto Sans KR, Apple SD Gothic Neo, Malgun Gothic, NanumGothic, sans-serif"
#: plotly config for every figure: no link that would send the data to a cloud service.
PLOTLY_CONFIG = {"displaylogo": False, "showLink": False, "showSendToCloud": False, "showEditInChartStudio": False}
PALETTE = ["#3366CC", "#DC3912", "#109618", "#FF9900", "#990099", "#0099C6", "#DD4477", "#66AA00", "#B82E2E", "#316395"]


def style(fig: go.Figure, title: str, model: str | None = None, *, height: int = 420) -> go.Figure:
    """Apply the house style; the model's name goes into a subtitle."""
    sub = f"<br><sup>model: {model}</sup>" if model else ""
    fig.update_layout(
        title={"text": f"{title}{sub}", "x": 0.01, "xanchor": "left"},
        template="plotly_white",
        font={"family": FONT, "size": 13},
        hoverlabel={"font": {"family": FONT}},
        colorway=PALETTE,
        height=height,
        margin={"l": 60, "r": 20, "t": 80, "b": 50},
        legend={"title": {"text": ""}},
    )
    return fig
