"""An on-disk embedding cache.

Embeddings are stored per *namespace* — one per combination of model identity (hub id and
revision, or the bundled file's hash), prompt, maximum length, dtype and dimension — and, inside
it, keyed by a hash of the text. Each write adds one *chunk*: a ``.npy`` file of vectors and a
``.keys.json`` file holding the keys and the sha256 of the vectors file. Both are written to
temporary names and renamed into place, the keys file last, so a reader sees a chunk whole or not
at all. A chunk whose checksum does not match (a truncated or garbled file), or that holds a
non-finite value, is reported, deleted and recomputed — never returned. A chunk is hashed once per
process; if its file changes on disk afterwards (size or modification time), it is verified again
before any row of it is returned.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import config
from ._files import atomic_write_bytes as _atomic_write_bytes

__all__ = ["CacheNamespace", "EmbeddingCache", "default_cache", "text_key"]

logger = logging.getLogger(__name__)

_FORMAT = 1
# Chunk files whose sha256 this process has checked: path -> (size, mtime_ns) when checked.
_VERIFIED: dict[str, tuple[int, int]] = {}
_DEFAULT_CACHES: dict[str, EmbeddingCache] = {}


def _stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


def default_cache() -> EmbeddingCache:
    """The process-wide cache at the default root (what ``cache=True`` uses): its index is built once."""
    root = str(config.cache_dir("embeddings"))
    if root not in _DEFAULT_CACHES:
        _DEFAULT_CACHES[root] = EmbeddingCache(root)
    return _DEFAULT_CACHES[root]


def text_key(text: str) -> str:
    """Hash of one text, as used for cache keys (blake2b, 128 bits, hex)."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


class EmbeddingCache:
    """Root of the on-disk cache (default ``$KO_EMBED_LAB_HOME/embeddings``).

    Example:
        >>> cache = EmbeddingCache(tmp_path)
        >>> ns = cache.namespace({"fingerprint": "hub:x@1", "prompt": "query: ", "dim": 2})
        >>> ns.put(["안녕"], np.array([[1.0, 0.0]], dtype=np.float32))
        >>> ns.get(["안녕", "잘 가"])[0]
        [0]
    """

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root) if root is not None else config.cache_dir("embeddings")
        self._namespaces: dict[str, CacheNamespace] = {}

    def namespace(self, fields: dict[str, Any]) -> CacheNamespace:
        """Return the namespace for these identity fields (created on first write)."""
        blob = json.dumps(fields, sort_keys=True, ensure_ascii=False, default=str)
        digest = hashlib.sha256(blob.encode()).hexdigest()[:24]
        if digest not in self._namespaces:
            self._namespaces[digest] = CacheNamespace(self.root / digest, fields)
        return self._namespaces[digest]

    def clear(self) -> None:
        """Delete every cached embedding under this root."""
        import shutil

        if self.root.exists():
            shutil.rmtree(self.root)
        self._namespaces.clear()


