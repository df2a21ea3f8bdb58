"""Scalar and binary quantisation of embeddings, calibrated on the corpus.

A stored corpus is a :class:`QuantizedVectors`: the codes, the :class:`Calibration` they were made
with (learned from the corpus embeddings, never from queries), the dimension and the precision.
Queries are quantised with the *corpus's* calibration (:meth:`QuantizedVectors.encode_queries`), so
that both sides share one code book.

Precisions (bytes per vector for ``d`` dimensions): ``float32`` (4d), ``float16`` (2d), ``int8`` and
``uint8`` (d; one byte per dimension, 256 buckets between the corpus's per-dimension minimum and
maximum — sentence-transformers' ``quantize_embeddings``), ``binary`` and ``ubinary`` (⌈d/8⌉; one
bit per dimension, its sign).

Binary codes need a centre. Embeddings whose components share a large common offset (e5's do: the
mean of its passage embeddings has norm ≈ 0.9) put most dimensions on the same side of 0 for every
text, and the sign of a component then says little about the text. The default binary calibration
subtracts the corpus's mean per dimension before taking the sign (``center="mean"``); ``"median"``
uses per-dimension median thresholds (each bit then splits the corpus in half); ``"zero"`` is the
naive sign, kept to measure what the centre buys.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

import numpy as np

__all__ = [
    "CENTERS",
    "PRECISIONS",
    "Calibration",
    "Center",
    "Precision",
    "QuantizedVectors",
    "bytes_per_vector",
    "check_precision",
    "fit_calibration",
    "hamming",
    "quantize",
]

Precision: TypeAlias = Literal["float32", "float16", "int8", "uint8", "binary", "ubinary"]
Center: TypeAlias = Literal["mean", "median", "zero"]
#: Supported precisions, from the largest code to the smallest.
PRECISIONS: tuple[str, ...] = ("float32", "float16", "int8", "uint8", "binary", "ubinary")
#: Thresholds of binary codes: corpus mean, corpus median, or 0 (naive sign).
CENTERS: tuple[str, ...] = ("mean", "median", "zero")


def check_precision(precision: str) -> str:
    """Validate a precision name (raises ``ValueError`` naming the valid ones)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision={precision!r}; use one of {', '.join(PRECISIONS)}")
    return precision


def bytes_per_vector(dim: int, precision: str) -> int:
    """Bytes one vector's codes take (calibration tables, stored once, not counted).

    Example:
        >>> [bytes_per_vector(384, p) for p in ("float32", "float16", "int8", "binary")]
        [1536, 768, 384, 48]
    """
    check_precision(precision)
    if dim < 1:
        raise ValueError(f"dim={dim} must be positive")
    if precision == "float32":
        return 4 * dim
    if precision == "float16":
        return 2 * dim
    if precision in ("int8", "uint8"):
        return dim
    return (dim + 7) // 8


@dataclass(frozen=True)
class Calibration:
    """What turns float vectors into codes, learned from a corpus and applied to queries alike.

    Attributes:
        precision: The code's precision.
        dim: Dimension of the vectors it applies to.
        ranges: ``(2, dim)`` per-dimension minimum and maximum (``int8``/``uint8``), else ``None``.
        center: ``(dim,)`` per-dimension threshold of binary codes, else ``None``.
        method: How it was fitted (``"min-max"``, ``"mean"``, ``"median"``, ``"zero"``, ``"none"``).
        n_fit: Number of corpus vectors it was fitted on.
    """

    precision: str
    dim: int
    ranges: np.ndarray | None = field(default=None, repr=False)
    center: np.ndarray | None = field(default=None, repr=False)
    method: str = "none"
    n_fit: int = 0

    @property
    def identity(self) -> str:
        """A short hash of the calibration's tables and settings (recorded in provenance)."""
        h = hashlib.sha256(f"{self.precision}|{self.dim}|{self.method}|{self.n_fit}".encode())
        for arr in (self.ranges, self.center):
            if arr is not None:
                h.update(np.ascontiguousarray(arr, dtype=np.float32).tobytes())
        return h.hexdigest()[:16]

    def as_dict(self) -> dict[str, object]:
        """JSON-ready description (without the tables)."""
        return {
            "precision": self.precision,
            "dim": self.dim,
            "method": self.method,
            "n_fit": self.n_fit,
            "id": self.identity,
        }


