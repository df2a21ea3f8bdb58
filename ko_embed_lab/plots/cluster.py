"""Figures of the cluster chapter."""

from __future__ import annotations

__all__: list[str] = []
