"""Exported models in the cache home: hash-keyed folders, written atomically under a lock.

An export lives in ``<home>/exports/<stem>-<first 12 hex of its key>/``. The key is the sha256 of
everything that could change the exported files: the source model's fingerprint, the exporter and
runtime versions, and the export settings. The folder is written in a temporary sibling, finished
by a completion marker (``export.json``, written last, with every file's size and sha256) and
renamed into place; a folder without a valid marker is never used — the same pattern as the
bundled model's conversion (:mod:`ko_embed_lab.bundled.install`).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import importlib.metadata
import json
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._files import clear_for_rebuild, folder_hashes_match, read_json_object
from ..bundled.install import _file_sha256, _fsync_tree, _locked, _write_json

__all__ = ["MARKER", "Export", "ensure_export", "export_key", "library_versions"]

logger = logging.getLogger(__name__)

#: The completion marker: its presence (with matching hashes) means the folder is complete.
MARKER = "export.json"
#: Bump when the layout of an export folder changes: old ones are rebuilt.
FORMAT_VERSION = 1
_TMP_INFIX = ".tmp-"


@dataclass(frozen=True)
class Export:
    """A finished export folder.

    Attributes:
        path: The folder.
        key: sha256 of the key fields (the folder name carries its first 12 hex digits).
        marker: The completion marker: key fields, library versions, files, hashes, checks.
    """

    path: Path
    key: str
    marker: dict[str, Any]

    @property
    def sha256(self) -> str:
        """One hash of all exported files (their names and sha256): the export's identity."""
        files = self.marker["sha256"]
        return hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()

    def file(self, name: str) -> Path:
        """Path of one exported file."""
        return self.path / name


def library_versions(names: tuple[str, ...]) -> dict[str, str | None]:
    """Installed versions of ``names`` (``None`` when absent): part of every export key."""
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def export_key(fields: Mapping[str, Any]) -> str:
    """sha256 of the JSON of ``fields`` (sorted keys): equal fields, equal key."""
    blob = json.dumps({"format_version": FORMAT_VERSION, **fields}, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _stem(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")[:80] or "model"


def _read_marker(folder: Path) -> dict[str, Any] | None:
    return read_json_object(folder / MARKER)


def _is_complete(folder: Path, key: str) -> dict[str, Any] | None:
    """The marker of ``folder`` when it holds a finished export with ``key`` and unchanged files."""
    marker = _read_marker(folder)
    if marker is None or marker.get("key") != key or marker.get("format_version") != FORMAT_VERSION:
        return None
    hashes, sizes = marker.get("sha256"), marker.get("files")
    if not isinstance(hashes, dict) or not isinstance(sizes, dict) or set(hashes) != set(sizes) or not hashes:
        return None
    try:
        if any((folder / name).stat().st_size != sizes[name] for name in hashes):
            return None
    except OSError:
        return None
    return marker if folder_hashes_match(folder, hashes, "the export (it will be rebuilt)") else None


def ensure_export(
    home: Path,
    stem: str,
    fields: Mapping[str, Any],
    build: Callable[[Path], dict[str, Any]],
) -> Export:
    """Return the export keyed by ``fields``, building it with ``build`` the first time.

    Args:
        home: The cache home; exports go under ``home / "exports"``.
        stem: Readable start of the folder name (model label, backend, precision).
        fields: Everything that could change the exported files (the key is their hash).
        build: Writes the files into the empty folder it is given and returns extra marker
            fields (checks, timings). It runs with the lock held, only when no valid export exists.

    Returns:
        The finished :class:`Export`.

    Example:
        >>> ex = ensure_export(tmp_path, "demo", {"x": 1}, lambda d: (d / "a.txt").write_text("hi") and {})
        >>> ex.file("a.txt").read_text(), ex.path.name.startswith("demo-")
        ('hi', True)
    """
    key = export_key(fields)
    target = Path(home).expanduser() / "exports" / f"{_stem(stem)}-{key[:12]}"
    marker = _is_complete(target, key)
    if marker is not None:
        logger.debug("reusing the export at %s", target)
        return Export(target, key, marker)
    target.parent.mkdir(parents=True, exist_ok=True)
    with _locked(target.parent / f".{target.name}.lock"):
        marker = _is_complete(target, key)
        if marker is not None:  # another process finished it while we waited
            return Export(target, key, marker)
        return _build_locked(target, key, fields, build)


def _build_locked(target: Path, key: str, fields: Mapping[str, Any], build: Callable[[Path], dict[str, Any]]) -> Export:
    # Holding the lock, nobody else is exporting: every temporary folder is a leftover.
    clear_for_rebuild(target, _TMP_INFIX, "export")
    tmp = target.parent / f".{target.name}{_TMP_INFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    started = time.perf_counter()
    logger.info("exporting %s (first use; later loads reuse it)", target.name)
    try:
        extra = build(tmp) or {}
        files = {p.relative_to(tmp).as_posix(): p.stat().st_size for p in sorted(tmp.rglob("*")) if p.is_file()}
        if not files:
            raise RuntimeError(f"the export into {tmp} wrote no files")
        marker = {
            "key": key,
            "format_version": FORMAT_VERSION,
            "fields": dict(fields),
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "export_seconds": round(time.perf_counter() - started, 2),
            **extra,
            "files": files,
            "sha256": {name: _file_sha256(tmp / name) for name in files},
        }
        _write_json(tmp / MARKER, json.loads(json.dumps(marker, default=str)))  # last: the folder is complete
        _fsync_tree(tmp)
        tmp.rename(target)  # atomic: the folder appears complete or not at all
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    logger.info("exported %s in %.1f s", target.name, time.perf_counter() - started)
    return Export(target, key, marker)
