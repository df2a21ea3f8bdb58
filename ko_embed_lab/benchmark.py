"""Running the card's benchmark with mteb, reading mteb's results back, and a live leaderboard.

Three things live here:

* :func:`run_mteb` runs the card's Korean retrieval tasks (or any mteb task, or KoProbe) for any
  loadable model with the settings the card's numbers were produced with: mteb's
  sentence-transformers wrapper with ``model_prompts={"query": ..., "document": ...}``, SDPA
  attention, the model's own maximum length, a batch size you choose, exact cosine search and
  ``pytrec_eval`` metrics. Results go to mteb's results cache (``MTEB_CACHE`` or
  ``~/.cache/mteb``), so an interrupted run resumes where it stopped; :func:`read_results` reads
  any such cache back into the shape of the reported figures (:mod:`ko_embed_lab.reported`).
* :func:`probe_task` wraps the project's own Korean set (KoProbe, or any
  :class:`~ko_embed_lab.data.beir.RetrievalSet`) as an mteb retrieval task that needs no network,
  so the whole mteb path can be run and checked offline.
* :func:`probe_leaderboard` ranks systems on KoProbe — each model with and without its query
  prompt, BM25 over Korean morphemes, and their reciprocal-rank fusion — overall and by query
  form and domain.

``mteb`` is an optional dependency (``pip install ko-embed-lab[mteb]``); it is imported only when
a function here needs it.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from . import config
from .models import EmbeddingModel, ModelNotAvailableError, load_model
from .provenance import provenance
from .reported import CARD_MODEL, CARD_TASKS, card_task
from .types import encoder_identity

if TYPE_CHECKING:
    import pandas as pd

    from .data.beir import RetrievalSet
    from .data.probe import Probe
    from .encoders._base import LocalEncoder
    from .retrieval import RetrievalResult

__all__ = [
    "BenchmarkRun",
    "DatasetUnavailableError",
    "Leaderboard",
    "card_tasks",
    "cli_benchmark",
    "default_results_folder",
    "mteb_encoder",
    "probe_leaderboard",
    "probe_task",
    "read_results",
    "run_mteb",
    "task_facts",
]

logger = logging.getLogger(__name__)

#: Extra score that KoProbe tasks add to mteb's record: the mean of mteb's own per-query
#: NDCG@10 before mteb rounds the headline figure to five decimals.
FULL_PRECISION_KEY = "ndcg_at_10_full_precision"
#: File (next to mteb's results) where each run of :func:`run_mteb` records what produced it.
PROVENANCE_FILE = "ko_embed_lab_runs.jsonl"

Backend = Literal["sentence-transformers", "ko-embed-lab"]


class DatasetUnavailableError(RuntimeError):
    """A benchmark dataset is neither cached locally nor reachable on the Hugging Face hub."""


def default_results_folder() -> Path:
    """mteb's results cache: ``MTEB_CACHE`` if set, else ``~/.cache/mteb`` (as mteb decides it)."""
    return config.mteb_cache_dir()


# --------------------------------------------------------------------------------------------
# Tasks
# --------------------------------------------------------------------------------------------


def card_tasks(names: Sequence[str] | None = None) -> list[Any]:
    """mteb task objects for the card's tasks, restricted to the split and Korean subset the card reports.

    Args:
        names: mteb task names (case-insensitive; default: all eight of the card's tasks).

    Raises:
        ValueError: A name is not one of the card's tasks.

    Example:
        >>> [t.metadata.name for t in card_tasks(["ko-strategyqa"])]
        ['Ko-StrategyQA']
    """
    import mteb

    chosen = [card_task(n) for n in names] if names else list(CARD_TASKS)
    return [mteb.get_task(t.task, eval_splits=[t.split], hf_subsets=[t.subset]) for t in chosen]


