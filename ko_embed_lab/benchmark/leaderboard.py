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
    from ..encoders._base import LocalEncoder
    from ..retrieval import RetrievalResult
    from ..retrieval.compare import Comparison

__all__ = [
    "BM25_SYSTEM",
    "FusionStudy",
    "Leaderboard",
    "dense_system",
    "fusion_study",
    "fusion_system",
    "live_encoders",
    "live_systems",
    "probe_leaderboard",
    "system_name",
]

logger = logging.getLogger(__name__)

#: Name of the BM25 system on the leaderboard.
BM25_SYSTEM = "BM25 (Korean morphemes)"


def system_name(name: str | None = None) -> str:
    """The name under which :func:`~ko_embed_lab.compare` lists a model: the short registry name of an
    offline model (``"bundled"``, as ``"offline"`` expands), else ``name`` itself.

    Args:
        name: A registry name, alias, hub id or folder (``None``: the default model).

    Example:
        >>> system_name("bundled/multilingual-e5-small-q4")
        'bundled'
        >>> system_name("some-org/some-model")
        'some-org/some-model'
    """
    from .. import config
    from ..registry import get_spec

    name = config.default_model_name() if name is None else name
    spec = get_spec(name)
    if spec is None or not spec.offline:
        return name
    return spec.aliases[0] if "/" in spec.name and spec.aliases else spec.name


def live_systems(model: str | None = None, extra: Sequence[str] = ()) -> list[str]:
    """The systems of the chapter's live leaderboard: the book's model first, every offline system,
    any ``extra`` models, and the fusion of the book's model with BM25.

    ``"offline"`` already holds the fusion of the *best* offline encoder with BM25; the book's
    model's own fusion is listed too (the same system when the book's model is the best).

    Example:
        >>> live_systems("bundled")
        ['bundled', 'offline', 'rrf:bundled+bm25']
        >>> live_systems("some-org/m", ["other"])
        ['some-org/m', 'offline', 'other', 'rrf:some-org/m+bm25']
    """
    first = system_name(model)
    return [first, "offline", *[e for e in extra if e != first], f"rrf:{first}+bm25"]


def live_encoders(
    model: Any, name: str | None = None, extra: Sequence[str] = (), *, device: str = "auto"
) -> tuple[dict[str, Any], dict[str, str]]:
    """Every encoder of the live leaderboard, loaded once: the book's ``model`` (already loaded, under
    :func:`system_name` of ``name``), each offline encoder of the registry, and the ``extra`` models
    that load here.

    Returns:
        ``({system name: encoder}, {extra model that could not be loaded: reason})``.
    """
    from ..retrieval.compare import expand_systems

    first = system_name(name)
    encoders: dict[str, Any] = {first: model}
    skipped: dict[str, str] = {}
    for n in [s for s in expand_systems(["offline"]) if s != "bm25"]:
        if n not in encoders:
            encoders[n] = load_model(n, device=device)
    for n in extra:
        if n in encoders:
            continue
        try:
            encoders[n] = load_model(n, device=device)
        except (ModelNotAvailableError, FileNotFoundError, ValueError) as exc:
            skipped[n] = str(exc).splitlines()[0]
            logger.warning("leaderboard: skipping %s: %s", n, skipped[n])
    return encoders, skipped


def dense_system(model: EmbeddingModel | LocalEncoder) -> str:
    """Name of a model's prompted dense run on the leaderboard (``label (prompt 'query: ')``)."""
    return f"{model.label} (prompt {model.query_prompt!r})" if model.query_prompt else f"{model.label}"


def fusion_system(model: EmbeddingModel | LocalEncoder) -> str:
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

    def compare(
        self, a: str, b: str, *, by: str | None = None, metric: str = "ndcg@10", seed: int = 0
    ) -> dict[str, Any] | pd.DataFrame:
        """Paired comparison of system ``b`` against ``a`` (``b − a``), resampling whole needs.

        The queries of one need are not independent, so the interval is a cluster bootstrap by
        the probe's ``need_id`` (:func:`~ko_embed_lab.retrieval.paired_bootstrap`); with ``by``
        (``"form"``, ``"domain"``) one comparison per group, Holm-adjusted as a family
        (:func:`~ko_embed_lab.retrieval.compare_by_group`).
        """
        from ..retrieval import compare_by_group, paired_bootstrap

        for s in (a, b):
            if s not in self.results:
                raise KeyError(f"unknown system {s!r}; systems are {list(self.results)}")
        sa = {q: v[metric] for q, v in self.results[a].per_query.items()}
        sb = {q: v[metric] for q, v in self.results[b].per_query.items()}
        clusters = self.labels["need_id"].astype(str).to_dict() if "need_id" in self.labels else None
        if by is None:
            return paired_bootstrap(sa, sb, clusters=clusters, seed=seed)
        return compare_by_group(sa, sb, self.labels[by], clusters=clusters, seed=seed)

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
    from ..retrieval.fusion import rrf_fuse
    from ..retrieval.lexical import KoreanTokenizer, bm25_run, evaluate_run

    if fusion and not bm25:
        raise ValueError("fusion combines BM25 with the dense runs: set bm25=True or fusion=False")
    if not models and not bm25:
        raise ValueError("nothing to rank: pass at least one model or keep bm25=True")
    data = probe.data
    results: dict[str, RetrievalResult] = {}
    systems: dict[str, dict[str, Any]] = {}
    skipped: dict[str, str] = {}
    loaded: list[EmbeddingModel | LocalEncoder] = []
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


