"""JupyterLab settings for the chapters: ``make lab`` and ``make lab-test`` pass this file.

The server serves ``notebooks/`` on 127.0.0.1 only; a chapter (MyST ``.md``) opens as a notebook
on double-click (``lab/settings/overrides.json``), is paired with a git-ignored ``.ipynb`` that
keeps its outputs (``notebooks/jupytext.toml``), and saving leaves the ``.md`` byte-identical
unless a cell was edited (:mod:`ko_embed_lab.lab.contents`).
"""

import os
from pathlib import Path

HERE = Path(__file__).resolve().parent
c = get_config()  # type: ignore[name-defined]  # noqa: F821  (provided by the config loader)

c.ServerApp.ip = "127.0.0.1"
c.ServerApp.root_dir = str(HERE.parent / "notebooks")
# Containers and many lab machines run as root; JupyterLab refuses it unless told.
c.ServerApp.allow_root = hasattr(os, "getuid") and os.getuid() == 0
c.ServerApp.contents_manager_class = "ko_embed_lab.lab.contents.MystContentsManager"
c.LabApp.app_settings_dir = str(HERE / "lab" / "settings")
# Nothing leaves the machine: no news feed, no update check.
c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"
