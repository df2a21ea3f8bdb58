"""The needle grid and what it shows: scores per length and position, regimes, evidence ranks.

:func:`needle_grid` scores every cell of :func:`~ko_embed_lab.longdoc.needle_sets` with every
strategy; :func:`length_regime` / :func:`regime_summary` put each length on its side of the model's
limits (trained length, window); :func:`evidence_ranks` and :func:`locate` say where the answer of
a KoLongQ query sits in its document and how each strategy ranks that document.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..progress import progress
from ..retrieval import RetrievalResult, ranked
from .haystack import NeedleSet
from .lengths import _encode_many, _token_at, content_window, reliable_length
from .strategies import STRATEGIES, LongDocScorer

if TYPE_CHECKING:
    import pandas as pd

    from ..models import EmbeddingModel

__all__ = [
    "compare_by_length",
    "compare_strategies",
    "evidence_ranks",
    "grid_intervals",
    "length_regime",
    "locate",
    "needle_grid",
    "regime_summary",
]


def _rank(run: Mapping[str, float], doc_id: str) -> int | None:
    """1-based rank of ``doc_id`` in one query's run, in trec_eval's order (``None`` when absent)."""
    if doc_id not in run:
        return None
    return 1 + [d for d, _ in ranked(run)].index(doc_id)


def needle_grid(model: EmbeddingModel, sets: Sequence[NeedleSet], **scorer_kwargs: Any) -> pd.DataFrame:
    """Score every cell of a needle grid with every strategy; one row per (cell, strategy, query).

    Cells of several needle seeds may be passed together (their rows carry ``seed``).

    All documents of all cells are embedded in one pass first (the cache and the reuse of shared
    haystacks make the grid much cheaper than its cells one by one).

    Args:
        model: A loaded model.
        sets: The cells (:func:`needle_sets`).
        **scorer_kwargs: Passed to :class:`LongDocScorer` (``chunk_tokens``, ``strategies``...).

    Returns:
        DataFrame with ``seed``, ``length``, ``position``, ``strategy``, ``query_id``, ``need_id``, ``rank``
        (rank of the needle's haystack, NaN when outside the run), ``ndcg@10``, ``mrr@10``,
        ``recall@1``, ``recall@10``, ``needle_position`` (actual), ``needle_end`` (content token
        one past the needle) and ``visible`` (the whole needle lies inside the truncation window).
        ``df.attrs["settings"]`` and ``df.attrs["model"]`` record what produced it.

    Example:
        >>> grid = needle_grid(model, needle_sets(model, load_probe(), lengths=[512, 2048]))
        >>> grid.groupby(["strategy", "length"])["ndcg@10"].mean().loc["truncate"]  # doctest: +SKIP
        length
        512     1.000
        2048    0.612
    """
    import pandas as pd

    scorer = LongDocScorer(model, **scorer_kwargs)
    all_texts = list(dict.fromkeys(t for s in sets for t in s.data.doc_texts()))
    scorer.prepare(all_texts)
    rows = []
    for cell in progress(sets, desc="needle grid", unit="cell"):
        results = scorer.evaluate(cell.data)
        for qid, nd in cell.needles.items():
            hay = cell.haystacks[f"haystack-{nd.need_id}"]
            assert hay.needle_tokens is not None
            for name, res in results.items():
                pq = res.per_query[qid]
                rank = _rank(res.run.get(qid, {}), hay.id)
                rows.append(
                    {
                        "seed": cell.seed,
                        "length": cell.length,
                        "position": cell.position,
                        "strategy": name,
                        "query_id": qid,
                        "need_id": nd.need_id,
                        "rank": float(rank) if rank is not None else math.nan,
                        "ndcg@10": pq["ndcg@10"],
                        "mrr@10": pq["mrr@10"],
                        "recall@1": pq["recall@1"],
                        "recall@10": pq["recall@10"],
                        "needle_position": hay.needle_position,
                        "needle_end": hay.needle_tokens[1],
                        "visible": hay.needle_visible(scorer.truncate_tokens),
                        "n_docs": len(cell.data.corpus),
                    }
                )
    df = pd.DataFrame(rows)
    df.attrs["settings"] = scorer.settings()
    df.attrs["model"] = model.label if hasattr(model, "label") else type(model).__name__
    return df


def _units(grid: pd.DataFrame) -> pd.Series:
    """One label per needle: its seed and query (the same need drawn by two seeds counts twice)."""
    if "seed" not in grid:
        return grid["query_id"].astype(str)
    return grid["seed"].astype(str) + ":" + grid["query_id"].astype(str)


def grid_intervals(
    grid: pd.DataFrame,
    *,
    metric: str = "ndcg@10",
    by: Sequence[str] = ("strategy", "position", "length"),
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Mean of a metric per cell with a bootstrap interval over needles, and the spread over needle seeds.

    Every needle (a seed's query) is one unit: within each group the units are resampled with
    replacement (percentile interval). ``seed_min`` / ``seed_max`` are the lowest and highest
    per-seed means (equal to the mean with a single seed).

    Returns:
        DataFrame with the ``by`` columns and ``mean``, ``low``, ``high``, ``n`` (needles),
        ``seed_min``, ``seed_max``.

    Example:
        >>> grid_intervals(grid).query("strategy == 'truncate' and length == 2048")  # doctest: +SKIP
    """
    import numpy as np
    import pandas as pd

    if not 0 < confidence < 1:
        raise ValueError("confidence must lie between 0 and 1")
    rng = np.random.default_rng(seed)
    alpha = (1 - confidence) / 2
    df = grid.assign(_seed=grid.get("seed", 0))
    rows = []
    for key, g in df.groupby(list(by), sort=True):
        vals = g[metric].to_numpy(dtype=np.float64)
        boot = vals[rng.integers(0, len(vals), size=(n_resamples, len(vals)))].mean(axis=1)
        per_seed = g.groupby("_seed")[metric].mean()
        rows.append(
            {
                **dict(zip(by, key if isinstance(key, tuple) else (key,), strict=True)),
                "mean": float(vals.mean()),
                "low": float(np.quantile(boot, alpha)),
                "high": float(np.quantile(boot, 1 - alpha)),
                "n": len(vals),
                "seed_min": float(per_seed.min()),
                "seed_max": float(per_seed.max()),
            }
        )
    return pd.DataFrame(rows)


def compare_strategies(
    grid: pd.DataFrame,
    a: str,
    b: str,
    *,
    lengths: Sequence[int] | None = None,
    metric: str = "ndcg@10",
    n_resamples: int = 5000,
    seed: int = 0,
) -> pd.DataFrame:
    """Paired comparison b − a per needle position (:func:`~ko_embed_lab.retrieval.paired_bootstrap`).

    Each needle's score is averaged over ``lengths`` (default: all of the grid's) before pairing, so
    that the needles are the units resampled.

    Returns:
        DataFrame indexed by ``position``: ``a``, ``b`` (means), ``mean_diff``, ``low``, ``high``,
        ``wins``, ``losses``, ``n``.

    Example:
        >>> compare_strategies(grid, "max-chunk", "bm25", lengths=[1024, 2048]).loc[0.0, "mean_diff"]  # doctest: +SKIP
        -0.05
    """
    df = grid if lengths is None else grid[grid["length"].isin(list(lengths))]
    return _paired_by(df, "position", a, b, metric=metric, n_resamples=n_resamples, seed=seed)


def compare_by_length(
    grid: pd.DataFrame, a: str, b: str, *, metric: str = "ndcg@10", n_resamples: int = 5000, seed: int = 0
) -> pd.DataFrame:
    """Paired comparison b − a per document length; each needle's score averaged over the positions.

    Returns:
        DataFrame indexed by ``length``: ``a``, ``b`` (means), ``mean_diff``, ``low``, ``high``,
        ``wins``, ``losses``, ``n``.

    Example:
        >>> compare_by_length(grid, "truncate", "late-chunk").loc[2048, "mean_diff"]  # doctest: +SKIP
        0.41
    """
    return _paired_by(grid, "length", a, b, metric=metric, n_resamples=n_resamples, seed=seed)


def _paired_by(df: pd.DataFrame, key: str, a: str, b: str, *, metric: str, n_resamples: int, seed: int) -> pd.DataFrame:
    """Paired bootstrap of b − a within each value of ``key``; each needle's score averaged over the rest."""
    import pandas as pd

    from ..retrieval import paired_bootstrap

    df = df.assign(_unit=_units(df))
    rows = {}
    for value, g in df.groupby(key, sort=True):
        per = g.groupby(["strategy", "_unit"])[metric].mean()
        sa, sb = per.loc[a].to_dict(), per.loc[b].to_dict()
        r = paired_bootstrap(sa, sb, n_resamples=n_resamples, seed=seed)
        rows[int(value) if key == "length" else value] = {
            "a": sum(sa.values()) / len(sa),
            "b": sum(sb.values()) / len(sb),
            **{k: r[k] for k in ("mean_diff", "low", "high", "wins", "losses", "n")},
        }
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = key
    return out


def length_regime(length: int, model: EmbeddingModel) -> str:
    """Which side of the model's limits a document length falls on.

    ``"within the trained length"`` (up to :func:`reliable_length`), ``"past the trained length"``
    (longer than the model was fine-tuned on, still inside its window) or ``"past the window"``
    (the model truncates it).

    Example:
        >>> length_regime(1024, model)  # bundled default, window 512
        'past the window'
    """
    if length > model.max_seq_length:
        return "past the window"
    if length > reliable_length(model):
        return "past the trained length"
    return "within the trained length"


def regime_summary(grid: pd.DataFrame, model: EmbeddingModel, *, metric: str = "ndcg@10") -> pd.DataFrame:
    """Mean of a metric per strategy and needle position, on each side of the model's limits.

    Returns:
        DataFrame indexed by (strategy, position), one column per regime present in the grid
        (see :func:`length_regime`), strategies in :data:`STRATEGIES` order.

    Example:
        >>> regime_summary(grid, model).loc[("truncate", 1.0)]  # doctest: +SKIP
        ndcg@10, within the trained length    1.000
        ndcg@10, past the window              0.136
    """
    df = grid.assign(regime=[length_regime(int(n), model) for n in grid["length"]])
    present = set(df["regime"])
    order = [r for r in ("within the trained length", "past the trained length", "past the window") if r in present]
    table = df.pivot_table(index=["strategy", "position"], columns="regime", values=metric, aggfunc="mean")[order]
    table.columns = [f"{metric}, {r}" for r in order]
    return table.reindex([s for s in STRATEGIES if s in set(df["strategy"])], level=0)


def evidence_ranks(model: EmbeddingModel, qset: Any, results: Mapping[str, RetrievalResult]) -> pd.DataFrame:
    """Per query of a :class:`~ko_embed_lab.data.longqueries.LongQuerySet`: where its evidence sits
    and the rank of its document under each strategy.

    Columns: ``doc_id``, ``provision``, ``form``, ``evidence_token`` (content token where the
    evidence starts), ``doc_tokens``, ``inside_window`` (the evidence starts inside the truncation
    window) and one ``rank: <strategy>`` column per result (NaN: not retrieved).

    Example:
        >>> qs = load_long_queries()
        >>> table = evidence_ranks(model, qs, score_strategies(model, qs.data))
        >>> int((~table["inside_window"]).sum())  # answers past the first 508 tokens
        28
    """
    import pandas as pd

    window = content_window(model)
    texts = dict(zip(qset.data.doc_ids(), qset.data.doc_texts(), strict=True))
    rows = []
    for qid, row in qset.queries.iterrows():
        if qid not in qset.data.queries:
            continue
        found = locate(model, texts[row["doc_id"]], row["evidence"])
        if found is None:
            raise ValueError(f"{qid}: evidence not found in {row['doc_id']}")
        rec: dict[str, Any] = {
            "query_id": qid,
            "query": row["text"],
            "doc_id": row["doc_id"],
            "provision": row["provision"],
            "form": row["form"],
            "evidence_token": found[0],
            "doc_tokens": found[1],
            "inside_window": found[0] < window,
        }
        for name, res in results.items():
            rank = _rank(res.run.get(qid, {}), row["doc_id"])
            rec[f"rank: {name}"] = float(rank) if rank is not None else math.nan
        rows.append(rec)
    return pd.DataFrame(rows).set_index("query_id")


def locate(model_or_tokenizer: Any, text: str, snippet: str) -> tuple[int, int] | None:
    """Content-token index of the first occurrence of ``snippet`` in ``text``, and the text's token count.

    Returns ``None`` when the snippet does not occur.

    Example:
        >>> locate(model, "가 나 다 라", "다")
        (2, 4)
    """
    at = text.find(snippet)
    if at < 0:
        return None
    enc = _encode_many(model_or_tokenizer, [text])[0]
    return _token_at([tuple(o) for o in enc.offsets], at), len(enc.ids)
