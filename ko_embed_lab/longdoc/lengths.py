"""Tokens and characters: the model's own token counts, its content window, Hangul coverage.

Token counts use a private copy of the model's Rust tokenizer (no truncation, no padding), so that
texts longer than the window on purpose are counted whole; "content tokens" exclude ``<s>``/``</s>``.
The private helpers here (``_encode_many``, ``_token_at``...) are shared by the other modules of
:mod:`ko_embed_lab.longdoc`.
"""

from __future__ import annotations

import bisect
import contextlib
import math
import re
import weakref
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..text import clean_text
from ..tokens import special_token_count

if TYPE_CHECKING:
    import pandas as pd

    from ..models import EmbeddingModel

__all__ = [
    "HANGUL_SYLLABLES",
    "LENGTHS",
    "HangulCoverage",
    "chars_for_tokens",
    "content_window",
    "default_chunk_tokens",
    "grid_lengths",
    "hangul_coverage",
    "length_stats",
    "prompt_token_count",
    "reliable_length",
    "syllable_usage",
]

#: Document lengths (tokens, special tokens included) of the needle tests.
LENGTHS = (256, 512, 1024, 1300, 2048, 4096, 8192)
#: Number of precomposed Hangul syllables, U+AC00 가 to U+D7A3 힣.
HANGUL_SYLLABLES = 11172
_HANGUL_FIRST = 0xAC00


# --------------------------------------------------------------------------------------------
# Tokenizer access
# --------------------------------------------------------------------------------------------


_BACKENDS: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def _hf_tokenizer(model_or_tokenizer: Any) -> Any:
    tok = getattr(model_or_tokenizer, "tokenizer", model_or_tokenizer)
    if not getattr(tok, "is_fast", False) or not hasattr(tok, "backend_tokenizer"):
        raise TypeError("a fast (Rust) tokenizer is needed; pass a loaded model or a Hugging Face fast tokenizer")
    return tok


def _backend(model_or_tokenizer: Any) -> Any:
    """A private copy of the Rust tokenizer with truncation and padding off.

    The Hugging Face wrapper switches truncation on and off on its shared backend at every call;
    a copy is immune to that, is fast on long texts, and does not log "sequence longer than the
    maximum" warnings for texts that are long on purpose.
    """
    tok = _hf_tokenizer(model_or_tokenizer)
    try:
        return _BACKENDS[tok]
    except (KeyError, TypeError):
        pass
    from tokenizers import Tokenizer

    backend = Tokenizer.from_str(tok.backend_tokenizer.to_str())
    backend.no_truncation()
    backend.no_padding()
    with contextlib.suppress(TypeError):  # tokenizers that cannot be weakly referenced are not memoised
        _BACKENDS[tok] = backend
    return backend


def _encode_many(model_or_tokenizer: Any, texts: Sequence[str]) -> list[Any]:
    if not texts:
        return []
    return list(_backend(model_or_tokenizer).encode_batch(list(texts), add_special_tokens=False))


def _content_lengths(model_or_tokenizer: Any, texts: Sequence[str]) -> list[int]:
    return [len(e.ids) for e in _encode_many(model_or_tokenizer, texts)]


def _token_at(offsets: Sequence[tuple[int, int]], char: int) -> int:
    """Index of the first token that ends after ``char`` (``len(offsets)`` if none)."""
    ends = [o[1] for o in offsets]
    return bisect.bisect_right(ends, char)


def prompt_token_count(model_or_tokenizer: Any, prompt: str) -> int:
    """How many tokens a prompt adds in front of a text (``"passage: "`` → 2 for XLM-R).

    Example:
        >>> prompt_token_count(model, "passage: ")
        2
    """
    if not prompt:
        return 0
    with_prompt, alone = _content_lengths(model_or_tokenizer, [prompt + "가", "가"])
    return with_prompt - alone


def content_window(model: EmbeddingModel, *, kind: str = "document", max_tokens: int | None = None) -> int:
    """Content tokens of one text that fit in the model's window, after special tokens and prompt.

    Args:
        model: A loaded model.
        kind: ``"document"`` or ``"query"`` (whose prompt is counted).
        max_tokens: Window to fill, special tokens included (default: ``model.max_seq_length``).

    Example:
        >>> content_window(model)  # 512 − <s> − </s> − "passage: "
        508
    """
    if kind not in ("document", "query"):
        raise ValueError(f"kind={kind!r}: use 'document' or 'query'")
    prompt = model.document_prompt if kind == "document" else model.query_prompt
    limit = model.max_seq_length if max_tokens is None else int(max_tokens)
    out = limit - special_token_count(model.tokenizer) - prompt_token_count(model, prompt)
    if out < 1:
        raise ValueError(f"a window of {limit} tokens leaves no room for text after the special tokens and prompt")
    return out


