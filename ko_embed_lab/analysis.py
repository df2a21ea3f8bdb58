"""Analyses shared by the chapters: breakdowns by label, flipped queries, score distributions,
usage-path and precision comparisons.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from .evaluate import METRICS, RetrievalResult

if TYPE_CHECKING:
    import pandas as pd

    from .data.probe import Probe
    from .models import EmbeddingModel

__all__ = [
    "CARD_DOCUMENTS",
    "CARD_QUERIES",
    "breakdown",
    "compare_embeddings",
    "first_relevant_rank",
    "flipped_queries",
    "metrics_table",
    "score_matrix",
    "similarity_profile",
    "transformers_embed",
]

#: The model card's own usage example.
CARD_QUERIES = ["대한민국의 수도는 어디인가?", "한글을 만든 사람은 누구인가?"]
CARD_DOCUMENTS = ["대한민국의 수도는 서울이다.", "한글은 세종대왕이 창제하였다."]


def score_matrix(
    model: EmbeddingModel, queries: Sequence[str], documents: Sequence[str], *, query_prompt: str | None = None
) -> pd.DataFrame:
    """Cosine scores, queries × documents, as a labelled DataFrame."""
    import pandas as pd

    q = model.encode_queries(list(queries), prompt=query_prompt)
    d = model.encode_documents(list(documents))
    return pd.DataFrame(q @ d.T, index=list(queries), columns=list(documents))


def breakdown(
    results: Mapping[str, RetrievalResult],
    labels: pd.DataFrame,
    by: str | Sequence[str],
    metrics: Sequence[str] = ("ndcg@10", "mrr@10", "recall@10"),
) -> pd.DataFrame:
    """Mean per-query metrics of several systems, grouped by query labels.

    Args:
        results: ``{system name: result}``.
        labels: Query labels indexed by query id (e.g. ``probe.queries``).
        by: Label column(s) to group by (``"form"``, ``"domain"``...).
        metrics: Metrics to report.

    Returns:
        DataFrame indexed by the groups (plus ``n``), with columns ``(system, metric)``.
    """
    import pandas as pd

    keys = [by] if isinstance(by, str) else list(by)
    frames = {}
    n = None
    for name, res in results.items():
        pq = res.per_query_frame()[list(metrics)].join(labels[keys], how="inner")
        grouped = pq.groupby(keys)
        frames[name] = grouped[list(metrics)].mean()
        n = grouped.size()
    out = pd.concat(frames, axis=1)
    out.insert(0, ("", "n"), n)
    return out


def first_relevant_rank(result: RetrievalResult, qrels: Mapping[str, Mapping[str, int]]) -> dict[str, int | None]:
    """Rank (1-based) of the first relevant document per query in a result's run (None if absent)."""
    out: dict[str, int | None] = {}
    for q, docs in result.run.items():
        ranked = sorted(docs.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)
        rel = qrels.get(q, {})
        out[q] = next((i + 1 for i, (d, _) in enumerate(ranked) if rel.get(d, 0) > 0), None)
    return out


