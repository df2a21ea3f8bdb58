"""Quality per byte: Matryoshka truncation, quantisation, rescoring and ANN indexes.

* :mod:`.quantize` — float16 / int8 / uint8 / binary codes with a calibration learned from the corpus;
* :mod:`.rescore` — search over the codes, then rescore ``rescore × k`` candidates at full precision;
* :mod:`.pca` — the PCA-rotation control for truncation and the Matryoshka verdict;
* :mod:`.index` — faiss ANN indexes (flat, HNSW, IVF-PQ, binary), a seeded synthetic corpus, a benchmark;
* :mod:`.evaluate` — :func:`evaluate_compressed` (a :class:`~ko_embed_lab.retrieval.RetrievalResult`)
  and :func:`compression_sweep` (a grid of settings over one set of embeddings).
"""

from __future__ import annotations

from .evaluate import INDEXES, compressed_run, compression_sweep, embed_set, evaluate_compressed
from .index import INDEX_KINDS, AnnIndex, benchmark_indexes, build_index, recall_at_k, synthetic_corpus
from .pca import MATRYOSHKA_MARGIN, PCARotation, fit_pca, matryoshka_verdict
from .quantize import (
    CENTERS,
    PRECISIONS,
    Calibration,
    QuantizedVectors,
    bytes_per_vector,
    fit_calibration,
    hamming,
    quantize,
)
from .rescore import CompressedHits, compressed_search, top_k

__all__ = [
    "CENTERS",
    "INDEXES",
    "INDEX_KINDS",
    "MATRYOSHKA_MARGIN",
    "PRECISIONS",
    "AnnIndex",
    "Calibration",
    "CompressedHits",
    "PCARotation",
    "QuantizedVectors",
    "benchmark_indexes",
    "build_index",
    "bytes_per_vector",
    "compressed_run",
    "compressed_search",
    "compression_sweep",
    "embed_set",
    "evaluate_compressed",
    "fit_calibration",
    "fit_pca",
    "hamming",
    "matryoshka_verdict",
    "quantize",
    "recall_at_k",
    "synthetic_corpus",
    "top_k",
]
