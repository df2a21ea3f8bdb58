"""A live leaderboard on the project's own Korean set (KoProbe), by query form and domain.

:func:`probe_leaderboard` ranks systems on KoProbe — each model with and without its query
prompt, BM25 over Korean morphemes, and their reciprocal-rank fusion — overall and by any of the
probe's query labels (:class:`Leaderboard`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..models import EmbeddingModel, ModelNotAvailableError, load_model

if TYPE_CHECKING:
    import pandas as pd

    from ..data.probe import Probe
    from ..retrieval import RetrievalResult

__all__ = ["BM25_SYSTEM", "Leaderboard", "dense_system", "fusion_system", "probe_leaderboard"]

logger = logging.getLogger(__name__)

#: Name of the BM25 system on the leaderboard.
BM25_SYSTEM = "BM25 (Korean morphemes)"


def dense_system(model: EmbeddingModel) -> str:
    """Name of a model's prompted dense run on the leaderboard (``label (prompt 'query: ')``)."""
    return f"{model.label} (prompt {model.query_prompt!r})" if model.query_prompt else f"{model.label}"


def fusion_system(model: EmbeddingModel) -> str:
    """Name of the fusion of a model's prompted run with BM25 on the leaderboard."""
    return f"RRF: {model.label} + BM25"


@dataclass
class Leaderboard:
    """Systems ranked on a labelled probe set.

    Attributes:
        results: ``{system: RetrievalResult}``, in insertion order.
        systems: ``{system: {"kind": "dense"|"lexical"|"fusion", "model": ..., "prompt": ...}}``.
        labels: The probe's query labels (``form``, ``domain``...).
        skipped: ``{model name: reason}`` for models that could not be loaded.
    """

    results: dict[str, RetrievalResult]
    systems: dict[str, dict[str, Any]]
    labels: pd.DataFrame
    skipped: dict[str, str] = field(default_factory=dict)

    def label(self) -> str:
        """Who produced the board's numbers, for a figure's subtitle (``"model-a, model-b and BM25"``)."""
        return ", ".join(sorted({s["model"] for s in self.systems.values() if s["model"]})) + " and BM25"

    def table(self, metrics: Sequence[str] = ("ndcg@10", "mrr@10", "recall@10", "recall@100")) -> pd.DataFrame:
        """One row per system, best NDCG@10 first, with its kind and rank."""
        import pandas as pd

        df = pd.DataFrame({s: {m: r.metrics[m] for m in metrics} for s, r in self.results.items()}).T
        df.insert(0, "kind", [self.systems[s]["kind"] for s in df.index])
        df = df.sort_values(metrics[0], ascending=False)
        df.insert(0, "rank", range(1, len(df) + 1))
        df.index.name = "system"
        return df

    def by(self, label: str, metric: str = "ndcg@10") -> pd.DataFrame:
        """Mean ``metric`` per system (columns) and label value (rows), with the query count ``n``."""
        from ..retrieval import breakdown

        if label not in self.labels.columns:
            raise KeyError(f"unknown label {label!r}; labels are {list(self.labels.columns)}")
        out = breakdown(self.results, self.labels, label, metrics=(metric,))
        n = out[("", "n")]
        wide = out.drop(columns=("", "n")).xs(metric, axis=1, level=1)
        wide.insert(0, "n", n)
        return wide

    def long(self, label: str, metric: str = "ndcg@10") -> pd.DataFrame:
        """:meth:`by` in long form (``label``, ``system``, ``kind``, ``metric``), for plotting."""
        wide = self.by(label, metric).drop(columns="n")
        out = wide.reset_index().melt(id_vars=label, var_name="system", value_name=metric)
        out["kind"] = out["system"].map(lambda s: self.systems[s]["kind"])
        return out


