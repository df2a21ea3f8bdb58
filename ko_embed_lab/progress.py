"""Progress bars for the steps that take more than a few seconds, one policy for all.

``KO_EMBED_LAB_PROGRESS`` (:func:`~ko_embed_lab.config.progress_mode`) sets the default: ``auto``
shows a bar only once a step has run for :data:`AUTO_DELAY_S` seconds (so quick calls stay
silent), ``on`` always, ``off`` never (the book build). An explicit ``show=`` wins.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from . import config

__all__ = ["AUTO_DELAY_S", "progress"]

#: In ``auto`` mode a bar appears once its step has run this long.
AUTO_DELAY_S = 2.0


def progress(iterable: Iterable[Any] | None = None, *, show: bool | None = None, **kwargs: Any) -> Any:
    """A ``tqdm.auto`` bar (a widget in a notebook) that follows the progress policy.

    Args:
        iterable: Wrapped like ``tqdm(iterable)``; ``None`` for a manual bar (``total=``, ``update``).
        show: ``True``/``False`` force the bar on or off; ``None`` follows ``KO_EMBED_LAB_PROGRESS``.
        **kwargs: Passed to tqdm (``total``, ``desc``, ``unit``...).

    Example:
        >>> sum(progress(range(3), show=False, desc="sweep"))
        3
    """
    from tqdm.auto import tqdm

    if show is None:
        mode = config.progress_mode()
        kwargs.setdefault("disable", mode == "off")
        kwargs.setdefault("delay", AUTO_DELAY_S if mode == "auto" else 0.0)
    else:
        kwargs.setdefault("disable", not show)
    return tqdm(iterable, **kwargs)
