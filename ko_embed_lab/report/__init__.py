"""Narrative helpers for the book: sentences and tables computed from results, never typed.

A sentence that draws a conclusion is code: each chapter's conclusions are chosen by the tested
functions of its module here (:mod:`.prompt`, :mod:`.cluster`, :mod:`.longdoc` and :mod:`.latechunk`, :mod:`.benchmark`, :mod:`.scale`)
from the numbers of the run, so a hidden cell in a chapter is at most a one-line call.
"""

from __future__ import annotations

from . import benchmark, cluster, compress, latechunk, longdoc, prompt, scale
from ._core import (
    Note,
    ci_sentence,
    environment_table,
    fmt,
    md,
    model_note,
    probe_size_sentence,
    signed,
    smoke_banner,
)

__all__ = [
    "Note",
    "benchmark",
    "ci_sentence",
    "cluster",
    "compress",
    "environment_table",
    "fmt",
    "latechunk",
    "longdoc",
    "md",
    "model_note",
    "probe_size_sentence",
    "prompt",
    "scale",
    "signed",
    "smoke_banner",
]