def reliable_length(model: EmbeddingModel) -> int:
    """Longest input the model was trained on and accepts: ``min(max_seq_length, train_max_length)``.

    For the target model this is 1,300 (its fine-tuning length); for a model whose registry entry
    records no training length it is ``max_seq_length``.

    Example:
        >>> reliable_length(model)  # bundled default: no recorded training length, window 512
        512
    """
    trained = getattr(model.spec, "train_max_length", None) if model.spec is not None else None
    return min(model.max_seq_length, int(trained)) if trained else model.max_seq_length


def default_chunk_tokens(model: EmbeddingModel) -> int:
    """Chunk size (content tokens) that fills the model's reliable length exactly, prompt included.

    Example:
        >>> default_chunk_tokens(model)  # 512 − 2 special tokens − 2 prompt tokens
        508
    """
    return content_window(model, max_tokens=reliable_length(model))


def grid_lengths(model: EmbeddingModel, *, up_to: int = 4096, lengths: Sequence[int] = LENGTHS) -> list[int]:
    """Haystack lengths to test for a model: the standard ones up to ``up_to``, its window and trained length.

    Lengths beyond the model's window stay in the grid on purpose: the chunk strategies and BM25 see
    the whole document while the truncated one does not. Nothing exceeds 8,192 (the target's limit).

    Example:
        >>> grid_lengths(model, up_to=4096)  # bundled default, window 512
        [256, 512, 1024, 2048, 4096]
    """
    cap = min(int(up_to), 8192)
    keep = {n for n in lengths if n <= cap and (n != 1300 or reliable_length(model) == 1300)}
    keep |= {n for n in (model.max_seq_length, reliable_length(model)) if n <= cap}
    return sorted(keep)


# --------------------------------------------------------------------------------------------
# Token statistics and Hangul coverage
# --------------------------------------------------------------------------------------------


def _as_items(texts: Sequence[str] | Mapping[str, str]) -> tuple[list[str], list[str]]:
    if isinstance(texts, str):
        raise TypeError("pass a list of texts or a {id: text} mapping, not a single str")
    if isinstance(texts, Mapping):
        return [str(k) for k in texts], [str(v) for v in texts.values()]
    items = list(texts)
    return [str(i) for i in range(len(items))], items


def _is_hangul(ch: str) -> bool:
    return _HANGUL_FIRST <= ord(ch) < _HANGUL_FIRST + HANGUL_SYLLABLES


def length_stats(model_or_tokenizer: Any, texts: Sequence[str] | Mapping[str, str]) -> pd.DataFrame:
    """Characters and tokens of each text, with the model's tokenizer.

    Columns: ``chars``, ``chars_no_space``, ``tokens`` (content tokens, no special tokens),
    ``chars_per_token``, ``hangul_share`` (share of non-space characters that are Hangul
    syllables) and ``unk_tokens`` (tokens that came out as ``<unk>``).

    Example:
        >>> length_stats(model, {"a": "대한민국의 수도는 서울이다."})[["chars", "tokens"]].iloc[0].tolist()
        [15, 7]
    """
    import pandas as pd

    ids, items = _as_items(texts)
    unk = _hf_tokenizer(model_or_tokenizer).unk_token_id
    rows = []
    for text, enc in zip(items, _encode_many(model_or_tokenizer, [clean_text(t) for t in items]), strict=True):
        no_space = re.sub(r"\s+", "", text)
        n_tok = len(enc.ids)
        rows.append(
            {
                "chars": len(text),
                "chars_no_space": len(no_space),
                "tokens": n_tok,
                "chars_per_token": len(text) / n_tok if n_tok else math.nan,
                "hangul_share": sum(map(_is_hangul, no_space)) / len(no_space) if no_space else math.nan,
                "unk_tokens": sum(1 for i in enc.ids if i == unk),
            }
        )
    return pd.DataFrame(rows, index=pd.Index(ids, name="id"))