def flipped_queries(
    a: RetrievalResult,
    b: RetrievalResult,
    qrels: Mapping[str, Mapping[str, int]],
    texts: Mapping[str, str],
    *,
    metric: str = "ndcg@10",
    min_change: float = 0.3,
    labels: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Queries whose ``metric`` changes by at least ``min_change`` between two results.

    Returns:
        DataFrame with the query text, both scores, the rank of the first relevant document in
        each run, and the change (``b − a``), largest changes first.
    """
    import pandas as pd

    ra, rb = first_relevant_rank(a, qrels), first_relevant_rank(b, qrels)
    rows = []
    for q in a.per_query:
        if q not in b.per_query:
            continue
        delta = b.per_query[q][metric] - a.per_query[q][metric]
        if abs(delta) >= min_change:
            rows.append(
                {
                    "query_id": q,
                    "query": texts.get(q, ""),
                    f"{metric} A": a.per_query[q][metric],
                    f"{metric} B": b.per_query[q][metric],
                    "change": delta,
                    "rank A": ra.get(q),
                    "rank B": rb.get(q),
                }
            )
    df = pd.DataFrame(rows, columns=["query_id", "query", f"{metric} A", f"{metric} B", "change", "rank A", "rank B"])
    df = df.set_index("query_id")
    if labels is not None and len(df):
        df = df.join(labels[[c for c in ("form", "domain") if c in labels.columns]])
    return df.reindex(df["change"].abs().sort_values(ascending=False).index)


def similarity_profile(
    probe: Probe, q_emb: np.ndarray, d_emb: np.ndarray, *, n_random: int = 5, seed: int = 0
) -> pd.DataFrame:
    """Cosine of each query with its relevant passages, its hard negatives and random passages.

    ``q_emb`` rows follow ``probe.data.queries`` order and ``d_emb`` rows ``probe.data.corpus``
    order. Random passages are drawn (seeded) among those neither relevant nor hard negatives.

    Returns:
        Long DataFrame: ``query_id``, ``kind`` (relevant / hard negative / random), ``score``.
    """
    import pandas as pd

    rng = np.random.default_rng(seed)
    qids = list(probe.data.queries)
    dids = probe.data.doc_ids()
    dpos = {d: i for i, d in enumerate(dids)}
    rows = []
    for i, q in enumerate(qids):
        rel = {d for d, g in probe.data.qrels[q].items() if g > 0}
        hard = set(probe.hard_negatives(q)) - rel
        pool = [j for j, d in enumerate(dids) if d not in rel and d not in hard]
        picks = rng.choice(pool, size=min(n_random, len(pool)), replace=False)
        for kind, idx in (
            ("relevant", [dpos[d] for d in sorted(rel)]),
            ("hard negative", [dpos[d] for d in sorted(hard)]),
            ("random", list(picks)),
        ):
            for j in idx:
                rows.append({"query_id": q, "kind": kind, "score": float(q_emb[i] @ d_emb[j])})
    return pd.DataFrame(rows)


def transformers_embed(
    model: EmbeddingModel, texts: Sequence[str], *, prompt: str = "", pooling: str | None = None
) -> np.ndarray:
    """Embed with plain ``transformers`` (AutoTokenizer + AutoModel), as the card's second snippet.

    The model folder is re-read with ``AutoModel.from_pretrained`` (``add_pooling_layer=False``
    where the architecture takes it), the configured pooling applied — CLS token or attention-masked
    mean — then L2 normalisation.
    """
    import torch
    from transformers import AutoModel, AutoTokenizer

    pooling = pooling or (model.spec.pooling if model.spec else "cls")
    path = model.path or model.name
    from transformers.utils import logging as hf_logging

    tok = AutoTokenizer.from_pretrained(path)
    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()  # the load report lists the unused pooler: expected here
    hf_logging.disable_progress_bar()
    try:
        try:
            hf = AutoModel.from_pretrained(path, add_pooling_layer=False)
        except TypeError:
            hf = AutoModel.from_pretrained(path)
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()
    hf.eval()
    batch = tok(
        [prompt + t for t in texts], padding=True, truncation=True, return_tensors="pt", max_length=model.max_seq_length
    )
    with torch.no_grad():
        hidden = hf(**batch)[0]
    if pooling == "cls":
        emb = hidden[:, 0]
    elif pooling == "mean":
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        emb = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    else:
        raise ValueError(f"pooling={pooling!r}: use 'cls' or 'mean'")
    return torch.nn.functional.normalize(emb.float(), p=2, dim=1).numpy()


def compare_embeddings(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Max absolute difference and min/median row cosine between two embedding matrices."""
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    an = a / np.linalg.norm(a, axis=1, keepdims=True)
    bn = b / np.linalg.norm(b, axis=1, keepdims=True)
    cos = (an * bn).sum(1)
    return {
        "max_abs_diff": float(np.abs(a - b).max()),
        "min_cosine": float(cos.min()),
        "median_cosine": float(np.median(cos)),
        "n": int(a.shape[0]),
    }


def metrics_table(results: Mapping[str, RetrievalResult], metrics: Sequence[str] = METRICS) -> pd.DataFrame:
    """One row per system, one column per metric."""
    import pandas as pd

    return pd.DataFrame({name: {m: r.metrics[m] for m in metrics} for name, r in results.items()}).T
