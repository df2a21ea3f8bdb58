"""Embedding-level analyses: the card's example as a score matrix, score distributions by kind of
passage, and usage-path and precision comparisons (the same texts embedded two ways).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ._hf import hf_quiet

if TYPE_CHECKING:
    import pandas as pd

    from .data.probe import Probe
    from .models import EmbeddingModel

__all__ = [
    "CARD_DOCUMENTS",
    "CARD_QUERIES",
    "compare_embeddings",
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

    tok = AutoTokenizer.from_pretrained(path)
    with hf_quiet():  # the load report lists the unused pooler: expected here
        try:
            hf = AutoModel.from_pretrained(path, add_pooling_layer=False)
        except TypeError:
            hf = AutoModel.from_pretrained(path)
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
