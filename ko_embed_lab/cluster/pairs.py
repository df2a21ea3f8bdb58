"""Training pairs: (query, positive passage) with their other relevant passages, hard negatives and domain."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from ..cache import EmbeddingCache
    from ..data.beir import RetrievalSet
    from ..data.probe import Probe
    from ..types import Encoder

__all__ = ["Pairs", "embed_pairs", "pairs_from_qrels", "probe_pairs"]


@dataclass(frozen=True)
class Pairs:
    """(query, positive passage) training pairs, with what is known about each.

    Attributes:
        query_ids: Query id of each pair.
        queries: Query text of each pair.
        passage_ids: Id of each pair's positive passage.
        passages: Text of each pair's positive passage (as embedded: title and text).
        relevant: For each pair, every passage id judged relevant to its query (the positive
            included); another pair's positive in this set is a *false negative* in a batch.
        hard_negatives: For each pair, passage ids known to be close to its query but not
            relevant (empty when unknown).
        domains: Domain label of each pair (``None`` when unknown).
        needs: Information need of each pair's query (``None`` when unknown): queries of one
            need are paraphrases, so false negatives are counted per need as well as per query.
    """

    query_ids: tuple[str, ...]
    queries: tuple[str, ...]
    passage_ids: tuple[str, ...]
    passages: tuple[str, ...]
    relevant: tuple[frozenset[str], ...]
    hard_negatives: tuple[frozenset[str], ...]
    domains: tuple[str, ...] | None = None
    needs: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        n = len(self.query_ids)
        fields = {
            "queries": self.queries,
            "passage_ids": self.passage_ids,
            "passages": self.passages,
            "relevant": self.relevant,
            "hard_negatives": self.hard_negatives,
        }
        if self.domains is not None:
            fields["domains"] = self.domains
        if self.needs is not None:
            fields["needs"] = self.needs
        bad = {name: len(v) for name, v in fields.items() if len(v) != n}
        if bad:
            raise ValueError(f"Pairs fields must all have {n} entries (one per pair); got {bad}")

    def __len__(self) -> int:
        return len(self.query_ids)

    def take(self, indices: Sequence[int] | np.ndarray) -> Pairs:
        """The pairs at ``indices`` (e.g. one domain's), in that order.

        Example:
            >>> law = pairs.take([i for i, d in enumerate(pairs.domains) if d == "law"])
        """
        idx = [int(i) for i in indices]
        if not idx:
            raise ValueError("indices is empty; take at least one pair")
        bad = [i for i in idx if not 0 <= i < len(self)]
        if bad:
            raise IndexError(f"pair indices {bad[:5]} are outside 0..{len(self) - 1}")
        return Pairs(
            query_ids=tuple(self.query_ids[i] for i in idx),
            queries=tuple(self.queries[i] for i in idx),
            passage_ids=tuple(self.passage_ids[i] for i in idx),
            passages=tuple(self.passages[i] for i in idx),
            relevant=tuple(self.relevant[i] for i in idx),
            hard_negatives=tuple(self.hard_negatives[i] for i in idx),
            domains=tuple(self.domains[i] for i in idx) if self.domains is not None else None,
            needs=tuple(self.needs[i] for i in idx) if self.needs is not None else None,
        )

    def sample_values(self) -> list[frozenset[str]]:
        """The values that must not repeat inside a batch: the query text and the passage text.

        This is sentence-transformers' ``NoDuplicatesBatchSampler`` rule (values unique even
        across columns).
        """
        return [frozenset((q, p)) for q, p in zip(self.queries, self.passages, strict=True)]

    def first_per_passage(self) -> list[int]:
        """Index of the first pair of each distinct positive passage, in order of first appearance.

        Example:
            >>> pairs.passage_ids
            ('p1', 'p1', 'p2')
            >>> pairs.first_per_passage()
            [0, 2]
        """
        first: dict[str, int] = {}
        for i, pid in enumerate(self.passage_ids):
            first.setdefault(pid, i)
        return list(first.values())

    def frame(self) -> pd.DataFrame:
        """One row per pair: ids, texts and domain."""
        import pandas as pd

        df = pd.DataFrame(
            {
                "query_id": self.query_ids,
                "query": self.queries,
                "passage_id": self.passage_ids,
                "passage": self.passages,
            }
        )
        if self.domains is not None:
            df["domain"] = self.domains
        if self.needs is not None:
            df["need"] = self.needs
        return df


def pairs_from_qrels(
    data: RetrievalSet,
    *,
    min_grade: int = 2,
    hard_negatives: Mapping[str, Iterable[str]] | None = None,
    domains: Mapping[str, str] | None = None,
    needs: Mapping[str, str] | None = None,
) -> Pairs:
    """Build one pair per (query, passage judged at least ``min_grade``) of a retrieval set.

    Args:
        data: A retrieval set (corpus, queries, graded qrels).
        min_grade: Lowest grade that makes a passage a training positive.
        hard_negatives: Optional ``{query_id: passage ids}`` known to be hard negatives.
        domains: Optional ``{query_id: domain}``.
        needs: Optional ``{query_id: information need}``.

    Returns:
        The pairs, in query order then passage id order.

    Example:
        >>> pairs = pairs_from_qrels(probe.data, min_grade=2)
        >>> pairs.queries[0], pairs.passage_ids[0]
        ('한빛시에서 2025년에 청년 월세 지원을 받으면 한 달에 최대 얼마를 받을 수 있나요?', 'admin-p02')
    """
    from ..data.beir import doc_text

    if not isinstance(min_grade, int) or min_grade < 1:
        raise ValueError(f"min_grade={min_grade!r} must be a positive int (grade 1 and above count as relevant)")
    rows: list[tuple[str, str, str, str, frozenset[str], frozenset[str], str | None, str | None]] = []
    for q, text in data.queries.items():
        judged = data.qrels.get(q, {})
        relevant = frozenset(d for d, g in judged.items() if g > 0)
        hard = frozenset(hard_negatives.get(q, ())) - relevant if hard_negatives is not None else frozenset()
        for d in sorted(d for d, g in judged.items() if g >= min_grade):
            if d not in data.corpus:
                raise ValueError(f"qrels of {q!r} name passage {d!r}, which is not in the corpus of {data.name!r}")
            rows.append(
                (
                    q,
                    text,
                    d,
                    doc_text(data.corpus[d]),
                    relevant,
                    hard,
                    domains.get(q) if domains else None,
                    needs.get(q) if needs else None,
                )
            )
    if not rows:
        raise ValueError(f"{data.name!r} has no judgment of grade >= {min_grade}; lower min_grade")
    cols = list(zip(*rows, strict=True))
    return Pairs(
        query_ids=tuple(cols[0]),
        queries=tuple(cols[1]),
        passage_ids=tuple(cols[2]),
        passages=tuple(cols[3]),
        relevant=tuple(cols[4]),
        hard_negatives=tuple(cols[5]),
        domains=tuple(str(d) for d in cols[6]) if domains is not None else None,
        needs=tuple(str(n) for n in cols[7]) if needs is not None else None,
    )


def probe_pairs(probe: Probe, *, min_grade: int = 2, forms: Sequence[str] | None = None) -> Pairs:
    """Training pairs from KoProbe: each query with each passage of grade ``min_grade`` or more.

    Hard negatives, domains and information needs come from the probe's labels.

    Args:
        probe: A loaded (or sampled) :class:`~ko_embed_lab.data.probe.Probe`.
        min_grade: Lowest grade that makes a passage a positive (KoProbe: 2 = answers the need).
        forms: Keep only these query forms (``"question"``, ``"phrase"``...); ``None`` keeps all.

    Example:
        >>> pairs = probe_pairs(load_probe(), forms=["question"])
        >>> len(pairs), len(set(pairs.passage_ids))  # one question has two positive passages
        (129, 128)
    """
    data = probe.data
    if forms is not None:
        unknown = set(forms) - set(probe.queries["form"])
        if unknown:
            raise ValueError(
                f"unknown query forms {sorted(unknown)}; the probe has {sorted(set(probe.queries['form']))}"
            )
        keep = set(forms)
        data = data.subset([q for q in data.queries if probe.queries.loc[q, "form"] in keep])
    hard = {q: probe.hard_negatives(q) for q in data.queries}
    domains = {q: str(probe.queries.loc[q, "domain"]) for q in data.queries}
    needs = {q: str(probe.queries.loc[q, "need_id"]) for q in data.queries}
    return pairs_from_qrels(data, min_grade=min_grade, hard_negatives=hard, domains=domains, needs=needs)


def embed_pairs(
    model: Encoder, pairs: Pairs, *, cache: EmbeddingCache | bool | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Embed each pair's query (with the query prompt) and positive passage (document prompt).

    Each distinct text is encoded once; rows are aligned with the pairs.

    Args:
        model: An :class:`~ko_embed_lab.models.EmbeddingModel` or any encoder.
        pairs: The pairs.
        cache: Passed on to ``encode`` (``True`` for the default on-disk cache).

    Returns:
        ``(query embeddings, passage embeddings)``, each ``(len(pairs), dim)``, unit rows.

    Example:
        >>> q, p = embed_pairs(model, pairs, cache=True)
        >>> q.shape == p.shape == (len(pairs), model.dim)
        True
    """
    kwargs: dict[str, Any] = {} if cache is None else {"cache": cache}
    uq = list(dict.fromkeys(pairs.queries))
    up = list(dict.fromkeys(pairs.passages))
    q = np.asarray(model.encode(uq, kind="query", **kwargs), dtype=np.float32)
    p = np.asarray(model.encode(up, kind="document", **kwargs), dtype=np.float32)
    qpos = {t: i for i, t in enumerate(uq)}
    ppos = {t: i for i, t in enumerate(up)}
    return q[[qpos[t] for t in pairs.queries]], p[[ppos[t] for t in pairs.passages]]
