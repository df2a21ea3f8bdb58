"""Long documents: token statistics, needle-in-a-haystack sets, long-document scoring and cost per length.

The target model (``dragonkue/snowflake-arctic-embed-l-v2.0-ko``) accepts 8,192 tokens but was
fine-tuned on at most 1,300; the embedded default accepts 512. What happens to a document longer
than that depends on how it is scored. This module measures it:

* **Tokens and characters** — :func:`length_stats`, :func:`chars_for_tokens` (the card's
  "1,300 tokens ≈ 2,500 characters"), :func:`hangul_coverage` / :func:`syllable_usage` (Hangul
  syllables that the XLM-R vocabulary can only write as ``<unk>``, and how often real text uses them).
* **Haystacks** — :func:`build_haystack` places a relevant passage (the *needle*) at a relative
  position inside filler text, to a target length in tokens, in the spirit of LongEmbed's needle
  tests; :func:`needle_sets` builds whole retrieval sets from KoProbe needs (one haystack per need,
  plus distractor haystacks of the same length that hold no needle).
* **Strategies** — :class:`LongDocScorer` scores long documents five ways: the whole document
  truncated at the model's window (``truncate``), chunks of N tokens scored by their best chunk
  (``chunk-max``) or by the mean of their embeddings (``chunk-mean``), BM25 over Korean morphemes
  (``bm25``), and reciprocal-rank fusion of a dense run with BM25 (``fusion``, via ranx).
* **Cost** — :func:`measure_cost`: time and peak memory per document at each length.

Token counts use the model's own tokenizer; "content tokens" exclude ``<s>``/``</s>``.
"""

from __future__ import annotations

import bisect
import contextlib
import copy
import logging
import math
import re
import threading
import time
import warnings
import weakref
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .data.beir import RetrievalSet, doc_text
from .provenance import provenance
from .retrieval import RetrievalResult, run_from_matrix, score_run
from .text import clean_text
from .tokens import Window, special_token_count, windows_from_offsets
from .types import encoder_identity

if TYPE_CHECKING:
    import pandas as pd

    from .cache import EmbeddingCache
    from .data.probe import Probe
    from .models import EmbeddingModel

__all__ = [
    "HANGUL_SYLLABLES",
    "LENGTHS",
    "POSITIONS",
    "STRATEGIES",
    "STRATEGY_LABELS",
    "HangulCoverage",
    "Haystack",
    "LongDocScorer",
    "Needle",
    "NeedleSet",
    "build_haystack",
    "chars_for_tokens",
    "chunk_scores",
    "chunk_texts",
    "content_window",
    "default_chunk_tokens",
    "evidence_ranks",
    "grid_lengths",
    "hangul_coverage",
    "length_regime",
    "length_stats",
    "locate",
    "measure_cost",
    "needle_grid",
    "needle_sets",
    "pick_needles",
    "prompt_token_count",
    "regime_summary",
    "reliable_length",
    "score_strategies",
    "syllable_usage",
]

logger = logging.getLogger(__name__)

#: Document lengths (tokens, special tokens included) of the needle tests.
LENGTHS = (256, 512, 1024, 1300, 2048, 4096, 8192)
#: Relative needle positions: start, quarter, middle, three quarters, end.
POSITIONS = (0.0, 0.25, 0.5, 0.75, 1.0)
#: Long-document scoring strategies, in display order.
STRATEGIES = ("truncate", "chunk-max", "chunk-mean", "bm25", "fusion")
#: Human labels of the strategies (figures and tables).
STRATEGY_LABELS = {
    "truncate": "whole document (truncated)",
    "chunk-max": "chunks: best chunk",
    "chunk-mean": "chunks: mean embedding",
    "bm25": "BM25 (morphemes)",
    "fusion": "RRF: best chunk + BM25",
}
#: Number of precomposed Hangul syllables, U+AC00 가 to U+D7A3 힣.
HANGUL_SYLLABLES = 11172
_HANGUL_FIRST = 0xAC00

# Places where a needle may be inserted inside a filler unit: after a sentence end or a line break.
_SENTENCE_END = re.compile(r"(?<=[.!?。])\s+|\n+")


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


# --------------------------------------------------------------------------------------------
# Haystacks
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Haystack:
    """A long document built from filler text, with or without a needle.

    Attributes:
        id: Document id.
        text: The document.
        n_tokens: Its length in tokens, special tokens included.
        length: The length that was asked for.
        position: The relative needle position asked for (``None`` for a distractor).
        needle_id: Id of the needle passage (``None`` for a distractor).
        needle_chars: ``(start, end)`` character span of the needle in ``text``.
        needle_tokens: ``(start, end)`` content-token span of the needle (``end`` exclusive).
        filler_ids: Ids of the filler units used, in document order (the last may be cut).
        n_special: Special tokens the tokenizer adds (2 for XLM-R).
    """

    id: str
    text: str
    n_tokens: int
    length: int
    position: float | None = None
    needle_id: str | None = None
    needle_chars: tuple[int, int] | None = None
    needle_tokens: tuple[int, int] | None = None
    filler_ids: tuple[str, ...] = ()
    n_special: int = 2

    @property
    def needle_position(self) -> float | None:
        """Where the needle actually sits: filler tokens before it / all filler tokens (0 = start, 1 = end)."""
        if self.needle_tokens is None:
            return None
        filler = self.n_tokens - self.n_special - (self.needle_tokens[1] - self.needle_tokens[0])
        return self.needle_tokens[0] / filler if filler > 0 else 0.0

    def needle_visible(self, content_tokens: int) -> bool:
        """True when the whole needle lies within the first ``content_tokens`` content tokens."""
        return self.needle_tokens is not None and self.needle_tokens[1] <= content_tokens


