"""KoLongQ: Korean queries about specific provisions of the konlpy Constitution and bills.

Forty queries written for this project, each about one provision (an article, a clause, a line of
a bill's reasons or cost estimate) of one of the eleven naturally long documents that ship in the
``konlpy`` wheel (see :func:`ko_embed_lab.data.load_long_korean`). Every query carries the exact
``evidence`` text that answers it, so one can check where in the document the answer sits — in the
first 512 tokens, or thousands of tokens in. Four bills of 2010 are near-copies of one another
(the same childcare-leave change in four laws, with the same cost note); a query about one of them
grades its own bill 2 and the copies that mention the change in passing 1 (``also``).

The corpus is the eleven documents with their text as loaded (form feeds of the bill files turned
into line breaks); its ids are the :class:`~ko_embed_lab.data.LongDocument` ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from .beir import RetrievalSet, iter_jsonl
from .korean_long import LongDocument, load_long_korean

__all__ = [
    "LONG_QUERY_FORMS",
    "LongQuerySet",
    "document_text",
    "load_long_queries",
    "long_queries_dir",
    "split_long_queries",
]

#: Query forms used in the file.
LONG_QUERY_FORMS = ("question", "phrase", "keywords", "request")

_FIELDS = ("_id", "text", "doc_id", "provision", "form", "evidence", "also")


def long_queries_dir() -> Path:
    """Folder of the shipped data (``queries.jsonl`` and its data card)."""
    return Path(str(resources.files("ko_embed_lab") / "data" / "longdoc"))


def document_text(doc: LongDocument) -> str:
    """A long document's text as indexed: form feeds (page breaks of the bill files) become newlines."""
    return doc.text.replace("\x0c", "\n")


@dataclass
class LongQuerySet:
    """The queries, their long documents and their labels.

    Attributes:
        data: Retrieval set: the eleven documents as corpus (no titles: each text starts with its
            title), the queries, and graded qrels (2 = the document the query is about,
            1 = a near-copy that mentions the same change in passing).
        queries: DataFrame indexed by query id: ``text``, ``doc_id``, ``provision``, ``form``,
            ``evidence`` (text of the document that answers the query), ``also``.
        documents: ``{doc_id: LongDocument}``.
    """

    data: RetrievalSet
    queries: Any
    documents: dict[str, LongDocument]

    def subset(self, doc_ids: list[str]) -> LongQuerySet:
        """Only these documents, and the queries about them (for smoke runs).

        Example:
            >>> load_long_queries().subset(["kobill-1809894", "kobill-1809895"]).queries.shape[0]
            4
        """
        unknown = [d for d in doc_ids if d not in self.data.corpus]
        if unknown:
            raise KeyError(f"unknown document ids {unknown}; known ids are {sorted(self.data.corpus)}")
        keep = set(doc_ids)
        qids = [q for q in self.data.queries if self.queries.loc[q, "doc_id"] in keep]
        if not qids:
            raise ValueError(f"no query is about {sorted(keep)}")
        data = RetrievalSet(
            name=f"{self.data.name}[{len(keep)} documents]",
            corpus={d: v for d, v in self.data.corpus.items() if d in keep},
            queries={q: self.data.queries[q] for q in qids},
            qrels={q: {d: g for d, g in self.data.qrels[q].items() if d in keep} for q in qids},
            split=self.data.split,
            path=self.data.path,
        )
        return LongQuerySet(
            data=data, queries=self.queries.loc[qids], documents={d: self.documents[d] for d in doc_ids}
        )


