"""MTEB(kor, v2) results from mteb's public results repository, as reported figures.

``ko_embed_lab/data/mteb_kor/`` holds the main scores of every model in
`embeddings-benchmark/results <https://github.com/embeddings-benchmark/results>`_ on the 20 tasks
of mteb's ``MTEB(kor, v2)`` benchmark (plus XPQARetrieval, which the target model's card reports),
extracted by ``scripts/extract_mteb_kor.py`` (see the folder's README.md). They are *reported*
figures: mteb's and the model authors' runs, never measurements of this package. Scores are on a
0-1 scale.

- :func:`load_mteb_kor` reads them (one figure per model, revision and task as the benchmark
  computes it, or one per split and Korean subset);
- :func:`mteb_kor_board` makes a models × tasks table with an average and a rank;
- :func:`card_vs_mteb` sets a card's table (models × tasks) against them and names a likely cause
  for each disagreement.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "BENCHMARK",
    "CARD_SPLITS",
    "CARD_TASK_NAMES",
    "card_vs_mteb",
    "choose_revisions",
    "load_mteb_kor",
    "mteb_kor_board",
    "mteb_kor_dir",
]

#: The mteb benchmark the figures belong to.
BENCHMARK = "MTEB(kor, v2)"
#: The card's short task names → mteb task names (mteb names map to themselves).
CARD_TASK_NAMES: dict[str, str] = {
    "MrTidy": "MrTidyRetrieval",
    "MIRACL": "MIRACLRetrieval",
    "XPQA": "XPQARetrieval",
    "Belebele": "BelebeleRetrieval",
    "PublicHealthQA": "PublicHealthQA",
    "AutoRAG": "AutoRAGRetrieval",
    "Ko-StrategyQA": "Ko-StrategyQA",
    "MultiLongDoc": "MultiLongDocRetrieval",
    "MLDR": "MultiLongDocRetrieval",
}
#: The split and subset whose score the card states for each of its tasks (the KURE evaluation read
#: the first Korean entry of the test split, dev where a task has no test split).
CARD_SPLITS: dict[str, tuple[str, str]] = {
    "MrTidyRetrieval": ("test", "korean"),
    "MIRACLRetrieval": ("dev", "ko"),
    "XPQARetrieval": ("test", "kor-kor"),
    "BelebeleRetrieval": ("test", "kor_Hang-kor_Hang"),
    "PublicHealthQA": ("test", "korean"),
    "AutoRAGRetrieval": ("test", "default"),
    "Ko-StrategyQA": ("dev", "default"),
    "MultiLongDocRetrieval": ("test", "ko"),
}
_FILES = {"task": "scores.csv", "subset": "subsets.csv"}


def mteb_kor_dir() -> Path:
    """Folder of the shipped CSV files and their data card."""
    return Path(str(resources.files("ko_embed_lab") / "data" / "mteb_kor"))


def _commit(path: Path) -> str:
    with path.open(encoding="utf-8") as f:
        for line in f:
            if not line.startswith("#"):
                break
            if "# commit " in line:
                return line.split("# commit ", 1)[1].split(";", 1)[0].strip()
    return "unknown"


def load_mteb_kor(
    level: Literal["task", "subset"] = "task",
    revisions: Literal["all", "chosen"] = "all",
    folder: str | Path | None = None,
) -> pd.DataFrame:
    """Load the MTEB(kor, v2) figures (reported, 0-1 scale).

    Args:
        level: ``"task"``: one row per model, revision and task, the figure the benchmark shows
            (mean over the task's eval splits and Korean subsets; columns ``model``, ``revision``,
            ``task``, ``task_type``, ``in_benchmark``, ``split``, ``subsets``, ``main_score``,
            ``mteb_version``, ``dataset_revision``, ``date``, ``model_prompts``, ``source_file``).
            ``"subset"``: one row per model, revision, task, split and Korean subset (``subset``).
        revisions: ``"all"`` keeps every revision of a model; ``"chosen"`` keeps one per model,
            chosen by :func:`choose_revisions`.
        folder: Read the CSV files from here instead of the package's copy.

    Returns:
        A DataFrame whose ``attrs["source"]`` names the repository and commit and
        ``attrs["commit"]`` holds the commit.

    Raises:
        ValueError: ``level`` or ``revisions`` is not one of the allowed values.
        FileNotFoundError: The CSV file is missing.

    Example:
        >>> df = load_mteb_kor()
        >>> df.attrs["source"].startswith("embeddings-benchmark/results@")
        True
    """
    import pandas as pd

    if level not in _FILES:
        raise ValueError(f"level must be 'task' or 'subset', not {level!r}")
    if revisions not in ("all", "chosen"):
        raise ValueError(f"revisions must be 'all' or 'chosen', not {revisions!r}")
    root = Path(folder) if folder is not None else mteb_kor_dir()
    path = root / _FILES[level]
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist; run scripts/extract_mteb_kor.py to create it")
    df = pd.read_csv(
        path,
        comment="#",
        dtype={"revision": str, "mteb_version": str, "dataset_revision": str, "model_prompts": str},
        keep_default_na=False,
        na_values={"main_score": [""], "date": [""]},
    )
    if revisions == "chosen":
        scores = df if level == "task" else load_mteb_kor("task", "all", root)
        keep = choose_revisions(scores)
        df = df.merge(keep, on=["model", "revision"], how="inner")
    commit = _commit(path)
    df.attrs["commit"] = commit
    df.attrs["source"] = (
        f"embeddings-benchmark/results@{commit} ({BENCHMARK}, reported figures; extracted by scripts/extract_mteb_kor.py)"
    )
    return df


def choose_revisions(scores: pd.DataFrame) -> pd.DataFrame:
    """One revision per model: the one with the most benchmark tasks, then the latest result date.

    Ties left after both keys go to the revision name in reverse alphabetical order (an arbitrary but
    fixed rule). Returns a frame of ``model``, ``revision``.

    Example:
        >>> import pandas as pd
        >>> s = pd.DataFrame({"model": ["m", "m", "m"], "revision": ["a", "b", "b"],
        ...                   "task": ["T1", "T1", "T2"], "date": ["2025-01-01", None, None]})
        >>> choose_revisions(s)["revision"].tolist()
        ['b']
    """
    import pandas as pd

    s = scores
    if "in_benchmark" in s.columns:
        s = s[s["in_benchmark"].astype(bool)]
    dates = pd.to_datetime(s["date"], utc=True, errors="coerce") if "date" in s.columns else None
    per = (
        s.assign(_date=dates)
        .groupby(["model", "revision"])
        .agg(n_tasks=("task", "nunique"), latest=("_date", "max"))
        .reset_index()
        if dates is not None
        else s.groupby(["model", "revision"]).agg(n_tasks=("task", "nunique")).reset_index().assign(latest=pd.NaT)
    )
    per = per.sort_values(["model", "n_tasks", "latest", "revision"], ascending=[True, False, False, False])
    return per.drop_duplicates("model")[["model", "revision"]].reset_index(drop=True)


def mteb_kor_board(
    scores: pd.DataFrame,
    task_types: str | list[str] | None = None,
    min_tasks: int | None = None,
) -> pd.DataFrame:
    """Models × tasks table of main scores, with the mean over tasks and a rank by it.

    Only tasks of the benchmark count (``in_benchmark``, where that column exists). Where a model
    has several revisions, :func:`choose_revisions` picks one (over all benchmark tasks, whatever
    ``task_types`` selects).

    Args:
        scores: Task-level figures (:func:`load_mteb_kor`), or any frame with ``model``,
            ``revision``, ``task``, ``task_type``, ``main_score``.
        task_types: Keep tasks of these mteb types (e.g. ``"Retrieval"``); ``None`` keeps all.
        min_tasks: Keep models with at least this many of the selected tasks; ``None`` (default)
            means all of them. With fewer, ``average`` is over a model's own tasks and is not
            comparable across models: use it to look, not to rank.

    Returns:
        Index ``model``; one column per task, then ``n_tasks``, ``average`` and ``rank`` (1 = best,
        ties share the lower rank). ``attrs["dropped"]`` counts the models left out,
        ``attrs["tasks"]`` lists the tasks and ``attrs["note"]`` says both in a sentence.

    Raises:
        ValueError: No task is left after the type filter, or ``min_tasks`` is out of range.
    """
    s = scores
    if "in_benchmark" in s.columns:
        s = s[s["in_benchmark"].astype(bool)]
    # Choose revisions over all benchmark tasks, so that every board shows the same revision of a model.
    s = s.merge(choose_revisions(s), on=["model", "revision"], how="inner")
    if task_types is not None:
        types = [task_types] if isinstance(task_types, str) else list(task_types)
        s = s[s["task_type"].isin(types)]
    tasks = sorted(s["task"].unique())
    if not tasks:
        raise ValueError(f"no task of type {task_types!r} in the scores")
    need = len(tasks) if min_tasks is None else min_tasks
    if not 1 <= need <= len(tasks):
        raise ValueError(f"min_tasks must be between 1 and {len(tasks)}, not {min_tasks}")
    wide = s.pivot_table(index="model", columns="task", values="main_score", aggfunc="first").reindex(columns=tasks)
    n = wide.notna().sum(axis=1)
    board = wide[n >= need].copy()
    board["n_tasks"] = n[n >= need]
    board["average"] = board[tasks].mean(axis=1)
    board["rank"] = board["average"].rank(ascending=False, method="min").astype(int)
    board = board.sort_values(["rank", "average"], ascending=[True, False])
    board.columns.name = None
    dropped = int((n < need).sum())
    board.attrs.update(scores.attrs)
    board.attrs["dropped"] = dropped
    board.attrs["tasks"] = tasks
    board.attrs["note"] = (
        f"{len(board)} models with at least {need} of {len(tasks)} tasks;"
        f" {dropped} of the {len(n)} models with any of them left out"
    )
    return board


def _card_long(card: pd.DataFrame) -> pd.DataFrame:
    """The card's wide table as (model, task, card) on a 0-1 scale, with mteb task names."""
    wide = card.set_index("model") if "model" in card.columns else card
    cols = {c: CARD_TASK_NAMES.get(str(c), str(c)) for c in wide.columns}
    keep = [c for c, t in cols.items() if t in CARD_SPLITS]
    if not keep:
        raise ValueError(f"the card has none of the tasks {sorted(CARD_TASK_NAMES)} (columns: {list(wide.columns)})")
    sub = wide[keep].rename(columns=cols).astype(float)
    if float(sub.max().max()) > 1.5:  # a 0-100 table
        sub = sub / 100.0
    sub.index.name = "model"
    long = sub.reset_index().melt(id_vars="model", var_name="task", value_name="card")
    return long.dropna(subset=["card"])