def _token_at(offsets: Sequence[tuple[int, int]], char: int) -> int:
    """Index of the first token that ends after ``char`` (``len(offsets)`` if none)."""
    ends = [o[1] for o in offsets]
    return bisect.bisect_right(ends, char)


def _join(parts: Sequence[str], sep: str) -> str:
    return sep.join(p for p in parts if p)


def build_haystack(
    model_or_tokenizer: Any,
    needle: str | None,
    fillers: Sequence[str] | Mapping[str, str],
    length: int,
    position: float = 0.5,
    *,
    seed: int | None = None,
    doc_id: str = "haystack",
    needle_id: str | None = None,
    sep: str = "\n\n",
) -> Haystack:
    """Place a needle inside filler text so that the document has ``length`` tokens.

    The filler units are taken in order (shuffled first when ``seed`` is given) until the budget is
    filled; the last unit is cut at a token boundary. The needle goes in at a filler boundary (a
    unit start, sentence end or line break) nearest to ``position`` × the filler's token count: 0
    puts it first, 1 last. Without a needle the result is a *distractor* of the same length.

    Args:
        model_or_tokenizer: The model (or fast tokenizer) whose tokens are counted.
        needle: The relevant passage, or ``None`` for a distractor.
        fillers: Filler units (texts, or ``{id: text}``), unrelated to the needle.
        length: Target length in tokens, special tokens included.
        position: Relative position of the needle, from 0 (start) to 1 (end).
        seed: Shuffle the fillers with this seed first (``None`` keeps their order).
        doc_id: Id of the document.
        needle_id: Id of the needle passage (recorded).
        sep: Separator between units.

    Returns:
        A :class:`Haystack`; its ``n_tokens`` is within a few tokens of ``length`` and never above.

    Raises:
        ValueError: ``position`` outside [0, 1], a length too short for the needle, or too little filler.

    Example:
        >>> h = build_haystack(model, "서울은 대한민국의 수도이다.", corpus_texts, 1024, 1.0, seed=0)
        >>> h.n_tokens, round(h.needle_position, 2)
        (1024, 1.0)
    """
    if not 0.0 <= float(position) <= 1.0:
        raise ValueError(f"position={position} must be between 0 (start) and 1 (end)")
    n_special = special_token_count(_hf_tokenizer(model_or_tokenizer))
    budget = int(length) - n_special
    unit_ids, units = _as_items(fillers)
    pairs = [(i, clean_text(u).strip()) for i, u in zip(unit_ids, units, strict=True)]
    pairs = [(i, u) for i, u in pairs if u]
    if seed is not None:
        order = np.random.default_rng(seed).permutation(len(pairs))
        pairs = [pairs[j] for j in order]
    needle_text = clean_text(needle).strip() if needle is not None else ""
    if needle is not None and not needle_text:
        raise ValueError("the needle is empty; pass its text, or needle=None for a distractor")
    n_needle = _content_lengths(model_or_tokenizer, [needle_text])[0] if needle_text else 0
    if n_needle >= budget:
        raise ValueError(
            f"length={length} tokens cannot hold the needle ({n_needle} tokens + {n_special} special tokens); "
            f"use a length of at least {n_needle + n_special + 1}"
        )
    want = budget - n_needle
    # Take whole units until the filler budget is covered (with a margin for separators); units are
    # tokenized a batch at a time, so that a large pool costs no more than what is used.
    used: list[tuple[str, str]] = []
    total = 0
    for b in range(0, len(pairs), 16):
        if total >= want + 8:
            break
        batch = pairs[b : b + 16]
        for (uid, unit), n in zip(batch, _content_lengths(model_or_tokenizer, [u for _, u in batch]), strict=True):
            if total >= want + 8:
                break
            used.append((uid, unit))
            total += n
    if total < want:
        raise ValueError(
            f"the filler holds only {total} tokens but a haystack of {length} tokens needs about {want}; pass more filler texts"
        )
    stream = sep.join(u for _, u in used)
    unit_starts = []
    pos = 0
    for _, u in used:
        unit_starts.append(pos)
        pos += len(u) + len(sep)
    cuts = sorted(set(unit_starts) | {m.end() for m in _SENTENCE_END.finditer(stream)})
    stream_offsets = [tuple(o) for o in _backend(model_or_tokenizer).encode(stream, add_special_tokens=False).offsets]

    n_filler = want
    best: tuple[int, str, int, int] | None = None
    for _ in range(8):
        n_filler = max(0, min(n_filler, len(stream_offsets)))
        filler = stream[: stream_offsets[n_filler - 1][1]] if n_filler > 0 else ""
        if needle_text:
            target_tok = round(float(position) * n_filler)
            candidates = [c for c in cuts if c <= len(filler)] + [len(filler)]
            split = min(candidates, key=lambda c: (abs(_token_at(stream_offsets, c) - target_tok), c))
            head, tail = filler[:split].rstrip(), filler[split:].lstrip()
            text = _join([head, needle_text, tail], sep)
            start = len(head) + (len(sep) if head else 0)
        else:
            text, start = filler, 0
        n_total = len(_encode_many(model_or_tokenizer, [text])[0].ids) + n_special
        if n_total <= length and (best is None or n_total > best[0]):
            best = (n_total, text, start, n_filler)
        if n_total == length or (n_total < length and n_filler >= len(stream_offsets)):
            break
        n_filler += length - n_total
    if best is None:  # pragma: no cover - the loop always finds a fitting text for sane inputs
        raise RuntimeError(f"could not fit a haystack into {length} tokens")
    n_total, text, start, n_filler = best
    needle_chars = needle_tokens = None
    if needle_text:
        end = start + len(needle_text)
        final = [tuple(o) for o in _backend(model_or_tokenizer).encode(text, add_special_tokens=False).offsets]
        needle_chars = (start, end)
        needle_tokens = (_token_at(final, start), _token_at(final, end - 1) + 1)
    filler_chars = len(text) - (len(needle_text) + len(sep) if needle_text else 0)
    n_units = sum(1 for s in unit_starts if s < filler_chars)
    return Haystack(
        id=doc_id,
        text=text,
        n_tokens=n_total,
        length=int(length),
        position=float(position) if needle_text else None,
        needle_id=needle_id if needle_text else None,
        needle_chars=needle_chars,
        needle_tokens=needle_tokens,
        filler_ids=tuple(uid for uid, _ in used[:n_units]),
        n_special=n_special,
    )


