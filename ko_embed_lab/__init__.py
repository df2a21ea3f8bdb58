"""ko-embed-lab: a research workbench for Korean text-embedding models.

Typical use::

    import ko_embed_lab as kel

    model = kel.load_model()                 # bundled default, offline; or "arctic-ko" etc.
    q = model.encode_queries(["대한민국의 수도는 어디인가?"])
    d = model.encode_documents(["대한민국의 수도는 서울이다."])
    result = kel.evaluate_retrieval(model, kel.data.load_probe().data)
"""

from __future__ import annotations

from . import (
    analysis,
    backends,
    benchmark,
    cluster,
    compress,
    config,
    data,
    encode,
    explore,
    longdoc,
    plots,
    registry,
    report,
    retrieval,
    scale,
)
from .cache import EmbeddingCache
from .config import BUNDLED_MODEL_NAME, TARGET_MODEL
from .data import RetrievalSet, load_beir, load_long_korean
from .encode import encode_to_disk, truncate_dim
from .models import EmbeddingModel, ModelNotAvailableError, load_model
from .provenance import provenance
from .registry import ModelSpec, get_spec, list_specs
from .retrieval import METRICS, RetrievalResult, compare, evaluate_retrieval, exact_search, paired_bootstrap, score_run
from .scale import encode_corpus, open_corpus_embeddings
from .text import clean_text
from .tokens import Window, count_tokens, split_windows, truncate_text
from .types import Encoder

__version__ = "0.1.0"

__all__ = [
    "BUNDLED_MODEL_NAME",
    "METRICS",
    "TARGET_MODEL",
    "EmbeddingCache",
    "EmbeddingModel",
    "Encoder",
    "ModelNotAvailableError",
    "ModelSpec",
    "RetrievalResult",
    "RetrievalSet",
    "Window",
    "__version__",
    "analysis",
    "backends",
    "benchmark",
    "clean_text",
    "cluster",
    "compare",
    "compress",
    "config",
    "count_tokens",
    "data",
    "encode",
    "encode_corpus",
    "encode_to_disk",
    "evaluate_retrieval",
    "exact_search",
    "explore",
    "get_spec",
    "list_specs",
    "load_beir",
    "load_long_korean",
    "load_model",
    "longdoc",
    "open_corpus_embeddings",
    "paired_bootstrap",
    "plots",
    "provenance",
    "registry",
    "report",
    "retrieval",
    "scale",
    "score_run",
    "split_windows",
    "truncate_dim",
    "truncate_text",
]
