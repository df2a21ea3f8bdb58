"""The house style of every figure."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["FONT", "PALETTE", "PLOTLY_CONFIG", "apply_plotly_config", "style"]

#: Font stack with Korean coverage (Noto CJK on Linux, Apple and Microsoft fonts elsewhere).
FONT = "Noto Sans CJK KR, Noto Sans KR, Apple SD Gothic Neo, Malgun Gothic, NanumGothic, sans-serif"
#: plotly config for every figure: no link that would send the data to a cloud service, no logo
#: linking to plotly's site. (plotly.js 3 dropped ``showLink`` and ``showEditInChartStudio``; plotly
#: warns about them, so they are not set.)
PLOTLY_CONFIG = {"displaylogo": False, "showSendToCloud": False}
PALETTE = ["#3366CC", "#DC3912", "#109618", "#FF9900", "#990099", "#0099C6", "#DD4477", "#66AA00", "#B82E2E", "#316395"]


def apply_plotly_config() -> None:
    """Give every plotly renderer :data:`PLOTLY_CONFIG` (idempotent; :func:`style` calls it).

    The figure JSON a notebook shows then carries the config: JupyterLab's plotly extension and
    the book's mime renderer (:mod:`ko_embed_lab.book.mime`) both apply it, so no figure offers
    a link to a cloud service.
    """
    import plotly.io as pio

    for name in list(pio.renderers):
        renderer = pio.renderers[name]
        if isinstance(getattr(renderer, "config", None), dict):
            renderer.config.update(PLOTLY_CONFIG)


def style(fig: go.Figure, title: str, model: str | None = None, *, height: int = 420) -> go.Figure:
    """Apply the house style; the model's name goes into a subtitle."""
    apply_plotly_config()
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
