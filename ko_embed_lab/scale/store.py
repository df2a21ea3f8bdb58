"""The output folder of :func:`~ko_embed_lab.scale.encode_corpus`: shards, done markers, manifest, reader.

Layout of ``OUTPUT/``::

    manifest.json              settings (model identity, prompt, dim, shard size, source fingerprint),
                               the runs that wrote the folder, and "complete" once every shard is done
    shard-00000.npy            float32 (rows, dim) embeddings of shard 0, L2-normalised
    shard-00000.ids.parquet    the shard's ids (one column "id"), in row order
    shard-00000.done.json      written last: rows, sha256 of both files, settings hash, worker, time

Every file is written under a temporary name and renamed into place, and a shard counts as done
only when its marker exists and verifies (same settings hash, files present with the recorded
sizes and sha256). A killed run therefore leaves at worst temporary files (removed by the next
run) and shards without markers (computed again).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import socket
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._files import atomic_write_bytes as atomic_write
from .._files import file_sha256
from .._files import read_json_object as read_json
from .plan import Shard

__all__ = [
    "MANIFEST",
    "CorpusEmbeddings",
    "SettingsMismatchError",
    "max_abs_diff",
    "open_corpus_embeddings",
    "settings_sha256",
    "verify_shard",
    "write_shard",
]

MANIFEST = "manifest.json"
_FORMAT = "ko-embed-lab/corpus-embeddings/1"


class SettingsMismatchError(ValueError):
    """An output folder holds shards made with other settings than the ones asked for."""


def settings_sha256(settings: Mapping[str, Any]) -> str:
    """Hash of the settings that decide the vectors (canonical JSON)."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def write_json(path: Path, obj: Any) -> None:
    """Atomic JSON write (UTF-8, Korean kept readable)."""
    atomic_write(path, json.dumps(obj, ensure_ascii=False, indent=1, default=str).encode("utf-8"))


def remove_partials(folder: Path) -> int:
    """Delete the temporary files a killed run left behind; returns how many."""
    n = 0
    for part in folder.glob(".shard-*.partial"):
        part.unlink(missing_ok=True)
        n += 1
    return n


def _paths(folder: Path, shard: Shard) -> tuple[Path, Path, Path]:
    return (
        folder / f"{shard.name}.npy",
        folder / f"{shard.name}.ids.parquet",
        folder / f"{shard.name}.done.json",
    )


def write_shard(
    folder: Path,
    shard: Shard,
    ids: list[Any],
    embeddings: np.ndarray,
    *,
    settings_hash: str,
    seconds: float,
    engine: str,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Write one shard's embeddings and ids, then its done marker (last); returns the marker."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    emb = np.ascontiguousarray(embeddings, dtype=np.float32)
    if emb.ndim != 2 or emb.shape[0] != shard.rows or len(ids) != shard.rows:
        raise ValueError(f"{shard.name}: {emb.shape} embeddings and {len(ids)} ids for {shard.rows} rows")
    emb_path, ids_path, marker_path = _paths(folder, shard)
    buf = io.BytesIO()
    np.save(buf, emb)
    emb_bytes = buf.getvalue()
    sink = io.BytesIO()
    pq.write_table(pa.table({"id": pa.array(ids)}), sink)
    ids_bytes = sink.getvalue()
    atomic_write(emb_path, emb_bytes)
    atomic_write(ids_path, ids_bytes)
    marker = {
        "shard": shard.index,
        "start": shard.start,
        "stop": shard.stop,
        "rows": shard.rows,
        "dim": int(emb.shape[1]),
        "settings_sha256": settings_hash,
        "embeddings": {
            "file": emb_path.name,
            "bytes": len(emb_bytes),
            "sha256": hashlib.sha256(emb_bytes).hexdigest(),
        },
        "ids": {"file": ids_path.name, "bytes": len(ids_bytes), "sha256": hashlib.sha256(ids_bytes).hexdigest()},
        "seconds": round(seconds, 4),
        "engine": engine,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **dict(extra or {}),
    }
    write_json(marker_path, marker)
    return marker


def verify_shard(folder: Path, shard: Shard, settings_hash: str, *, hashes: bool = True) -> bool:
    """True when the shard's marker exists, names these settings and its files match what it records."""
    emb_path, ids_path, marker_path = _paths(folder, shard)
    marker = read_json(marker_path)
    if marker is None or marker.get("settings_sha256") != settings_hash:
        return False
    if (marker.get("start"), marker.get("stop")) != (shard.start, shard.stop):
        return False
    for path, rec in ((emb_path, marker.get("embeddings") or {}), (ids_path, marker.get("ids") or {})):
        if not path.is_file() or path.stat().st_size != rec.get("bytes"):
            return False
        if hashes and file_sha256(path) != rec.get("sha256"):
            return False
    return True


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The folder's manifest, or ``None``; raises when a file named so is not ours."""
    path = folder / MANIFEST
    if not path.exists():
        return None
    man = read_json(path)
    if man is None or man.get("format") != _FORMAT:
        raise ValueError(f"{path} exists but was not written by ko-embed-lab encode_corpus; choose another output")
    return man


def new_manifest(settings: Mapping[str, Any], *, rows: int, shards: int) -> dict[str, Any]:
    """A manifest for a folder about to be written."""
    return {
        "format": _FORMAT,
        "settings": dict(settings),
        "settings_sha256": settings_sha256(settings),
        "rows": rows,
        "shards": shards,
        "complete": False,
        "runs": [],
    }


def settings_diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Names of the settings that differ between two manifests' settings."""
    return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))