def _count(stats: Mapping[str, Any], kind: str) -> int | None:
    """Number of queries or documents from mteb's descriptive statistics (old and new formats)."""
    direct = stats.get(f"num_{kind}")
    if direct is not None:
        return int(direct)
    text = stats.get(f"{kind}_text_statistics") or {}
    total, avg = text.get("total_text_length"), text.get("average_text_length")
    return round(total / avg) if total and avg else None


def task_facts(names: Sequence[str] | None = None) -> pd.DataFrame:
    """Size of each of the card's tasks, from the descriptive statistics that ship with mteb (offline).

    Returns:
        DataFrame indexed by task: ``split``, ``subset``, ``queries``, ``documents``, mean and
        longest document length in characters, relevant documents per query, ``one query``
        (``1 / queries``: how much a single query can move the task's mean NDCG@10) and
        ``source``.

    Example:
        >>> task_facts(["AutoRAGRetrieval"]).loc["AutoRAGRetrieval", "queries"]
        114
    """
    import importlib.metadata

    import pandas as pd

    rows = {}
    version = importlib.metadata.version("mteb")
    for task in card_tasks(names):
        ref = card_task(task.metadata.name)
        stats = (task.metadata.descriptive_stats or {}).get(ref.split) or {}
        stats = (stats.get("hf_subset_descriptive_stats") or {}).get(ref.subset, stats)
        docs = stats.get("documents_text_statistics") or {}
        rel = stats.get("relevant_docs_statistics") or {}
        n_q = _count(stats, "queries")
        rows[task.metadata.name] = {
            "split": ref.split,
            "subset": ref.subset,
            "queries": n_q,
            "documents": _count(stats, "documents"),
            "mean document chars": docs.get("average_text_length"),
            "longest document chars": docs.get("max_text_length"),
            "relevant per query": rel.get("average_relevant_docs_per_query"),
            "one query": 1 / n_q if n_q else None,
            "source": f"mteb {version} descriptive statistics",
        }
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "task"
    return out


@lru_cache(maxsize=1)
def _probe_task_base() -> type:
    from mteb.abstasks.retrieval import AbsTaskRetrieval

    class _KoProbeTask(AbsTaskRetrieval):
        """KoProbe (or another in-memory BEIR set) as an mteb retrieval task; loads without the network."""

        _data: Any = None

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            #: Per-query NDCG@10 as mteb computed it, by (split, subset), for runs done in this process.
            self.per_query_ndcg: dict[tuple[str, str], dict[str, float]] = {}

        def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
            if self.data_loaded:
                return
            from datasets import Dataset
            from mteb.abstasks.retrieval_dataset_loaders import RetrievalSplitData

            data = self._data
            split = RetrievalSplitData(
                queries=Dataset.from_list([{"id": q, "text": t} for q, t in data.queries.items()]),
                corpus=Dataset.from_list(
                    [{"id": d, "title": v.get("title", ""), "text": v["text"]} for d, v in data.corpus.items()]
                ),
                relevant_docs={q: dict(v) for q, v in data.qrels.items()},
                top_ranked=None,
            )
            self.dataset = {"default": {data.split: split}}
            self.data_loaded = True

        def task_specific_scores(
            self,
            scores: dict[str, dict[str, float]],
            qrels: Any,
            results: dict[str, dict[str, float]],
            hf_split: str,
            hf_subset: str,
        ) -> dict[str, float]:
            per_query = {q: float(s["ndcg_cut_10"]) for q, s in scores.items()}
            self.per_query_ndcg[(hf_split, hf_subset)] = per_query
            return {FULL_PRECISION_KEY: sum(per_query.values()) / len(per_query) if per_query else float("nan")}

    return _KoProbeTask


