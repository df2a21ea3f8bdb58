"""Tested summaries of chapter 5 (quality per byte): each conclusion is chosen from the run's numbers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ._core import fmt

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "BIG_GAIN",
    "best_within_budget",
    "binary_centre_sentence",
    "budget_advice",
    "centre_gain",
    "centre_pair",
    "centre_table",
    "control_frame",
    "index_sentence",
    "matryoshka_sentence",
    "offset_sentence",
    "setting_label",
    "takeaways",
    "verdict_from",
]

#: Percentage points of float32 quality that count as "much" when centring binary codes.
BIG_GAIN = 10.0
#: Norm of the corpus mean (each vector has norm 1) above which the offset counts as large.
BIG_OFFSET = 0.3


def offset_sentence(docs: np.ndarray) -> str:
    """How large the corpus's common offset is: the norm of its mean vector, against 1.

    Example:
        >>> offset_sentence(np.array([[1.0, 0.0], [0.0, 1.0]]))[:31]
        'The corpus mean has norm 0.71 ('
    """
    norm = float(np.linalg.norm(np.asarray(docs, dtype=np.float64).mean(axis=0)))
    share = float(np.mean(np.abs(np.mean(np.sign(docs), axis=0)) > 0.9))
    head = f"The corpus mean has norm {norm:.2f} (each vector has norm 1)"
    if norm >= BIG_OFFSET:
        return (
            f"{head}: a large common offset. In {100 * share:.0f}% of the dimensions more than 95% of the "
            "passages have the same sign, so the naive sign carries little information there."
        )
    return f"{head}: no large common offset, so the naive sign should lose little."


def centre_table(centres: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """``{center: sweep}`` of binary sweeps as one table: NDCG@10 and % of float32 by centre and rescoring."""
    import pandas as pd

    names = {"zero": "naive sign (0)", "median": "corpus median", "mean": "corpus mean"}
    rows = []
    for c, df in centres.items():
        for _, r in df.iterrows():
            rows.append({"threshold": names.get(c, c), "rescore": int(r["rescore"]), "ndcg@10": r["ndcg@10"],
                         "pct_of_float32": r["pct_of_float32"]})  # fmt: skip
    return pd.DataFrame(rows).set_index(["threshold", "rescore"])


def centre_pair(centres: Mapping[str, pd.DataFrame]) -> tuple[dict[str, float], dict[str, float]]:
    """The naive and mean-centred rows without rescoring (for :func:`binary_centre_sentence`)."""

    def row(c: str) -> dict[str, float]:
        df = centres[c]
        return dict(df[df["rescore"] == 0].iloc[0])

    return row("zero"), row("mean")


def centre_gain(centres: Mapping[str, pd.DataFrame]) -> float:
    """Points of float32 quality the mean centre gains over the naive sign, without rescoring."""
    naive, centred = centre_pair(centres)
    return float(centred["pct_of_float32"] - naive["pct_of_float32"])


def control_frame(sweep: pd.DataFrame, pca: pd.DataFrame) -> pd.DataFrame:
    """Float32 rows of the truncation sweep and of the PCA sweep, stacked (``reduction`` tells them apart)."""
    import pandas as pd

    own = sweep[(sweep["precision"] == "float32") & (sweep["rescore"] == 0)]
    return pd.concat([own, pca[pca["precision"] == "float32"]], ignore_index=True)


def verdict_from(control: pd.DataFrame, *, margin: float | None = None) -> dict[str, Any]:
    """:func:`~ko_embed_lab.compress.pca.matryoshka_verdict` of a :func:`control_frame`."""
    from ..compress.pca import MATRYOSHKA_MARGIN, matryoshka_verdict

    full_dim = int(control["dim"].max())
    arms = {
        red: {int(d): float(v) for d, v in zip(part["dim"], part["ndcg@10"], strict=True) if d < full_dim}
        for red, part in control.groupby("reduction")
    }
    full = float(control[(control["dim"] == full_dim) & (control["reduction"] == "truncation")]["ndcg@10"].iloc[0])
    return matryoshka_verdict(
        arms.get("truncation", {}), arms.get("pca", {}), full, margin=MATRYOSHKA_MARGIN if margin is None else margin
    )


def setting_label(row: Mapping[str, Any]) -> str:
    """'128-d binary, rescore ×4' from a sweep row.

    Example:
        >>> setting_label({"dim": 128, "precision": "binary", "rescore": 4})
        '128-d binary, rescore ×4'
    """
    rs = f", rescore ×{int(row['rescore'])}" if row.get("rescore") else ""
    return f"{int(row['dim'])}-d {row['precision']}{rs}"


def best_within_budget(df: pd.DataFrame, budget: float) -> dict[str, Any] | None:
    """The sweep row with the highest NDCG@10 among those of at most ``budget`` bytes per vector.

    Ties go to the smaller vector, then to less rescoring. ``None`` when nothing fits.
    """
    fits = df[df["bytes_per_vector"] <= budget]
    if fits.empty:
        return None
    best = fits.sort_values(["ndcg@10", "bytes_per_vector", "rescore"], ascending=[False, True, True]).iloc[0]
    return dict(best)


def budget_advice(df: pd.DataFrame, budgets: Sequence[float]) -> str:
    """One line per byte budget: the best setting that fits it and the share of float32 quality it keeps."""
    lines = []
    for b in budgets:
        row = best_within_budget(df, b)
        if row is None:
            lines.append(f"- At {b:g} bytes per vector: no setting of this sweep fits.")
            continue
        rescore_note = (
            f"; rescoring reads {int(row['rescore']) * 10} full vectors per query for the top 10"
            if row.get("rescore")
            else ""
        )
        lines.append(
            f"- At {b:g} bytes per vector: **{setting_label(row)}** ({int(row['bytes_per_vector'])} bytes) keeps "
            f"{row['pct_of_float32']:.1f}% of float32 NDCG@10 ({fmt(row['ndcg@10'])}){rescore_note}."
        )
    return "\n".join(lines)


def binary_centre_sentence(naive: Mapping[str, float], centred: Mapping[str, float], setting: str) -> str:
    """What centring the binary threshold on the corpus mean buys, from the share of float32 NDCG@10 kept.

    Args:
        naive, centred: ``{"pct_of_float32": ...}`` of the same setting with the naive sign and the
            centred sign.
        setting: The setting's name, e.g. ``"384-d binary, no rescoring"``.

    Example:
        >>> binary_centre_sentence({"pct_of_float32": 59.0}, {"pct_of_float32": 93.0}, "384-d binary")[:34]
        'Centring the sign on the corpus me'
    """
    a, b = naive["pct_of_float32"], centred["pct_of_float32"]
    gain = b - a
    head = f"With {setting}, the naive sign keeps {a:.1f}% of float32 NDCG@10 and the centred sign {b:.1f}%."
    if gain >= BIG_GAIN:
        return (
            f"Centring the sign on the corpus mean recovers {gain:.1f} points. {head} Most of what the naive "
            "code loses is the common offset: every text has the same sign in the dimensions it dominates."
        )
    if gain > -BIG_GAIN / 2:
        return f"Centring changes little ({gain:+.1f} points). {head} These embeddings have no large common offset."
    return f"Centring costs {-gain:.1f} points here. {head} Keep the naive sign for this model."


def matryoshka_sentence(verdict: Mapping[str, Any], model: str) -> str:
    """The Matryoshka verdict of :func:`~ko_embed_lab.compress.pca.matryoshka_verdict`, in words."""
    margin = 100 * verdict["margin"]
    if verdict["verdict"] == "untested":
        return f"No dimension below full was measured for `{model}`, so its truncation was not tested."
    d, gap = verdict["worst_dim"], 100 * verdict["worst_gap"]
    if verdict["verdict"] == "matryoshka":
        return (
            f"`{model}` truncates like a Matryoshka model: at every dimension measured, keeping the first "
            f"coordinates loses at most {max(gap, 0):.1f} points of full-dimension NDCG@10 more than keeping the "
            f"first principal axes (at {d} dimensions; margin {margin:.0f} points). Truncate it directly."
        )
    return (
        f"`{model}` does not truncate like a Matryoshka model: at {d} dimensions the first coordinates keep "
        f"{gap:.1f} points of full-dimension NDCG@10 less than the first principal axes (margin {margin:.0f} "
        "points). To shrink it, rotate with a PCA fitted on the corpus first, or quantise instead of truncating."
    )


def index_sentence(bench: pd.DataFrame, *, min_recall: float = 0.9, k: int = 10) -> str:
    """At the largest corpus size: the fastest index whose recall@k reaches ``min_recall``, against flat."""
    col = f"recall@{k}"
    n = int(bench["n"].max())
    top = bench[bench["n"] == n]
    flat = top[top["index"] == "flat"]
    ok = top[(top[col] >= min_recall) & (top["index"] != "flat")]
    base = (
        f"At {n:,} vectors, exact search (flat) takes {flat['query_ms'].iloc[0]:.2f} ms per query" if len(flat) else ""
    )
    if ok.empty:
        best = top[top["index"] != "flat"].sort_values(col, ascending=False)
        if best.empty:
            return base + "." if base else "No approximate index was measured."
        r = best.iloc[0]
        return (
            f"{base}; no approximate index reaches recall@{k} {min_recall:.2f} with these settings — the best, "
            f"{r['index']}, finds {r[col]:.2f} of the exact top {k} in {r['query_ms']:.2f} ms. "
            "Raise its search width (efSearch, nprobe, rescore) before using it."
        )
    r = ok.sort_values("query_ms").iloc[0]
    return (
        f"{base}; the fastest index with recall@{k} ≥ {min_recall:.2f} is **{r['index']}**: {r[col]:.2f} of the "
        f"exact top {k} in {r['query_ms']:.2f} ms per query, {r['bytes_per_vector']:.0f} bytes per vector in memory."
    )


def takeaways(
    sweep: pd.DataFrame, verdict: Mapping[str, Any], centre_gain: float, budgets: Sequence[float], model: str
) -> str:
    """The chapter's closing list, from its numbers."""
    items = [budget_advice(sweep, budgets[:1]).lstrip("- ")]
    items.append(
        "Binary codes need a centre for this model: subtract the corpus mean before the sign."
        if centre_gain >= BIG_GAIN
        else "The naive binary sign is good enough for this model: centring gains little."
    )
    items.append(
        "Truncate directly: the Matryoshka property holds."
        if verdict["verdict"] == "matryoshka"
        else "Do not truncate blindly: this model's first coordinates are not its most informative."
        if verdict["verdict"] == "not matryoshka"
        else "Truncation was not tested."
    )
    items.append(f"Every number here is for `{model}`: rerun the chapter (or the CLI) for another model.")
    return "\n".join(f"- {t}" for t in items)