@dataclass
class FusionStudy:
    """Why rank fusion of a dense run with BM25 can fall below both, and what a tuned fusion does.

    Attributes:
        dense, lexical: Names of the two fused systems on the board.
        diagnosis: :func:`~ko_embed_lab.retrieval.fusion.hard_negative_overlap` of the board's
            fusion, per query, with the query's ``form``.
        tune_needs, test_needs: The seeded split of the needs (tuning half, reporting half).
        setting: The fusion setting chosen on the tuning half.
        grid: Every setting's mean NDCG@10 on the tuning half.
        test: ``{name: paired_bootstrap}`` on the test half, each against the dense run
            (``"tuned fusion"``, ``"default RRF"``), clusters = needs.
        by_form: The tuned fusion against the dense run per form, on the test half (Holm).
        seed: Seed of the split.
    """

    dense: str
    lexical: str
    diagnosis: pd.DataFrame
    tune_needs: list[str]
    test_needs: list[str]
    setting: dict[str, Any]
    grid: pd.DataFrame
    test: dict[str, dict[str, Any]]
    by_form: pd.DataFrame
    seed: int

    def diagnosis_by_form(self) -> pd.DataFrame:
        """Share of queries per form with each diagnostic (and overall, last row)."""
        cols = ["shared", "near_both", "promoted", "overtakes"]
        flags = self.diagnosis[cols].gt(0)
        out = flags.groupby(self.diagnosis["form"]).mean()
        out.loc["all"] = flags.mean()
        out.insert(0, "n", [*self.diagnosis.groupby("form").size().tolist(), len(self.diagnosis)])
        return out

    def test_table(self) -> pd.DataFrame:
        """The test-half comparisons against the dense run, one row each."""
        import pandas as pd

        cols = ["mean_diff", "low", "high", "n", "n_clusters", "wins", "losses", "sign_test_p"]
        return pd.DataFrame({k: {c: v[c] for c in cols} for k, v in self.test.items()}).T


def fusion_study(
    board: Leaderboard | Comparison,
    probe: Probe,
    model: EmbeddingModel | None = None,
    *,
    systems: tuple[str, str, str] | None = None,
    seed: int = 0,
) -> FusionStudy:
    """Diagnose the board's RRF of a dense run with BM25, and tune a fusion on half the needs.

    ``board`` is a :class:`Leaderboard` (the systems of ``model`` are found by their names there) or
    a :class:`~ko_embed_lab.retrieval.compare.Comparison` with ``systems = (dense, bm25, fusion)``
    naming the three runs, e.g. ``("bundled", "bm25", "rrf:bundled+bm25")``.

    The fusion settings (:func:`~ko_embed_lab.retrieval.fusion.fusion_grid`: RRF for several ``k``
    and weights, and a weighted sum of min-max scores) are chosen on a seeded half of the needs;
    the chosen one and the default RRF are reported against the dense run on the other half only,
    with cluster-bootstrap intervals by need.
    """
    from ..retrieval import compare_by_group, paired_bootstrap
    from ..retrieval.fusion import _fuse, hard_negative_overlap, split_needs, tune_fusion
    from ..retrieval.metrics import score_run

    if systems is not None:
        dense, lexical, fused = systems
    elif model is not None:
        dense, lexical, fused = dense_system(model), BM25_SYSTEM, fusion_system(model)
    else:
        raise ValueError("name the fused runs: pass systems=(dense, bm25, fusion) or the board's model")
    for name in (dense, lexical, fused):
        if name not in board.results:
            raise KeyError(f"system {name!r} is not on the board; systems are {list(board.results)}")
    runs = [board.results[dense].run, board.results[lexical].run]
    qrels = probe.data.qrels
    queries = probe.queries
    hard = {q: probe.hard_negatives(q) for q in queries.index}
    diagnosis = hard_negative_overlap(runs[0], runs[1], board.results[fused].run, hard, qrels)
    diagnosis = diagnosis.join(queries[["form"]])
    tune_needs, test_needs = split_needs(queries["need_id"].astype(str).tolist(), seed=seed)
    tune_q = queries.index[queries["need_id"].isin(tune_needs)].tolist()
    test_q = queries.index[queries["need_id"].isin(test_needs)].tolist()
    setting, grid = tune_fusion(runs, qrels, tune_q)
    test_runs = [{q: r[q] for q in test_q if q in r} for r in runs]
    test_qrels = {q: qrels[q] for q in test_q}
    clusters = queries["need_id"].astype(str).to_dict()
    base = {q: board.results[dense].per_query[q]["ndcg@10"] for q in test_q}
    test: dict[str, dict[str, Any]] = {}
    per: dict[str, dict[str, float]] = {}
    for name, s in (("tuned fusion", setting), ("default RRF", {"method": "rrf", "k": 60.0, "weights": (1.0, 1.0)})):
        _, pq = score_run(test_qrels, _fuse(test_runs, s))
        per[name] = {q: v["ndcg@10"] for q, v in pq.items()}
        test[name] = paired_bootstrap(base, per[name], clusters=clusters, seed=seed)
    by_form = compare_by_group(base, per["tuned fusion"], queries.loc[test_q, "form"], clusters=clusters, seed=seed)
    return FusionStudy(
        dense=dense,
        lexical=lexical,
        diagnosis=diagnosis,
        tune_needs=tune_needs,
        test_needs=test_needs,
        setting=setting,
        grid=grid,
        test=test,
        by_form=by_form,
        seed=seed,
    )