@dataclass(frozen=True)
class Needle:
    """A KoProbe need used as a needle: its query and its grade-2 passage."""

    need_id: str
    query_id: str
    query: str
    passage_id: str
    passage: str
    domain: str


def pick_needles(probe: Probe, n: int, *, form: str = "question", seed: int = 0) -> list[Needle]:
    """Choose ``n`` needs of KoProbe, spread over its domains, with their query of one form.

    Example:
        >>> [n.need_id for n in pick_needles(load_probe(), 2, seed=0)]  # doctest: +SKIP
        ['commerce-n09', 'tech-n09']
    """
    if n < 1:
        raise ValueError("n must be at least 1")
    forms = set(probe.queries["form"])
    if form not in forms:
        raise ValueError(f"form={form!r} is not a KoProbe query form; use one of {sorted(forms)}")
    chosen = list(probe.sample(n, seed=seed).needs.index)
    out = []
    for need_id in chosen:
        rel = probe.needs.loc[need_id, "relevant"]
        passage_id = max(rel, key=lambda p: (rel[p], p))
        q = probe.queries[(probe.queries["need_id"] == need_id) & (probe.queries["form"] == form)]
        if q.empty:
            continue
        out.append(
            Needle(
                need_id=need_id,
                query_id=str(q.index[0]),
                query=str(q["text"].iloc[0]),
                passage_id=passage_id,
                passage=doc_text(probe.data.corpus[passage_id]),
                domain=str(probe.needs.loc[need_id, "domain"]),
            )
        )
    return out


@dataclass
class NeedleSet:
    """One cell of the needle grid: a retrieval set of haystacks at one length and position.

    Attributes:
        length: Document length in tokens.
        position: Relative needle position.
        data: Queries (one per needle), corpus (needle haystacks and distractors), qrels.
        haystacks: ``{doc_id: Haystack}``.
        needles: ``{query_id: Needle}``.
    """

    length: int
    position: float
    data: RetrievalSet
    haystacks: dict[str, Haystack]
    needles: dict[str, Needle] = field(default_factory=dict)


def _konlpy_units(max_chars: int = 400) -> dict[str, str]:
    """Paragraphs of the konlpy texts, merged in reading order into units of up to ~``max_chars``."""
    from .data.korean_long import load_long_korean

    units: dict[str, str] = {}
    for doc in load_long_korean():
        buf: list[str] = []
        for para in clean_text(doc.text).split("\n\n"):
            para = para.strip()
            if not para:
                continue
            buf.append(para)
            if sum(map(len, buf)) >= max_chars:
                units[f"{doc.id}#{len(units)}"] = "\n".join(buf)
                buf = []
        if buf:
            units[f"{doc.id}#{len(units)}"] = "\n".join(buf)
    return units


def _rotate(units: dict[str, str], seed: int) -> dict[str, str]:
    keys = list(units)
    start = int(np.random.default_rng(seed).integers(len(keys)))
    return {k: units[k] for k in keys[start:] + keys[:start]}


def needle_sets(
    model_or_tokenizer: Any,
    probe: Probe,
    *,
    lengths: Sequence[int],
    positions: Sequence[float] = (0.0, 0.5, 1.0),
    n_needles: int = 16,
    n_distractors: int = 16,
    form: str = "question",
    filler: str = "probe",
    seed: int = 0,
) -> list[NeedleSet]:
    """Needle-in-a-haystack retrieval sets over a grid of lengths × positions.

    Each query is one KoProbe need (its query of ``form``); its only relevant document is the
    haystack that holds its grade-2 passage. The other needles' haystacks and ``n_distractors``
    needle-free haystacks of the same length compete with it. A haystack keeps the same filler
    order at every length and position, so that only the needle's place and the document's length
    change along the grid (and shorter haystacks are prefixes of longer ones when the needle is first).

    Args:
        model_or_tokenizer: Model or fast tokenizer whose tokens are counted.
        probe: KoProbe (:func:`~ko_embed_lab.data.load_probe`).
        lengths: Document lengths in tokens.
        positions: Relative needle positions (0 = start, 1 = end).
        n_needles: Needs used as needles (spread over domains).
        n_distractors: Needle-free haystacks per length.
        form: KoProbe query form of the queries.
        filler: ``"probe"`` (other KoProbe passages: for a needle, passages of other domains; for a
            distractor, any passage that is not a needle) or ``"konlpy"`` (the Constitution and bills).
        seed: Seed of the needle choice and of every filler order.

    Returns:
        One :class:`NeedleSet` per (length, position), lengths outer.

    Example:
        >>> sets = needle_sets(model, load_probe(), lengths=[512, 2048], positions=[0.0, 1.0], n_needles=4)
        >>> [(s.length, s.position, len(s.data.corpus)) for s in sets][:2]
        [(512, 0.0, 20), (512, 1.0, 20)]
    """
    if filler not in ("probe", "konlpy"):
        raise ValueError(f"filler={filler!r}: use 'probe' or 'konlpy'")
    if n_distractors < 0:
        raise ValueError("n_distractors must be zero or more")
    needles = pick_needles(probe, n_needles, form=form, seed=seed)
    needle_pids = {n.passage_id for n in needles} | {p for n in needles for p in probe.needs.loc[n.need_id, "relevant"]}
    corpus = probe.data.corpus
    domains = {str(p): str(d) for p, d in probe.passages["domain"].items()}
    konlpy = _konlpy_units() if filler == "konlpy" else {}

    def pool(i: int, domain: str | None) -> tuple[dict[str, str], int | None]:
        if filler == "konlpy":
            return _rotate(konlpy, seed * 10007 + i), None
        ids = [p for p in corpus if p not in needle_pids and (domain is None or domains.get(p) != domain)]
        return {p: doc_text(corpus[p]) for p in ids}, seed * 10007 + i

    sets: list[NeedleSet] = []
    for length in lengths:
        distractors: dict[str, Haystack] = {}
        for j in range(n_distractors):
            units, s = pool(10_000 + j, None)
            h = build_haystack(model_or_tokenizer, None, units, length, seed=s, doc_id=f"distractor-{j:02d}")
            distractors[h.id] = h
        for position in positions:
            hay: dict[str, Haystack] = {}
            for i, nd in enumerate(needles):
                units, s = pool(i, nd.domain if filler == "probe" else None)
                h = build_haystack(
                    model_or_tokenizer,
                    nd.passage,
                    units,
                    length,
                    position,
                    seed=s,
                    doc_id=f"haystack-{nd.need_id}",
                    needle_id=nd.passage_id,
                )
                hay[h.id] = h
            hay.update(distractors)
            data = RetrievalSet(
                name=f"KoProbe-needles[{length},{position:g}]",
                corpus={d: {"title": "", "text": h.text} for d, h in hay.items()},
                queries={nd.query_id: nd.query for nd in needles},
                qrels={nd.query_id: {f"haystack-{nd.need_id}": 1} for nd in needles},
            )
            sets.append(NeedleSet(length, float(position), data, hay, {nd.query_id: nd for nd in needles}))
    return sets


