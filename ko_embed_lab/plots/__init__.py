"""Figures, built in one place with one style.

Every figure names the model that produced its numbers (a subtitle), shows Korean text through
a CJK-capable font stack and keeps hover text readable. Functions return ``plotly`` figures; in
JupyterLab they render through ``jupyterlab-plotly``, in the book through the offline renderer of
:mod:`ko_embed_lab.book`. One module per topic: :mod:`.charts` (general charts), :mod:`.cluster`,
:mod:`.longdoc`, :mod:`.benchmark`, :mod:`.explore`, :mod:`.scale`.
"""

from __future__ import annotations

from . import benchmark, charts, cluster, compress, explore, longdoc, scale
from ._style import FONT, PALETTE, PLOTLY_CONFIG, apply_plotly_config, style
from .charts import bar_by_group, box_by_kind, heatmaps, line_chart, scatter_2d

__all__ = [
    "FONT",
    "PALETTE",
    "PLOTLY_CONFIG",
    "apply_plotly_config",
    "bar_by_group",
    "benchmark",
    "box_by_kind",
    "charts",
    "cluster",
    "compress",
    "explore",
    "heatmaps",
    "line_chart",
    "longdoc",
    "scale",
    "scatter_2d",
    "style",
]
