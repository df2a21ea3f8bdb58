"""The Jupyter server contents manager of ``make lab``: jupytext pairing plus :func:`keep_source`.

Named in ``.jupyter/jupyter_server_config.py``. When a notebook is saved to a MyST ``.md`` file
that exists, the text jupytext wrote is merged into the file on disk first, so that a chapter that
was only run (its outputs go to the paired, git-ignored ``.ipynb``) stays byte-identical.
"""

from __future__ import annotations

import contextvars
from pathlib import Path
from typing import Any

from jupytext.async_contentsmanager import AsyncTextFileContentsManager

from .myst_source import keep_source

__all__ = ["MystContentsManager"]

# True while a notebook (not a text file opened in the editor) is being saved.
_saving_notebook: contextvars.ContextVar[bool] = contextvars.ContextVar("saving_notebook", default=False)


def _keep_myst_hook(model: dict[str, Any], path: str, contents_manager: Any, **kwargs: Any) -> None:
    if not _saving_notebook.get() or model.get("type") != "file" or not path.endswith(".md"):
        return
    os_path = Path(contents_manager._get_os_path(path))
    if os_path.is_file() and isinstance(model.get("content"), str):
        model["content"] = keep_source(os_path.read_text(encoding="utf-8"), model["content"])


class MystContentsManager(AsyncTextFileContentsManager):
    """jupytext's contents manager, saving MyST chapters with the fewest changed lines."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.register_pre_save_hook(_keep_myst_hook)

    async def save(self, model: dict[str, Any], path: str = "") -> Any:
        token = _saving_notebook.set(model.get("type") == "notebook")
        try:
            return await super().save(model, path)
        finally:
            _saving_notebook.reset(token)
