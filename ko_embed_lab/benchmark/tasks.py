"""mteb task objects for the card's tasks, their sizes, and KoProbe as an offline mteb task.

* :func:`card_tasks` gives mteb's task objects restricted to the split and Korean subset the card
  reports (:data:`~ko_embed_lab.benchmark.card.CARD_TASKS`); :func:`task_facts` their sizes, from
  the descriptive statistics that ship with mteb.
* :func:`probe_task` wraps the project's own Korean set (KoProbe, or any
  :class:`~ko_embed_lab.data.beir.RetrievalSet`) as an mteb retrieval task that needs no network,
  so the whole mteb path can be run and checked offline.

``mteb`` is an optional dependency, imported only when a function here needs it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from .card import CARD_TASKS, card_task

if TYPE_CHECKING:
    import pandas as pd

    from ..data.beir import RetrievalSet
    from ..data.probe import Probe

__all__ = ["FULL_PRECISION_KEY", "card_tasks", "is_probe_task", "probe_task", "task_facts"]

#: Extra score that KoProbe tasks add to mteb's record: the mean of mteb's own per-query
#: NDCG@10 before mteb rounds the headline figure to five decimals.
FULL_PRECISION_KEY = "ndcg_at_10_full_precision"


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

    from ..data.beir import RetrievalSet

    if data is None:
        from ..data.probe import load_probe

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


def is_probe_task(task: Any) -> bool:
    """True for a task made by :func:`probe_task` (it loads from memory, so it needs no dataset check)."""
    return isinstance(task, _probe_task_base())
