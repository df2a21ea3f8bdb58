"""One rule for cleaning raw text before it is tokenized or embedded."""

from __future__ import annotations

import re

__all__ = ["CONTROL_CHARS", "clean_text", "has_control_chars"]

#: C0 and C1 control characters other than tab, newline and carriage return.
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Vertical tab and form feed are line/page breaks in real files (the konlpy bills hold form feeds).
_BREAKS = str.maketrans({"\x0b": "\n", "\x0c": "\n"})


def has_control_chars(text: str) -> bool:
    """True when ``text`` holds a character that :func:`clean_text` would change."""
    return CONTROL_CHARS.search(text) is not None


def clean_text(text: str) -> str:
    """Replace control characters: vertical tab and form feed by a newline, the others by a space.

    They carry no meaning for a tokenizer and some break it; tab, newline and carriage return are kept.

    Example:
        >>> clean_text("제1조\\x0c제2조\\x00끝")
        '제1조\\n제2조 끝'
    """
    return CONTROL_CHARS.sub(" ", text.translate(_BREAKS))
