"""Reading and writing retrieval sets in the BEIR folder layout.

A BEIR folder holds ``corpus.jsonl`` (``_id``, ``title``, ``text``), ``queries.jsonl``
(``_id``, ``text``) and ``qrels/<split>.tsv`` (``query-id``, ``corpus-id``, ``score``, with a
header row). mteb's retrieval tasks and most Korean retrieval sets on the hub use it.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["RetrievalSet", "decode_error", "doc_text", "iter_jsonl", "load_beir", "save_beir"]


@dataclass
class RetrievalSet:
    """A retrieval test collection in memory.

    Attributes:
        name: Human name of the set.
        corpus: ``{doc_id: {"title": str, "text": str}}``.
        queries: ``{query_id: text}`` — only queries with at least one judgment.
        qrels: ``{query_id: {doc_id: grade}}`` (grade ≥ 1 is relevant).
        split: The qrels split read.
        path: Folder it was read from, if any.
        skipped: What was dropped while loading, by reason, with counts.
    """

    name: str
    corpus: dict[str, dict[str, str]]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    split: str = "test"
    path: str | None = None
    skipped: dict[str, int] = field(default_factory=dict)
    _hash: str | None = field(default=None, repr=False)

    def content_hash(self) -> str:
        """sha256 of the canonical JSON of corpus, queries and qrels (identifies the data)."""
        if self._hash is None:
            blob = json.dumps([self.corpus, self.queries, self.qrels], sort_keys=True, ensure_ascii=False)
            self._hash = hashlib.sha256(blob.encode()).hexdigest()
        return self._hash

    def doc_ids(self) -> list[str]:
        """Corpus ids in file order."""
        return list(self.corpus)

    def doc_texts(self) -> list[str]:
        """Document texts as embedded: ``title + " " + text`` when a title exists (mteb's rule)."""
        return [doc_text(d) for d in self.corpus.values()]

    def identity(self) -> dict[str, Any]:
        """What identifies this set in a result record."""
        return {
            "name": self.name,
            "split": self.split,
            "path": self.path,
            "content_sha256": self.content_hash(),
            "n_queries": len(self.queries),
            "n_documents": len(self.corpus),
            "n_judgments": sum(len(v) for v in self.qrels.values()),
            "skipped": dict(self.skipped),
        }

    def subset(self, query_ids: list[str], name: str | None = None) -> RetrievalSet:
        """The same corpus with only some queries (e.g. one query form)."""
        missing = [q for q in query_ids if q not in self.queries]
        if missing:
            raise KeyError(f"unknown query ids: {missing[:5]}")
        return RetrievalSet(
            name=name or self.name,
            corpus=self.corpus,
            queries={q: self.queries[q] for q in query_ids},
            qrels={q: self.qrels[q] for q in query_ids},
            split=self.split,
            path=self.path,
        )


def doc_text(doc: dict[str, str]) -> str:
    """``title + " " + text`` when the document has a title, else ``text``."""
    # Exactly mteb's rule (mteb/_create_dataloaders.py), so that both embed the same strings.
    title = doc.get("title") or ""
    text = doc.get("text") or ""
    return (title + " " + text).strip() if len(title) > 0 else text.strip()


def decode_error(path: Path, encoding: str, exc: UnicodeDecodeError) -> ValueError:
    """A clear error for a file that is not in the expected encoding (often cp949/EUC-KR for Korean)."""
    return ValueError(
        f"{path} is not valid {encoding} (byte {exc.start}: {exc.reason}). Korean files are often cp949/EUC-KR: "
        f"pass encoding='cp949' (--encoding cp949 on the command line) or convert it: "
        f"iconv -f cp949 -t utf-8 {path.name} > {path.stem}.utf8{path.suffix}"
    )


def iter_jsonl(
    path: str | Path, what: str = "input", *, objects_only: bool = True, encoding: str = "utf-8"
) -> Iterator[tuple[int, Any]]:
    """Yield ``(line number, value)`` for each non-blank line of a JSON-lines file.

    Raises :class:`FileNotFoundError` for a missing file and :class:`ValueError` naming the file and
    line for invalid JSON (or, with ``objects_only``, a value that is not a JSON object), or for text
    that is not in ``encoding``.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{what} file {path} does not exist")
    if path.is_dir():
        raise ValueError(f"{what} {path} is a folder; pass a file")
    try:
        yield from _iter_jsonl(path, objects_only, encoding)
    except UnicodeDecodeError as exc:
        raise decode_error(path, encoding, exc) from None


def _iter_jsonl(path: Path, objects_only: bool, encoding: str) -> Iterator[tuple[int, Any]]:
    with path.open(encoding=encoding) as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from None
            if objects_only and not isinstance(obj, dict):
                raise ValueError(f"{path}:{lineno}: expected a JSON object, got {type(obj).__name__}")
            yield lineno, obj


def _read_jsonl(path: Path, what: str, encoding: str) -> Iterator[tuple[int, dict[str, Any]]]:
    if not path.exists():
        raise FileNotFoundError(f"{what} file {path} does not exist (BEIR layout needs {path.name})")
    yield from iter_jsonl(path, what, encoding=encoding)


def _read_items(path: Path, what: str, encoding: str = "utf-8") -> dict[str, dict[str, Any]]:
    items: dict[str, dict[str, Any]] = {}
    for lineno, obj in _read_jsonl(path, what, encoding):
        if "_id" not in obj:
            raise ValueError(f"{path}:{lineno}: missing '_id'")
        if not isinstance(obj.get("text"), str):
            raise ValueError(f"{path}:{lineno}: 'text' must be a string")
        key = str(obj["_id"])
        if key in items:
            raise ValueError(f"{path}:{lineno}: duplicate id {key!r} (ids must be unique)")
        items[key] = obj
    if not items:
        raise ValueError(f"{what} file {path} is empty")
    return items


def load_beir(
    path: str | Path, split: str = "test", *, name: str | None = None, strict: bool = True, encoding: str = "utf-8"
) -> RetrievalSet:
    """Load a retrieval set from a BEIR-layout folder, with validation.

    Args:
        path: Folder with ``corpus.jsonl``, ``queries.jsonl`` and ``qrels/<split>.tsv``.
        split: Which qrels file to read.
        name: Name for records (default: the folder's name).
        strict: If true, qrels that name unknown query or document ids are an error; if false
            they are skipped and counted in ``skipped``.
        encoding: Text encoding of the files (``"cp949"`` for many Korean files made on Windows).

    Raises:
        FileNotFoundError: A file of the layout is missing.
        ValueError: Malformed lines, duplicate ids, empty files, bad scores, unknown ids
            (``strict``), or no judged query left.

    Example:
        >>> ds = load_beir("my-set", split="test")
        >>> len(ds.queries), len(ds.corpus)
        (120, 5000)
    """
    root = Path(path).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder; pass a BEIR folder (corpus.jsonl, queries.jsonl, qrels/)")
    qrels_path = root / "qrels" / f"{split}.tsv"
    if not qrels_path.exists():
        have = sorted(p.stem for p in (root / "qrels").glob("*.tsv")) if (root / "qrels").is_dir() else []
        raise FileNotFoundError(f"{qrels_path} does not exist; splits present: {have or 'none'}")
    corpus_raw = _read_items(root / "corpus.jsonl", "corpus", encoding)
    corpus = {k: {"title": str(v.get("title") or ""), "text": v["text"]} for k, v in corpus_raw.items()}
    queries_all = {k: v["text"] for k, v in _read_items(root / "queries.jsonl", "queries", encoding).items()}

    qrels: dict[str, dict[str, int]] = {}
    skipped: dict[str, int] = {}
    unknown_q: list[str] = []
    unknown_d: list[str] = []
    try:
        with qrels_path.open(encoding=encoding, newline="") as fh:
            rows = list(csv.reader(fh, delimiter="\t"))
    except UnicodeDecodeError as exc:
        raise decode_error(qrels_path, encoding, exc) from None
    if not rows:
        raise ValueError(f"{qrels_path} is empty")
    start = 1 if rows[0] and not _is_int(rows[0][-1]) else 0
    for lineno, row in enumerate(rows[start:], start + 1):
        if not row or not "".join(row).strip():
            continue
        if len(row) < 3:
            raise ValueError(f"{qrels_path}:{lineno}: expected query-id, corpus-id, score (tab-separated), got {row}")
        qid, did, score = row[0], row[1], row[-1]
        if not _is_int(score):
            raise ValueError(f"{qrels_path}:{lineno}: score {score!r} is not an integer")
        if not -(2**31) <= int(score) < 2**31:
            raise ValueError(f"{qrels_path}:{lineno}: score {score} is out of range (relevance grades are small ints)")
        if qid not in queries_all:
            unknown_q.append(qid)
            continue
        if did not in corpus:
            unknown_d.append(did)
            continue
        if did in qrels.get(qid, {}):
            raise ValueError(f"{qrels_path}:{lineno}: pair ({qid}, {did}) judged twice")
        qrels.setdefault(qid, {})[did] = int(score)
    if strict and (unknown_q or unknown_d):
        raise ValueError(
            f"{qrels_path}: {len(unknown_q)} judgments name unknown query ids (e.g. {unknown_q[:3]}) and "
            f"{len(unknown_d)} unknown corpus ids (e.g. {unknown_d[:3]}); fix the files or pass strict=False (--lenient on the command line) to skip them"
        )
    if unknown_q:
        skipped["qrels_unknown_query"] = len(unknown_q)
    if unknown_d:
        skipped["qrels_unknown_document"] = len(unknown_d)
    # Queries whose judgments are all non-positive count as unjudged (BEIR/mteb skip them too).
    judged = {q: d for q, d in qrels.items() if any(s > 0 for s in d.values())}
    if len(judged) < len(qrels):
        skipped["queries_without_relevant"] = len(qrels) - len(judged)
    unjudged = [q for q in queries_all if q not in qrels]
    if unjudged:
        skipped["queries_without_judgments"] = len(unjudged)
    if not judged:
        raise ValueError(f"{qrels_path}: no query has a relevant document; nothing to evaluate")
    queries = {q: queries_all[q] for q in queries_all if q in judged}
    return RetrievalSet(
        name=name or root.name,
        corpus=corpus,
        queries=queries,
        qrels=judged,
        split=split,
        path=str(root),
        skipped=skipped,
    )


def save_beir(data: RetrievalSet, path: str | Path) -> Path:
    """Write a :class:`RetrievalSet` in BEIR layout (UTF-8, one JSON object a line)."""
    root = Path(path)
    (root / "qrels").mkdir(parents=True, exist_ok=True)
    with (root / "corpus.jsonl").open("w", encoding="utf-8") as fh:
        for did, doc in data.corpus.items():
            fh.write(
                json.dumps({"_id": did, "title": doc.get("title", ""), "text": doc["text"]}, ensure_ascii=False) + "\n"
            )
    with (root / "queries.jsonl").open("w", encoding="utf-8") as fh:
        for qid, text in data.queries.items():
            fh.write(json.dumps({"_id": qid, "text": text}, ensure_ascii=False) + "\n")
    with (root / "qrels" / f"{data.split}.tsv").open("w", encoding="utf-8") as fh:
        fh.write("query-id\tcorpus-id\tscore\n")
        for qid, docs in data.qrels.items():
            for did, score in docs.items():
                fh.write(f"{qid}\t{did}\t{score}\n")
    return root


def _is_int(s: str) -> bool:
    try:
        int(s)
    except ValueError:
        return False
    return True