class CacheNamespace:
    """Embeddings of one model configuration, keyed by text hash."""

    def __init__(self, directory: Path, fields: dict[str, Any]) -> None:
        self.dir = directory
        self.fields = fields
        self._index: dict[str, tuple[str, int]] = {}
        self._seen: set[str] = set()
        self._stamps: dict[str, tuple[int, int]] = {}
        self._dim: int | None = None

    def _chunk_files(self) -> list[str]:
        if not self.dir.is_dir():
            return []
        return sorted(p.name[: -len(".keys.json")] for p in self.dir.glob("chunk-*.keys.json"))

    def _drop(self, chunk: str, why: str) -> None:
        logger.warning(
            "embedding cache: discarding corrupt chunk %s/%s (%s); it will be recomputed", self.dir, chunk, why
        )
        for suffix in (".npy", ".keys.json"):
            (self.dir / f"{chunk}{suffix}").unlink(missing_ok=True)
        self._forget(chunk)

    def _forget(self, chunk: str) -> None:
        self._index = {k: v for k, v in self._index.items() if v[0] != chunk}
        self._seen.discard(chunk)
        self._stamps.pop(chunk, None)

    def _refresh(self) -> None:
        for chunk in list(self._seen):  # a chunk that changed on disk since it was checked is checked again
            try:
                changed = _stamp(self.dir / f"{chunk}.npy") != self._stamps.get(chunk)
            except FileNotFoundError:
                changed = True
            if changed:
                self._forget(chunk)
        for chunk in self._chunk_files():
            if chunk in self._seen:
                continue
            try:
                meta = json.loads((self.dir / f"{chunk}.keys.json").read_text(encoding="utf-8"))
                npy = self.dir / f"{chunk}.npy"
                stamp = _stamp(npy)
                if _VERIFIED.get(str(npy)) != stamp:
                    if hashlib.sha256(npy.read_bytes()).hexdigest() != meta["sha256"]:
                        raise ValueError("checksum mismatch")
                    _VERIFIED[str(npy)] = stamp
                arr = np.load(npy, mmap_mode="r")
                keys = meta["keys"]
                if arr.ndim != 2 or arr.shape[0] != len(keys) or arr.dtype != np.float32:
                    raise ValueError(f"shape {arr.shape} / dtype {arr.dtype} does not match {len(keys)} keys")
                if self._dim is not None and arr.shape[1] != self._dim:
                    raise ValueError(f"dimension {arr.shape[1]} differs from {self._dim}")
            except FileNotFoundError:
                # A concurrent writer's keys file arrived before we listed; or a concurrent _drop.
                continue
            except (ValueError, KeyError, TypeError, OSError, json.JSONDecodeError) as exc:
                self._drop(chunk, str(exc) or type(exc).__name__)
                continue
            self._dim = int(arr.shape[1])
            for row, key in enumerate(keys):
                self._index[key] = (chunk, row)
            self._seen.add(chunk)
            self._stamps[chunk] = stamp

    def __len__(self) -> int:
        self._refresh()
        return len(self._index)

    def get(self, texts: Sequence[str]) -> tuple[list[int], np.ndarray]:
        """Look texts up.

        Returns:
            The positions of the texts found, and their vectors (same order), float32.
        """
        return self.get_keys([text_key(t) for t in texts])

    def get_keys(self, keys: Sequence[str]) -> tuple[list[int], np.ndarray]:
        """Like :meth:`get`, with precomputed :func:`text_key` hashes."""
        self._refresh()
        found = [i for i, k in enumerate(keys) if k in self._index]
        if not found:
            return [], np.zeros((0, self._dim or 0), dtype=np.float32)
        out = np.empty((len(found), self._dim or 0), dtype=np.float32)
        by_chunk: dict[str, list[tuple[int, int]]] = {}
        for j, i in enumerate(found):
            chunk, row = self._index[keys[i]]
            by_chunk.setdefault(chunk, []).append((j, row))
        bad: list[int] = []
        for chunk, pairs in by_chunk.items():
            js, rows = zip(*pairs, strict=True)
            try:
                block = np.asarray(np.load(self.dir / f"{chunk}.npy", mmap_mode="r")[list(rows)])
            except (OSError, ValueError) as exc:
                self._drop(chunk, str(exc) or type(exc).__name__)
                bad.extend(js)
                continue
            if not np.isfinite(block).all():
                self._drop(chunk, "non-finite values")
                bad.extend(js)
                continue
            out[list(js)] = block
        if bad:  # rows of dropped chunks are misses: they will be recomputed
            keep = sorted(set(range(len(found))) - set(bad))
            return [found[j] for j in keep], out[keep]
        return found, out

    def put(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Store vectors for texts (one new chunk, written atomically)."""
        self.put_keys([text_key(t) for t in texts], vectors)

    def put_keys(self, keys: Sequence[str], vectors: np.ndarray) -> None:
        """Like :meth:`put`, with precomputed :func:`text_key` hashes."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(keys):
            raise ValueError(f"need one vector per key: got {vectors.shape} for {len(keys)} keys")
        if not np.isfinite(vectors).all():
            raise ValueError("refusing to cache non-finite vectors")
        if not keys:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        meta_path = self.dir / "namespace.json"
        if not meta_path.exists():
            meta = {"format": _FORMAT, "fields": self.fields}
            _atomic_write_bytes(meta_path, json.dumps(meta, ensure_ascii=False, indent=1, default=str).encode())
        import io

        buf = io.BytesIO()
        np.save(buf, vectors, allow_pickle=False)
        data = buf.getvalue()
        chunk = f"chunk-{uuid.uuid4().hex}"
        _atomic_write_bytes(self.dir / f"{chunk}.npy", data)
        keys_meta = {"format": _FORMAT, "keys": list(keys), "sha256": hashlib.sha256(data).hexdigest()}
        _atomic_write_bytes(self.dir / f"{chunk}.keys.json", json.dumps(keys_meta).encode())
        _VERIFIED[str(self.dir / f"{chunk}.npy")] = _stamp(self.dir / f"{chunk}.npy")
