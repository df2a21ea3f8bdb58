"""A myst-nb mime renderer that turns plotly figure JSON into an offline HTML div.

Registered under the ``myst_nb.mime_renderers`` entry-point group (see ``pyproject.toml``). The
kernel emits ``application/vnd.plotly.v1+json`` when no plotly renderer is set; this renderer
turns it into ``plotly.io.to_html(..., include_plotlyjs=False)``: a div and a few lines of script
that use the ``plotly.min.js`` which :mod:`ko_embed_lab.book` copies into ``_static``.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

__all__ = ["PLOTLY_MIME", "PlotlyOfflineRenderer", "figure_html"]

PLOTLY_MIME = "application/vnd.plotly.v1+json"


def figure_html(content: Any) -> str:
    """HTML for a figure given as plotly JSON (a dict or its JSON text)."""
    import plotly.io as pio

    from ..plots import PLOTLY_CONFIG

    fig = dict(json.loads(content) if isinstance(content, (str, bytes)) else content)
    # The figure's own config (set by the kernel's renderer), then ours: no cloud link either way.
    config = {"responsive": True, **(fig.pop("config", None) or {}), **PLOTLY_CONFIG}
    # Drawn while the page is still being laid out (inside a captioned <figure>), a figure can take a
    # wider container than the article column it ends in: fit it once the page has loaded.
    fit = (
        "window.addEventListener('load', function () {"
        " var gd = document.getElementById('{plot_id}'); if (gd) { Plotly.Plots.resize(gd); } });"
    )
    return pio.to_html(
        fig, include_plotlyjs=False, include_mathjax=False, full_html=False, config=config, post_script=fit
    )


class PlotlyOfflineRenderer:
    """myst-nb plugin: render plotly JSON outputs (HTML builders only)."""

    mime_priority_overrides: ClassVar[list[tuple[str, str, int | None]]] = [
        ("html", PLOTLY_MIME, 5),
        ("dirhtml", PLOTLY_MIME, 5),
        ("singlehtml", PLOTLY_MIME, 5),
    ]

    @staticmethod
    def handle_mime(renderer: Any, data: Any, inline: bool) -> list[Any] | None:
        if inline or data.mime_type != PLOTLY_MIME:
            return None
        from docutils import nodes

        html = figure_html(data.content)
        return [nodes.raw(text=html, format="html", classes=["output", "text_html", "plotly-figure"])]