def probe_task(data: RetrievalSet | Probe | None = None, *, name: str | None = None) -> Any:
    """The project's Korean set (or any in-memory retrieval set) as an mteb retrieval task.

    The task loads from memory, so it runs offline. Its dataset revision is the set's content
    hash, so mteb's results cache never mixes two versions of the data; its name is the set's name
    (``KoProbe``, ``KoProbe-sample16``...). Besides mteb's scores (rounded to five decimals by
    mteb) it records ``ndcg_at_10_full_precision`` and keeps mteb's per-query NDCG@10 in
    ``task.per_query_ndcg``.

    Args:
        data: A :class:`~ko_embed_lab.data.beir.RetrievalSet`, a
            :class:`~ko_embed_lab.data.probe.Probe` (its ``.data``) or ``None`` for all of KoProbe.
        name: Task name (default: the set's name).

    Example:
        >>> task = probe_task(load_probe().sample(16, n_docs=96))
        >>> task.metadata.name, task.metadata.main_score
        ('KoProbe-sample16', 'ndcg_at_10')
    """
    from mteb.abstasks.task_metadata import TaskMetadata

    from .data.beir import RetrievalSet

    if data is None:
        from .data.probe import load_probe

        data = load_probe()
    rset = data if isinstance(data, RetrievalSet) else getattr(data, "data", None)
    if not isinstance(rset, RetrievalSet):
        raise TypeError(f"data must be a RetrievalSet or a Probe, got {type(data).__name__}")
    task_name = (name or rset.name).replace("/", "_").replace(" ", "_")
    metadata = TaskMetadata(
        name=task_name,
        description=(
            f"{rset.name}: {len(rset.queries)} Korean queries over {len(rset.corpus)} passages "
            "(ko-embed-lab's own evaluation set, loaded from memory)."
        ),
        reference=None,
        dataset={"path": f"ko-embed-lab/{task_name}", "revision": rset.content_hash()[:16]},
        type="Retrieval",
        category="t2t",
        modalities=["text"],
        eval_splits=[rset.split],
        eval_langs=["kor-Hang"],
        main_score="ndcg_at_10",
        domains=["Written"],
        task_subtypes=[],
        license="mit",
        dialect=[],
        sample_creation="created",
        bibtex_citation="",
    )
    cls = type("KoProbeRetrieval", (_probe_task_base(),), {"metadata": metadata, "_data": rset})
    return cls()


# --------------------------------------------------------------------------------------------
# Encoders
# --------------------------------------------------------------------------------------------


def _model_meta(model: EmbeddingModel) -> Any:
    from mteb.models.model_meta import ModelMeta, ScoringFunction

    ident = model.identity()
    if model.revision:
        revision = model.revision
    elif model.source_sha256:
        revision = f"bundled-{model.source_sha256[:12]}"
    else:
        revision = ident["fingerprint"].split(":", 1)[-1][:16]
    n_params = sum(p.numel() for p in model.st.parameters())
    return ModelMeta.create_empty(
        overwrites={
            "name": model.label,
            "revision": revision,
            "n_parameters": int(n_params),
            "embed_dim": model.dim,
            "max_tokens": model.max_seq_length,
            "similarity_fn_name": ScoringFunction.COSINE,
            "framework": ["Sentence Transformers", "PyTorch"],
            "reference": f"https://huggingface.co/{model.hub_id}" if model.hub_id else None,
            "open_weights": True,
        }
    )


@lru_cache(maxsize=1)
def _ko_encoder_class() -> type:
    from mteb.models.abs_encoder import AbsEncoder
    from mteb.types import PromptType

    class _KoEncoder(AbsEncoder):
        """Any ko-embed-lab :class:`~ko_embed_lab.encode.Encoder` seen by mteb (uses our encode and cache)."""

        def __init__(self, encoder: Any, meta: Any, encode_kwargs: Mapping[str, Any]) -> None:
            self.encoder = encoder
            self.mteb_model_meta = meta
            self.encode_kwargs = dict(encode_kwargs)

        def encode(
            self,
            inputs: Any,
            *,
            task_metadata: Any,
            hf_split: str,
            hf_subset: str,
            prompt_type: Any = None,
            **kwargs: Any,
        ) -> Any:
            import numpy as np

            texts = [t for batch in inputs for t in batch["text"]]
            kind = "query" if prompt_type == PromptType.query else "document"
            return np.asarray(self.encoder.encode(texts, kind=kind, **self.encode_kwargs), dtype=np.float32)

    return _KoEncoder