# --------------------------------------------------------------------------------------------
# Chunking and long-document scoring
# --------------------------------------------------------------------------------------------


def chunk_texts(model_or_tokenizer: Any, texts: Sequence[str], *, window: int, overlap: int = 0) -> list[list[Window]]:
    """Split each text into windows of ``window`` content tokens overlapping by ``overlap``.

    Every token lies in at least one window (the rule of :func:`ko_embed_lab.tokens.split_windows`,
    applied to many texts at once); an empty text gives one empty window.

    Example:
        >>> [w.text for w in chunk_texts(model, ["가 나 다 라 마"], window=2, overlap=1)[0]][:2]
        ['가 나', ' 나 다']
    """
    if window < 1:
        raise ValueError(f"window={window} must be at least 1 token")
    if not 0 <= overlap < window:
        raise ValueError(f"overlap={overlap} must be between 0 and window-1 ({window - 1})")
    encs = _encode_many(model_or_tokenizer, list(texts))
    return [
        windows_from_offsets(t, [tuple(o) for o in e.offsets], window, overlap)
        for t, e in zip(texts, encs, strict=True)
    ]


def chunk_scores(
    queries: np.ndarray, chunks: np.ndarray, owner: Sequence[int], n_docs: int, how: str = "max"
) -> np.ndarray:
    """Score documents from the embeddings of their chunks.

    Args:
        queries: ``(n_queries, dim)`` normalised query embeddings.
        chunks: ``(n_chunks, dim)`` normalised chunk embeddings.
        owner: Document index of each chunk (``0 … n_docs-1``; every document needs a chunk).
        n_docs: Number of documents.
        how: ``"max"`` — cosine of the best chunk; ``"mean"`` — cosine with the normalised mean of
            the document's chunk embeddings (one vector per document, as an index would store).

    Returns:
        ``(n_queries, n_docs)`` scores.

    Example:
        >>> q = np.array([[1.0, 0.0]]); c = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
        >>> chunk_scores(q, c, [0, 0, 1], 2, "max").round(2).tolist()
        [[1.0, 0.6]]
    """
    owner_arr = np.asarray(owner, dtype=np.int64)
    if chunks.shape[0] != owner_arr.shape[0]:
        raise ValueError(f"{chunks.shape[0]} chunk embeddings but {owner_arr.shape[0]} owners")
    if owner_arr.size and (owner_arr.min() < 0 or owner_arr.max() >= n_docs):
        raise ValueError(f"chunk owners must lie in 0..{n_docs - 1}")
    counts = np.bincount(owner_arr, minlength=n_docs)
    if (counts == 0).any():
        raise ValueError(f"documents {np.flatnonzero(counts == 0)[:5].tolist()} have no chunk; give each at least one")
    if how == "max":
        sims = queries @ chunks.T
        out = np.full((queries.shape[0], n_docs), -np.inf, dtype=np.float64)
        np.maximum.at(out.T, owner_arr, sims.T)
        return out.astype(np.float32)
    if how == "mean":
        sums = np.zeros((n_docs, chunks.shape[1]), dtype=np.float64)
        np.add.at(sums, owner_arr, chunks)
        means = sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
        return (queries @ means.T.astype(np.float32)).astype(np.float32)
    raise ValueError(f"how={how!r}: use 'max' or 'mean'")