def _cause(row: pd.Series, offset_models: dict[str, float], tolerance: float) -> str:
    split, subset = CARD_SPLITS[row["task"]]
    if row["split"] != split or row["subsets"] != subset:
        cause = f"split/subset: card {split}/{subset}, mteb {row['split']}/{row['subsets']}"
        if row["matching_part"]:
            cause += f"; the card's figure is mteb's {row['matching_part']}"
        return cause
    if row["revision_spread"] > tolerance:
        return f"mteb revisions disagree (spread {row['revision_spread']:.5f} over {row['n_revisions']} revisions)"
    if row["model"] in offset_models:
        return f"constant offset across tasks (about {offset_models[row['model']]:+.5f})"
    if row["model_prompts"] == "none":
        return "no prompt in the mteb run (model_meta: no model_prompts, use_instructions false)"
    return "unknown"


def _parts(subsets: pd.DataFrame | None, model: str, revision: str, task: str) -> pd.DataFrame | None:
    if subsets is None:
        return None
    return subsets[(subsets["model"] == model) & (subsets["revision"] == revision) & (subsets["task"] == task)]


def card_vs_mteb(
    card: pd.DataFrame,
    mteb: pd.DataFrame,
    tolerance: float = 0.001,
    subsets: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Set a card's table against mteb's figures, model by model and task by task.

    Args:
        card: The card's table, models × tasks (index or a ``model`` column); columns named as in
            the card (``MrTidy``, ``MIRACL``, ``XPQA``, ``Belebele``, ``PublicHealthQA``,
            ``AutoRAG``, ``Ko-StrategyQA``, ``MultiLongDoc``) or by their mteb names; other columns
            are ignored. A table whose largest value exceeds 1.5 is taken as 0-100 and divided by 100.
        mteb: Task-level figures (:func:`load_mteb_kor`), all revisions; where a model has
            several, the one :func:`choose_revisions` picks is compared.
        tolerance: Largest absolute difference (0-1 scale) that counts as agreement.
        subsets: Optional subset-level figures (``load_mteb_kor("subset")``); with them the table
            also shows mteb's figure at the card's stated split and subset (``mteb_at_card_split``)
            and the split/subset of the same revision whose figure is within ``tolerance`` of the
            card's (``matching_part``, empty when none is).

    Returns:
        One row per (model, task) present in both: ``model``, ``task``, ``revision``,
        ``n_revisions``, ``split``, ``subsets`` (mteb's), ``card``, ``mteb``, ``difference`` (card
        minus mteb), ``agree``, ``mteb_at_card_split``, ``matching_part`` and ``likely_cause``.
        Causes, first that applies, for rows that disagree: mteb's split/subset differs from the
        card's stated one (naming the part that matches the card, if one does); the model's mteb
        revisions differ by more than ``tolerance`` on the task; the model's differences are a
        constant offset (three or more tasks at the card's split, spread ≤ 2 × tolerance, mean
        beyond tolerance); the mteb run is known to have had no prompt (``model_prompts ==
        "none"``); else ``"unknown"``. Agreeing rows say ``"agrees"``.
    """
    import numpy as np
    import pandas as pd

    c = _card_long(card)
    m = mteb[mteb["task"].isin(CARD_SPLITS)]
    spread = (
        m.groupby(["model", "task"])["main_score"]
        .agg(lambda v: float(v.max() - v.min()))
        .rename("revision_spread")
        .reset_index()
    )
    nrev = m.groupby(["model", "task"])["revision"].nunique().rename("n_revisions").reset_index()
    chosen = m.merge(choose_revisions(mteb), on=["model", "revision"], how="inner")
    cols = ["model", "task", "revision", "split", "subsets", "main_score"]
    cols += [k for k in ("model_prompts",) if k in chosen.columns]
    out = c.merge(chosen[cols], on=["model", "task"], how="inner").rename(columns={"main_score": "mteb"})
    out = out.merge(nrev, on=["model", "task"]).merge(spread, on=["model", "task"])
    if "model_prompts" not in out.columns:
        out["model_prompts"] = ""
    out["model_prompts"] = out["model_prompts"].fillna("")
    out["difference"] = out["card"] - out["mteb"]
    out["agree"] = out["difference"].abs() <= tolerance
    at, matching = [], []
    for r in out.itertuples():
        parts = _parts(subsets, str(r.model), str(r.revision), str(r.task))
        split, subset = CARD_SPLITS[str(r.task)]
        value, match = np.nan, ""
        if parts is not None and len(parts):
            hit = parts[(parts["split"] == split) & (parts["subset"] == subset)]
            if len(hit):
                value = float(hit["main_score"].iloc[0])
            close = parts[(parts["main_score"] - float(r.card)).abs() <= tolerance]
            if len(close):
                match = f"{close['split'].iloc[0]}/{close['subset'].iloc[0]} figure {float(close['main_score'].iloc[0]):.5f}"
        at.append(value)
        matching.append(match)
    out["mteb_at_card_split"] = at
    out["matching_part"] = matching
    same_split = out.apply(lambda r: (r["split"], r["subsets"]) == CARD_SPLITS[r["task"]], axis=1)
    offset_models: dict[str, float] = {}
    for model, g in out[same_split].groupby("model"):
        d = g["difference"]
        if len(d) >= 3 and float(d.max() - d.min()) <= 2 * tolerance and abs(float(d.mean())) > tolerance:
            offset_models[str(model)] = float(d.mean())
    out["likely_cause"] = ["agrees" if r["agree"] else _cause(r, offset_models, tolerance) for _, r in out.iterrows()]
    order = [
        "model",
        "task",
        "revision",
        "n_revisions",
        "split",
        "subsets",
        "card",
        "mteb",
        "difference",
        "agree",
        "mteb_at_card_split",
        "matching_part",
        "likely_cause",
    ]
    out = out[order].sort_values(["model", "task"], ignore_index=True)
    out.attrs["source"] = mteb.attrs.get("source", "mteb figures")
    out.attrs["tolerance"] = tolerance
    return pd.DataFrame(out)
