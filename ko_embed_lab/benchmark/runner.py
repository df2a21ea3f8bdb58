"""Running mteb for any model on the card's tasks, and reading its results back.

:func:`run_mteb` runs the card's Korean retrieval tasks (or any mteb task, or KoProbe) with these
settings: mteb's sentence-transformers wrapper with
``model_prompts={"query": ..., "document": ...}``, SDPA attention, the model's own maximum length,
a batch size you choose, exact cosine search and ``pytrec_eval`` metrics. The card says only that
its evaluation "references the KURE GitHub repository"
(:func:`~ko_embed_lab.benchmark.card_evaluation_note`), so these are the package's settings, not
known to be the card's. Results go to mteb's
results cache (``MTEB_CACHE`` or ``~/.cache/mteb``, see :func:`ko_embed_lab.config.mteb_cache_dir`),
so an interrupted run resumes where it stopped; :func:`read_results` reads any such cache back
into the shape of the reported figures (:mod:`ko_embed_lab.benchmark.card`), and
:func:`reproduce_card` puts a run next to the card's figures. Models reach mteb through
:func:`~ko_embed_lab.benchmark.encoder.mteb_encoder`.

``mteb`` is an optional dependency (``pip install ko-embed-lab[mteb]``); it is imported only when
a function here needs it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import config
from .._hf import hf_quiet
from ..models import EmbeddingModel, load_model
from ..provenance import provenance
from ..types import encoder_identity
from .card import card_task, compare, load_reported
from .encoder import Backend, mteb_encoder
from .tasks import FULL_PRECISION_KEY, card_tasks, is_probe_task, probe_task

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "PROVENANCE_FILE",
    "BenchmarkRun",
    "CardReproduction",
    "DatasetUnavailableError",
    "benchmark_scores",
    "benchmark_tasks",
    "default_results_folder",
    "read_results",
    "reproduce_card",
    "run_benchmark",
    "run_mteb",
]

logger = logging.getLogger(__name__)

#: File (next to mteb's results) where each run of :func:`run_mteb` records what produced it.
PROVENANCE_FILE = "ko_embed_lab_runs.jsonl"


class DatasetUnavailableError(RuntimeError):
    """A benchmark dataset is neither cached locally nor reachable on the Hugging Face hub."""


def default_results_folder() -> Path:
    """mteb's results cache: ``MTEB_CACHE`` if set, else ``~/.cache/mteb`` (as mteb decides it)."""
    return config.mteb_cache_dir()


# --- running and reading ----------------------------------------------------------------------


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


def _local_dataset_problem(path: str, revision: str | None) -> str | None:
    """Why a dataset is not usable when the hub is known not to answer (``None``: it is cached)."""
    from huggingface_hub import snapshot_download

    try:
        snapshot_download(path, repo_type="dataset", revision=revision, local_files_only=True)
        return None
    except Exception:
        return "not in the local Hugging Face cache and the hub did not answer (not asked again)"


def _check_datasets(tasks: Sequence[Any]) -> None:
    problems = []
    hub_down = False
    for task in tasks:
        if is_probe_task(task):
            continue
        ds = task.metadata.dataset
        if hub_down:  # the hub did not answer once: do not wait for it again for every other task
            why = _local_dataset_problem(ds["path"], ds.get("revision"))
        else:
            why = _hub_dataset_problem(ds["path"], ds.get("revision"))
            hub_down = why is not None and "did not answer" in why
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