def mteb_encoder(
    model: EmbeddingModel | Any,
    *,
    backend: Backend = "sentence-transformers",
    **encode_kwargs: Any,
) -> Any:
    """Wrap a model for mteb.

    Args:
        model: A loaded :class:`~ko_embed_lab.models.EmbeddingModel` (or, for the
            ``"ko-embed-lab"`` backend, any :class:`~ko_embed_lab.encode.Encoder`).
        backend: ``"sentence-transformers"``: mteb's own ``SentenceTransformerEncoderWrapper`` with
            ``model_prompts={"query": model.query_prompt, "document": model.document_prompt}`` —
            the path the card's numbers were produced with. ``"ko-embed-lab"``: our
            :func:`~ko_embed_lab.encode.encode` (token-budget batching, embedding cache), so mteb
            and :func:`~ko_embed_lab.retrieval.evaluate_retrieval` can be fed identical embeddings.
        **encode_kwargs: For ``"ko-embed-lab"`` only: passed to ``encode`` (``cache=True``...).

    Returns:
        An object implementing mteb's encoder protocol, whose ``mteb_model_meta`` names the model
        by its label (hub id, or the bundled name) and revision (hub commit or bundled hash).
    """
    if backend == "ko-embed-lab":
        if isinstance(model, EmbeddingModel):
            meta = _model_meta(model)
        else:
            from mteb.models.model_meta import ModelMeta, ScoringFunction

            ident = encoder_identity(model)
            meta = ModelMeta.create_empty(
                overwrites={
                    "name": str(ident.get("model")),
                    "revision": "no_revision_available",
                    "similarity_fn_name": ScoringFunction.COSINE,
                }
            )
        return _ko_encoder_class()(model, meta, encode_kwargs)
    if backend != "sentence-transformers":
        raise ValueError(f"backend={backend!r}: use 'sentence-transformers' or 'ko-embed-lab'")
    if not isinstance(model, EmbeddingModel):
        raise TypeError(f"the sentence-transformers backend needs an EmbeddingModel, got {type(model).__name__}")
    if encode_kwargs:
        raise TypeError(f"encode options {sorted(encode_kwargs)} only apply to backend='ko-embed-lab'")
    from mteb.models import SentenceTransformerEncoderWrapper

    prompts = {"query": model.query_prompt, "document": model.document_prompt}
    saved = dict(model.st.prompts or {})
    with warnings.catch_warnings():
        # mteb warns that explicit prompts replace the model's own: that is what we want.
        warnings.simplefilter("ignore")
        wrapper = SentenceTransformerEncoderWrapper(model.st, model_prompts=prompts)
    model.st.prompts = saved  # the wrapper rewrites the model's prompts; keep the caller's model as it was
    wrapper.model_prompts = {k: v for k, v in prompts.items() if v} or None
    wrapper.mteb_model_meta = _model_meta(model)
    return wrapper


# --------------------------------------------------------------------------------------------
# Running and reading
# --------------------------------------------------------------------------------------------


@dataclass
class BenchmarkRun:
    """What :func:`run_mteb` produced.

    Attributes:
        table: Long table, one row per (task, split, subset): ``model``, ``revision``, ``task``,
            ``split``, ``subset``, ``ndcg_at_10`` (mteb's main score), ``kind`` (``"reproduced"``),
            ``source`` and, for KoProbe tasks, ``ndcg_at_10_full_precision``.
        task_results: mteb's ``TaskResult`` objects.
        per_query: ``{task name: {query id: NDCG@10}}`` as mteb computed them, for KoProbe tasks
            evaluated in this run (not for results read back from the cache).
        provenance: Model identity, backend, settings, versions, date, wall time.
    """

    table: pd.DataFrame
    task_results: list[Any]
    per_query: dict[str, dict[str, float]] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict, repr=False)


