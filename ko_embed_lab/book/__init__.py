"""Sphinx extension for the ko-embed-lab book: offline plotly, Korean search, notebook downloads, house CSS.

Add ``ko_embed_lab.book`` to the book's Sphinx extensions. It copies plotly's own bundled
``plotly.min.js`` into ``_static`` once per build and loads it on every page, so that figures
rendered by :mod:`ko_embed_lab.book.mime` draw with no network and no multi-megabyte script
inlined into each page; it adds ``static/ko-embed-lab.css`` (a wider article column, wrapped
code, scrolling wide tables); it makes the search index Korean-aware (:mod:`.search`: morphemes
and prefixes, so "서울" finds "서울이다"); and it offers each chapter as an ``.ipynb`` in the
download menu (:mod:`.downloads`).
"""

from __future__ import annotations

import html
import shutil
from pathlib import Path
from typing import Any

from .._files import atomic_write_bytes

__all__ = ["plotly_js_path", "setup"]

_JS_NAME = "plotly.min.js"
_STATIC = Path(__file__).resolve().parent / "static"


def plotly_js_path() -> Path:
    """Path of the ``plotly.min.js`` that ships inside the installed plotly package."""
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / _JS_NAME
    if not path.exists():  # pragma: no cover - plotly always ships it
        raise FileNotFoundError(f"{path} is missing; reinstall plotly")
    return path


def _copy_js(app: Any, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    static = Path(app.outdir) / "_static"
    static.mkdir(parents=True, exist_ok=True)
    target = static / _JS_NAME
    src = plotly_js_path()
    if not target.exists() or target.stat().st_size != src.stat().st_size:
        shutil.copyfile(src, target)


def _dedupe_scripts(app: Any, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    """Drop repeated script tags: Jupyter Book 1 registers sphinx-thebe's inline script twice, and the
    second ``const THEBE_JS_URL`` declaration is a JavaScript error on every page."""
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple[str, str]] = set()
    unique = []
    for js in scripts:
        # The same script appears once with filename None and once with "" (re-registered on rebuild).
        key = (str(getattr(js, "filename", js) or ""), str(getattr(js, "attributes", {}).get("body", "")))
        if key in seen:
            continue
        seen.add(key)
        unique.append(js)
    context["script_files"] = unique


_INDEX = """<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<title>{title}</title>
<meta http-equiv="Refresh" content="0; url={target}">
<link rel="canonical" href="{target}">
{icon}</head>
<body><p><a href="{target}">{title}</a></p></body>
</html>
"""


def _write_index(app: Any, exception: Exception | None) -> None:
    """Write the site's ``index.html``: a redirect to the root page that names the favicon.

    sphinx-external-toc writes a bare ``<meta http-equiv="Refresh">`` there when no page is called
    ``index``. A page with no icon link makes the browser ask for ``/favicon.ico``, which is not in
    the site: a 404 in the console whenever the request goes out before the redirect (a race). Runs
    before sphinx-external-toc's handler (which leaves an existing ``index.html`` alone), and
    rewrites the page on every build, so a changed root page is followed.
    """
    if exception is not None or app.builder.format != "html" or app.config.master_doc == "index":
        return
    target = f"{app.config.master_doc}/index.html" if app.builder.name == "dirhtml" else f"{app.config.master_doc}.html"
    favicon = getattr(app.config, "html_favicon", None)
    icon = f'<link rel="icon" href="_static/{html.escape(Path(str(favicon)).name)}">\n' if favicon else ""
    page = _INDEX.format(
        lang=html.escape(app.config.language or "en"),
        title=html.escape(str(getattr(app.config, "html_title", None) or app.config.project)),
        target=html.escape(target),
        icon=icon,
    )
    out = Path(app.outdir) / "index.html"
    if not out.exists() or out.read_text(encoding="utf-8") != page:
        atomic_write_bytes(out, page.encode("utf-8"))


def _add_static(app: Any) -> None:
    if str(_STATIC) not in app.config.html_static_path:
        app.config.html_static_path.append(str(_STATIC))


def setup(app: Any) -> dict[str, Any]:
    """Sphinx entry point."""
    from . import downloads, search

    search.setup(app)
    downloads.setup(app)
    app.add_js_file(_JS_NAME, priority=200)
    app.add_css_file("ko-embed-lab.css")
    app.connect("builder-inited", _add_static)
    app.connect("build-finished", _copy_js)
    # sphinx-external-toc's index handler runs at the default priority (500).
    app.connect("build-finished", _write_index, priority=400)
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