class _MemoTokenizer:
    """Wraps a BM25 tokenizer and remembers the tokens of texts seen (haystacks repeat across cells)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = getattr(inner, "name", type(inner).__name__)
        self._memo: dict[str, list[str]] = {}

    def __call__(self, text: str) -> list[str]:
        return self.tokenize_many([text])[0]

    def tokenize_many(self, texts: Sequence[str]) -> list[list[str]]:
        todo = list(dict.fromkeys(t for t in texts if t not in self._memo))
        if todo:
            for t, toks in zip(todo, self.inner.tokenize_many(todo), strict=True):
                self._memo[t] = toks
        return [self._memo[t] for t in texts]


class LongDocScorer:
    """Score long documents with several strategies, reusing every embedding it has computed.

    Args:
        model: A loaded model.
        strategies: Any of :data:`STRATEGIES`.
        chunk_tokens: Chunk size in content tokens (default :func:`default_chunk_tokens`).
        overlap: Overlap of consecutive chunks, in tokens.
        truncate_tokens: Content tokens kept by ``truncate`` (default: the model's whole window,
            :func:`content_window` — what the model itself would keep).
        fusion: The two runs that ``fusion`` combines.
        rrf_k: The ``k`` of reciprocal-rank fusion.
        top_k: Depth of every run.
        bm25_tokenizer: Tokenizer of BM25 (default :class:`~ko_embed_lab.retrieval.KoreanTokenizer`).
        cache: Embedding cache (``True``: the default on-disk cache).
        show_progress: Progress bar while embedding (default: only for large batches).

    Example:
        >>> scorer = LongDocScorer(model)
        >>> results = scorer.evaluate(load_long_queries().data)
        >>> {k: round(r.primary, 3) for k, r in results.items()}  # doctest: +SKIP
        {'truncate': 0.61, 'chunk-max': 0.83, ...}
    """

    def __init__(
        self,
        model: EmbeddingModel,
        *,
        strategies: Sequence[str] = STRATEGIES,
        chunk_tokens: int | None = None,
        overlap: int = 0,
        truncate_tokens: int | None = None,
        fusion: tuple[str, str] = ("chunk-max", "bm25"),
        rrf_k: int = 60,
        top_k: int = 100,
        bm25_tokenizer: Any | None = None,
        cache: EmbeddingCache | bool | None = True,
        show_progress: bool | None = None,
    ) -> None:
        unknown = [s for s in strategies if s not in STRATEGIES]
        if unknown or not strategies:
            raise ValueError(f"unknown strategies {unknown}; choose from {STRATEGIES}")
        if "fusion" in strategies and (len(fusion) != 2 or any(f not in STRATEGIES or f == "fusion" for f in fusion)):
            raise ValueError(f"fusion={fusion!r} must name two of {STRATEGIES[:-1]}")
        self.model = model
        self.strategies = tuple(strategies)
        self.window = content_window(model)
        self.chunk_tokens = int(chunk_tokens) if chunk_tokens is not None else default_chunk_tokens(model)
        if not 1 <= self.chunk_tokens <= self.window:
            raise ValueError(
                f"chunk_tokens={self.chunk_tokens} must be between 1 and the model's window of {self.window} content tokens"
            )
        if not 0 <= overlap < self.chunk_tokens:
            raise ValueError(f"overlap={overlap} must be between 0 and chunk_tokens-1 ({self.chunk_tokens - 1})")
        self.overlap = int(overlap)
        self.truncate_tokens = int(truncate_tokens) if truncate_tokens is not None else self.window
        if not 1 <= self.truncate_tokens <= self.window:
            raise ValueError(
                f"truncate_tokens must be between 1 and the model's window of {self.window} content tokens"
            )
        self.fusion = tuple(fusion)
        self.rrf_k, self.top_k = int(rrf_k), int(top_k)
        self.cache, self.show_progress = cache, show_progress
        from .retrieval.lexical import KoreanTokenizer

        self._bm25_tok = _MemoTokenizer(bm25_tokenizer or KoreanTokenizer())
        self._docs: dict[str, np.ndarray] = {}
        self._queries: dict[str, np.ndarray] = {}
        self._views: dict[str, tuple[str, list[str]]] = {}

    def settings(self) -> dict[str, Any]:
        """The scoring settings, as recorded in results."""
        return {
            "strategies": list(self.strategies),
            "chunk_tokens": self.chunk_tokens,
            "overlap": self.overlap,
            "truncate_tokens": self.truncate_tokens,
            "window": self.window,
            "fusion": list(self.fusion),
            "rrf_k": self.rrf_k,
            "top_k": self.top_k,
            "bm25_tokenizer": self._bm25_tok.name,
            "metrics_by": "pytrec_eval",
        }

    def _needs_dense(self) -> bool:
        used = set(self.strategies) | (set(self.fusion) if "fusion" in self.strategies else set())
        return bool(used & {"truncate", "chunk-max", "chunk-mean"})

    def _view(self, text: str) -> tuple[str, list[str]]:
        return self._views[text]

    def views(self, text: str) -> tuple[str, list[str]]:
        """What the dense strategies embed of one document: its truncation and its chunks.

        Example:
            >>> cut, chunks = LongDocScorer(model).views(long_text)
            >>> long_text.startswith(cut), len(chunks) > 1  # a text longer than one window
            (True, True)
        """
        self._prepare_views([text])
        return self._views[text]

    def _prepare_views(self, texts: Sequence[str]) -> None:
        todo = list(dict.fromkeys(t for t in texts if t not in self._views))
        if not todo:
            return
        encs = _encode_many(self.model, todo)
        for t, e in zip(todo, encs, strict=True):
            offsets = [tuple(o) for o in e.offsets]
            cut = t if len(offsets) <= self.truncate_tokens else t[: offsets[self.truncate_tokens - 1][1]]
            chunks = [w.text for w in windows_from_offsets(t, offsets, self.chunk_tokens, self.overlap)]
            self._views[t] = (cut, chunks)

    def prepare(self, texts: Sequence[str]) -> None:
        """Embed the truncations and chunks of these documents in one pass (then scoring is cheap)."""
        if not self._needs_dense():
            return
        self._prepare_views(texts)
        wanted: list[str] = []
        for t in dict.fromkeys(texts):
            cut, chunks = self._view(t)
            wanted.append(cut)
            wanted.extend(chunks)
        todo = list(dict.fromkeys(w for w in wanted if w not in self._docs))
        if todo:
            vecs = self.model.encode(todo, kind="document", cache=self.cache, show_progress=self.show_progress)
            self._docs.update(zip(todo, np.asarray(vecs, dtype=np.float32), strict=True))

    def _embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        todo = list(dict.fromkeys(t for t in texts if t not in self._queries))
        if todo:
            vecs = self.model.encode(todo, kind="query", cache=self.cache, show_progress=False)
            self._queries.update(zip(todo, np.asarray(vecs, dtype=np.float32), strict=True))
        return np.stack([self._queries[t] for t in texts])

    def runs(self, data: RetrievalSet) -> dict[str, dict[str, dict[str, float]]]:
        """The ranked run of each strategy on a retrieval set."""
        from .retrieval.lexical import BM25Index, rrf_fuse

        qids, dids = list(data.queries), data.doc_ids()
        texts = data.doc_texts()
        queries = [data.queries[q] for q in qids]
        wanted = set(self.strategies) | (set(self.fusion) if "fusion" in self.strategies else set())
        runs: dict[str, dict[str, dict[str, float]]] = {}
        if wanted & {"truncate", "chunk-max", "chunk-mean"}:
            self.prepare(texts)
            q = self._embed_queries(queries)
            if "truncate" in wanted:
                d = np.stack([self._docs[self._view(t)[0]] for t in texts])
                runs["truncate"] = run_from_matrix(qids, dids, q @ d.T, self.top_k)
            if wanted & {"chunk-max", "chunk-mean"}:
                owner = [i for i, t in enumerate(texts) for _ in self._view(t)[1]]
                chunks = np.stack([self._docs[c] for t in texts for c in self._view(t)[1]])
                for name, how in (("chunk-max", "max"), ("chunk-mean", "mean")):
                    if name in wanted:
                        runs[name] = run_from_matrix(
                            qids, dids, chunk_scores(q, chunks, owner, len(dids), how), self.top_k
                        )
        if "bm25" in wanted:
            index = BM25Index(self._bm25_tok).fit(texts, dids)
            runs["bm25"] = run_from_matrix(qids, dids, index.scores(queries), self.top_k, drop_zero=True)
        if "fusion" in wanted:
            with warnings.catch_warnings():
                # ranx min-max-normalises runs before RRF (which only uses ranks); numba warns about a
                # harmless integer cast in that step.
                warnings.filterwarnings("ignore", message="unsafe cast from uint64 to int64")
                runs["fusion"] = rrf_fuse([runs[self.fusion[0]], runs[self.fusion[1]]], k=self.rrf_k, top_k=self.top_k)
        return {s: runs[s] for s in self.strategies}

    def evaluate(self, data: RetrievalSet) -> dict[str, RetrievalResult]:
        """Score every strategy on a retrieval set with ``pytrec_eval``.

        Returns:
            ``{strategy: RetrievalResult}`` in the order of ``strategies``.
        """
        t0 = time.perf_counter()
        runs = self.runs(data)
        wall = round(time.perf_counter() - t0, 3)
        ident = encoder_identity(self.model)
        out: dict[str, RetrievalResult] = {}
        for name, run in runs.items():
            metrics, per_query = score_run(data.qrels, run)
            prov = provenance(
                model=ident,
                dataset=data.identity(),
                settings={**self.settings(), "strategy": name},
                timings={"wall_s_all_strategies": wall},
            )
            out[name] = RetrievalResult(metrics=metrics, per_query=per_query, run=run, provenance=prov)
        return out


def score_strategies(model: EmbeddingModel, data: RetrievalSet, **kwargs: Any) -> dict[str, RetrievalResult]:
    """Score a retrieval set of long documents with each strategy (see :class:`LongDocScorer`).

    Example:
        >>> res = score_strategies(model, load_long_queries().data, strategies=("truncate", "bm25"))
        >>> sorted(res)
        ['bm25', 'truncate']
    """
    return LongDocScorer(model, **kwargs).evaluate(data)


def _rank(run: Mapping[str, float], doc_id: str) -> int | None:
    if doc_id not in run:
        return None
    # trec_eval's order: score, then document id, both descending.
    ranked = sorted(run.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)
    return 1 + [d for d, _ in ranked].index(doc_id)


def needle_grid(model: EmbeddingModel, sets: Sequence[NeedleSet], **scorer_kwargs: Any) -> pd.DataFrame:
    """Score every cell of a needle grid with every strategy; one row per (cell, strategy, query).

    All documents of all cells are embedded in one pass first (the cache and the reuse of shared
    haystacks make the grid much cheaper than its cells one by one).

    Args:
        model: A loaded model.
        sets: The cells (:func:`needle_sets`).
        **scorer_kwargs: Passed to :class:`LongDocScorer` (``chunk_tokens``, ``strategies``...).

    Returns:
        DataFrame with ``length``, ``position``, ``strategy``, ``query_id``, ``need_id``, ``rank``
        (rank of the needle's haystack, NaN when outside the run), ``ndcg@10``, ``mrr@10``,
        ``recall@1``, ``recall@10``, ``needle_position`` (actual), ``needle_end`` (content token
        one past the needle) and ``visible`` (the whole needle lies inside the truncation window).
        ``df.attrs["settings"]`` and ``df.attrs["model"]`` record what produced it.

    Example:
        >>> grid = needle_grid(model, needle_sets(model, load_probe(), lengths=[512, 2048]))
        >>> grid.groupby(["strategy", "length"])["ndcg@10"].mean().loc["truncate"]  # doctest: +SKIP
        length
        512     1.000
        2048    0.612
    """
    import pandas as pd

    scorer = LongDocScorer(model, **scorer_kwargs)
    all_texts = list(dict.fromkeys(t for s in sets for t in s.data.doc_texts()))
    scorer.prepare(all_texts)
    rows = []
    for cell in sets:
        results = scorer.evaluate(cell.data)
        for qid, nd in cell.needles.items():
            hay = cell.haystacks[f"haystack-{nd.need_id}"]
            assert hay.needle_tokens is not None
            for name, res in results.items():
                pq = res.per_query[qid]
                rank = _rank(res.run.get(qid, {}), hay.id)
                rows.append(
                    {
                        "length": cell.length,
                        "position": cell.position,
                        "strategy": name,
                        "query_id": qid,
                        "need_id": nd.need_id,
                        "rank": float(rank) if rank is not None else math.nan,
                        "ndcg@10": pq["ndcg@10"],
                        "mrr@10": pq["mrr@10"],
                        "recall@1": pq["recall@1"],
                        "recall@10": pq["recall@10"],
                        "needle_position": hay.needle_position,
                        "needle_end": hay.needle_tokens[1],
                        "visible": hay.needle_visible(scorer.truncate_tokens),
                        "n_docs": len(cell.data.corpus),
                    }
                )
    df = pd.DataFrame(rows)
    df.attrs["settings"] = scorer.settings()
    df.attrs["model"] = model.label if hasattr(model, "label") else type(model).__name__
    return df


def length_regime(length: int, model: EmbeddingModel) -> str:
    """Which side of the model's limits a document length falls on.

    ``"within the trained length"`` (up to :func:`reliable_length`), ``"past the trained length"``
    (longer than the model was fine-tuned on, still inside its window) or ``"past the window"``
    (the model truncates it).

    Example:
        >>> length_regime(1024, model)  # bundled default, window 512
        'past the window'
    """
    if length > model.max_seq_length:
        return "past the window"
    if length > reliable_length(model):
        return "past the trained length"
    return "within the trained length"


def regime_summary(grid: pd.DataFrame, model: EmbeddingModel, *, metric: str = "ndcg@10") -> pd.DataFrame:
    """Mean of a metric per strategy and needle position, on each side of the model's limits.

    Returns:
        DataFrame indexed by (strategy, position), one column per regime present in the grid
        (see :func:`length_regime`), strategies in :data:`STRATEGIES` order.

    Example:
        >>> regime_summary(grid, model).loc[("truncate", 1.0)]  # doctest: +SKIP
        ndcg@10, within the trained length    1.000
        ndcg@10, past the window              0.136
    """
    df = grid.assign(regime=[length_regime(int(n), model) for n in grid["length"]])
    present = set(df["regime"])
    order = [r for r in ("within the trained length", "past the trained length", "past the window") if r in present]
    table = df.pivot_table(index=["strategy", "position"], columns="regime", values=metric, aggfunc="mean")[order]
    table.columns = [f"{metric}, {r}" for r in order]
    return table.reindex([s for s in STRATEGIES if s in set(df["strategy"])], level=0)


def evidence_ranks(model: EmbeddingModel, qset: Any, results: Mapping[str, RetrievalResult]) -> pd.DataFrame:
    """Per query of a :class:`~ko_embed_lab.data.longqueries.LongQuerySet`: where its evidence sits
    and the rank of its document under each strategy.

    Columns: ``doc_id``, ``provision``, ``form``, ``evidence_token`` (content token where the
    evidence starts), ``doc_tokens``, ``inside_window`` (the evidence starts inside the truncation
    window) and one ``rank: <strategy>`` column per result (NaN: not retrieved).

    Example:
        >>> qs = load_long_queries()
        >>> table = evidence_ranks(model, qs, score_strategies(model, qs.data))
        >>> int((~table["inside_window"]).sum())  # answers past the first 508 tokens
        28
    """
    import pandas as pd

    window = content_window(model)
    texts = dict(zip(qset.data.doc_ids(), qset.data.doc_texts(), strict=True))
    rows = []
    for qid, row in qset.queries.iterrows():
        if qid not in qset.data.queries:
            continue
        found = locate(model, texts[row["doc_id"]], row["evidence"])
        if found is None:
            raise ValueError(f"{qid}: evidence not found in {row['doc_id']}")
        rec: dict[str, Any] = {
            "query_id": qid,
            "query": row["text"],
            "doc_id": row["doc_id"],
            "provision": row["provision"],
            "form": row["form"],
            "evidence_token": found[0],
            "doc_tokens": found[1],
            "inside_window": found[0] < window,
        }
        for name, res in results.items():
            rank = _rank(res.run.get(qid, {}), row["doc_id"])
            rec[f"rank: {name}"] = float(rank) if rank is not None else math.nan
        rows.append(rec)
    return pd.DataFrame(rows).set_index("query_id")


def locate(model_or_tokenizer: Any, text: str, snippet: str) -> tuple[int, int] | None:
    """Content-token index of the first occurrence of ``snippet`` in ``text``, and the text's token count.

    Returns ``None`` when the snippet does not occur.

    Example:
        >>> locate(model, "가 나 다 라", "다")
        (2, 4)
    """
    at = text.find(snippet)
    if at < 0:
        return None
    enc = _encode_many(model_or_tokenizer, [text])[0]
    return _token_at([tuple(o) for o in enc.offsets], at), len(enc.ids)


# --------------------------------------------------------------------------------------------
# Cost per length
# --------------------------------------------------------------------------------------------


def _release_freed_memory() -> None:
    """Return freed heap memory to the OS (glibc's ``malloc_trim``), so that the next pass's allocations show in RSS."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class _PeakRSS:
    """Samples the process's resident memory in a thread; ``peak`` is the highest value seen."""

    def __init__(self, interval: float = 0.002) -> None:
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def read() -> int | None:
        try:
            import psutil

            return int(psutil.Process().memory_info().rss)
        except ImportError:  # pragma: no cover - psutil is almost always present
            try:
                import os

                with open("/proc/self/statm") as fh:
                    return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            except (OSError, ValueError):
                return None

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.read() or 0)
            time.sleep(self.interval)

    def __enter__(self) -> _PeakRSS:
        self.peak = self.read() or 0
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.read() or 0)


