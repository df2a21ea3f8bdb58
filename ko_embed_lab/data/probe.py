"""KoProbe: the project's own Korean retrieval set, built to test the target model card's claims.

384 passages in 8 domains (nearly half hold Markdown tables), 128 information needs, each asked in
four Korean forms (question, phrase, keywords, request) and, for some, in English; every need has
hard negatives that share its words or entity without answering it, one of them written
adversarially (the same text but for the detail asked). Relevance is graded per query: where a
query's wording leaves open the detail that separates its need's passages, a sibling passage that
answers it is relevant to that query alone and is not one of its hard negatives. See the data card
(``ko_embed_lab/data/probe/README.md``) for construction, counts and baselines.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from .beir import RetrievalSet, load_beir

__all__ = ["FORMS", "Probe", "load_probe", "probe_dir"]

#: Query forms, in display order.
FORMS = ("question", "phrase", "keywords", "request", "english")


def probe_dir() -> Path:
    """Folder of the shipped set (BEIR layout plus label files)."""
    return Path(str(resources.files("ko_embed_lab") / "data" / "probe"))


@dataclass
class Probe:
    """The set and its labels.

    Attributes:
        data: The retrieval set (BEIR: corpus, queries, graded qrels).
        queries: DataFrame indexed by query id: ``need_id``, ``form``, ``domain``,
            ``answer_in_table``, ``cross_lingual``, ``text``.
        passages: DataFrame indexed by passage id: ``domain``, ``has_table``, ``n_chars``, ``title``.
        needs: DataFrame indexed by need id: ``domain``, ``description``, ``relevant`` (grades
            shared by all the need's queries), ``query_relevant`` (``{form: {passage: grade}}``,
            relevant to that form's query only), ``hard_negatives`` (per need; see
            :meth:`hard_negatives` for one query's), ``answer_in_table``.
    """

    data: RetrievalSet
    queries: Any
    passages: Any
    needs: Any

    def hard_negatives(self, query_id: str) -> list[str]:
        """Passage ids that share a query's words or entity but do not answer it.

        The need's hard negatives less any passage judged relevant to this query.
        """
        relevant = self.data.qrels.get(query_id, {})
        need = self.needs.loc[self.queries.loc[query_id, "need_id"], "hard_negatives"]
        return [p for p in need if relevant.get(p, 0) <= 0]

    def sample(self, n_needs: int, *, n_docs: int | None = None, seed: int = 0) -> Probe:
        """A smaller, seeded probe for smoke runs: ``n_needs`` needs spread over the domains.

        The corpus keeps every relevant passage and hard negative of the chosen needs, topped
        up with random other passages to ``n_docs`` (default: the whole corpus).
        """
        import numpy as np

        if n_needs < 1:
            raise ValueError("n_needs must be at least 1")
        rng = np.random.default_rng(seed)
        order = list(self.needs.index)
        rng.shuffle(order)
        # Round-robin over domains so that a small sample still covers them.
        by_domain: dict[str, list[str]] = {}
        for need in order:
            by_domain.setdefault(self.needs.loc[need, "domain"], []).append(need)
        chosen: list[str] = []
        while len(chosen) < min(n_needs, len(order)):
            for needs in by_domain.values():
                if needs and len(chosen) < n_needs:
                    chosen.append(needs.pop())
        keep_q = [q for q in self.queries.index if self.queries.loc[q, "need_id"] in set(chosen)]
        must = set()
        for need in chosen:
            must |= set(self.needs.loc[need, "relevant"]) | set(self.needs.loc[need, "hard_negatives"])
        for q in keep_q:
            must |= set(self.data.qrels.get(q, {}))
        docs = list(self.data.corpus)
        if n_docs is not None and n_docs < len(docs):
            others = [d for d in docs if d not in must]
            extra = rng.choice(len(others), size=max(0, n_docs - len(must)), replace=False)
            keep_d = must | {others[i] for i in extra}
            docs = [d for d in docs if d in keep_d]
        data = RetrievalSet(
            name=f"{self.data.name}-sample{n_needs}",
            corpus={d: self.data.corpus[d] for d in docs},
            queries={q: self.data.queries[q] for q in keep_q},
            qrels={q: self.data.qrels[q] for q in keep_q},
            split=self.data.split,
            path=self.data.path,
        )
        return Probe(
            data=data,
            queries=self.queries.loc[keep_q],
            passages=self.passages.loc[docs],
            needs=self.needs.loc[[n for n in self.needs.index if n in set(chosen)]],
        )

    def subset(self, **labels: Any) -> RetrievalSet:
        """Queries whose labels equal the given values, e.g. ``subset(form="phrase")``."""
        mask = None
        for key, value in labels.items():
            if key not in self.queries.columns:
                raise KeyError(f"unknown label {key!r}; labels are {list(self.queries.columns)}")
            m = self.queries[key] == value
            mask = m if mask is None else mask & m
        ids = list(self.queries.index if mask is None else self.queries.index[mask])
        if not ids:
            raise ValueError(f"no query has labels {labels}")
        tag = ",".join(f"{k}={v}" for k, v in labels.items())
        return self.data.subset(ids, name=f"{self.data.name}[{tag}]")


def load_probe(path: str | Path | None = None) -> Probe:
    """Load KoProbe (from the package, or a copy at ``path``).

    Example:
        >>> probe = load_probe()
        >>> len(probe.data.corpus), probe.queries["form"].value_counts()["phrase"]
        (384, 128)
    """
    import pandas as pd

    root = Path(path) if path is not None else probe_dir()
    data = load_beir(root, split="test", name="KoProbe")
    qlab = pd.read_csv(root / "query_labels.tsv", sep="\t", dtype={"query-id": str}).set_index("query-id")
    qlab = qlab.rename(columns={"need-id": "need_id"})
    qlab["answer_in_table"] = qlab["answer_in_table"].astype(bool)
    qlab["cross_lingual"] = qlab["cross_lingual"].astype(bool)
    qlab["text"] = [data.queries.get(q, "") for q in qlab.index]
    plab = pd.read_csv(root / "passage_labels.tsv", sep="\t", dtype={"corpus-id": str}).set_index("corpus-id")
    plab["has_table"] = plab["has_table"].astype(bool)
    plab["title"] = [data.corpus[p]["title"] for p in plab.index]
    needs_rows = [json.loads(line) for line in (root / "needs.jsonl").read_text(encoding="utf-8").splitlines() if line]
    needs = pd.DataFrame(needs_rows).set_index("need_id")
    return Probe(data=data, queries=qlab, passages=plab, needs=needs)