@dataclass
class CorpusEmbeddings:
    """A finished corpus embedding folder: its manifest and shards, read lazily.

    Attributes:
        folder: The output folder.
        manifest: Its ``manifest.json``.
        shards: The shard plan it was written with.
    """

    folder: Path
    manifest: dict[str, Any]
    shards: list[Shard] = field(repr=False)

    @property
    def rows(self) -> int:
        """Number of passages."""
        return int(self.manifest["rows"])

    @property
    def dim(self) -> int:
        """Embedding dimension."""
        return int(self.manifest["dim"])

    def iter_shards(self) -> Iterator[tuple[list[Any], np.ndarray]]:
        """``(ids, embeddings)`` per shard, the embeddings memory-mapped (read-only)."""
        import pyarrow.parquet as pq

        for shard in self.shards:
            emb_path, ids_path, _ = _paths(self.folder, shard)
            yield pq.read_table(ids_path).column("id").to_pylist(), np.load(emb_path, mmap_mode="r")

    @property
    def ids(self) -> list[Any]:
        """Every id, in corpus order."""
        import pyarrow.parquet as pq

        out: list[Any] = []
        for shard in self.shards:
            out.extend(pq.read_table(_paths(self.folder, shard)[1]).column("id").to_pylist())
        return out

    def shard_embeddings(self, index: int) -> np.ndarray:
        """The embeddings of shard ``index``, memory-mapped."""
        return np.load(_paths(self.folder, self.shards[index])[0], mmap_mode="r")

    def shard_table(self) -> Any:
        """One row per shard from its done marker: rows, seconds, engine, host, pid, first id (a ``DataFrame``)."""
        import pandas as pd

        rows = []
        for shard in self.shards:
            marker = read_json(_paths(self.folder, shard)[2]) or {}
            rows.append(
                {
                    "shard": shard.name,
                    "rows": f"{shard.start}–{shard.stop - 1}",
                    "n": shard.rows,
                    "seconds": marker.get("seconds"),
                    "engine": marker.get("engine"),
                    "host": marker.get("host"),
                    "pid": marker.get("pid"),
                    "sha256": str((marker.get("embeddings") or {}).get("sha256", ""))[:12],
                }
            )
        return pd.DataFrame(rows)

    def embeddings(self) -> np.ndarray:
        """All embeddings as one ``(rows, dim)`` float32 array in memory (use :meth:`iter_shards` for big corpora)."""
        out = np.empty((self.rows, self.dim), dtype=np.float32)
        for shard in self.shards:
            out[shard.start : shard.stop] = np.load(_paths(self.folder, shard)[0], mmap_mode="r")
        return out


def open_corpus_embeddings(output: str | os.PathLike[str], *, verify: bool = False) -> CorpusEmbeddings:
    """Open a folder written by :func:`~ko_embed_lab.scale.encode_corpus`, checking it is complete.

    Args:
        output: The output folder.
        verify: Also recompute every shard file's sha256 against its marker (reads everything once).

    Raises:
        FileNotFoundError: No manifest in ``output``.
        ValueError: Shards are missing or do not verify (the message says how many and what to run).

    Example:
        >>> corpus = open_corpus_embeddings("kowiki-emb")  # doctest: +SKIP
        >>> corpus.ids[:2], corpus.embeddings().shape  # doctest: +SKIP
        (['doc-0', 'doc-1'], (1000000, 1024))
    """
    folder = Path(output)
    man = read_manifest(folder)
    if man is None:
        raise FileNotFoundError(f"{folder} holds no {MANIFEST}: it is not a corpus written by encode_corpus")
    n, size = int(man["rows"]), int(man["settings"]["shard_size"])
    shards = [Shard(k, k * size, min((k + 1) * size, n)) for k in range((n + size - 1) // size)]
    bad = [s.name for s in shards if not verify_shard(folder, s, man["settings_sha256"], hashes=verify)]
    if bad:
        raise ValueError(
            f"{folder}: {len(bad)} of {len(shards)} shards are missing or do not verify ({', '.join(bad[:5])}"
            f"{' ...' if len(bad) > 5 else ''}); run encode_corpus (or `ko-embed-lab encode-corpus`) again with "
            "the same settings to finish it"
        )
    if "dim" not in man:
        marker = read_json(_paths(folder, shards[0])[2]) or {}
        man["dim"] = marker.get("dim")
    return CorpusEmbeddings(folder, man, shards)


def max_abs_diff(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> float:
    """Largest absolute difference between two complete corpus folders, compared shard for shard.

    Raises:
        ValueError: The folders differ in shard plan or ids (they are not the same corpus).
    """
    ca, cb = open_corpus_embeddings(a), open_corpus_embeddings(b)
    if [(s.start, s.stop) for s in ca.shards] != [(s.start, s.stop) for s in cb.shards]:
        raise ValueError(f"{a} and {b} have different shard plans; compare folders written with the same shard_size")
    worst = 0.0
    for (ids_a, ea), (ids_b, eb) in zip(ca.iter_shards(), cb.iter_shards(), strict=True):
        if ids_a != ids_b:
            raise ValueError(f"{a} and {b} hold different ids: they are not the same corpus")
        worst = max(worst, float(np.abs(np.asarray(ea) - np.asarray(eb)).max(initial=0.0)))
    return worst