def benchmark_tasks(name: str) -> list[Any]:
    """The tasks of an mteb benchmark by name (``"MTEB(kor, v2)"``), as mteb defines them.

    Raises:
        ValueError: mteb knows no benchmark of that name (the message lists close names).

    Example:
        >>> len(benchmark_tasks("MTEB(kor, v2)"))  # doctest: +SKIP
        20
    """
    import difflib

    import mteb

    if not isinstance(name, str) or not name.strip():
        raise ValueError("name a benchmark, e.g. 'MTEB(kor, v2)'")
    try:
        bench = mteb.get_benchmark(name.strip())
    except (KeyError, ValueError) as exc:
        names = [b.name for b in mteb.get_benchmarks()]
        close = difflib.get_close_matches(name, names, n=5, cutoff=0.4)
        hint = f"; close names: {', '.join(close)}" if close else ""
        raise ValueError(f"mteb knows no benchmark {name!r}{hint}") from exc
    return list(bench.tasks)


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
                "main_score": float(entry.get("main_score", float("nan"))),
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
    """Run mteb retrieval tasks for a model (settings below; not known to equal the card's).

    The model is loaded with SDPA attention and its own maximum length (bf16 on CUDA); mteb encodes queries with the model's query prompt and documents with its document
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
        backend: ``"sentence-transformers"`` (mteb's own wrapper) or ``"ko-embed-lab"`` (our encoder
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

    # mteb maps the corpus with datasets, which shows a bar per map: off unless asked, restored after.
    quiet = hf_quiet(verbosity=False, datasets=True) if not show_progress else contextlib.nullcontext()
    t0 = time.perf_counter()
    with quiet:
        result = mteb.evaluate(
            encoder,
            task_objs,
            cache=cache,
            overwrite_strategy=overwrite,
            encode_kwargs={"batch_size": batch_size, "show_progress_bar": show_progress},
            show_progress_bar=show_progress,
            co2_tracker=False,
        )
    wall = time.perf_counter() - t0
    ident = encoder_identity(loaded)
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


def run_benchmark(
    model: EmbeddingModel | str | None,
    benchmark: str,
    *,
    batch_size: int = 32,
    results_folder: str | Path | None = None,
    overwrite: str = "only-missing",
) -> BenchmarkRun:
    """Run every task of an mteb benchmark by name (e.g. ``"MTEB(kor, v2)"``) with :func:`run_mteb`.

    Resumable like any run (finished tasks stay in the results cache). The benchmark's datasets are
    checked before any work: offline, or with a dataset missing, it fails at once with
    :class:`DatasetUnavailableError`.

    Raises:
        ValueError: Unknown benchmark, bad batch size or overwrite strategy.
        ModelNotAvailableError: The model is not cached and the hub cannot be reached.
        DatasetUnavailableError: A dataset is not cached and the hub cannot be reached.
    """
    tasks = benchmark_tasks(benchmark)
    return run_mteb(model, tasks, batch_size=batch_size, results_folder=results_folder, overwrite=overwrite)


def benchmark_scores(run: BenchmarkRun) -> pd.DataFrame:
    """One row per task of a run: its mteb main score averaged over splits and subsets, as mteb does."""
    import pandas as pd

    rows = [
        {"task": tr.task_name, "main_score": float(tr.get_score()), "evaluation_time_s": tr.evaluation_time}
        for tr in run.task_results
    ]
    return pd.DataFrame(rows, columns=["task", "main_score", "evaluation_time_s"])


@dataclass
class CardReproduction:
    """A run of the card's tasks next to the card's figures (what ``ko-embed-lab benchmark`` prints).

    Attributes:
        model: The model's name as mteb recorded it.
        comparison: One row per reproduced (task, split, subset): ``task``, ``split``, ``subset``,
            ``reproduced``, ``reported`` (the card's figure, missing where it has none) and
            ``difference`` (reproduced − reported).
        run: The :class:`BenchmarkRun` itself.
    """

    model: str
    comparison: pd.DataFrame
    run: BenchmarkRun


def reproduce_card(
    model: EmbeddingModel | str | None = None,
    tasks: Sequence[str | Any] | None = None,
    *,
    batch_size: int = 32,
    results_folder: str | Path | None = None,
) -> CardReproduction:
    """Run the card's tasks with :func:`run_mteb` and compare the result with the card's figures.

    Args:
        model: Registry name, hub id, folder or loaded model (``None``: the default model).
        tasks: mteb task names of the card, or ``"KoProbe"`` (``None``: the card's eight tasks).
        batch_size: mteb's encoding batch size.
        results_folder: mteb results cache (``None``: ``MTEB_CACHE`` or ``~/.cache/mteb``).

    Raises:
        ValueError: Unknown task names or a bad batch size.
        ModelNotAvailableError: The model is not cached and the hub cannot be reached.
        DatasetUnavailableError: A task's dataset is not cached and the hub cannot be reached.

    Example:
        >>> rep = reproduce_card("arctic-ko", ["Ko-StrategyQA"], batch_size=64)  # doctest: +SKIP
        >>> rep.comparison[["task", "reproduced", "reported", "difference"]]  # doctest: +SKIP
    """
    run = run_mteb(model, tasks, batch_size=batch_size, results_folder=results_folder)
    table = compare(run.table, load_reported().long())
    shown = table[["task", "split", "subset", "reproduced", "reported", "difference"]]
    name = str(run.table["model"].iloc[0]) if len(run.table) else str(model)
    return CardReproduction(model=name, comparison=shown, run=run)
