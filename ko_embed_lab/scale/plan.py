"""The shard plan of a Parquet corpus: fixed row ranges, the same whatever the engine or worker count.

The input is one Parquet file, a folder of them, or a glob. Its files are taken in sorted path
order and their rows numbered from 0 across files; shard ``k`` holds rows
``[k·shard_size, min((k+1)·shard_size, n))``, so a shard may span two files. The plan depends
only on the files and ``shard_size``: a rerun, another engine or another number of workers sees
the same shards, which is what makes a run resumable shard by shard.
"""

from __future__ import annotations

import glob as _glob
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Shard", "ShardPlan", "SourceFile", "plan_shards", "read_shard", "resolve_source"]

_MAGIC = b"PAR1"


@dataclass(frozen=True)
class SourceFile:
    """One Parquet file of the corpus: its path, row count and a cheap content fingerprint."""

    path: str
    rows: int
    size: int
    footer_sha256: str

    def as_dict(self) -> dict[str, Any]:
        """The fields a manifest records (the path by name only, so a moved corpus still matches)."""
        return {"name": Path(self.path).name, "rows": self.rows, "size": self.size, "footer_sha256": self.footer_sha256}


@dataclass(frozen=True)
class Shard:
    """Rows ``[start, stop)`` of the corpus, numbered across its files."""

    index: int
    start: int
    stop: int

    @property
    def rows(self) -> int:
        """Number of rows in the shard."""
        return self.stop - self.start

    @property
    def name(self) -> str:
        """File stem of the shard's outputs, e.g. ``shard-00003``."""
        return f"shard-{self.index:05d}"


