"""Tested summaries of the prompt chapter: the sentences that draw its conclusions, chosen from the run's numbers."""

from __future__ import annotations

__all__: list[str] = []