def _as_matrix(x: np.ndarray, what: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise ValueError(f"{what} must be a non-empty 2-D array, got shape {arr.shape}")
    if arr.dtype.kind != "f":
        raise TypeError(f"{what} must hold floats (quantise full-precision embeddings), got {arr.dtype}")
    return arr.astype(np.float32, copy=False)


def fit_calibration(corpus: np.ndarray, precision: str, *, center: str = "mean") -> Calibration:
    """Learn a calibration from the corpus embeddings (never from the queries).

    Args:
        corpus: ``(n, dim)`` float corpus embeddings.
        precision: One of :data:`PRECISIONS`.
        center: Threshold of binary codes: ``"mean"`` (default), ``"median"`` or ``"zero"``.

    Example:
        >>> cal = fit_calibration(np.array([[0.0, 1.0], [2.0, 3.0]]), "int8")
        >>> cal.ranges.tolist(), cal.method
        ([[0.0, 1.0], [2.0, 3.0]], 'min-max')
    """
    check_precision(precision)
    x = _as_matrix(corpus, "corpus")
    n, dim = x.shape
    if precision in ("int8", "uint8"):
        ranges = np.stack([x.min(axis=0), x.max(axis=0)]).astype(np.float32)
        return Calibration(precision, dim, ranges=ranges, method="min-max", n_fit=n)
    if precision in ("binary", "ubinary"):
        if center not in CENTERS:
            raise ValueError(f"center={center!r}; use one of {', '.join(CENTERS)}")
        if center == "mean":
            c = x.mean(axis=0)
        elif center == "median":
            c = np.median(x, axis=0)
        else:
            c = np.zeros(dim, dtype=np.float32)
        return Calibration(precision, dim, center=c.astype(np.float32), method=center, n_fit=n)
    return Calibration(precision, dim, method="none", n_fit=n)


def _codes(x: np.ndarray, cal: Calibration) -> np.ndarray:
    from sentence_transformers.util.quantization import quantize_embeddings

    if x.shape[1] != cal.dim:
        raise ValueError(f"vectors have dimension {x.shape[1]}, the calibration {cal.dim}")
    p = cal.precision
    if p == "float16":
        return x.astype(np.float16)
    if p in ("binary", "ubinary"):
        assert cal.center is not None
        # sentence-transformers packs `x > 0`: shifting by the centre makes the threshold the centre.
        return np.asarray(quantize_embeddings(x - cal.center, precision=p))  # type: ignore[arg-type]
    return np.asarray(quantize_embeddings(x, precision=p, ranges=cal.ranges))  # type: ignore[arg-type]


def quantize(
    corpus: np.ndarray, precision: str, *, calibration: Calibration | None = None, center: str = "mean"
) -> QuantizedVectors:
    """Quantise corpus embeddings, fitting the calibration on them unless one is given.

    Example:
        >>> store = quantize(np.eye(16, dtype=np.float32), "binary")
        >>> store.codes.shape, store.bytes_per_vector
        ((16, 2), 2)
    """
    x = _as_matrix(corpus, "corpus")
    cal = calibration if calibration is not None else fit_calibration(x, precision, center=center)
    if cal.precision != precision:
        raise ValueError(f"calibration is for {cal.precision!r}, not {precision!r}")
    return QuantizedVectors(codes=_codes(x, cal), calibration=cal)


@dataclass(frozen=True)
class QuantizedVectors:
    """Quantised corpus vectors and the calibration that made them.

    Attributes:
        codes: ``(n, code_width)`` array (float32, float16, int8, uint8, or packed bits).
        calibration: The :class:`Calibration` fitted on the corpus.
    """

    codes: np.ndarray = field(repr=False)
    calibration: Calibration

    @property
    def precision(self) -> str:
        return self.calibration.precision

    @property
    def dim(self) -> int:
        return self.calibration.dim

    @property
    def bytes_per_vector(self) -> int:
        """Bytes per stored vector (equals ``codes.nbytes / len(codes)``)."""
        return bytes_per_vector(self.dim, self.precision)

    def __len__(self) -> int:
        return int(self.codes.shape[0])

    def encode_queries(self, queries: np.ndarray) -> np.ndarray:
        """Quantise queries with the corpus's calibration (the calibration does not change)."""
        return _codes(_as_matrix(queries, "queries"), self.calibration)

    def dequantize(self, codes: np.ndarray | None = None) -> np.ndarray:
        """Float32 approximation of the codes (bucket centres for int8/uint8, ±1 for binary)."""
        c = self.codes if codes is None else codes
        p, cal = self.precision, self.calibration
        if p in ("float32", "float16"):
            return c.astype(np.float32)
        if p in ("int8", "uint8"):
            assert cal.ranges is not None
            start = cal.ranges[0]
            steps = (cal.ranges[1] - start) / 255
            steps = np.where(steps == 0, 1, steps)
            buckets = c.astype(np.float32) + (128.0 if p == "int8" else 0.0)
            return (start + (buckets + 0.5) * steps).astype(np.float32)
        bits = np.unpackbits(_as_ubinary(c), axis=1)[:, : self.dim]
        return (2.0 * bits - 1.0).astype(np.float32)

    def scores(self, query_codes: np.ndarray) -> np.ndarray:
        """Similarity of quantised queries with every stored vector: ``(n_queries, n)``, higher is closer.

        Float and int8/uint8 codes: dot product of the dequantised values. Binary codes:
        ``dim − 2 × Hamming distance`` (the dot product of the ±1 vectors).
        """
        if self.precision in ("binary", "ubinary"):
            return self.dim - 2.0 * hamming(query_codes, self.codes)
        return self.dequantize(query_codes) @ self.dequantize().T


def _as_ubinary(codes: np.ndarray) -> np.ndarray:
    # sentence-transformers' "binary" stores packed bytes shifted by −128 as int8.
    return (codes.astype(np.int16) + 128).astype(np.uint8) if codes.dtype == np.int8 else codes.astype(np.uint8)


_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def _popcount(x: np.ndarray) -> np.ndarray:
    if hasattr(np, "bitwise_count"):  # numpy >= 2.0
        return np.bitwise_count(x)
    return _POPCOUNT[x]


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamming distances between packed bit codes: ``(len(a), len(b))`` float32.

    Example:
        >>> hamming(np.array([[0b1010]], np.uint8), np.array([[0b0110], [0b1010]], np.uint8)).tolist()
        [[2.0, 0.0]]
    """
    ua, ub = _as_ubinary(a), _as_ubinary(b)
    out = np.empty((ua.shape[0], ub.shape[0]), dtype=np.float32)
    chunk = max(1, (1 << 24) // max(1, ub.size))  # bound the XOR block at ~16 MB
    for s in range(0, ua.shape[0], chunk):
        x = np.bitwise_xor(ua[s : s + chunk, None, :], ub[None, :, :])
        out[s : s + chunk] = _popcount(x).sum(axis=2, dtype=np.int32)
    return out