def load_long_queries(path: str | Path | None = None, *, documents: list[LongDocument] | None = None) -> LongQuerySet:
    """Load KoLongQ and check it against the konlpy texts.

    Args:
        path: A ``queries.jsonl`` file (default: the one shipped with the package).
        documents: The long documents (default: :func:`~ko_embed_lab.data.load_long_korean`).

    Returns:
        A :class:`LongQuerySet`.

    Raises:
        ValueError: A row is malformed, names an unknown document, or its evidence is not in the
            document's text.

    Example:
        >>> qs = load_long_queries()
        >>> len(qs.data.queries), len(qs.data.corpus)
        (40, 11)
    """
    import pandas as pd

    file = Path(path) if path is not None else long_queries_dir() / "queries.jsonl"
    if not file.exists():
        raise FileNotFoundError(
            f"{file} does not exist; pass the path of a queries.jsonl file or None for the shipped one"
        )
    docs = {d.id: d for d in (documents if documents is not None else load_long_korean())}
    texts = {k: document_text(d) for k, d in docs.items()}
    rows: list[dict[str, Any]] = []
    for lineno, row in iter_jsonl(file, "queries"):
        missing = [f for f in _FIELDS if f not in row]
        if missing:
            raise ValueError(f"{file}:{lineno}: missing fields {missing}; every row needs {list(_FIELDS)}")
        if row["form"] not in LONG_QUERY_FORMS:
            raise ValueError(f"{file}:{lineno}: form {row['form']!r} is not one of {LONG_QUERY_FORMS}")
        for doc_id in [row["doc_id"], *row["also"]]:
            if doc_id not in docs:
                raise ValueError(f"{file}:{lineno}: unknown document {doc_id!r}; known ids are {sorted(docs)}")
        if row["evidence"] not in texts[row["doc_id"]]:
            raise ValueError(
                f"{file}:{lineno}: the evidence {row['evidence']!r} does not occur in {row['doc_id']}; "
                "copy it verbatim from one line of the document"
            )
        rows.append(row)
    ids = [r["_id"] for r in rows]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})
        raise ValueError(f"{file}: duplicate query ids {dup}")
    data = RetrievalSet(
        name="KoLongQ",
        corpus={k: {"title": "", "text": t} for k, t in texts.items()},
        queries={r["_id"]: r["text"] for r in rows},
        qrels={r["_id"]: {r["doc_id"]: 2, **{a: 1 for a in r["also"]}} for r in rows},
        split="test",
        path=str(file),
    )
    frame = pd.DataFrame(rows).rename(columns={"_id": "query_id"}).set_index("query_id")
    frame["also"] = frame["also"].map(tuple)
    return LongQuerySet(
        data=data, queries=frame[["text", "doc_id", "provision", "form", "evidence", "also"]], documents=docs
    )


def split_long_queries(qset: LongQuerySet, model_or_tokenizer: Any, *, max_tokens: int = 1000) -> RetrievalSet:
    """KoLongQ re-cut into documents of at most ``max_tokens`` tokens: a mid-length retrieval set.

    Each long document is cut at line breaks into pieces of at most ``max_tokens`` content tokens
    (a single longer line is cut at token boundaries); every piece gets its document's first line
    as ``title``. A query's relevant piece is the one holding its evidence (grade 1); the grade-1
    near-copies of the full set are dropped (which piece of a copy mentions the change is not
    labelled). Pieces are ``{doc_id}#{k}``.

    This is a stand-in, built offline, for a public Korean set of documents up to ~1,000 tokens:
    the queries and texts are KoLongQ's, so it is not unseen by anything tuned on KoLongQ.

    Example:
        >>> data = split_long_queries(load_long_queries(), model)
        >>> max(count_tokens(model, data.doc_texts(), special_tokens=False)) <= 1000 + 40  # title added
        True
    """
    from ..tokens import count_tokens, split_windows

    if max_tokens < 8:
        raise ValueError(f"max_tokens={max_tokens} is too small; use at least 8")
    corpus: dict[str, dict[str, str]] = {}
    where: dict[str, list[tuple[int, int, str]]] = {}
    for doc_id, doc in qset.data.corpus.items():
        text = doc["text"]
        title = text.strip().split("\n", 1)[0].strip()
        lines = text.splitlines(keepends=True)
        counts = count_tokens(model_or_tokenizer, lines, special_tokens=False) if lines else []
        assert isinstance(counts, list)
        pieces: list[tuple[int, str]] = []  # (start char, text)
        start, buf, n, pos = 0, "", 0, 0
        for line, c in zip(lines, counts, strict=True):
            if c > max_tokens:
                if buf:
                    pieces.append((start, buf))
                pieces += [(pos + w.start, w.text) for w in split_windows(model_or_tokenizer, line, max_tokens)]
                buf, n, start = "", 0, pos + len(line)
            elif n + c > max_tokens and buf:
                pieces.append((start, buf))
                buf, n, start = line, c, pos
            else:
                buf, n = buf + line, n + c
            pos += len(line)
        if buf.strip():
            pieces.append((start, buf))
        spans = []
        for k, (at, piece) in enumerate(p for p in pieces if p[1].strip()):
            pid = f"{doc_id}#{k}"
            corpus[pid] = {"title": title, "text": piece.strip()}
            spans.append((at, at + len(piece), pid))
        where[doc_id] = spans
    qrels: dict[str, dict[str, int]] = {}
    for qid, row in qset.queries.iterrows():
        if qid not in qset.data.queries:
            continue
        at = qset.data.corpus[row["doc_id"]]["text"].find(row["evidence"])
        hit = [pid for s, e, pid in where[row["doc_id"]] if s <= at < e]
        qrels[str(qid)] = {hit[0]: 1}
    return RetrievalSet(
        name=f"KoLongQ split at {max_tokens} tokens",
        corpus=corpus,
        queries={q: qset.data.queries[q] for q in qrels},
        qrels=qrels,
        split="test",
        path=qset.data.path,
    )
