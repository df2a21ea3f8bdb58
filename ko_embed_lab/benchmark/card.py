"""The target model card's benchmark tables, as reported figures, and tools to read them critically.

The card of ``dragonkue/snowflake-arctic-embed-l-v2.0-ko`` compares 22 models on 7 Korean
retrieval tasks of MTEB (NDCG@10, with the card's own average) and 20 of them on the Korean
subset of MultiLongDocRetrieval (MLDR). The package carries both tables as data
(``ko_embed_lab/data/reported/*.csv``, extracted by ``scripts/extract_reported.py``), joined
to facts about each model (parameters, dimension, maximum length). Everything loaded here is
labelled *reported*: these are the card's numbers, never measurements of this package.

The functions below work on any wide score table (rows = models, columns = tasks), so they apply
equally to the reported figures, to reproduced ones (:func:`ko_embed_lab.benchmark.read_results`)
or to a user's own table. Their figures are built in :mod:`ko_embed_lab.plots.benchmark`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import TARGET_MODEL

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CARD_MODEL",
    "CARD_TASKS",
    "CARD_TEXT_FILE",
    "CARD_URL",
    "LONG_TASK",
    "SHORT_TASKS",
    "SOURCE_LABEL",
    "CardTask",
    "Reported",
    "average",
    "card_evaluation_note",
    "card_task",
    "card_text_path",
    "check_card_average",
    "compare",
    "difference_noise",
    "leave_one_task_out",
    "leave_one_task_out_summary",
    "load_reported",
    "long_vs_short",
    "model_sizes",
    "pair_difference",
    "per_query_sd",
    "ranking_agreement",
    "ranks",
    "reported_dir",
    "task_correlation",
]

#: The model whose card the tables come from.
CARD_MODEL = TARGET_MODEL
#: Where the card lives.
CARD_URL = f"https://huggingface.co/{CARD_MODEL}"
#: The card's text as shipped in :func:`reported_dir` (the input of ``scripts/extract_reported.py``).
CARD_TEXT_FILE = "model_card.txt"
#: Label for figures of the card's numbers (it goes where a figure names its model).
SOURCE_LABEL = f"the models compared in the card of {CARD_MODEL} — reported figures, not measured here"


@dataclass(frozen=True)
class CardTask:
    """One benchmark column of the card and the mteb task, split and subset it corresponds to.

    Attributes:
        task: The mteb task name (the card's column names are mteb's task names).
        split: The evaluation split whose score the card reports.
        subset: The Hugging Face subset (``"default"`` for single-language tasks).
        long: True for the long-document task (the card's separate MLDR table).
        description: One line on what the task is (from the card).
    """

    task: str
    split: str
    subset: str
    long: bool = False
    description: str = ""


# Splits and subsets: the card says its evaluation references the KURE repository, whose script
# runs mteb with languages=["kor-Kore", "kor-Hang"] and reads the first Korean entry of the test
# split (dev where a task has no test split); that the card's figures came from it is assumed. For the cross-lingual tasks that entry is the Korean-Korean subset.
#: The card's eight tasks, in the card's column order; MultiLongDocRetrieval last.
CARD_TASKS: tuple[CardTask, ...] = (
    CardTask("MrTidyRetrieval", "test", "korean", description="Wikipedia-based Korean document retrieval"),
    CardTask("MIRACLRetrieval", "dev", "ko", description="Korean Wikipedia retrieval"),
    CardTask("XPQARetrieval", "test", "kor-kor", description="cross-domain product QA, Korean queries and answers"),
    CardTask("BelebeleRetrieval", "test", "kor_Hang-kor_Hang", description="FLORES-200 passages, Korean questions"),
    CardTask("PublicHealthQA", "test", "korean", description="medical and public-health QA"),
    CardTask(
        "AutoRAGRetrieval", "test", "default", description="parsed PDFs: finance, public, medical, legal, commerce"
    ),
    CardTask("Ko-StrategyQA", "dev", "default", description="multi-hop open-domain QA, translated from StrategyQA"),
    CardTask("MultiLongDocRetrieval", "test", "ko", long=True, description="long-document retrieval (MLDR), Korean"),
)
#: The seven short-document tasks of the card's main table, in its column order.
SHORT_TASKS: tuple[str, ...] = tuple(t.task for t in CARD_TASKS if not t.long)
#: The long-document task of the card's second table.
LONG_TASK = "MultiLongDocRetrieval"


def card_task(name: str) -> CardTask:
    """Look up one of the card's tasks by its mteb name (case-insensitive).

    Example:
        >>> card_task("ko-strategyqa").split
        'dev'
    """
    for t in CARD_TASKS:
        if t.task.lower() == name.strip().lower():
            return t
    raise ValueError(f"{name!r} is not one of the card's tasks; use one of {[t.task for t in CARD_TASKS]}")


def reported_dir() -> Path:
    """Folder of the shipped CSV files."""
    return Path(str(resources.files("ko_embed_lab") / "data" / "reported"))


def card_text_path() -> Path:
    """The model card text the shipped tables were extracted from (package data; see the folder's README)."""
    return reported_dir() / CARD_TEXT_FILE


@dataclass(frozen=True)
class Reported:
    """The card's tables, as loaded by :func:`load_reported`.

    Attributes:
        scores: NDCG@10, 22 models × 7 tasks (index ``model``, columns :data:`SHORT_TASKS`); the
            card's one missing value is ``NaN``.
        card_average: The card's own "Average" column.
        mldr: NDCG@10 on MultiLongDocRetrieval, 20 models.
        facts: ``params_millions``, ``dim``, ``max_tokens``, ``facts_source`` per model.
        source: Where the figures come from (the card and its URL).
    """

    scores: pd.DataFrame
    card_average: pd.Series
    mldr: pd.Series
    facts: pd.DataFrame
    source: str

    @property
    def models(self) -> list[str]:
        """Models of the main table, in the card's order."""
        return list(self.scores.index)

    def table(self) -> pd.DataFrame:
        """One wide table: the 7 tasks, the card's average, MLDR and the model facts.

        Example:
            >>> load_reported().table().loc["BAAI/bge-m3", "MultiLongDocRetrieval"]
            0.43011
        """
        import pandas as pd

        out = pd.concat([self.scores, self.card_average.rename("average (card)"), self.mldr], axis=1)
        out = out.join(self.facts[["params_millions", "dim", "max_tokens"]])
        out.index.name = "model"
        out.attrs["source"] = self.source
        return out

    def long(self) -> pd.DataFrame:
        """Tidy form: one row per (model, task), with ``kind="reported"`` and the source.

        Columns: ``model``, ``task``, ``ndcg_at_10``, ``kind``, ``source``. Missing values stay as
        rows with ``NaN``, so that a reader sees them.
        """
        import pandas as pd

        wide = pd.concat([self.scores, self.mldr], axis=1)
        wide.index.name = "model"
        out = wide.reset_index().melt(id_vars="model", var_name="task", value_name="ndcg_at_10")
        # Models missing from the MLDR table are not "missing values" of the card: drop those rows.
        out = out[~((out["task"] == LONG_TASK) & ~out["model"].isin(self.mldr.index))]
        out["kind"] = "reported"
        out["source"] = self.source
        return out.reset_index(drop=True)


@lru_cache(maxsize=4)
def _read(folder: str) -> tuple[Any, Any, Any, Any]:
    import pandas as pd

    root = Path(folder)
    main = pd.read_csv(root / "card_retrieval.csv", comment="#").set_index("model")
    mldr = pd.read_csv(root / "card_mldr.csv", comment="#").set_index("model")
    facts = pd.read_csv(root / "models.csv", comment="#").set_index("model")
    return main, mldr, facts, (root / "card_retrieval.csv").read_text(encoding="utf-8")


def load_reported(folder: str | Path | None = None) -> Reported:
    """Load the card's tables (the package's copy, or the CSV files in ``folder``).

    Raises:
        FileNotFoundError: A CSV file is missing from ``folder``.
        ValueError: The files do not have the expected columns.

    Example:
        >>> rep = load_reported()
        >>> rep.scores.shape, int(rep.scores.isna().sum().sum())
        ((22, 7), 1)
    """
    root = Path(folder) if folder is not None else reported_dir()
    for name in ("card_retrieval.csv", "card_mldr.csv", "models.csv"):
        if not (root / name).exists():
            raise FileNotFoundError(f"{root / name} does not exist; run scripts/extract_reported.py to create it")
    main, mldr, facts, _ = _read(str(root))
    missing = [c for c in ("average", *SHORT_TASKS) if c not in main.columns]
    if missing or LONG_TASK not in mldr.columns:
        raise ValueError(f"{root}: the CSV files lack columns {missing or [LONG_TASK]}; regenerate them")
    scores = main[list(SHORT_TASKS)].astype(float).copy()
    scores.columns.name = "task"
    return Reported(
        scores=scores,
        card_average=main["average"].astype(float).rename("average (card)"),
        mldr=mldr[LONG_TASK].astype(float).copy(),
        facts=facts.copy(),
        source=f"model card of {CARD_MODEL} ({CARD_URL}), reported figures",
    )


def model_sizes(table: pd.DataFrame) -> pd.DataFrame:
    """The models of :meth:`Reported.table` whose size is known: average, parameters, maximum length.

    Returns:
        One row per model with a known parameter count: ``model``, ``average (card)``,
        ``params_millions``, ``max_tokens`` and ``max input tokens`` (the same, as a label).
    """
    cols = ["model", "average (card)", "params_millions", "max_tokens"]
    sizes = table.reset_index()[cols].dropna(subset=["params_millions"])
    sizes["max input tokens"] = sizes["max_tokens"].astype(int).astype(str)
    return sizes


def average(scores: pd.DataFrame, tasks: Sequence[str] | None = None, *, skip_missing: bool = True) -> pd.Series:
    """Mean score per model over ``tasks`` (default: every column).

    Args:
        scores: Wide table, rows = models, columns = tasks.
        tasks: Columns to average.
        skip_missing: Average over the tasks a model has (the card's convention, which lets a
            model with a missing task be averaged over fewer, possibly easier, tasks); if false a
            missing task makes the average missing.

    Example:
        >>> import pandas as pd
        >>> average(pd.DataFrame({"a": [0.5, 0.4], "b": [0.7, None]}, index=["m1", "m2"])).tolist()
        [0.6, 0.4]
    """
    cols = list(tasks) if tasks is not None else list(scores.columns)
    unknown = [c for c in cols if c not in scores.columns]
    if unknown:
        raise KeyError(f"unknown tasks {unknown}; the table has {list(scores.columns)}")
    return scores[cols].mean(axis=1, skipna=skip_missing).rename("average")


def check_card_average(reported: Reported) -> pd.DataFrame:
    """Recompute each model's average from the card's cells and compare it with the card's column.

    Returns:
        DataFrame per model: ``average (card)``, ``recomputed`` (mean over available tasks),
        ``difference``, ``n_tasks`` (how many tasks the average covers).
    """
    import pandas as pd

    recomputed = average(reported.scores)
    return pd.DataFrame(
        {
            "average (card)": reported.card_average,
            "recomputed": recomputed,
            "difference": reported.card_average - recomputed,
            "n_tasks": reported.scores.notna().sum(axis=1),
        }
    )


def ranks(scores: pd.DataFrame | pd.Series) -> pd.DataFrame | pd.Series:
    """Rank of each model within each task (1 = best; ties share the best rank; missing stays missing).

    Example:
        >>> import pandas as pd
        >>> ranks(pd.Series([0.2, 0.9, 0.2], index=["a", "b", "c"])).tolist()
        [2.0, 1.0, 2.0]
    """
    return scores.rank(ascending=False, method="min")


def pair_difference(scores: pd.DataFrame, a: str, b: str) -> pd.DataFrame:
    """Task-by-task comparison of two models (``a − b``), largest gain first.

    Returns:
        DataFrame indexed by task: the two scores, ``difference`` and ``relative`` (difference / b).

    Example:
        >>> rep = load_reported()
        >>> pair_difference(rep.scores, CARD_MODEL, "Snowflake/snowflake-arctic-embed-l-v2.0").index[0]
        'AutoRAGRetrieval'
    """
    import pandas as pd

    for m in (a, b):
        if m not in scores.index:
            raise KeyError(f"model {m!r} is not in the table; models are {list(scores.index)}")
    out = pd.DataFrame({a: scores.loc[a], b: scores.loc[b]})
    out["difference"] = out[a] - out[b]
    out["relative"] = out["difference"] / out[b]
    out.index.name = "task"
    return out.sort_values("difference", ascending=False)


def task_correlation(scores: pd.DataFrame, *, method: str = "spearman") -> pd.DataFrame:
    """Rank correlation between tasks across models (pandas, pairwise-complete; scipy underneath).

    A low correlation between two tasks means they order the models differently: the average
    then depends on which of them is included.
    """
    if method not in ("spearman", "kendall", "pearson"):
        raise ValueError(f"method={method!r}: use 'spearman', 'kendall' or 'pearson'")
    return scores.corr(method=method)


def leave_one_task_out(scores: pd.DataFrame, *, skip_missing: bool = True) -> pd.DataFrame:
    """Averages with every task in, and with each task left out in turn.

    Returns:
        DataFrame per model: column ``all tasks`` and one ``without <task>`` column per task.

    Example:
        >>> import pandas as pd
        >>> loo = leave_one_task_out(pd.DataFrame({"a": [1.0, 0.0], "b": [0.0, 0.5]}, index=["m1", "m2"]))
        >>> loo.loc["m1"].tolist()
        [0.5, 0.0, 1.0]
    """
    import pandas as pd

    cols = {"all tasks": average(scores, skip_missing=skip_missing)}
    for task in scores.columns:
        rest = [c for c in scores.columns if c != task]
        cols[f"without {task}"] = average(scores, rest, skip_missing=skip_missing)
    return pd.DataFrame(cols)


def leave_one_task_out_summary(scores: pd.DataFrame, *, focus: str | None = None) -> pd.DataFrame:
    """How much the ranking by average moves when each task is left out.

    Args:
        scores: Wide table, rows = models, columns = tasks.
        focus: A model whose rank to report in every variant (e.g. :data:`CARD_MODEL`).

    Returns:
        DataFrame indexed by variant (``all tasks``, ``without <task>``): the leader, the
        ``focus`` model's rank, Kendall's τ with the all-task ranking, the number of models whose
        rank changes and the largest rank change.
    """
    import pandas as pd

    loo = leave_one_task_out(scores)
    rk = ranks(loo)
    rows = {}
    for col in loo.columns:
        row: dict[str, Any] = {"leader": loo[col].idxmax()}
        if focus is not None:
            if focus not in scores.index:
                raise KeyError(f"focus model {focus!r} is not in the table")
            row[f"rank of {focus}"] = int(rk.loc[focus, col])
        row["kendall tau vs all tasks"] = ranking_agreement(loo["all tasks"], loo[col])["kendall_tau"]
        change = (rk[col] - rk["all tasks"]).abs()
        row["models changing rank"] = int((change > 0).sum())
        row["largest rank change"] = int(change.max())
        rows[col] = row
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "average over"
    return out


def ranking_agreement(a: pd.Series, b: pd.Series) -> dict[str, float]:
    """How far two scorings of the same models agree on their order (scipy's Kendall τ and Spearman ρ).

    Only models scored by both (no missing value) count.

    Returns:
        ``{"kendall_tau", "kendall_p", "spearman_rho", "spearman_p", "n"}``.
    """
    from scipy import stats

    both = a.to_frame("a").join(b.to_frame("b"), how="inner").dropna()
    if len(both) < 3:
        raise ValueError(f"need at least three models scored by both, got {len(both)}")
    tau = stats.kendalltau(both["a"], both["b"])
    rho = stats.spearmanr(both["a"], both["b"])
    return {
        "kendall_tau": float(tau.statistic),
        "kendall_p": float(tau.pvalue),
        "spearman_rho": float(rho.statistic),
        "spearman_p": float(rho.pvalue),
        "n": len(both),
    }


def long_vs_short(reported: Reported) -> pd.DataFrame:
    """The MLDR table against the short-task average, for the models in both tables.

    Returns:
        DataFrame per model: ``short average`` (mean of the 7 tasks, the card's convention),
        ``MultiLongDocRetrieval``, their ranks among these models, ``rank change`` (short rank −
        MLDR rank; positive = the model ranks better on long documents), and the model facts.
    """
    import pandas as pd

    short = average(reported.scores).rename("short average")
    df = pd.concat([short, reported.mldr], axis=1, join="inner")
    df["short rank"] = ranks(df["short average"])
    df["MLDR rank"] = ranks(df[LONG_TASK])
    df["rank change"] = df["short rank"] - df["MLDR rank"]
    df = df.join(reported.facts[["params_millions", "max_tokens"]])
    df.index.name = "model"
    return df.sort_values(LONG_TASK, ascending=False)


def compare(reproduced: pd.DataFrame, reported: pd.DataFrame) -> pd.DataFrame:
    """Reproduced against reported NDCG@10, per (model, task), with the difference.

    Args:
        reproduced: Long table with ``model``, ``task``, ``ndcg_at_10`` (e.g. from
            :func:`ko_embed_lab.benchmark.read_results`); extra columns are kept.
        reported: Long table of the same shape (e.g. :meth:`Reported.long`).

    Returns:
        One row per reproduced (model, task): ``reported``, ``reproduced`` and
        ``difference`` (reproduced − reported; missing where the card has no figure).

    Example:
        >>> import pandas as pd
        >>> rep = pd.DataFrame({"model": ["m"], "task": ["t"], "ndcg_at_10": [0.5]})
        >>> new = pd.DataFrame({"model": ["m"], "task": ["t"], "ndcg_at_10": [0.52]})
        >>> round(float(compare(new, rep)["difference"].iloc[0]), 2)
        0.02
    """
    for name, df in (("reproduced", reproduced), ("reported", reported)):
        missing = {"model", "task", "ndcg_at_10"} - set(df.columns)
        if missing:
            raise ValueError(f"{name} table lacks columns {sorted(missing)}")
    rep = reported[["model", "task", "ndcg_at_10"]].rename(columns={"ndcg_at_10": "reported"})
    out = reproduced.rename(columns={"ndcg_at_10": "reproduced"}).merge(rep, on=["model", "task"], how="left")
    out["difference"] = out["reproduced"] - out["reported"]
    first = ["model", "task", "reported", "reproduced", "difference"]
    return out[first + [c for c in out.columns if c not in first]]


def card_evaluation_note(path: str | Path | None = None) -> list[str]:
    """The card's own statement of how it evaluated: the bullet lines under its ``## Evaluation`` heading.

    Example:
        >>> card_evaluation_note()[0]
        'This evaluation references the KURE GitHub repository. (https://github.com/nlpai-lab/KURE)'
    """
    text = Path(path or card_text_path()).read_text(encoding="utf-8").splitlines()
    try:
        start = text.index("## Evaluation") + 1
    except ValueError:
        raise ValueError(f"{path or card_text_path()} has no '## Evaluation' section") from None
    lines = []
    for line in text[start:]:
        if line.startswith("#"):
            break
        if line.startswith("- "):
            lines.append(line[2:].strip())
    return lines


def per_query_sd(per_query: Mapping[str, Mapping[str, float]], metric: str = "ndcg@10") -> float:
    """Sample standard deviation of a run's per-query ``metric`` (the SD :func:`difference_noise` assumes).

    Example:
        >>> per_query_sd({"q1": {"ndcg@10": 0.0}, "q2": {"ndcg@10": 1.0}})
        0.7071067811865476
    """
    import numpy as np

    values = np.array([v[metric] for v in per_query.values()], dtype=np.float64)
    if values.size < 2:
        raise ValueError(f"need at least two queries for a standard deviation, got {values.size}")
    return float(values.std(ddof=1))


def difference_noise(
    pair: pd.DataFrame, queries: pd.Series, sd: float, *, z: float = 1.96, bound_sd: float = 0.5
) -> pd.DataFrame:
    """Judge per-task differences of two models' mean scores against sampling noise.

    Two means of per-query NDCG@10 over the same ``n`` queries, each with per-query standard
    deviation ``sd``, differ by chance with standard error ``sd·√(2/n)`` if the two runs' per-query
    scores are uncorrelated. Runs of two models on the same queries are usually positively
    correlated, which makes the paired error smaller, so this is a conservative yardstick — and
    it assumes the two rows were produced by identical set-ups, which a card does not show. A
    difference is *beyond noise* when ``|difference| > z·SE``. The same is computed with the
    largest possible SD of a score in [0, 1] (``bound_sd = 0.5``, the binomial bound).

    Args:
        pair: :func:`pair_difference` (indexed by task, with ``difference``).
        queries: Number of test queries per task (e.g. ``task_facts()["queries"]``).
        sd: Assumed per-query SD of NDCG@10 (say where it comes from).
        z: Multiplier of the standard error (1.96: about 95% two-sided, per task on its own).
        bound_sd: The worst-case SD for the second yardstick.

    Returns:
        ``pair`` with ``queries``, ``se``, ``threshold``, ``beyond noise``, ``threshold (bound)``
        and ``beyond noise (bound)``.

    Example:
        >>> import pandas as pd
        >>> pair = pd.DataFrame({"difference": [0.05, 0.01]}, index=["t1", "t2"])
        >>> out = difference_noise(pair, pd.Series({"t1": 800, "t2": 800}), 0.3)
        >>> out["threshold"].round(4).tolist(), out["beyond noise"].tolist()
        ([0.0294, 0.0294], [True, False])
    """
    import numpy as np

    if not sd > 0 or not z > 0:
        raise ValueError(f"sd={sd!r} and z={z!r} must be positive")
    n = queries.reindex(pair.index)
    if n.isna().any():
        raise KeyError(f"no query count for {list(n[n.isna()].index)}")
    out = pair.copy()
    out["queries"] = n.astype(int)
    out["se"] = sd * np.sqrt(2.0 / out["queries"])
    out["threshold"] = z * out["se"]
    out["beyond noise"] = out["difference"].abs() > out["threshold"]
    out["threshold (bound)"] = z * bound_sd * np.sqrt(2.0 / out["queries"])
    out["beyond noise (bound)"] = out["difference"].abs() > out["threshold (bound)"]
    return out