def chars_for_tokens(stats: pd.DataFrame, tokens: int, *, column: str = "chars") -> float:
    """Characters that ``tokens`` tokens cover on these texts (ratio of totals, not a mean of ratios).

    Example:
        >>> round(chars_for_tokens(length_stats(model, docs), 1300))  # doctest: +SKIP
        2533
    """
    if tokens < 1:
        raise ValueError("tokens must be positive")
    total_tokens = float(stats["tokens"].sum())
    if total_tokens <= 0:
        raise ValueError("the texts hold no tokens")
    return tokens * float(stats[column].sum()) / total_tokens


@dataclass(frozen=True)
class HangulCoverage:
    """Which of the 11,172 Hangul syllables a tokenizer can only write as ``<unk>``.

    Attributes:
        unknown: The syllables that encode to the unknown token, in code-point order.
        tokenizer: Name of the tokenizer checked.
    """

    unknown: tuple[str, ...]
    tokenizer: str = ""

    @property
    def n_unknown(self) -> int:
        """Number of syllables the vocabulary cannot represent."""
        return len(self.unknown)

    @property
    def n_known(self) -> int:
        """Number of syllables the vocabulary represents."""
        return HANGUL_SYLLABLES - len(self.unknown)

    @property
    def share_unknown(self) -> float:
        """Share of the 11,172 syllables that become ``<unk>``."""
        return len(self.unknown) / HANGUL_SYLLABLES

    def is_known(self, syllable: str) -> bool:
        """Whether a syllable has a piece of its own in the vocabulary."""
        if len(syllable) != 1 or not _is_hangul(syllable):
            raise ValueError(f"{syllable!r} is not one precomposed Hangul syllable (U+AC00–U+D7A3)")
        return syllable not in set(self.unknown)


def hangul_coverage(model_or_tokenizer: Any) -> HangulCoverage:
    """Find the Hangul syllables that the tokenizer turns into ``<unk>`` (each tokenized alone).

    XLM-R's SentencePiece vocabulary (shared by e5, bge-m3 and the arctic models) has no byte
    fallback: a character without a piece of its own becomes ``<unk>`` and its identity is lost.

    Example:
        >>> cov = hangul_coverage(model)
        >>> cov.is_known("가"), cov.is_known("갂")
        (True, False)
    """
    tok = _hf_tokenizer(model_or_tokenizer)
    unk = tok.unk_token_id
    if unk is None:
        raise ValueError("this tokenizer has no unknown token, so every syllable is representable")
    syllables = [chr(_HANGUL_FIRST + i) for i in range(HANGUL_SYLLABLES)]
    unknown = tuple(s for s, e in zip(syllables, _encode_many(tok, syllables), strict=True) if unk in e.ids)
    return HangulCoverage(unknown=unknown, tokenizer=str(getattr(tok, "name_or_path", type(tok).__name__)))


def syllable_usage(
    coverage: HangulCoverage, texts: Sequence[str] | Mapping[str, str], *, top: int = 20
) -> dict[str, Any]:
    """How often real text uses syllables that the vocabulary cannot represent.

    Returns:
        ``{"hangul": occurrences of Hangul syllables, "unknown": occurrences of unknown ones,
        "share_unknown": their share, "distinct": distinct syllables used, "distinct_unknown",
        "known_in_top": how many of the ``top`` most frequent syllables are known,
        "top_unknown": [(syllable, count), ...] most frequent unknown syllables}``.

    Example:
        >>> syllable_usage(cov, ["갂갂 가"])["unknown"]  # doctest: +SKIP
        2
    """
    _, items = _as_items(texts)
    counts: Counter[str] = Counter(ch for t in items for ch in t if _is_hangul(ch))
    unknown = set(coverage.unknown)
    unk_counts = Counter({s: c for s, c in counts.items() if s in unknown})
    total = sum(counts.values())
    n_unk = sum(unk_counts.values())
    return {
        "hangul": total,
        "unknown": n_unk,
        "share_unknown": n_unk / total if total else math.nan,
        "distinct": len(counts),
        "distinct_unknown": len(unk_counts),
        "known_in_top": sum(1 for s, _ in counts.most_common(top) if s not in unknown),
        "top": top,
        "top_unknown": unk_counts.most_common(top),
    }
