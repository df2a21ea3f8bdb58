"""The search playground: a thin ipywidgets layer over :mod:`.search`, and its static fallback.

:func:`playground` shows a query box, the systems to compare, the query prompt switch, the
Matryoshka dimension and the depth; every search renders :func:`~.search.results_html`.
:func:`static_playground` renders the same view for a few fixed queries as plain HTML, for
pages built without a kernel (the book).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .search import BM25, SearchSpace, results_html

__all__ = ["example_queries", "playground", "static_playground"]

#: Placeholder of the query box (the browser test types into it).
PLACEHOLDER = "검색어를 입력하세요 (a Korean query)"


def example_queries(probe: Any, n: int = 3, *, form: str = "question") -> list[str]:
    """``n`` KoProbe queries of one form, from different domains, in a fixed order.

    Example:
        >>> example_queries(load_probe(), 2)  # doctest: +SKIP
        ['...', '...']
    """
    q = probe.queries[probe.queries["form"] == form].sort_index()
    picked: list[str] = []
    seen: set[str] = set()
    for _, row in q.iterrows():
        if row["domain"] not in seen and row["text"]:
            picked.append(str(row["text"]))
            seen.add(row["domain"])
        if len(picked) == n:
            break
    return picked


def _default_systems(space: SearchSpace) -> list[str]:
    enc = list(space.encoders)[:1]
    return [*enc, BM25, *(space.fusion_name(e) for e in enc)]


def static_playground(
    space: SearchSpace, queries: Sequence[str], *, systems: Sequence[str] | None = None, k: int = 3, **kwargs: Any
) -> Any:
    """The playground's view for fixed queries, as an ``IPython.display.HTML`` (no kernel needed to read it)."""
    from IPython.display import HTML

    chosen = list(systems or _default_systems(space))
    parts = [results_html(q, space.compare(q, chosen, k=k, **kwargs)) for q in queries]
    return HTML("<div class='kel-playground-static'>" + "<hr>".join(parts) + "</div>")


def playground(space: SearchSpace, *, examples: Sequence[str] = (), k: int = 5) -> Any:
    """The live playground (ipywidgets): type a Korean query and press Enter or *Search*.

    Args:
        space: The corpus and its systems (:class:`~.search.SearchSpace`).
        examples: Queries offered in a drop-down (on KoProbe, their passages are marked).
        k: Hits per system at first.
    """
    import ipywidgets as w

    query = w.Text(placeholder=PLACEHOLDER, layout=w.Layout(width="480px"), continuous_update=False)
    query.add_class("kel-query")
    example = w.Dropdown(options=[("(examples)", ""), *[(e, e) for e in examples]], value="", description="example")
    systems = w.SelectMultiple(
        options=space.systems,
        value=tuple(_default_systems(space)),
        description="systems",
        rows=min(6, len(space.systems)),
    )
    prompt = w.Checkbox(value=True, description="query prompt")
    first = next(iter(space.encoders), None)
    full = space.dims(first) if first else None
    dims = [("full", 0)] + [(str(d), d) for d in (512, 256, 128, 64) if full and d < full]
    dim = w.Dropdown(options=dims, value=0, description="dimension")
    depth = w.IntSlider(value=k, min=1, max=20, description="top k")
    button = w.Button(description="Search", button_style="primary")
    out = w.HTML()
    out.add_class("kel-results")

    def run(_: Any = None) -> None:
        text = query.value.strip()
        if not text:
            out.value = ""
            return
        out.value = "<i>searching…</i>"
        chosen = list(systems.value) or _default_systems(space)
        results = space.compare(text, chosen, k=depth.value, prompt=prompt.value, dim=dim.value or None)
        out.value = results_html(text, results)

    def pick(change: Any) -> None:
        if change["new"]:
            query.value = change["new"]

    query.observe(run, names="value")
    button.on_click(run)
    example.observe(pick, names="value")
    for control in (systems, prompt, dim, depth):
        control.observe(run, names="value")
    box = w.VBox([w.HBox([query, button]), example, w.HBox([systems, w.VBox([prompt, dim, depth])]), out])
    box.add_class("kel-playground")
    return box
