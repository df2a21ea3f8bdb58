"""Quiet the Hugging Face libraries while the package calls them on purpose."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

__all__ = ["hf_quiet"]


@contextlib.contextmanager
def hf_quiet(*, verbosity: bool = True, datasets: bool = False) -> Iterator[None]:
    """Switch off transformers' (and optionally datasets') progress bars and warnings, then restore them.

    Used where a bar or warning is noise (the per-tensor "Loading weights" bar in a notebook, a
    token count on purpose longer than the model's window), never to hide an error.

    Args:
        verbosity: Also lower transformers' logging to errors only.
        datasets: Also switch off the ``datasets`` library's progress bars (mteb maps corpora with it).
    """
    from transformers.utils import logging as hf_logging

    level, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    if verbosity:
        hf_logging.set_verbosity_error()
    ds_logging: Any = None
    ds_bars = False
    if datasets:
        try:
            import datasets.utils.logging as ds_module
        except ImportError:  # pragma: no cover - datasets comes with mteb
            pass
        else:
            ds_logging = ds_module
            ds_bars = ds_logging.is_progress_bar_enabled()
            ds_logging.disable_progress_bar()
    try:
        yield
    finally:
        if verbosity:
            hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()
        if ds_logging is not None and ds_bars:
            ds_logging.enable_progress_bar()
