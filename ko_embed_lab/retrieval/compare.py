"""Compare retrieval systems on one set: dense encoders, BM25 and their fusions, with paired tests.

A *system* is written as a string:

* a model name with options, ``"bundled"``, ``"bundled@dim=256"``, ``"bundled@no-prompt"``
  (no prompt on either side), ``"bundled@no-query-prompt"``; options chain with ``@``;
* ``"bm25"``: BM25 over Kiwi content morphemes (:func:`~ko_embed_lab.retrieval.evaluate_bm25`);
* ``"rrf:A+B"``: reciprocal-rank fusion of systems ``A`` and ``B`` (two or more, no nesting);
* ``"offline"``: every model of the registry that works offline, BM25, and the fusion of the best
  of those encoders (by NDCG@10 *on the same data*) with BM25.

:func:`compare` scores every system with the package's one metric path, compares each with the
first system listed (paired bootstrap interval and sign test, clustered by information need on
KoProbe), and breaks the scores down by query label when the set has labels.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..data.beir import RetrievalSet
from ..provenance import provenance
from .breakdown import breakdown
from .evaluate import RetrievalResult, evaluate_retrieval
from .fusion import rrf_fuse
from .lexical import evaluate_bm25, evaluate_run
from .stats import compare_by_group, paired_bootstrap

if TYPE_CHECKING:
    import pandas as pd

    from ..data.probe import Probe

__all__ = ["Comparison", "SystemSpec", "compare", "expand_systems", "parse_system"]

logger = logging.getLogger(__name__)

#: Columns of :meth:`Comparison.frame`, besides the paired test against the baseline.
FRAME_METRICS = ("ndcg@10", "mrr@10", "recall@10", "recall@100")
#: Query labels broken down when the set has them (KoProbe's).
LABELS = ("form", "domain")


@dataclass(frozen=True)
class SystemSpec:
    """One parsed system.

    Attributes:
        name: The system as written (its name in every table).
        kind: ``"dense"``, ``"bm25"`` or ``"rrf"``.
        model: Model name for a dense system.
        dim: Truncation dimension for a dense system (``None``: full).
        query_prompt: ``None`` for the model's own, ``""`` for none.
        document_prompt: As ``query_prompt``.
        parts: The fused systems of an ``rrf`` system.
    """

    name: str
    kind: str
    model: str | None = None
    dim: int | None = None
    query_prompt: str | None = None
    document_prompt: str | None = None
    parts: tuple[SystemSpec, ...] = ()


def parse_system(text: str) -> SystemSpec:
    """Parse one system string.

    Example:
        >>> parse_system("bundled@dim=256@no-query-prompt")
        SystemSpec(name='bundled@dim=256@no-query-prompt', kind='dense', model='bundled', dim=256, query_prompt='', document_prompt=None, parts=())
        >>> [p.name for p in parse_system("rrf:bundled+bm25").parts]
        ['bundled', 'bm25']
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"system {text!r} is empty; write a model name, 'bm25', 'rrf:A+B' or 'offline'")
    name = text.strip()
    if name.lower() == "bm25":
        return SystemSpec(name=name, kind="bm25")
    if name.lower().startswith("rrf:"):
        names = [p.strip() for p in name[4:].split("+")]
        if len(names) < 2 or not all(names):
            raise ValueError(f"system {name!r}: a fusion names two or more systems, e.g. 'rrf:bundled+bm25'")
        parts = tuple(parse_system(p) for p in names)
        if any(p.kind == "rrf" for p in parts):
            raise ValueError(f"system {name!r}: fusions do not nest; list every system in one 'rrf:A+B+C'")
        return SystemSpec(name=name, kind="rrf", parts=parts)
    if name.lower() == "offline":
        raise ValueError("'offline' stands for several systems: expand it with expand_systems()")
    model, *options = name.split("@")
    if not model:
        raise ValueError(f"system {name!r} names no model before '@'")
    dim: int | None = None
    qp: str | None = None
    dp: str | None = None
    for opt in options:
        key, _, value = opt.partition("=")
        if key == "dim" and value.isdigit() and int(value) > 0:
            dim = int(value)
        elif opt == "no-prompt":
            qp = dp = ""
        elif opt == "no-query-prompt":
            qp = ""
        else:
            raise ValueError(
                f"system {name!r}: unknown option {opt!r}; use dim=N, no-prompt or no-query-prompt "
                "(e.g. 'bundled@dim=256')"
            )
    return SystemSpec(name=name, kind="dense", model=model, dim=dim, query_prompt=qp, document_prompt=dp)


