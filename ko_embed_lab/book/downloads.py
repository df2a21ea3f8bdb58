"""Offer each chapter as an ``.ipynb`` in the book's download menu.

The chapters are MyST-markdown notebooks; sphinx-book-theme's download menu offers the source
(``.md``, which a browser opens as text) and ``.pdf``, and an ``.ipynb`` entry only when the page
context names one (``ipynb_source``). For every page whose document name matches
``ko_embed_lab_ipynb_pages`` (default: the chapters, ``notebooks/*``), this extension writes the
page's source as a clean notebook (``jupytext``: no outputs, so a student runs it) to
``_sources/<docname>.ipynb`` and names it in the context, so the menu gains an ``.ipynb`` link that
JupyterLab and Colab open directly.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any

__all__ = ["setup", "write_ipynb"]


def write_ipynb(source: Path, target: Path) -> Path:
    """Write the MyST notebook ``source`` as an ``.ipynb`` without outputs at ``target``."""
    import jupytext

    nb = jupytext.read(source)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    target.parent.mkdir(parents=True, exist_ok=True)
    jupytext.write(nb, target, fmt="ipynb")
    return target


def _is_notebook(path: Path) -> bool:
    with path.open(encoding="utf-8") as fh:
        head = fh.read(200)
    return path.suffix == ".ipynb" or head.startswith("---\njupytext:")


def _offer_ipynb(app: Any, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    if app.builder.format != "html" or doctree is None:
        return
    if not any(fnmatch.fnmatch(pagename, pat) for pat in app.config.ko_embed_lab_ipynb_pages):
        return
    source = Path(app.env.doc2path(pagename))
    if not source.exists() or not _is_notebook(source):
        return
    name = f"{pagename}.ipynb"
    write_ipynb(source, Path(app.outdir) / "_sources" / name)
    context["ipynb_source"] = name


def setup(app: Any) -> dict[str, Any]:
    """Sphinx entry point (``ko_embed_lab.book`` calls it)."""
    app.add_config_value("ko_embed_lab_ipynb_pages", ["notebooks/*"], "html")
    # Before sphinx-book-theme builds the header buttons (its handler runs at priority 501).
    app.connect("html-page-context", _offer_ipynb, priority=400)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
