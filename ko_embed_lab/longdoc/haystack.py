"""Needles in haystacks: long documents of an exact token length with a passage at a chosen place.

In the spirit of LongEmbed's needle tests: :func:`build_haystack` places a relevant passage (the
*needle*) at a relative position inside filler text, to a target length in tokens;
:func:`needle_sets` builds whole retrieval sets from KoProbe needs (one haystack per need, plus
distractor haystacks of the same length that hold no needle).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..data.beir import RetrievalSet, doc_text
from ..text import clean_text
from ..tokens import special_token_count
from .lengths import _as_items, _backend, _content_lengths, _encode_many, _hf_tokenizer, _token_at

if TYPE_CHECKING:
    from ..data.probe import Probe

__all__ = [
    "POSITIONS",
    "Haystack",
    "Needle",
    "NeedleSet",
    "build_haystack",
    "filler_exclusions",
    "needle_sets",
    "pick_needles",
]

#: Relative needle positions: start, quarter, middle, three quarters, end.
POSITIONS = (0.0, 0.25, 0.5, 0.75, 1.0)

# Places where a needle may be inserted inside a filler unit: after a sentence end or a line break.
_SENTENCE_END = re.compile(r"(?<=[.!?。])\s+|\n+")


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
        seed: Seed of the needle choice and of the filler orders.
        excluded: Passages kept out of all filler (every query's relevant passages and hard negatives).
    """

    length: int
    position: float
    data: RetrievalSet
    haystacks: dict[str, Haystack]
    needles: dict[str, Needle] = field(default_factory=dict)
    seed: int = 0
    excluded: frozenset[str] = frozenset()


def _konlpy_units(max_chars: int = 400) -> dict[str, str]:
    """Paragraphs of the konlpy texts, merged in reading order into units of up to ~``max_chars``."""
    from ..data.korean_long import load_long_korean

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


def filler_exclusions(probe: Probe, query_ids: Sequence[str]) -> set[str]:
    """Passages no filler may use: each query's relevant passages (its own qrels, siblings included),
    its need's relevant passages, and its hard negatives (:meth:`~ko_embed_lab.data.probe.Probe.hard_negatives`).

    Example:
        >>> probe = load_probe()
        >>> sorted(filler_exclusions(probe, ["commerce-n09-question"]))[:2]  # doctest: +SKIP
        ['commerce-p25', 'commerce-p26']
    """
    out: set[str] = set()
    for qid in query_ids:
        out |= {p for p, g in probe.data.qrels.get(qid, {}).items() if g > 0}
        out |= set(probe.needs.loc[probe.queries.loc[qid, "need_id"], "relevant"])
        out |= set(probe.hard_negatives(qid))
    return out


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
    needle-free haystacks of the same length compete with it.

    **One rule for all filler.** Needle haystacks and distractors draw their filler from the same
    pool, in the same way (a seeded shuffle of the pool per haystack); the pool holds no passage
    that is relevant to, or a hard negative of, any query of the set (:func:`filler_exclusions`).
    Truncation that cuts the needle off therefore leaves a haystack that looks like any distractor
    to the query, and ranks it at random. A haystack keeps the same filler order at every length
    and position, so only the needle's place and the document's length change along the grid.

    Args:
        model_or_tokenizer: Model or fast tokenizer whose tokens are counted.
        probe: KoProbe (:func:`~ko_embed_lab.data.load_probe`).
        lengths: Document lengths in tokens.
        positions: Relative needle positions (0 = start, 1 = end).
        n_needles: Needs used as needles (spread over domains).
        n_distractors: Needle-free haystacks per length.
        form: KoProbe query form of the queries.
        filler: ``"probe"`` (KoProbe passages outside the exclusions) or ``"konlpy"`` (the
            Constitution and bills).
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
    excluded = frozenset(filler_exclusions(probe, [nd.query_id for nd in needles]))
    if filler == "konlpy":
        units = _konlpy_units()
    else:
        units = {p: doc_text(d) for p, d in probe.data.corpus.items() if p not in excluded}

    def pool(k: int) -> tuple[dict[str, str], int | None]:
        # The one rule: haystack k (needle or distractor) gets its own seeded order of the same pool.
        if filler == "konlpy":
            return _rotate(units, seed * 10007 + k), None
        return units, seed * 10007 + k

    sets: list[NeedleSet] = []
    for length in lengths:
        distractors: dict[str, Haystack] = {}
        for j in range(n_distractors):
            u, s = pool(10_000 + j)
            h = build_haystack(model_or_tokenizer, None, u, length, seed=s, doc_id=f"distractor-{j:02d}")
            distractors[h.id] = h
        for position in positions:
            hay: dict[str, Haystack] = {}
            for i, nd in enumerate(needles):
                u, s = pool(i)
                h = build_haystack(
                    model_or_tokenizer,
                    nd.passage,
                    u,
                    length,
                    position,
                    seed=s,
                    doc_id=f"haystack-{nd.need_id}",
                    needle_id=nd.passage_id,
                )
                hay[h.id] = h
            hay.update(distractors)
            data = RetrievalSet(
                name=f"KoProbe-needles[{length},{position:g},seed={seed}]",
                corpus={d: {"title": "", "text": h.text} for d, h in hay.items()},
                queries={nd.query_id: nd.query for nd in needles},
                qrels={nd.query_id: {f"haystack-{nd.need_id}": 1} for nd in needles},
            )
            needle_map = {nd.query_id: nd for nd in needles}
            sets.append(NeedleSet(length, float(position), data, hay, needle_map, seed, excluded))
    return sets
