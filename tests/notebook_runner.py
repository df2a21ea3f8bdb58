"""Execute a MyST-markdown notebook with nbclient (nbmake only collects .ipynb)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

#: The jupytext header every chapter source starts with (MyST markdown, Python 3 kernel).
MYST_HEADER = """\
---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
    format_version: 0.13
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
"""


def run_notebook(path: Path, *, timeout: int = 900, env: dict[str, str] | None = None):
    import jupytext
    from nbclient import NotebookClient

    nb = jupytext.read(path)
    old = dict(os.environ)
    # Progress bars would land in the outputs as widgets, as in the book build: off unless asked for.
    os.environ.update({"KO_EMBED_LAB_PROGRESS": "off", **(env or {})})
    try:
        client = NotebookClient(
            nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
        )
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(old)
    return nb


#: Debian chromium, offline: no background networking, no component updates, a fresh profile per run.
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