def _usable_positions(config: Any) -> int:
    n = int(config.max_position_embeddings)
    # RoBERTa-style models (XLM-R, bge-m3, arctic) start positions after the padding index.
    if getattr(config, "model_type", "") in ("xlm-roberta", "roberta", "camembert"):
        n -= int(getattr(config, "pad_token_id", 1) or 1) + 1
    return n


def measure_cost(
    model: EmbeddingModel,
    lengths: Sequence[int],
    *,
    repeats: int = 3,
    beyond_window: bool = True,
    text: str | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Time and peak memory of embedding one document of each length (batch of one).

    Lengths up to the model's window run through the model itself. Longer ones, when
    ``beyond_window`` is true, run through a randomly initialised copy of its architecture with
    enough position embeddings (and a small vocabulary: only the embedding lookup is smaller) —
    the cost of a forward pass does not depend on the weights' values. On CUDA, memory is the peak
    of ``torch.cuda.max_memory_allocated`` above what was allocated before; on CPU it is the peak
    resident memory of the process above its level before the pass (sampled, approximate).

    Args:
        model: A loaded model.
        lengths: Document lengths in tokens.
        repeats: Timed passes per length (the fastest is reported) after one warm-up pass.
        beyond_window: Measure lengths past the window on a random copy (else skip them).
        text: Text to cut the inputs from (default: the konlpy Constitution, repeated as needed).
        seed: Seed of the random copy's weights.

    Returns:
        DataFrame with ``length``, ``seconds``, ``tokens_per_s``, ``peak_mb``, ``weights``
        (``"model"`` or ``"random, same architecture"``), ``device``, ``dtype``, ``attention``.

    Example:
        >>> measure_cost(model, [128, 256], repeats=1)[["length", "weights"]].values.tolist()  # doctest: +SKIP
        [[128, 'model'], [256, 'model']]
    """
    import pandas as pd
    import torch

    if repeats < 1:
        raise ValueError("repeats must be at least 1")
    if any(int(n) < 8 for n in lengths):
        raise ValueError("lengths must be at least 8 tokens")
    if text is None:
        from .data.korean_long import load_long_korean

        text = clean_text(load_long_korean("constitution")[0].text)
    base_ids = _backend(model).encode(text, add_special_tokens=False).ids
    if not base_ids:
        raise ValueError("the text holds no tokens")
    tok = model.tokenizer
    auto: Any = model.st[0].auto_model
    limit = min(model.max_seq_length, _usable_positions(auto.config))
    device = torch.device(model.device)
    cuda = device.type == "cuda"
    rows = []
    random_model: Any = None
    for length in sorted(int(n) for n in lengths):
        beyond = length > limit
        if beyond and not beyond_window:
            logger.info("skipping length %d: beyond the model's window of %d tokens", length, limit)
            continue
        if beyond:
            if random_model is None or _usable_positions(random_model.config) < length:
                from transformers import AutoModel

                cfg = copy.deepcopy(auto.config)
                offset = int(cfg.max_position_embeddings) - _usable_positions(cfg)
                cfg.max_position_embeddings = max(int(n) for n in lengths) + offset
                cfg.vocab_size = 8192
                torch.manual_seed(seed)
                random_model = AutoModel.from_config(cfg, attn_implementation=cfg._attn_implementation)
                random_model = random_model.to(device=device, dtype=auto.dtype).eval()
            net = random_model
            vocab = 8192
        else:
            net, vocab = auto, None
        reps = (base_ids * (length // len(base_ids) + 1))[: length - 2]
        ids = [
            tok.cls_token_id if tok.cls_token_id is not None else tok.bos_token_id,
            *reps,
            tok.sep_token_id if tok.sep_token_id is not None else tok.eos_token_id,
        ]
        input_ids = torch.tensor([ids], device=device)
        if vocab is not None:
            input_ids = input_ids % vocab
        mask = torch.ones_like(input_ids)
        times = []
        peak = 0.0
        with torch.inference_mode():
            net(input_ids=input_ids, attention_mask=mask)  # warm-up
            for _ in range(repeats):
                if cuda:
                    torch.cuda.synchronize(device)
                    before = torch.cuda.memory_allocated(device)
                    torch.cuda.reset_peak_memory_stats(device)
                    t0 = time.perf_counter()
                    net(input_ids=input_ids, attention_mask=mask)
                    torch.cuda.synchronize(device)
                    times.append(time.perf_counter() - t0)
                    peak = max(peak, (torch.cuda.max_memory_allocated(device) - before) / 2**20)
                else:
                    _release_freed_memory()
                    with _PeakRSS() as rss:
                        base = rss.peak
                        t0 = time.perf_counter()
                        net(input_ids=input_ids, attention_mask=mask)
                        times.append(time.perf_counter() - t0)
                    peak = max(peak, (rss.peak - base) / 2**20)
        seconds = float(np.min(times))  # the fastest pass: the usual estimate when other work shares the machine
        rows.append(
            {
                "length": length,
                "seconds": seconds,
                "tokens_per_s": length / seconds if seconds > 0 else math.nan,
                "peak_mb": peak,
                "weights": "random, same architecture" if beyond else "model",
                "device": str(device),
                "dtype": str(auto.dtype).replace("torch.", ""),
                "attention": str(getattr(auto.config, "_attn_implementation", "")),
            }
        )
    df = pd.DataFrame(rows)
    df.attrs["model"] = model.label
    df.attrs["window"] = limit
    return df
