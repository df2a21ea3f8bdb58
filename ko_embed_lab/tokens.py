"""Token utilities with the model's own tokenizer: counting, truncating, windowing.

All functions accept an :class:`~ko_embed_lab.models.EmbeddingModel` or a Hugging Face fast
tokenizer. Counts include the special tokens (``<s>`` and ``</s>``) unless stated otherwise, so
that they compare directly with a model's ``max_seq_length``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ._hf import hf_quiet

__all__ = [
    "Window",
    "count_tokens",
    "special_token_count",
    "split_windows",
    "truncate_text",
    "windows_from_offsets",
]


@dataclass(frozen=True)
class Window:
    """A window of a text.

    Attributes:
        text: The window's text (a slice of the original).
        start: Character offset of the window in the original text.
        end: Character offset one past its end.
        token_start: Index of its first content token in the whole text.
        token_end: One past its last content token.
    """

    text: str
    start: int
    end: int
    token_start: int
    token_end: int


def _tokenizer(model_or_tokenizer: Any) -> Any:
    tok = getattr(model_or_tokenizer, "tokenizer", model_or_tokenizer)
    if not getattr(tok, "is_fast", False):
        raise TypeError("a fast (Rust) tokenizer is needed for character offsets; pass a model or a fast tokenizer")
    return tok


def special_token_count(model_or_tokenizer: Any) -> int:
    """How many special tokens the tokenizer adds to one text (2 for XLM-R: ``<s>`` ``</s>``)."""
    tok = _tokenizer(model_or_tokenizer)
    return len(tok("", add_special_tokens=True)["input_ids"]) - len(tok("", add_special_tokens=False)["input_ids"])


def count_tokens(
    model_or_tokenizer: Any, texts: str | Sequence[str], *, special_tokens: bool = True, prompt: str = ""
) -> int | list[int]:
    """Count tokens of one text or each of many, without truncation.

    Example:
        >>> count_tokens(model, "대한민국의 수도는 서울이다.")
        9
    """
    tok = _tokenizer(model_or_tokenizer)
    single = isinstance(texts, str)
    items: list[str] = [texts] if isinstance(texts, str) else list(texts)
    if any(not isinstance(t, str) for t in items):
        raise TypeError("count_tokens takes a str or a list of str")
    if not items:
        return []
    with hf_quiet():  # counting a text longer than the model's window is the point, not a mistake
        enc = tok(
            [prompt + t for t in items],
            add_special_tokens=special_tokens,
            truncation=False,
            return_attention_mask=False,
            return_token_type_ids=False,
        )
    counts = [len(ids) for ids in enc["input_ids"]]
    return counts[0] if single else counts


def _offsets(tok: Any, text: str) -> list[tuple[int, int]]:
    with hf_quiet():  # windows over a long text: its length past the model's window is expected
        enc = tok(
            text,
            add_special_tokens=False,
            truncation=False,
            return_offsets_mapping=True,
            return_attention_mask=False,
            return_token_type_ids=False,
        )
    return [tuple(o) for o in enc["offset_mapping"]]


def truncate_text(model_or_tokenizer: Any, text: str, max_tokens: int, *, special_tokens: bool = True) -> str:
    """Cut ``text`` so that it encodes to at most ``max_tokens`` tokens.

    The cut is made in the original string at the end offset of the last kept token, so nothing
    is lost to decoding. With ``special_tokens=True`` the budget includes ``<s>``/``</s>``.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    tok = _tokenizer(model_or_tokenizer)
    budget = max_tokens - (special_token_count(tok) if special_tokens else 0)
    if budget < 0:
        raise ValueError(f"max_tokens={max_tokens} leaves no room for content tokens")
    offsets = _offsets(tok, text)
    if len(offsets) <= budget:
        return text
    return text[: offsets[budget - 1][1]] if budget > 0 else ""


def split_windows(model_or_tokenizer: Any, text: str, window: int, overlap: int = 0) -> list[Window]:
    """Split a text into windows of ``window`` content tokens that overlap by ``overlap`` tokens.

    ``window`` counts content tokens only: for a model whose ``max_seq_length`` is 512 and whose
    tokenizer adds 2 special tokens, ``window=510`` fills the model exactly. Every token of the
    text lies in at least one window; the last window may be shorter.

    Example:
        >>> [w.text for w in split_windows(model, "가 나 다 라 마", window=2, overlap=1)][:2]
        ['가 나', ' 나 다']
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if window < 1:
        raise ValueError(f"window={window} must be at least 1 token")
    if not 0 <= overlap < window:
        raise ValueError(f"overlap={overlap} must be between 0 and window-1 ({window - 1})")
    if not text:
        return []
    return windows_from_offsets(text, _offsets(_tokenizer(model_or_tokenizer), text), window, overlap)


def windows_from_offsets(text: str, offsets: Sequence[tuple[int, int]], window: int, overlap: int) -> list[Window]:
    """The windowing rule of :func:`split_windows` on precomputed token offsets (for batch use).

    The first window starts at character 0 and the last ends at the end of the text, so leading
    and trailing characters that no token covers are kept; a text without tokens gives one window.
    """
    if not offsets:
        return [Window(text, 0, len(text), 0, 0)]
    step = window - overlap
    out: list[Window] = []
    start_tok = 0
    while True:
        end_tok = min(start_tok + window, len(offsets))
        start_char = offsets[start_tok][0] if start_tok else 0
        end_char = offsets[end_tok - 1][1] if end_tok < len(offsets) else len(text)
        out.append(Window(text[start_char:end_char], start_char, end_char, start_tok, end_tok))
        if end_tok >= len(offsets):
            return out
        start_tok += step
