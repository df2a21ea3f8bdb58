"""Figures of the longdoc chapter."""

from __future__ import annotations

__all__: list[str] = []
