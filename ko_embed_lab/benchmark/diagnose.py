"""Why a static (model2vec) model scores what it scores: prompts, truncation, simple sentences, its tokens.

:func:`static_diagnosis` runs cheap checks on a static encoder over one retrieval set; the chapter's
finding is chosen from them by :func:`ko_embed_lab.report.benchmark.static_finding`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ..data.beir import RetrievalSet

__all__ = ["TOY_PASSAGES", "TOY_QUERIES", "lexical_ndcg", "static_diagnosis", "toy_check"]

#: Five simple Korean queries, each answered by the passage of the same position in :data:`TOY_PASSAGES`.
TOY_QUERIES = (
    "고양이는 어디에서 자나요?",
    "삼성전자 주가가 올랐다",
    "감기에 걸렸을 때 먹는 약",
    "서울의 인구는 얼마인가",
    "축구 경기 결과",
)
TOY_PASSAGES = (
    "고양이는 따뜻한 소파 위에서 잠을 잔다.",
    "오늘 삼성전자의 주가는 3% 상승했다.",
    "감기 증상에는 해열제와 충분한 휴식이 도움이 된다.",
    "서울특별시의 인구는 약 940만 명이다.",
    "어제 열린 축구 경기에서 한국이 2대 1로 이겼다.",
)


def toy_check(model: Any, queries: Sequence[str] = TOY_QUERIES, passages: Sequence[str] = TOY_PASSAGES) -> int:
    """How many queries rank their own passage (same position) first among ``passages``."""
    q = np.asarray(model.encode_queries(list(queries)))
    d = np.asarray(model.encode_documents(list(passages)))
    return int((np.argmax(q @ d.T, axis=1) == np.arange(len(queries))).sum())


def _bags(tokenizer: Any, texts: Sequence[str], vocab: int) -> Any:
    from scipy import sparse

    rows: list[int] = []
    cols: list[int] = []
    for i, e in enumerate(tokenizer.encode_batch(list(texts), add_special_tokens=False)):
        rows += [i] * len(e.ids)
        cols += list(e.ids)
    return sparse.csr_matrix((np.ones(len(cols)), (rows, cols)), shape=(len(texts), vocab))


def _rownorm(m: Any) -> Any:
    from scipy import sparse

    if sparse.issparse(m):
        n = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
        return sparse.diags(1 / np.maximum(n, 1e-12)) @ m
    return m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)


def _ndcg(data: RetrievalSet, scores: Any) -> float:
    from ..retrieval.metrics import score_run
    from ..retrieval.runs import run_from_matrix

    run = run_from_matrix(list(data.queries), list(data.corpus), np.asarray(scores), 1000)
    return float(score_run(data.qrels, run)[0]["ndcg@10"])


def lexical_ndcg(tokenizer: Any, data: RetrievalSet, vocab: int, vectors: np.ndarray | None = None) -> float:
    """NDCG@10 of bags of ``tokenizer``'s tokens weighted by IDF on ``data``'s corpus (cosine).

    With ``vectors`` (one row per token id), each text is instead the IDF-weighted sum of its tokens'
    vectors: the static model with the corpus's IDF in place of its own token weights.
    """
    bd = _bags(tokenizer, data.doc_texts(), vocab)
    bq = _bags(tokenizer, list(data.queries.values()), vocab)
    df = np.asarray((bd > 0).sum(axis=0)).ravel()
    idf = np.log((bd.shape[0] + 1) / (df + 1)) + 1
    from scipy import sparse

    w = sparse.diags(idf)
    if vectors is None:
        return _ndcg(data, (_rownorm(bq @ w) @ _rownorm(bd @ w).T).toarray())
    return _ndcg(data, _rownorm(bq @ w @ vectors) @ _rownorm(bd @ w @ vectors).T)


def static_diagnosis(
    static: Any, data: RetrievalSet, teacher: Any | None = None, *, cache: bool = True
) -> dict[str, Any]:
    """Cheap checks of a static encoder on one set.

    Args:
        static: A :class:`~ko_embed_lab.encoders.static.StaticEncoder` (``tokenizer``, ``st``,
            ``token_lengths``, ``max_seq_length``).
        data: The retrieval set.
        teacher: The model it was distilled from, for the simple-sentence check (optional).
        cache: Embedding cache for the retrieval runs.

    Returns:
        ``ndcg`` (with its prompts), ``ndcg_no_prompt``, ``n_docs``, ``truncated`` (passages at the
        length limit), ``max_tokens``, ``max_seq_length``, ``toy_correct``/``toy_n`` (simple Korean
        pairs ranked right), ``teacher_toy_correct`` (``None`` without a teacher), ``lexical_ndcg``
        (IDF-weighted bags of the same tokens) and ``idf_ndcg`` (its vectors, IDF-weighted).
    """
    from ..retrieval import evaluate_retrieval

    with_prompt = evaluate_retrieval(static, data, cache=cache).metrics["ndcg@10"]
    bare = evaluate_retrieval(static, data, query_prompt="", document_prompt="", cache=cache).metrics["ndcg@10"]
    lengths = static.token_lengths([static.document_prompt + t for t in data.doc_texts()])
    limit = static.max_seq_length
    vectors = static.st[0].embedding.weight.detach().cpu().numpy()
    vocab = vectors.shape[0]
    return {
        "ndcg": float(with_prompt),
        "ndcg_no_prompt": float(bare),
        "n_docs": len(lengths),
        "truncated": int(sum(n >= limit for n in lengths)) if limit else 0,
        "max_tokens": int(max(lengths)),
        "max_seq_length": limit,
        "toy_correct": toy_check(static),
        "toy_n": len(TOY_QUERIES),
        "teacher_toy_correct": toy_check(teacher) if teacher is not None else None,
        "lexical_ndcg": lexical_ndcg(static.tokenizer, data, vocab),
        "idf_ndcg": lexical_ndcg(static.tokenizer, data, vocab, vectors),
    }