@dataclass(frozen=True)
class ShardPlan:
    """The corpus's files and its shards."""

    files: tuple[SourceFile, ...]
    shard_size: int
    text_field: str
    id_field: str | None

    @property
    def rows(self) -> int:
        """Rows in the whole corpus."""
        return sum(f.rows for f in self.files)

    @property
    def shards(self) -> list[Shard]:
        """Every shard, in order."""
        n, s = self.rows, self.shard_size
        return [Shard(k, k * s, min((k + 1) * s, n)) for k in range((n + s - 1) // s)]

    def source_fingerprint(self) -> list[dict[str, Any]]:
        """What a manifest records of the source: each file's name, rows, size and footer hash."""
        return [f.as_dict() for f in self.files]


def resolve_source(source: str | os.PathLike[str] | list[str | os.PathLike[str]]) -> list[Path]:
    """The Parquet files of ``source`` (a file, a folder of ``*.parquet`` files, a glob, or a list), sorted.

    Example:
        >>> resolve_source("/no/such/corpus.parquet")
        Traceback (most recent call last):
        ...
        FileNotFoundError: source /no/such/corpus.parquet does not exist; pass a Parquet file, a folder of .parquet files or a glob
    """
    if isinstance(source, (list, tuple)):
        files = sorted({p for s in source for p in resolve_source(s)})
    else:
        text = os.fspath(source)
        path = Path(text).expanduser()
        if any(ch in text for ch in "*?["):
            # glob.glob takes absolute patterns, which Path.glob does not
            matches = _glob.glob(str(path), recursive=True)  # noqa: PTH207
            files = sorted(Path(p) for p in matches if Path(p).is_file())
            if not files:
                raise FileNotFoundError(f"source glob {text!r} matches no file")
        elif path.is_dir():
            files = sorted(p for p in path.rglob("*.parquet") if p.is_file() and not p.name.startswith("."))
            if not files:
                raise FileNotFoundError(f"source folder {path} holds no *.parquet file")
        elif path.is_file():
            files = [path]
        else:
            raise FileNotFoundError(
                f"source {text} does not exist; pass a Parquet file, a folder of .parquet files or a glob"
            )
    for f in files:
        _check_parquet(f)
    return files


def _check_parquet(path: Path) -> None:
    with open(path, "rb") as fh:
        head = fh.read(4)
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        if size >= 12:
            fh.seek(-4, os.SEEK_END)
            tail = fh.read(4)
        else:
            tail = b""
    if head != _MAGIC or tail != _MAGIC:
        raise ValueError(
            f"{path} is not a Parquet file; convert the corpus first, e.g. "
            "pandas.DataFrame({'id': ids, 'text': texts}).to_parquet('corpus.parquet')"
        )


def _footer_sha256(path: Path) -> str:
    """sha256 of the Parquet footer (schema, row groups, their offsets, sizes and statistics).

    Cheap on a file of any size, and it changes when the content's layout does; a full content
    hash of tens of gigabytes would cost minutes on every resume.
    """
    with open(path, "rb") as fh:
        fh.seek(-8, os.SEEK_END)
        length = int.from_bytes(fh.read(4), "little")
        fh.seek(-(8 + length), os.SEEK_END)
        return hashlib.sha256(fh.read(length + 8)).hexdigest()


def plan_shards(
    source: str | os.PathLike[str] | list[str | os.PathLike[str]],
    *,
    shard_size: int = 10_000,
    text_field: str = "text",
    id_field: str | None = "id",
) -> ShardPlan:
    """Read the source's Parquet footers and cut its rows into shards of ``shard_size``.

    Args:
        source: A Parquet file, a folder of ``.parquet`` files (recursively), a glob, or a list of these.
        shard_size: Rows per shard (the last shard may be shorter).
        text_field: Column holding the passages (strings).
        id_field: Column holding the passage ids; ``None`` uses the global row numbers as ids.

    Raises:
        ValueError: A file is not Parquet, lacks a column, or the corpus is empty.

    Example:
        >>> import pandas as pd, tempfile
        >>> f = Path(tempfile.mkdtemp()) / "c.parquet"
        >>> pd.DataFrame({"id": ["a", "b", "c"], "text": ["가", "나", "다"]}).to_parquet(f)
        >>> [(s.name, s.start, s.stop) for s in plan_shards(f, shard_size=2).shards]
        [('shard-00000', 0, 2), ('shard-00001', 2, 3)]
    """
    import pyarrow.parquet as pq

    if not isinstance(shard_size, int) or isinstance(shard_size, bool) or shard_size < 1:
        raise ValueError(f"shard_size={shard_size!r} must be a positive int (rows per shard)")
    if not isinstance(text_field, str) or not text_field:
        raise ValueError("text_field must name the column that holds the texts")
    files = []
    for path in resolve_source(source):
        meta = pq.ParquetFile(path)
        names = meta.schema_arrow.names
        wanted = [text_field] + ([id_field] if id_field is not None else [])
        for col in wanted:
            if col not in names:
                # The Python name and the CLI flag, as the settings-mismatch error names overwrite=True (--overwrite).
                which = "text_field" if col == text_field else "id_field"
                flag = which.replace("_", "-")
                hint = f" (or {which}=None, --{flag} '', to use row numbers as ids)" if which == "id_field" else ""
                raise ValueError(
                    f"{path} has no column {col!r} (columns: {', '.join(names)}); "
                    f"pass {which}=<column> (--{flag} COLUMN){hint}"
                )
        files.append(SourceFile(str(path), meta.metadata.num_rows, path.stat().st_size, _footer_sha256(path)))
    plan = ShardPlan(tuple(files), shard_size, text_field, id_field)
    if plan.rows == 0:
        raise ValueError(f"source {source} holds no rows")
    return plan


def read_shard(plan: ShardPlan, shard: Shard) -> tuple[list[Any], list[Any]]:
    """``(ids, texts)`` of one shard, read from the files it spans (only the row groups it needs).

    A missing (null) text or id raises :class:`ValueError` naming its file and row; ids default to
    the global row numbers when the plan has no ``id_field``.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    texts: list[Any] = []
    ids: list[Any] = []
    offset = 0
    cols = [plan.text_field] + ([plan.id_field] if plan.id_field is not None else [])
    for f in plan.files:
        lo, hi = max(shard.start, offset), min(shard.stop, offset + f.rows)
        if lo < hi:
            pf = pq.ParquetFile(f.path)
            groups, first, pos = [], None, offset
            for g in range(pf.metadata.num_row_groups):
                n = pf.metadata.row_group(g).num_rows
                if pos + n > lo and pos < hi:
                    groups.append(g)
                    first = pos if first is None else first
                pos += n
            table = pf.read_row_groups(groups, columns=cols).slice(lo - (first or 0), hi - lo)
            for name, out in [(plan.text_field, texts)] + ([(plan.id_field, ids)] if plan.id_field else []):
                column = table.column(name)
                if column.null_count:
                    bad = next(i for i, v in enumerate(column.is_null().to_pylist()) if v)
                    raise ValueError(
                        f"{f.path}: row {lo - offset + bad} (corpus row {lo + bad}) has no {name!r} value (null); "
                        "drop or fill such rows before encoding"
                    )
                if (
                    name == plan.text_field
                    and not pa.types.is_string(column.type)
                    and not pa.types.is_large_string(column.type)
                ):
                    raise ValueError(
                        f"{f.path}: column {name!r} is {column.type}, not text; pass text_field=<column> (--text-field COLUMN)"
                    )
                out.extend(column.to_pylist())
        offset += f.rows
    if plan.id_field is None:
        ids = list(range(shard.start, shard.stop))
    return ids, texts