def _offline_models() -> list[str]:
    from ..registry import list_specs

    # Short names for tables: the registry name, or the first alias for hub-style names ("bundled").
    return [s.aliases[0] if "/" in s.name and s.aliases else s.name for s in list_specs() if s.offline]


def expand_systems(systems: Sequence[str]) -> list[str]:
    """Replace ``"offline"`` by every offline model and ``"bm25"``; drop repeats, keep the order.

    The fusion of the best offline encoder with BM25 depends on the scores, so :func:`compare`
    adds it after scoring the encoders.

    Example:
        >>> expand_systems(["offline"])
        ['bundled', 'use-multilingual-v3', 'static-e5-small', 'bm25']
    """
    if isinstance(systems, str):
        raise TypeError("systems must be a list of strings, e.g. ['bundled', 'bm25']")
    out: list[str] = []
    for s in systems:
        for item in [*_offline_models(), "bm25"] if str(s).strip().lower() == "offline" else [s]:
            if item not in out:
                out.append(item)
    if not out:
        raise ValueError("no systems to compare; name at least one (e.g. 'bundled', 'bm25', 'offline')")
    return out


@dataclass
class Comparison:
    """Scores of several systems on one set, and each one's paired test against the baseline.

    Attributes:
        results: ``{system: RetrievalResult}``, in the order the systems were listed.
        baseline: The system every other one is compared with (the first listed).
        comparisons: ``{system: paired_bootstrap(baseline, system)}`` on per-query NDCG@10.
        times: ``{system: wall seconds}`` to encode, index, search and score (model loading not
            counted; a fusion's includes its parts').
        by_label: ``{label: breakdown frame}`` (mean NDCG@10/MRR@10/Recall@10 per group and system).
        group_tests: ``{label: frame}``: each system against the baseline within each group,
            Holm-adjusted per system and label (:func:`~ko_embed_lab.retrieval.compare_by_group`).
        notes: Sentences that belong with the table (how ``offline`` chose its fusion, the unit of
            resampling).
        dataset: The set's identity.
    """

    results: dict[str, RetrievalResult]
    baseline: str
    comparisons: dict[str, dict[str, Any]]
    times: dict[str, float]
    by_label: dict[str, Any] = field(default_factory=dict)
    group_tests: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    dataset: dict[str, Any] = field(default_factory=dict)

    def frame(self) -> pd.DataFrame:
        """One row per system, best NDCG@10 first: metrics, time, and the paired test against the baseline."""
        import pandas as pd

        rows = []
        for name, res in self.results.items():
            c = self.comparisons.get(name)
            rows.append(
                {
                    "system": name,
                    **{m: res.metrics[m] for m in FRAME_METRICS},
                    "time_s": self.times.get(name),
                    "diff": c["mean_diff"] if c else None,
                    "low": c["low"] if c else None,
                    "high": c["high"] if c else None,
                    "sign_p": c["sign_test_p"] if c else None,
                }
            )
        df = pd.DataFrame(rows).set_index("system")
        return df.sort_values("ndcg@10", ascending=False, kind="stable")

    def table(self) -> str:
        """The frame as fixed-width text, with the notes below (what the CLI prints)."""
        df = self.frame()
        header = [
            "system",
            "NDCG@10",
            "MRR@10",
            "R@10",
            "R@100",
            "time s",
            f"Δ NDCG@10 vs {self.baseline} [95% CI]",
            "sign p",
        ]
        rows = []
        for name, r in df.iterrows():
            if name == self.baseline:
                delta, p = "(baseline)", ""
            else:
                delta = f"{r['diff']:+.4f} [{r['low']:+.4f}, {r['high']:+.4f}]"
                p = f"{r['sign_p']:.3g}"
            rows.append([str(name), *(f"{r[m]:.4f}" for m in FRAME_METRICS), f"{r['time_s']:.1f}", delta, p])
        widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
        lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
        lines.append("  ".join("-" * w for w in widths))
        lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in rows]
        return "\n".join(lines + [f"note: {n}" for n in self.notes])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record: ``{"results": [...], "comparisons": [...], "by_label": ..., ...}``."""
        order = list(self.frame().index)
        results = [
            {
                "system": name,
                "metrics": self.results[name].metrics,
                "time_s": self.times.get(name),
                "provenance": self.results[name].provenance,
            }
            for name in order
        ]
        comparisons = [
            {"system": name, "baseline": self.baseline, "metric": "ndcg@10", **c}
            for name, c in self.comparisons.items()
        ]
        by_label = {k: _frame_records(v) for k, v in self.by_label.items()}
        group_tests = {k: _frame_records(v) for k, v in self.group_tests.items()}
        return {
            "results": results,
            "comparisons": comparisons,
            "baseline": self.baseline,
            "by_label": by_label,
            "group_tests": group_tests,
            "notes": self.notes,
            "dataset": self.dataset,
            "provenance": provenance(),
        }

    def save(self, path: str | Path) -> Path:
        """Write :meth:`to_dict` as JSON (atomically)."""
        from .._files import atomic_write_bytes as _atomic_write_bytes

        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        blob = json.dumps(self.to_dict(), ensure_ascii=False, indent=1, default=_json_default)
        _atomic_write_bytes(p, blob.encode("utf-8"))
        return p


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "item"):
        return obj.item()
    return str(obj)


def _frame_records(df: Any) -> list[dict[str, Any]]:
    flat = df.copy()
    flat.columns = [
        " ".join(str(x) for x in c if x != "").strip() if isinstance(c, tuple) else str(c) for c in flat.columns
    ]
    return json.loads(flat.reset_index().to_json(orient="records", force_ascii=False))


def _resolve_data(
    data: RetrievalSet | Probe | str | Path,
) -> tuple[RetrievalSet, Any, Mapping[str, str] | None]:
    """The set, its query labels (or ``None``) and its clusters (KoProbe's needs, or ``None``)."""
    from ..data.beir import load_beir
    from ..data.probe import Probe, load_probe

    if isinstance(data, (str, Path)):
        data = load_probe() if str(data) == "probe" else load_beir(data)
    if isinstance(data, Probe):
        labels = data.queries[[c for c in LABELS if c in data.queries.columns]]
        return data.data, labels, data.queries["need_id"].astype(str).to_dict()
    if isinstance(data, RetrievalSet):
        return data, None, None
    raise TypeError(f"data must be a RetrievalSet, a Probe, 'probe' or a BEIR folder, got {type(data).__name__}")


class _Runner:
    """Evaluates systems once each, loading every model once."""

    def __init__(
        self,
        data: RetrievalSet,
        *,
        device: str,
        cache: bool,
        top_k: int,
        show_progress: bool,
        models: Mapping[str, Any] | None = None,
    ) -> None:
        self.data, self.device, self.cache, self.top_k, self.show_progress = data, device, cache, top_k, show_progress
        self.models: dict[str, Any] = dict(models or {})
        self.results: dict[str, RetrievalResult] = {}
        self.times: dict[str, float] = {}

    def _model(self, name: str) -> Any:
        if name not in self.models:
            from ..models import load_model

            self.models[name] = load_model(name, device=self.device)
        return self.models[name]

    def run(self, spec: SystemSpec) -> RetrievalResult:
        if spec.name in self.results:
            return self.results[spec.name]
        parts = [self.run(p) for p in spec.parts]  # a fusion's parts first, each once
        model = self._model(spec.model) if spec.model else None  # loading is not timed
        t0 = time.perf_counter()
        if spec.kind == "bm25":
            res = evaluate_bm25(self.data, top_k=self.top_k)
        elif spec.kind == "rrf":
            fused = rrf_fuse([r.run for r in parts], top_k=self.top_k)
            res = evaluate_run(
                self.data,
                fused,
                system=spec.name,
                settings={"fusion": "rrf", "k": 60, "parts": [p.name for p in spec.parts], "top_k": self.top_k},
            )
            res.provenance["parts"] = [r.provenance for r in parts]
        else:
            if model is None:  # pragma: no cover - parse_system gives every dense system a model
                raise ValueError(f"system {spec.name!r} names no model")
            kwargs: dict[str, Any] = {"cache": self.cache, "show_progress": self.show_progress}
            if spec.dim is not None:
                kwargs["dim"] = spec.dim
            res = evaluate_retrieval(
                model,
                self.data,
                query_prompt=spec.query_prompt,
                document_prompt=spec.document_prompt,
                top_k=self.top_k,
                **kwargs,
            )
            res.provenance.setdefault("settings", {})["dim"] = spec.dim
        # a fusion costs its parts too
        self.times[spec.name] = round(time.perf_counter() - t0 + sum(self.times[p.name] for p in spec.parts), 3)
        res.provenance.setdefault("timings", {})["system_wall_s"] = self.times[spec.name]
        self.results[spec.name] = res
        return res


def compare(
    systems: Sequence[str],
    data: RetrievalSet | Probe | str | Path,
    *,
    clusters: Mapping[str, str] | None = None,
    labels: pd.DataFrame | None = None,
    device: str = "auto",
    cache: bool = True,
    top_k: int = 1000,
    n_resamples: int = 10000,
    seed: int = 0,
    group_tests: bool = True,
    show_progress: bool = False,
    models: Mapping[str, Any] | None = None,
) -> Comparison:
    """Score several systems on one set and compare each with the first one listed.

    Args:
        systems: System strings (see the module's docstring); ``"offline"`` expands to every offline
            model, BM25, and RRF of the best of those encoders with BM25.
        data: A :class:`~ko_embed_lab.data.RetrievalSet`, a :class:`~ko_embed_lab.data.Probe`,
            ``"probe"`` (KoProbe), or a BEIR folder.
        clusters: ``{query_id: cluster}`` for the cluster bootstrap; by default KoProbe's needs
            (``probe.queries["need_id"]``), and single queries for any other set.
        labels: Query labels to break down by (columns ``form``/``domain``); by default KoProbe's.
        device: Where transformer models run (the offline numpy/static ones run on CPU).
        cache: Use the on-disk embedding cache.
        top_k: Depth of every run.
        n_resamples: Bootstrap resamples.
        seed: Seed of the bootstrap.
        group_tests: Also test each system against the baseline within every label group (Holm).
        show_progress: Progress bars while encoding.
        models: Already loaded encoders by the model name the systems use (``{"bundled": model}``),
            so that a model the caller holds is not loaded a second time.

    Returns:
        A :class:`Comparison`.

    Example:
        >>> cmp = compare(["bundled", "bm25", "rrf:bundled+bm25"], load_probe().sample(16))  # doctest: +SKIP
        >>> cmp.frame()[["ndcg@10", "low", "high"]]  # doctest: +SKIP
    """
    names = expand_systems(systems)
    wants_offline_fusion = any(str(s).strip().lower() == "offline" for s in systems)
    specs = [parse_system(n) for n in names]  # every spelling error surfaces before any model loads
    ds, probe_labels, probe_clusters = _resolve_data(data)
    clusters = probe_clusters if clusters is None else clusters
    labels = probe_labels if labels is None else labels
    runner = _Runner(ds, device=device, cache=cache, top_k=top_k, show_progress=show_progress, models=models)
    for spec in specs:
        logger.info("evaluating %s on %s", spec.name, ds.name)
        runner.run(spec)

    notes: list[str] = []
    if wants_offline_fusion:
        dense = [s.name for s in specs if s.kind == "dense" and s.name in _offline_models()]
        best = max(dense, key=lambda n: runner.results[n].metrics["ndcg@10"])
        fusion = f"rrf:{best}+bm25"
        runner.run(parse_system(fusion))
        notes.append(
            f"{fusion}: fuses the best offline encoder by NDCG@10 on this same set "
            f"({best}, {runner.results[best].metrics['ndcg@10']:.4f}); choosing it on the test data "
            "flatters the fusion a little."
        )
    order = [s.name for s in specs] + [n for n in runner.results if n not in {s.name for s in specs}]
    results = {n: runner.results[n] for n in order}
    baseline = order[0]
    base_pq = {q: v["ndcg@10"] for q, v in results[baseline].per_query.items()}
    comparisons: dict[str, dict[str, Any]] = {}
    for name in order[1:]:
        other = {q: v["ndcg@10"] for q, v in results[name].per_query.items()}
        comparisons[name] = paired_bootstrap(base_pq, other, clusters=clusters, n_resamples=n_resamples, seed=seed)
    unit = "information need (cluster bootstrap)" if clusters is not None else "query"
    notes.append(
        f"Δ: mean per-query NDCG@10 minus {baseline}'s, 95% percentile bootstrap interval "
        f"({n_resamples} resamples, unit: {unit}); sign test over the same units."
    )

    by_label: dict[str, Any] = {}
    tests: dict[str, Any] = {}
    if labels is not None:
        import pandas as pd

        for label in [c for c in LABELS if c in labels.columns]:
            by_label[label] = breakdown(results, labels, label)
            if group_tests and len(order) > 1:
                frames = []
                for name in order[1:]:
                    other = {q: v["ndcg@10"] for q, v in results[name].per_query.items()}
                    g = compare_by_group(
                        base_pq, other, labels[label], clusters=clusters, n_resamples=n_resamples, seed=seed
                    )
                    if len(g):
                        frames.append(g.assign(system=name).reset_index().set_index(["system", "group"]))
                if frames:
                    tests[label] = pd.concat(frames)
    return Comparison(
        results=results,
        baseline=baseline,
        comparisons=comparisons,
        times=dict(runner.times),
        by_label=by_label,
        group_tests=tests,
        notes=notes,
        dataset=ds.identity(),
    )