def probe_leaderboard(
    probe: Probe,
    models: Sequence[EmbeddingModel | str],
    *,
    prompt_ablation: bool = True,
    bm25: bool = True,
    fusion: bool = True,
    rrf_k: int = 60,
    cache: Any = True,
    device: str = "auto",
) -> Leaderboard:
    """Rank systems on a labelled probe (KoProbe or a sample of it).

    Systems: each model with its query prompt and (``prompt_ablation``) without it; BM25 over
    Korean content morphemes (kiwipiepy + bm25s); and (``fusion``) reciprocal-rank fusion (ranx)
    of BM25 with each model's prompted run. Models given by name are loaded; one that cannot be
    loaded here is skipped and listed in ``skipped`` with the reason.

    Args:
        probe: The probe (``load_probe()`` or ``load_probe().sample(...)``).
        models: Loaded models or names (registry names, hub ids, folders).
        prompt_ablation: Also run each model with no query prompt.
        bm25: Include the BM25 baseline.
        fusion: Include BM25 + dense fusion (needs ``bm25``).
        rrf_k: The RRF constant.
        cache: Embedding cache for the dense runs (``True``: the default cache).
        device: Used for models given by name.

    Example:
        >>> board = probe_leaderboard(load_probe().sample(16, n_docs=96), [load_model()])  # doctest: +SKIP
        >>> board.table().index[0]  # doctest: +SKIP
    """
    from ..retrieval import evaluate_retrieval
    from ..retrieval.lexical import KoreanTokenizer, bm25_run, evaluate_run, rrf_fuse

    if fusion and not bm25:
        raise ValueError("fusion combines BM25 with the dense runs: set bm25=True or fusion=False")
    if not models and not bm25:
        raise ValueError("nothing to rank: pass at least one model or keep bm25=True")
    data = probe.data
    results: dict[str, RetrievalResult] = {}
    systems: dict[str, dict[str, Any]] = {}
    skipped: dict[str, str] = {}
    loaded: list[EmbeddingModel] = []
    for m in models:
        if isinstance(m, EmbeddingModel):
            loaded.append(m)
            continue
        try:
            loaded.append(load_model(m, device=device))
        except (ModelNotAvailableError, FileNotFoundError, ValueError) as exc:
            skipped[str(m)] = str(exc).splitlines()[0]
            logger.warning("leaderboard: skipping %s: %s", m, skipped[str(m)])

    bm25_name = BM25_SYSTEM
    run_bm25: dict[str, dict[str, float]] | None = None
    if bm25:
        tok = KoreanTokenizer()
        t0 = time.perf_counter()
        run_bm25 = bm25_run(data, tokenizer=tok)
        results[bm25_name] = evaluate_run(
            data,
            run_bm25,
            system=bm25_name,
            settings={"k1": 1.5, "b": 0.75, "tokenizer": tok.name},
            wall_s=round(time.perf_counter() - t0, 3),
        )
        systems[bm25_name] = {"kind": "lexical", "model": None, "prompt": None}

    for model in loaded:
        name = dense_system(model)
        doc_emb = model.encode_documents(data.doc_texts(), cache=cache)
        res = evaluate_retrieval(model, data, doc_embeddings=doc_emb, cache=cache)
        results[name] = res
        systems[name] = {"kind": "dense", "model": model.label, "prompt": model.query_prompt}
        if prompt_ablation and model.query_prompt:
            bare = f"{model.label} (no prompt)"
            results[bare] = evaluate_retrieval(model, data, query_prompt="", doc_embeddings=doc_emb, cache=cache)
            systems[bare] = {"kind": "dense", "model": model.label, "prompt": ""}
        if fusion and run_bm25 is not None:
            fused_name = fusion_system(model)
            fused = rrf_fuse([res.run, run_bm25], k=rrf_k)
            results[fused_name] = evaluate_run(
                data, fused, system=fused_name, settings={"method": "rrf", "k": rrf_k, "runs": [name, bm25_name]}
            )
            systems[fused_name] = {"kind": "fusion", "model": model.label, "prompt": model.query_prompt}
    return Leaderboard(results=results, systems=systems, labels=probe.queries, skipped=skipped)