def _hub_dataset_problem(path: str, revision: str | None) -> str | None:
    """Why a hub dataset cannot be used here, or ``None`` if it is cached or the hub answers."""
    from huggingface_hub import HfApi, snapshot_download

    try:
        snapshot_download(path, repo_type="dataset", revision=revision, local_files_only=True)
        return None
    except Exception:  # not in the local hub cache: ask the hub (once, quickly)
        pass
    if config.hf_offline():
        return "not in the local Hugging Face cache and HF_HUB_OFFLINE is set"
    try:
        HfApi().dataset_info(path, revision=revision, timeout=10)
    except Exception as exc:
        first = str(exc).splitlines()[0][:160] if str(exc) else ""
        return f"not in the local Hugging Face cache and the hub did not answer ({type(exc).__name__}: {first})"
    return None


def _check_datasets(tasks: Sequence[Any]) -> None:
    problems = []
    for task in tasks:
        if isinstance(task, _probe_task_base()):
            continue
        ds = task.metadata.dataset
        why = _hub_dataset_problem(ds["path"], ds.get("revision"))
        if why:
            problems.append(f"{task.metadata.name} ({ds['path']}): {why}")
    if problems:
        raise DatasetUnavailableError(
            "These benchmark datasets cannot be loaded here:\n  "
            + "\n  ".join(problems)
            + "\nWays out: run where the Hugging Face hub is reachable (a GPU machine with hub access), or copy "
            "a Hugging Face cache that holds the datasets here; the offline task 'KoProbe' always works."
        )


def _resolve_tasks(tasks: Sequence[str | Any] | None) -> list[Any]:
    if tasks is None:
        return card_tasks()
    out: list[Any] = []
    for t in tasks:
        if not isinstance(t, str):
            out.append(t)
        elif t.strip().lower() == "koprobe":
            out.append(probe_task())
        else:
            try:
                out.extend(card_tasks([t]))
            except ValueError as exc:
                raise ValueError(f"{exc}, or 'KoProbe' (the project's own set, offline)") from None
    if not out:
        raise ValueError("no task given; pass mteb task names of the card, 'KoProbe', or None for all eight")
    return out


def _task_rows(task_result: Any, model: str, revision: str, source: str) -> list[dict[str, Any]]:
    """Rows of one mteb ``TaskResult``: the card's split and subset for card tasks, every entry otherwise."""
    name = task_result.task_name
    try:
        wanted: tuple[str, str] | None = (card_task(name).split, card_task(name).subset)
    except ValueError:
        wanted = None
    rows = []
    for split, entries in task_result.scores.items():
        for entry in entries:
            subset = entry.get("hf_subset", "default")
            if wanted is not None and (split, subset) != wanted:
                continue
            row = {
                "model": model,
                "revision": revision,
                "task": name,
                "split": split,
                "subset": subset,
                "ndcg_at_10": float(entry.get("ndcg_at_10", entry.get("main_score", float("nan")))),
                "kind": "reproduced",
                "source": source,
                "mteb_version": task_result.mteb_version,
                "dataset_revision": task_result.dataset_revision,
                "date": str(task_result.date) if task_result.date is not None else None,
                "evaluation_time_s": task_result.evaluation_time,
            }
            if FULL_PRECISION_KEY in entry:
                row[FULL_PRECISION_KEY] = float(entry[FULL_PRECISION_KEY])
            rows.append(row)
    return rows


_COLUMNS = [
    "model",
    "revision",
    "task",
    "split",
    "subset",
    "ndcg_at_10",
    "kind",
    "source",
    "mteb_version",
    "dataset_revision",
    "date",
    "evaluation_time_s",
]


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    import pandas as pd

    df = pd.DataFrame(rows)
    if df.empty:
        return pd.DataFrame(columns=_COLUMNS)
    return df[_COLUMNS + [c for c in df.columns if c not in _COLUMNS]]


