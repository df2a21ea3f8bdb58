"""Files written safely: an exclusive lock, durable folders, content hashes (shared by every conversion)."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = [
    "atomic_write_bytes",
    "clear_for_rebuild",
    "file_sha256",
    "file_sha256_memo",
    "fsync_tree",
    "locked",
    "read_json_object",
]


@contextlib.contextmanager
def locked(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``lock_path`` (created if needed) for the block."""
    with open(lock_path, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def fsync_tree(root: Path) -> None:
    """Flush every file and folder below ``root`` so that a rename never publishes lost data."""
    for path in [*sorted(root.rglob("*"), reverse=True), root]:
        fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() else 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def file_sha256(path: str | Path) -> str:
    """sha256 of a file's content, read in blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


@lru_cache(maxsize=64)
def _memo(path: str, size: int, mtime_ns: int) -> str:
    return file_sha256(path)


def file_sha256_memo(path: str | Path) -> str:
    """:func:`file_sha256`, memoised per process while the file's size and modification time stay the same."""
    st = Path(path).stat()
    return _memo(str(path), st.st_size, st.st_mtime_ns)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a synced temporary file in the same folder and a rename.

    Readers see the old file or the new one, never part of one; a failure leaves no temporary file.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def clear_for_rebuild(target: Path, tmp_infix: str, what: str) -> None:
    """Before rebuilding ``target`` under its lock: remove interrupted builds' temporary folders
    (``.<name><tmp_infix>*`` beside it) and an incomplete or outdated ``target``; ``what`` names the
    build in the warnings ("conversion", "export", "distillation").
    """
    log = logging.getLogger("ko_embed_lab")
    for leftover in target.parent.glob(f".{target.name}{tmp_infix}*"):
        log.warning("removing the leftover of an interrupted %s: %s", what, leftover)
        shutil.rmtree(leftover, ignore_errors=True)
    if target.exists() or target.is_symlink():
        log.warning("removing an incomplete or outdated %s at %s", what, target)
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        else:
            target.unlink()


def read_json_object(path: Path) -> dict[str, Any] | None:
    """A JSON object from ``path``, or ``None`` when the file is missing, unreadable or not an object."""
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return obj if isinstance(obj, dict) else None


_HASHED: dict[str, tuple[tuple[str, int, int], ...]] = {}


def folder_hashes_match(folder: Path, hashes: dict[str, str], what: str) -> bool:
    """True when every file of ``folder`` named in ``hashes`` has that sha256.

    The files are hashed once per process, and again when one's size or modification time changes;
    a mismatch is logged as a change to ``what`` (e.g. "the export").
    """
    try:
        stamps = tuple(
            (name, (folder / name).stat().st_size, (folder / name).stat().st_mtime_ns) for name in sorted(hashes)
        )
    except OSError:
        return False
    if _HASHED.get(str(folder)) == stamps:
        return True
    for name, want in hashes.items():
        if file_sha256(folder / name) != want:
            logging.getLogger("ko_embed_lab").warning(
                "%s at %s was changed (%s differs from its hash)", what, folder, name
            )
            return False
    _HASHED[str(folder)] = stamps
    return True
