"""Long documents: token statistics, needle-in-a-haystack sets, long-document scoring and cost per length.

The target model (``dragonkue/snowflake-arctic-embed-l-v2.0-ko``) accepts 8,192 tokens but was
fine-tuned on at most 1,300; the embedded default accepts 512. What happens to a document longer
than that depends on how it is scored. This package measures it, one module per concern:

* :mod:`.lengths` — **tokens and characters**: :func:`length_stats`, :func:`chars_for_tokens` (the
  card's "1,300 tokens ≈ 2,500 characters"), :func:`content_window` and the model's limits,
  :func:`hangul_coverage` / :func:`syllable_usage` (Hangul syllables that the XLM-R vocabulary can
  only write as ``<unk>``, and how often real text uses them).
* :mod:`.haystack` — **haystacks**: :func:`build_haystack` places a relevant passage (the *needle*)
  at a relative position inside filler text, to a target length in tokens, in the spirit of
  LongEmbed's needle tests; :func:`needle_sets` builds whole retrieval sets from KoProbe needs.
* :mod:`.chunking` — **the dense strategies, for any corpus**: :class:`LongDocEmbedder` embeds and
  scores documents by truncation, best chunk, mean of chunks, late chunks and contextual chunks (the
  one implementation behind :func:`ko_embed_lab.evaluate_retrieval` ``long_docs=`` and this chapter).
* :mod:`.late` — **late chunking** (Günther et al., 2024): :class:`LateChunker`, macro-windows and
  the pooling of chunk spans from the token embeddings of the whole document.
* :mod:`.strategies` — **strategies on retrieval sets**: :class:`LongDocScorer` scores long
  documents seven ways (the five dense ones, BM25 over morphemes, rank fusion).
* :mod:`.grid` — **the needle grid** and its readings: :func:`needle_grid`, :func:`grid_intervals`,
  :func:`compare_strategies`, :func:`length_regime`,
  :func:`regime_summary`, :func:`evidence_ranks`, :func:`locate`.
* :mod:`.cost` — **cost**: :func:`measure_cost`, time and peak memory per document at each length.

Token counts use the model's own tokenizer; "content tokens" exclude ``<s>``/``</s>``.
"""

from __future__ import annotations

from ..tokens import Window
from .chunking import (
    DENSE_STRATEGIES,
    HEADER_TOKENS,
    LongDocEmbedder,
    canonical_strategy,
    document_header,
    late_chunk_vectors,
)
from .cost import measure_cost, time_orderings
from .grid import (
    compare_by_length,
    compare_strategies,
    evidence_ranks,
    grid_intervals,
    length_regime,
    locate,
    needle_grid,
    regime_summary,
)
from .haystack import (
    POSITIONS,
    Haystack,
    Needle,
    NeedleSet,
    build_haystack,
    filler_exclusions,
    needle_sets,
    pick_needles,
)
from .late import LateChunker, TokenizedDocument, macro_windows, token_owners
from .lengths import (
    HANGUL_SYLLABLES,
    LENGTHS,
    HangulCoverage,
    chars_for_tokens,
    content_window,
    default_chunk_tokens,
    grid_lengths,
    hangul_coverage,
    length_stats,
    prompt_token_count,
    reliable_length,
    syllable_usage,
)
from .strategies import STRATEGIES, STRATEGY_LABELS, LongDocScorer, chunk_scores, chunk_texts, score_strategies

__all__ = [
    "DENSE_STRATEGIES",
    "HANGUL_SYLLABLES",
    "HEADER_TOKENS",
    "LENGTHS",
    "POSITIONS",
    "STRATEGIES",
    "STRATEGY_LABELS",
    "HangulCoverage",
    "Haystack",
    "LateChunker",
    "LongDocEmbedder",
    "LongDocScorer",
    "Needle",
    "NeedleSet",
    "TokenizedDocument",
    "Window",
    "build_haystack",
    "canonical_strategy",
    "chars_for_tokens",
    "chunk_scores",
    "chunk_texts",
    "compare_by_length",
    "compare_strategies",
    "content_window",
    "default_chunk_tokens",
    "document_header",
    "evidence_ranks",
    "filler_exclusions",
    "grid_intervals",
    "grid_lengths",
    "hangul_coverage",
    "late_chunk_vectors",
    "length_regime",
    "length_stats",
    "locate",
    "macro_windows",
    "measure_cost",
    "needle_grid",
    "needle_sets",
    "pick_needles",
    "prompt_token_count",
    "regime_summary",
    "reliable_length",
    "score_strategies",
    "syllable_usage",
    "time_orderings",
    "token_owners",
]