def run_mteb(
    model: EmbeddingModel | str | None = None,
    tasks: Sequence[str | Any] | None = None,
    *,
    batch_size: int = 32,
    results_folder: str | Path | None = None,
    overwrite: str = "only-missing",
    backend: Backend = "sentence-transformers",
    device: str = "auto",
    dtype: str = "auto",
    encode_kwargs: Mapping[str, Any] | None = None,
    show_progress: bool = False,
) -> BenchmarkRun:
    """Run mteb retrieval tasks for a model, the way the card's figures were produced.

    The model is loaded with SDPA attention and its own maximum length (bf16 on CUDA, as the card
    asks); mteb encodes queries with the model's query prompt and documents with its document
    prompt, searches the whole corpus exactly by cosine and scores with ``pytrec_eval``. Each
    finished task is saved in mteb's results cache under ``<folder>/results/<model>/<revision>/``
    (mteb's own format); with ``overwrite="only-missing"`` a rerun skips what is already there, so
    an interrupted run resumes. A line per task describing the run is appended to
    ``ko_embed_lab_runs.jsonl`` in the same folder.

    Args:
        model: A loaded model, or a registry name / hub id / folder to load (``None``: default).
        tasks: mteb task names of the card (case-insensitive), ``"KoProbe"`` (offline), mteb task
            objects (e.g. :func:`probe_task`), or ``None`` for the card's eight tasks.
        batch_size: Texts per batch for mteb's encoder (the card's runs set it per model).
        results_folder: mteb's results cache (default :func:`default_results_folder`).
        overwrite: mteb's strategy: ``"only-missing"`` (resume), ``"always"``, ``"never"``,
            ``"only-cache"``.
        backend: ``"sentence-transformers"`` (the card's path) or ``"ko-embed-lab"`` (our encoder
            and embedding cache; see :func:`mteb_encoder`).
        device: Used when ``model`` is a name.
        dtype: Used when ``model`` is a name.
        encode_kwargs: For the ``"ko-embed-lab"`` backend: passed to our ``encode`` (``cache=True``).
        show_progress: Show mteb's progress bars.

    Returns:
        A :class:`BenchmarkRun`.

    Raises:
        ModelNotAvailableError: The model is not cached and the hub cannot be reached.
        DatasetUnavailableError: A task's dataset is not cached and the hub cannot be reached
            (checked before any work starts).
        ValueError: Unknown task names, bad batch size or overwrite strategy.

    Example:
        >>> run = run_mteb("arctic-ko", ["Ko-StrategyQA"], batch_size=64)  # doctest: +SKIP
        >>> run.table[["task", "ndcg_at_10"]]  # doctest: +SKIP
    """
    import mteb

    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r} must be a positive int")
    strategies = ("only-missing", "always", "never", "only-cache")
    if overwrite not in strategies:
        raise ValueError(f"overwrite={overwrite!r}: use one of {strategies}")
    task_objs = _resolve_tasks(tasks)
    loaded: Any
    if isinstance(model, EmbeddingModel) or (backend == "ko-embed-lab" and hasattr(model, "encode")):
        loaded = model  # a loaded model, or (our backend) any Encoder
    else:
        loaded = load_model(model, device=device, dtype=dtype)  # fails fast, with ways out, if unavailable
    if overwrite != "only-cache":
        _check_datasets(task_objs)
    encoder = mteb_encoder(loaded, backend=backend, **dict(encode_kwargs or {}))
    meta = encoder.mteb_model_meta
    folder = Path(results_folder).expanduser() if results_folder is not None else default_results_folder()
    cache = mteb.ResultCache(folder)

    from datasets.utils import logging as ds_logging

    bars = ds_logging.is_progress_bar_enabled()
    if not show_progress:
        ds_logging.disable_progress_bar()  # mteb maps the corpus with datasets, which shows a bar per map
    t0 = time.perf_counter()
    try:
        result = mteb.evaluate(
            encoder,
            task_objs,
            cache=cache,
            overwrite_strategy=overwrite,
            encode_kwargs={"batch_size": batch_size, "show_progress_bar": show_progress},
            show_progress_bar=show_progress,
            co2_tracker=False,
        )
    finally:
        if bars:
            ds_logging.enable_progress_bar()
    wall = time.perf_counter() - t0
    ident = encoder_identity(loaded) if hasattr(loaded, "encode") else {"model": meta.name}
    prov = provenance(
        model=ident,
        settings={
            "backend": backend,
            "batch_size": batch_size,
            "query_prompt": ident.get("query_prompt"),
            "document_prompt": ident.get("document_prompt"),
            "max_seq_length": ident.get("max_seq_length"),
            "attn_implementation": _attn_implementation(loaded),
            "overwrite": overwrite,
            "search": "exact cosine, top 1000 (mteb)",
            "metrics_by": "pytrec_eval (mteb)",
        },
        tasks=[t.metadata.name for t in task_objs],
        results_folder=str(folder),
        timings={"wall_s": round(wall, 3)},
    )
    rows: list[dict[str, Any]] = []
    for tr in result.task_results:
        path = cache.get_task_result_path(tr.task_name, meta)
        rows.extend(_task_rows(tr, meta.name, meta.revision, str(path)))
    _record(cache, meta, [tr.task_name for tr in result.task_results], prov)
    per_query: dict[str, dict[str, float]] = {}
    for task in task_objs:
        pq = getattr(task, "per_query_ndcg", None)
        if pq:
            per_query[task.metadata.name] = next(iter(pq.values()))
    if result.exceptions:
        logger.warning("mteb reported errors: %s", result.exceptions)
    return BenchmarkRun(
        table=_frame(rows), task_results=list(result.task_results), per_query=per_query, provenance=prov
    )


