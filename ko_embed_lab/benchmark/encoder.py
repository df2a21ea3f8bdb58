"""Any model of the package seen by mteb: mteb's sentence-transformers wrapper, or our own encoder.

:func:`mteb_encoder` gives mteb an encoder for a loaded model: mteb's own
``SentenceTransformerEncoderWrapper`` with the model's prompts (mteb's standard path; the card
does not say which encoder its evaluation used), or the package's :func:`~ko_embed_lab.encode.encode` with its embedding cache, so that mteb
and :func:`~ko_embed_lab.retrieval.evaluate_retrieval` can be fed identical embeddings. Either
way, the encoder's ``mteb_model_meta`` names the model and its revision.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Literal

from ..models import EmbeddingModel
from ..types import encoder_identity

__all__ = ["Backend", "mteb_encoder"]

#: How mteb reaches the model: mteb's own sentence-transformers wrapper, or the package's encoder.
Backend = Literal["sentence-transformers", "ko-embed-lab"]


def _model_meta(model: EmbeddingModel) -> Any:
    from mteb.models.model_meta import ModelMeta, ScoringFunction

    ident = model.identity()
    if model.revision:
        revision = model.revision
    elif model.source_sha256:
        revision = f"bundled-{model.source_sha256[:12]}"
    else:
        revision = ident["fingerprint"].split(":", 1)[-1][:16]
    n_params = sum(p.numel() for p in model.st.parameters())
    return ModelMeta.create_empty(
        overwrites={
            "name": model.label,
            "revision": revision,
            "n_parameters": int(n_params),
            "embed_dim": model.dim,
            "max_tokens": model.max_seq_length,
            "similarity_fn_name": ScoringFunction.COSINE,
            "framework": ["Sentence Transformers", "PyTorch"],
            "reference": f"https://huggingface.co/{model.hub_id}" if model.hub_id else None,
            "open_weights": True,
        }
    )


@lru_cache(maxsize=1)
def _ko_encoder_class() -> type:
    from mteb.models.abs_encoder import AbsEncoder
    from mteb.types import PromptType

    class _KoEncoder(AbsEncoder):
        """Any ko-embed-lab :class:`~ko_embed_lab.encode.Encoder` seen by mteb (uses our encode and cache)."""

        def __init__(self, encoder: Any, meta: Any, encode_kwargs: Mapping[str, Any]) -> None:
            self.encoder = encoder
            self.mteb_model_meta = meta
            self.encode_kwargs = dict(encode_kwargs)

        def encode(
            self,
            inputs: Any,
            *,
            task_metadata: Any,
            hf_split: str,
            hf_subset: str,
            prompt_type: Any = None,
            **kwargs: Any,
        ) -> Any:
            import numpy as np

            texts = [t for batch in inputs for t in batch["text"]]
            kind = "query" if prompt_type == PromptType.query else "document"
            return np.asarray(self.encoder.encode(texts, kind=kind, **self.encode_kwargs), dtype=np.float32)

    return _KoEncoder


def mteb_encoder(
    model: EmbeddingModel | Any,
    *,
    backend: Backend = "sentence-transformers",
    **encode_kwargs: Any,
) -> Any:
    """Wrap a model for mteb.

    Args:
        model: A loaded :class:`~ko_embed_lab.models.EmbeddingModel` (or, for the
            ``"ko-embed-lab"`` backend, any :class:`~ko_embed_lab.encode.Encoder`).
        backend: ``"sentence-transformers"``: mteb's own ``SentenceTransformerEncoderWrapper`` with
            ``model_prompts={"query": model.query_prompt, "document": model.document_prompt}`` —
            mteb's standard path. ``"ko-embed-lab"``: our
            :func:`~ko_embed_lab.encode.encode` (token-budget batching, embedding cache), so mteb
            and :func:`~ko_embed_lab.retrieval.evaluate_retrieval` can be fed identical embeddings.
        **encode_kwargs: For ``"ko-embed-lab"`` only: passed to ``encode`` (``cache=True``...).

    Returns:
        An object implementing mteb's encoder protocol, whose ``mteb_model_meta`` names the model
        by its label (hub id, or the bundled name) and revision (hub commit or bundled hash).
    """
    if backend == "ko-embed-lab":
        if isinstance(model, EmbeddingModel):
            meta = _model_meta(model)
        else:
            from mteb.models.model_meta import ModelMeta, ScoringFunction

            ident = encoder_identity(model)
            meta = ModelMeta.create_empty(
                overwrites={
                    "name": str(ident.get("model")),
                    "revision": "no_revision_available",
                    "similarity_fn_name": ScoringFunction.COSINE,
                }
            )
        return _ko_encoder_class()(model, meta, encode_kwargs)
    if backend != "sentence-transformers":
        raise ValueError(f"backend={backend!r}: use 'sentence-transformers' or 'ko-embed-lab'")
    if not isinstance(model, EmbeddingModel):
        raise TypeError(f"the sentence-transformers backend needs an EmbeddingModel, got {type(model).__name__}")
    if encode_kwargs:
        raise TypeError(f"encode options {sorted(encode_kwargs)} only apply to backend='ko-embed-lab'")
    from mteb.models import SentenceTransformerEncoderWrapper

    prompts = {"query": model.query_prompt, "document": model.document_prompt}
    saved = dict(model.st.prompts or {})
    with warnings.catch_warnings():
        # mteb warns that explicit prompts replace the model's own: that is what we want.
        warnings.simplefilter("ignore")
        wrapper = SentenceTransformerEncoderWrapper(model.st, model_prompts=prompts)
    model.st.prompts = saved  # the wrapper rewrites the model's prompts; keep the caller's model as it was
    wrapper.model_prompts = {k: v for k, v in prompts.items() if v} or None
    wrapper.mteb_model_meta = _model_meta(model)
    return wrapper
