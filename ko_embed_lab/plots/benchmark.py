"""Figures of the benchmark chapter."""

from __future__ import annotations

__all__: list[str] = []
