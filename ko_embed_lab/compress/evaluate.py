"""Retrieval quality of compressed embeddings: truncation × precision × rescoring × index.

:func:`evaluate_compressed` embeds a retrieval set once, compresses the corpus as asked, searches,
and scores the run with :func:`~ko_embed_lab.retrieval.score_run` (``pytrec_eval``), returning a
:class:`~ko_embed_lab.retrieval.RetrievalResult` whose provenance records every setting and the
calibration's identity. :func:`compression_sweep` does the same for a grid of settings over one set of
embeddings.

The run of a compressed search holds ``k`` documents per query (default 10, the depth of NDCG@10):
rescoring takes ``rescore × k`` candidates, so its cost is stated in the same unit. Metrics deeper
than ``k`` (Recall@100, MAP@100) are those of a depth-``k`` run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..encode import truncate_dim
from ..provenance import provenance
from ..retrieval.evaluate import RetrievalResult
from ..retrieval.metrics import score_run
from ..retrieval.runs import run_from_scores
from ..types import Encoder, Run, encoder_identity
from .index import build_index
from .pca import PCARotation, fit_pca
from .quantize import check_precision, quantize
from .rescore import compressed_search

if TYPE_CHECKING:
    import pandas as pd

    from ..data.beir import RetrievalSet

__all__ = ["INDEXES", "compressed_run", "compression_sweep", "embed_set", "evaluate_compressed"]

logger = logging.getLogger(__name__)

#: Search back-ends of :func:`evaluate_compressed`: exhaustive over the codes, or a faiss ANN index.
INDEXES = ("exact", "hnsw", "ivfpq")


def embed_set(
    encoder: Encoder,
    data: RetrievalSet,
    *,
    query_prompt: str | None = None,
    document_prompt: str | None = None,
    **encode_kwargs: Any,
) -> dict[str, Any]:
    """Embed the scorable queries and the corpus once: ``{"qids", "queries", "dids", "docs", "qrels", "dropped"}``.

    Queries without a relevant document are left out, as :func:`~ko_embed_lab.evaluate_retrieval` does.
    """
    qids = [q for q in data.queries if any(g > 0 for g in data.qrels.get(q, {}).values())]
    if not qids:
        raise ValueError(f"{data.name}: no query has a relevant document in the qrels; nothing to evaluate")
    if not data.corpus:
        raise ValueError(f"{data.name}: the corpus is empty; nothing to search")
    q = encoder.encode([data.queries[i] for i in qids], kind="query", prompt=query_prompt, **encode_kwargs)
    d = encoder.encode(data.doc_texts(), kind="document", prompt=document_prompt, **encode_kwargs)
    return {
        "qids": qids,
        "queries": np.asarray(q, dtype=np.float32),
        "dids": data.doc_ids(),
        "docs": np.asarray(d, dtype=np.float32),
        "qrels": {i: data.qrels[i] for i in qids},
        "dropped": len(data.queries) - len(qids),
    }


def _reduce(x: np.ndarray, dim: int | None, rotation: PCARotation | None) -> np.ndarray:
    if rotation is not None:
        return rotation.transform(x, dim)
    return truncate_dim(x, dim)


def compressed_run(
    queries: np.ndarray,
    docs: np.ndarray,
    qids: Sequence[str],
    dids: Sequence[str],
    *,
    dim: int | None = None,
    precision: str = "float32",
    rescore: int | None = None,
    index: str = "exact",
    k: int = 10,
    center: str = "mean",
    rescore_with: str = "float32",
    rotation: PCARotation | None = None,
    seed: int = 0,
) -> tuple[Run, dict[str, Any]]:
    """Compress, search and return the run plus a record of the settings and costs.

    Args:
        queries, docs: Full-dimension float embeddings (rows in ``qids`` / ``dids`` order).
        dim: Keep this many dimensions (``None``: all): the first ones, or the first principal axes
            when ``rotation`` is given.
        precision: Precision of the corpus codes (see :data:`~ko_embed_lab.compress.quantize.PRECISIONS`).
        rescore: Candidate multiplier for full-precision rescoring (``None``: none).
        index: ``"exact"`` (exhaustive over the codes), ``"hnsw"`` or ``"ivfpq"`` (faiss, float32 input).
        k: Depth of the run.
        center: Threshold of binary codes (``"mean"``, ``"median"``, ``"zero"``).
        rescore_with: ``"float32"`` or ``"int8"``: the document vectors rescoring reads.
        rotation: A :class:`~ko_embed_lab.compress.pca.PCARotation` (the PCA control), or ``None``.
        seed: Seed of the ANN index.
    """
    check_precision(precision)
    if index not in INDEXES:
        raise ValueError(f"index={index!r}; use one of {', '.join(INDEXES)}")
    if rescore_with not in ("float32", "int8"):
        raise ValueError(f"rescore_with={rescore_with!r}; use 'float32' or 'int8'")
    q = _reduce(queries, dim, rotation)
    d = _reduce(docs, dim, rotation)
    used_dim = d.shape[1]
    settings: dict[str, Any] = {
        "dim": used_dim,
        "precision": precision,
        "rescore": rescore or 0,
        "index": index,
        "k": k,
        "rotation": f"pca:{rotation.identity}" if rotation is not None else "none",
        "rescore_with": rescore_with if rescore else None,
    }
    if rescore_with == "int8" and rescore:
        rescore_vecs, rescore_bytes = quantize(d, "int8").dequantize(), used_dim
    else:
        rescore_vecs, rescore_bytes = d, 4 * used_dim
    if index == "exact":
        store = quantize(d, precision, center=center)
        hits = compressed_search(
            q, store, k, rescore=rescore, rescore_vectors=rescore_vecs, rescore_bytes_per_vector=rescore_bytes
        )
        idx, val, cost = hits.indices, hits.scores, hits.cost
        settings["calibration"] = store.calibration.as_dict()
    else:
        if precision != "float32":
            raise ValueError(f"index={index!r} stores its own codes: use precision='float32' with it")
        ann = build_index(index, d, seed=seed, keep_full=bool(rescore))
        if rescore and rescore_with == "int8":
            ann.full = rescore_vecs
        t0 = time.perf_counter()
        idx, val = ann.search(q, k, rescore=rescore)
        cost = {
            "candidates_per_query": float(min(len(d), k * (rescore or 1))),
            "search_ms_per_query": 1000 * (time.perf_counter() - t0) / max(1, len(q)),
            "index_bytes_per_vector": ann.bytes_per_vector,
            "rescore_bytes_per_vector": float(rescore_bytes if rescore else 0),
            "build_s": ann.build_s,
        }
        settings["index_params"] = ann.params
        settings["calibration"] = None
    return run_from_scores(qids, dids, idx, val), {"settings": settings, "cost": cost}


def evaluate_compressed(
    encoder: Encoder,
    data: RetrievalSet,
    *,
    dim: int | None = None,
    precision: str = "float32",
    rescore: int | None = None,
    index: str = "exact",
    k: int = 10,
    center: str = "mean",
    rescore_with: str = "float32",
    pca: bool = False,
    seed: int = 0,
    query_prompt: str | None = None,
    document_prompt: str | None = None,
    embeddings: Mapping[str, Any] | None = None,
    **encode_kwargs: Any,
) -> RetrievalResult:
    """Evaluate retrieval with a compressed corpus (see :func:`compressed_run` for the settings).

    Args:
        pca: Reduce dimensions after a PCA rotation fitted on the corpus (the control), not by truncation.
        embeddings: The output of :func:`embed_set`, to reuse (else the set is embedded here).
        **encode_kwargs: Passed to ``encoder.encode`` (``cache=True``...).

    Example:
        >>> res = evaluate_compressed(model, load_probe().data, precision="binary", rescore=4, cache=True)
        >>> res.provenance["settings"]["precision"], res.provenance["settings"]["rescore"]  # doctest: +SKIP
        ('binary', 4)
    """
    t0 = time.perf_counter()
    emb = (
        dict(embeddings)
        if embeddings is not None
        else embed_set(encoder, data, query_prompt=query_prompt, document_prompt=document_prompt, **encode_kwargs)
    )
    t1 = time.perf_counter()
    rotation = fit_pca(emb["docs"], seed=seed) if pca else None
    run, rec = compressed_run(
        emb["queries"], emb["docs"], emb["qids"], emb["dids"], dim=dim, precision=precision, rescore=rescore,
        index=index, k=k, center=center, rescore_with=rescore_with, rotation=rotation, seed=seed,
    )  # fmt: skip
    metrics, per_query = score_run(emb["qrels"], run)
    t2 = time.perf_counter()
    ident = encoder_identity(encoder)
    prov = provenance(
        model=ident,
        dataset=data.identity(),
        settings={
            "query_prompt": query_prompt if query_prompt is not None else ident.get("query_prompt"),
            "document_prompt": document_prompt if document_prompt is not None else ident.get("document_prompt"),
            "search": "compressed",
            "seed": seed,
            "center": center if precision in ("binary", "ubinary") else None,
            **rec["settings"],
            "queries_without_relevant_dropped": emb["dropped"],
            "metrics_by": "pytrec_eval",
        },
        cost=rec["cost"],
        timings={"encode_s": round(t1 - t0, 3), "search_and_score_s": round(t2 - t1, 3), "wall_s": round(t2 - t0, 3)},
    )
    return RetrievalResult(metrics=metrics, per_query=per_query, run=run, provenance=prov)


def compression_sweep(
    embeddings: Mapping[str, Any],
    *,
    dims: Sequence[int | None] = (None,),
    precisions: Sequence[str] = ("float32", "float16", "int8", "binary"),
    rescores: Sequence[int | None] = (None, 4),
    pca: bool = False,
    center: str = "mean",
    k: int = 10,
    seed: int = 0,
) -> pd.DataFrame:
    """NDCG@10 and cost of every ``dims × precisions × rescores`` setting, over one set of embeddings.

    Rescoring is swept only for the compact precisions (int8, uint8, binary, ubinary): float32 and
    float16 rank by (nearly) full-precision scores already. ``pct_of_float32`` is the share of the
    full-dimension float32 NDCG@10 kept.

    Args:
        embeddings: The output of :func:`embed_set`.
        pca: Reduce dimensions after the corpus's PCA rotation (the control) instead of truncating.

    Returns:
        One row per setting: ``dim``, ``precision``, ``rescore``, ``reduction``, ``ndcg@10``,
        ``bytes_per_vector``, ``pct_of_float32``, ``search_ms_per_query``, ``rescore_ms_per_query``,
        ``calibration``.
    """
    import pandas as pd

    full_dim = int(embeddings["docs"].shape[1])
    rotation = fit_pca(embeddings["docs"], seed=seed) if pca else None
    base_run, _ = compressed_run(embeddings["queries"], embeddings["docs"], embeddings["qids"], embeddings["dids"], k=k)
    base = score_run(embeddings["qrels"], base_run)[0]["ndcg@10"]
    rows = []
    for dim in dims:
        for precision in precisions:
            compact = precision in ("int8", "uint8", "binary", "ubinary")
            for rescore in rescores if compact else (None,):
                run, rec = compressed_run(
                    embeddings["queries"], embeddings["docs"], embeddings["qids"], embeddings["dids"],
                    dim=dim, precision=precision, rescore=rescore, k=k, center=center, rotation=rotation, seed=seed,
                )  # fmt: skip
                ndcg = score_run(embeddings["qrels"], run)[0]["ndcg@10"]
                s, c = rec["settings"], rec["cost"]
                rows.append(
                    {
                        "dim": s["dim"] if dim is not None else full_dim,
                        "precision": precision,
                        "rescore": s["rescore"],
                        "reduction": "pca" if pca else "truncation",
                        "ndcg@10": ndcg,
                        "bytes_per_vector": int(c["index_bytes_per_vector"]),
                        "pct_of_float32": 100 * ndcg / base if base > 0 else float("nan"),
                        "search_ms_per_query": c["search_ms_per_query"],
                        "rescore_ms_per_query": c["rescore_ms_per_query"],
                        "calibration": (s["calibration"] or {}).get("id"),
                    }
                )
    return pd.DataFrame(rows)
