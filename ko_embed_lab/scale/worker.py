"""The unit of work both engines share: how a worker loads its model, and one shard's encode-and-write step."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..encode import PromptedEncoder, check_texts
from ..types import Kind
from . import store
from .plan import Shard, ShardPlan, read_shard

__all__ = ["ModelRequest", "encode_shard"]


@dataclass(frozen=True)
class ModelRequest:
    """How a worker loads its own copy of the model: ``load_model(name, **kwargs)``."""

    name: str | None
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def load(self) -> Any:
        """Load the model (in the calling process)."""
        from ..models import load_model

        return load_model(self.name, **dict(self.kwargs))

    @classmethod
    def of(cls, model: Any, **load_kwargs: Any) -> ModelRequest:
        """A request from a name/path (plus ``load_kwargs``) or from a loaded ``EmbeddingModel``'s settings."""
        kwargs = {k: v for k, v in load_kwargs.items() if v is not None}
        if model is None or isinstance(model, (str, os.PathLike)):
            return cls(None if model is None else os.fspath(model), kwargs)
        from ..models import EmbeddingModel

        if isinstance(model, EmbeddingModel):
            own: dict[str, Any] = {"max_seq_length": model.max_seq_length, "dtype": model.dtype}
            if model.runtime is not None:
                own |= {"backend": model.runtime.backend, "quantize": model.runtime.quantize}
            if model.device.startswith("cuda"):
                own.pop("dtype")  # workers pick their own device; "auto" gives bf16 on a GPU as here
            return cls(model.name, own | kwargs)
        raise TypeError(
            f"engine='ray' loads one copy of the model per worker, so it needs a model name or folder, not a "
            f"{type(model).__name__} object; pass model='<registry name, hub id or folder>' (and backend=/quantize=)"
        )


def encode_shard(
    plan: ShardPlan,
    shard: Shard,
    model: Any,
    folder: Path,
    *,
    kind: Kind,
    prompt: str,
    dim: int | None,
    settings_hash: str,
    engine: str,
    batch_tokens: int | None = None,
    max_batch_size: int | None = None,
) -> dict[str, Any]:
    """Read, encode and write one shard (atomically, marker last); returns its marker.

    The same step runs in the local engine and in every Ray worker: the batches inside a shard
    depend only on the shard's texts, so both engines produce the same vectors.
    """
    t0 = time.perf_counter()
    ids, texts = read_shard(plan, shard)
    texts = check_texts(texts, what=f"texts of {shard.name}")
    kwargs: dict[str, Any] = {"kind": kind, "prompt": prompt}
    if dim is not None:
        kwargs["dim"] = dim
    if isinstance(model, PromptedEncoder):  # the package's encoders: no embedding cache for a corpus pass
        kwargs |= {"cache": False, "show_progress": False}
        if batch_tokens is not None:
            kwargs["batch_tokens"] = batch_tokens
        if max_batch_size is not None:
            kwargs["max_batch_size"] = max_batch_size
    emb = np.asarray(model.encode(texts, **kwargs), dtype=np.float32)
    empty = sum(1 for t in texts if not t.strip())
    return store.write_shard(
        folder,
        shard,
        ids,
        emb,
        settings_hash=settings_hash,
        seconds=time.perf_counter() - t0,
        engine=engine,
        extra={"empty_texts": empty, "chars": sum(map(len, texts))},
    )