def _attn_implementation(model: Any) -> str | None:
    """The attention kernel the model's transformer actually uses (``sdpa``, ``eager``...), if known."""
    try:
        return str(model.st[0].auto_model.config._attn_implementation)
    except (AttributeError, IndexError, TypeError):
        return None


def _record(cache: Any, meta: Any, task_names: list[str], prov: dict[str, Any]) -> None:
    if not task_names:
        return
    folder = cache.get_task_result_path(task_names[0], meta).parent
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / PROVENANCE_FILE).open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(prov, ensure_ascii=False, default=str) + "\n")


def read_results(
    results_folder: str | Path | None = None,
    *,
    models: Sequence[str] | None = None,
    tasks: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Read an mteb results cache into the long shape of the reported figures.

    For the card's tasks only the split and Korean subset the card reports are kept; other tasks
    (KoProbe...) keep every split and subset. Nothing is created on disk: a folder that does not
    exist gives an empty table.

    Args:
        results_folder: The cache folder (default :func:`default_results_folder`); results are
            read from its ``results/<model>/<revision>/<task>.json`` files.
        models: Model names to keep (hub ids as mteb writes them, e.g. ``"BAAI/bge-m3"``).
        tasks: Task names to keep.

    Returns:
        Columns ``model``, ``revision``, ``task``, ``split``, ``subset``, ``ndcg_at_10``, ``kind``
        (``"reproduced"``), ``source`` (the result file), ``mteb_version``,
        ``dataset_revision``, ``date``, ``evaluation_time_s``.

    Example:
        >>> read_results("/nonexistent").empty
        True
    """
    folder = Path(results_folder).expanduser() if results_folder is not None else default_results_folder()
    root = folder / "results"
    if not root.is_dir():
        return _frame([])
    from mteb.results import TaskResult

    want_models = {m.replace("/", "__").replace(" ", "_") for m in models} if models else None
    want_tasks = {t.lower() for t in tasks} if tasks else None
    rows: list[dict[str, Any]] = []
    for path in sorted(root.glob("*/*/*.json")):
        if path.name == "model_meta.json":
            continue
        model_dir, revision = path.parent.parent.name, path.parent.name
        if want_models is not None and model_dir not in want_models:
            continue
        if want_tasks is not None and path.stem.lower() not in want_tasks:
            continue
        name = model_dir.replace("__", "/")
        meta_path = path.parent / "model_meta.json"
        if meta_path.exists():
            try:
                name = json.loads(meta_path.read_text(encoding="utf-8")).get("name") or name
            except (OSError, json.JSONDecodeError):
                logger.warning("unreadable %s; using the folder name", meta_path)
        try:
            tr = TaskResult.from_disk(path)
        except Exception as exc:
            logger.warning("skipping %s: not an mteb result file (%s)", path, exc)
            continue
        rows.extend(_task_rows(tr, name, revision, str(path)))
    return _frame(rows)


# --------------------------------------------------------------------------------------------
# Live leaderboard on KoProbe
# --------------------------------------------------------------------------------------------


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
        from .retrieval import breakdown

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
    from .retrieval import evaluate_retrieval
    from .retrieval.lexical import KoreanTokenizer, bm25_run, evaluate_run, rrf_fuse

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

    bm25_name = "BM25 (Korean morphemes)"
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
        name = f"{model.label} (prompt {model.query_prompt!r})" if model.query_prompt else f"{model.label}"
        doc_emb = model.encode_documents(data.doc_texts(), cache=cache)
        res = evaluate_retrieval(model, data, doc_embeddings=doc_emb, cache=cache)
        results[name] = res
        systems[name] = {"kind": "dense", "model": model.label, "prompt": model.query_prompt}
        if prompt_ablation and model.query_prompt:
            bare = f"{model.label} (no prompt)"
            results[bare] = evaluate_retrieval(model, data, query_prompt="", doc_embeddings=doc_emb, cache=cache)
            systems[bare] = {"kind": "dense", "model": model.label, "prompt": ""}
        if fusion and run_bm25 is not None:
            fused_name = f"RRF: {model.label} + BM25"
            fused = rrf_fuse([res.run, run_bm25], k=rrf_k)
            results[fused_name] = evaluate_run(
                data, fused, system=fused_name, settings={"method": "rrf", "k": rrf_k, "runs": [name, bm25_name]}
            )
            systems[fused_name] = {"kind": "fusion", "model": model.label, "prompt": model.query_prompt}
    return Leaderboard(results=results, systems=systems, labels=probe.queries, skipped=skipped)


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def cli_benchmark(model: str | None, tasks: list[str] | None, batch_size: int, output_folder: str | None) -> int:
    """``ko-embed-lab benchmark``: run the card's tasks with mteb and print reproduced vs reported.

    Args:
        model: Registry name, hub id or folder (``None``: the default model).
        tasks: mteb task names of the card, or ``KoProbe`` (``None``: the card's eight tasks).
        batch_size: mteb's encoding batch size.
        output_folder: mteb results cache (``None``: ``MTEB_CACHE`` or ``~/.cache/mteb``).

    Returns:
        Exit status: 0 on success, 2 for bad input, 3 when the model is unavailable, 4 when a
        dataset is unavailable.
    """
    from .reported import compare, load_reported

    try:
        run = run_mteb(model, tasks, batch_size=batch_size, results_folder=output_folder)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        print(f"ko-embed-lab benchmark: error: {exc}", file=sys.stderr)
        return 2
    except ModelNotAvailableError as exc:
        print(f"ko-embed-lab benchmark: error: {exc}", file=sys.stderr)
        return 3
    except DatasetUnavailableError as exc:
        print(f"ko-embed-lab benchmark: error: {exc}", file=sys.stderr)
        return 4
    table = compare(run.table, load_reported().long())
    shown = table[["task", "split", "subset", "reproduced", "reported", "difference"]]
    model_name = run.table["model"].iloc[0] if len(run.table) else str(model)
    print(f"{model_name}: NDCG@10 reproduced here with mteb, against the figures reported in the card of {CARD_MODEL}")
    print(shown.to_string(index=False, float_format=lambda v: f"{v:.4f}", na_rep="—"))
    print(f"results cache: {run.provenance.get('results_folder')}")
    return 0
