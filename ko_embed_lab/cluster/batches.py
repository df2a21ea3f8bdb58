"""Forming batches: at random or cluster by cluster, with sentence-transformers' no-duplicates rule."""

from __future__ import annotations

from collections.abc import Collection, Hashable, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ._util import shorten
from .pairs import Pairs

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Remainder", "batch_table", "form_batches"]

#: What happens to a cluster's incomplete batches (see :func:`form_batches`).
Remainder = Literal["pool", "keep", "drop"]


def _no_duplicate_pass(
    order: Sequence[int], values: Sequence[Collection[Hashable]], batch_size: int
) -> tuple[list[list[int]], list[list[int]]]:
    """One pass of sentence-transformers' ``NoDuplicatesBatchSampler`` over ``order``.

    Walk the remaining items in order; add an item to the batch unless one of its values is
    already there (then defer it, keeping its place); yield the batch when it holds
    ``batch_size`` items and start again from the first deferred item. When the walk ends
    with a batch that is not full, that batch is a remainder and the walk restarts with the
    items still left. Returns ``(full batches, incomplete batches)`` in the order formed.
    """
    remaining = list(order)
    full: list[list[int]] = []
    partial: list[list[int]] = []
    while remaining:
        batch: list[int] = []
        seen: set[Hashable] = set()
        deferred: list[int] = []
        stop = len(remaining)
        for pos, i in enumerate(remaining):
            if len(batch) == batch_size:
                stop = pos
                break
            v = values[i]
            if seen.isdisjoint(v):
                batch.append(i)
                seen.update(v)
            else:
                deferred.append(i)
        (full if len(batch) == batch_size else partial).append(batch)
        remaining = deferred + remaining[stop:]
    return full, partial


def form_batches(
    pairs: Pairs | Sequence[Collection[Hashable]],
    batch_size: int,
    *,
    clusters: Sequence[int] | np.ndarray | None = None,
    seed: int = 0,
    remainder: Remainder = "pool",
    shuffle_batches: bool = True,
) -> list[list[int]]:
    """Split pairs into batches of ``batch_size``, at random or cluster by cluster, with no duplicates.

    Within a batch no value repeats (a pair's values are its query and passage text, as in
    sentence-transformers' ``NoDuplicatesBatchSampler``): a pair that would repeat one is deferred
    to a later batch. With ``clusters`` each cluster is shuffled and cut into batches on its own,
    so that a full batch holds pairs of one cluster only.

    Args:
        pairs: :class:`Pairs`, or for each item the collection of values that must not repeat.
        batch_size: Pairs per batch.
        clusters: Cluster label of each pair (``None``: random batches over all pairs).
        seed: Seed of the shuffles.
        remainder: What happens to a cluster's incomplete batches (fewer than ``batch_size``
            pairs): ``"pool"`` — their pairs are pooled across clusters and batched at random
            (mixed batches); ``"keep"`` — kept as small batches (sentence-transformers'
            ``drop_last=False``); ``"drop"`` — dropped (``drop_last=True``). For random
            batches ``"pool"`` and ``"keep"`` are the same.
        shuffle_batches: Shuffle the order of the batches (clusters interleave, as in training).

    Returns:
        A list of batches, each a list of pair indices.

    Example:
        >>> values = [{"q1", "p1"}, {"q2", "p1"}, {"q3", "p2"}, {"q4", "p3"}]
        >>> sorted(map(sorted, form_batches(values, 2, seed=0)))  # p1 never twice in a batch
        [[0, 2], [1, 3]]
    """
    if remainder not in ("pool", "keep", "drop"):
        raise ValueError(f"remainder={remainder!r}: use 'pool', 'keep' or 'drop'")
    if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r} must be a positive int")
    values = pairs.sample_values() if isinstance(pairs, Pairs) else [frozenset(v) for v in pairs]
    n = len(values)
    if n == 0:
        raise ValueError("no pairs to batch")
    rng = np.random.default_rng(seed)
    batches: list[list[int]] = []
    if clusters is None:
        full, partial = _no_duplicate_pass(rng.permutation(n).tolist(), values, int(batch_size))
        batches = full + ([] if remainder == "drop" else partial)
    else:
        labels = np.asarray(clusters)
        if labels.shape != (n,):
            raise ValueError(f"clusters must hold one label per pair ({n}), got shape {labels.shape}")
        leftovers: list[int] = []
        for c in rng.permutation(np.unique(labels)):
            members = np.flatnonzero(labels == c)
            full, partial = _no_duplicate_pass(rng.permutation(members).tolist(), values, int(batch_size))
            batches += full
            if remainder == "keep":
                batches += partial
            elif remainder == "pool":
                leftovers += [i for b in partial for i in b]
        if leftovers:
            full, partial = _no_duplicate_pass(rng.permutation(leftovers).tolist(), values, int(batch_size))
            batches += full + partial
    if shuffle_batches:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return [[int(i) for i in b] for b in batches]


def batch_table(
    pairs: Pairs, batch: Sequence[int], *, clusters: Sequence[int] | np.ndarray | None = None, width: int = 60
) -> pd.DataFrame:
    """The pairs of one batch as a readable table: query, start of the positive passage, domain, cluster.

    Example:
        >>> batch_table(pairs, batches[0]).columns.tolist()
        ['query', 'positive passage', 'domain']
    """
    import pandas as pd

    rows = []
    for i in batch:
        row: dict[str, Any] = {"query": pairs.queries[i], "positive passage": shorten(pairs.passages[i], width)}
        if pairs.domains is not None:
            row["domain"] = pairs.domains[i]
        if clusters is not None:
            row["cluster"] = int(np.asarray(clusters)[i])
        rows.append(row)
    return pd.DataFrame(rows)
