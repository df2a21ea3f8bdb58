"""JupyterLab support for the chapters (``make lab``): sources that stay byte-identical on save.

:mod:`.myst_source` holds the pure merge (:func:`keep_source`); :mod:`.contents` the Jupyter
server contents manager that applies it, named in ``.jupyter/jupyter_server_config.py``.
"""

from __future__ import annotations

from .myst_source import cell_keys, keep_source, split_myst

__all__ = ["cell_keys", "keep_source", "split_myst"]
