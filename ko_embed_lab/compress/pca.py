"""The control for Matryoshka truncation: keep the same number of dimensions after a PCA rotation.

Truncating an embedding to its first ``d`` coordinates keeps quality only if training put the
information there (Matryoshka representation learning). A rotation onto the corpus's principal axes
followed by the same truncation puts the most variance of *this* corpus in the first ``d``
coordinates whatever the training: a model that was trained for truncation keeps about as much
quality as the PCA control; a model that was not falls well below it. :func:`matryoshka_verdict`
turns that comparison into a verdict with a stated margin.

The rotation is applied without centring (``x @ Vᵀ``): it is orthogonal, so at full dimension it
changes no cosine and both arms start from the same scores.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["MATRYOSHKA_MARGIN", "PCARotation", "fit_pca", "matryoshka_verdict"]

#: Largest shortfall of truncation behind the PCA control, as a share of full-dimension NDCG@10,
#: that still counts as "truncates like a Matryoshka model".
MATRYOSHKA_MARGIN = 0.05


def _unit_rows(x: np.ndarray) -> np.ndarray:
    return (x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)).astype(np.float32)


@dataclass(frozen=True)
class PCARotation:
    """An orthogonal rotation onto a corpus's principal axes (highest variance first).

    Attributes:
        components: ``(dim, dim)`` orthonormal rows; the first ``min(n, dim)`` are sklearn's
            principal axes, the rest complete the basis (the corpus has no variance there).
        explained_variance_ratio: Share of the corpus's variance along each fitted axis.
        seed: Seed of the PCA solver.
        n_fit: Corpus vectors it was fitted on.
    """

    components: np.ndarray = field(repr=False)
    explained_variance_ratio: np.ndarray = field(repr=False)
    seed: int = 0
    n_fit: int = 0

    @property
    def dim(self) -> int:
        return int(self.components.shape[1])

    @property
    def identity(self) -> str:
        """A short hash of the rotation (recorded in provenance)."""
        return hashlib.sha256(np.ascontiguousarray(self.components, dtype=np.float32).tobytes()).hexdigest()[:16]

    def transform(self, x: np.ndarray, dim: int | None = None) -> np.ndarray:
        """Rotate rows, keep the first ``dim`` coordinates and L2-normalise again.

        Example:
            >>> rot = fit_pca(np.array([[3.0, 0.1], [-3.0, -0.1], [2.0, 0.0]]), seed=0)
            >>> np.abs(rot.transform(np.array([[1.0, 0.0]]), 1)).round(3).tolist()
            [[1.0]]
        """
        x = np.asarray(x, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"vectors have shape {x.shape}; the rotation is {self.dim}-d")
        d = self.dim if dim is None else int(dim)
        if not 1 <= d <= self.dim:
            raise ValueError(f"dim={dim!r} must be between 1 and {self.dim}")
        return _unit_rows(x @ self.components[:d].T)


def fit_pca(corpus: np.ndarray, *, seed: int = 0) -> PCARotation:
    """Fit the PCA rotation on corpus embeddings (sklearn ``PCA``, seeded; never on queries).

    Args:
        corpus: ``(n, dim)`` float embeddings.
        seed: ``random_state`` of the solver.
    """
    from scipy.linalg import null_space
    from sklearn.decomposition import PCA

    x = np.asarray(corpus, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"need at least two corpus vectors in a 2-D array, got shape {x.shape}")
    n_comp = min(x.shape[0], x.shape[1])
    pca = PCA(n_components=n_comp, svd_solver="full", random_state=seed).fit(x)
    comps = pca.components_
    if comps.shape[0] < x.shape[1]:
        comps = np.vstack([comps, null_space(comps).T])
    return PCARotation(
        components=comps.astype(np.float32),
        explained_variance_ratio=pca.explained_variance_ratio_.astype(np.float32),
        seed=seed,
        n_fit=int(x.shape[0]),
    )


def matryoshka_verdict(
    truncated: Mapping[int, float],
    pca: Mapping[int, float],
    full: float,
    *,
    margin: float = MATRYOSHKA_MARGIN,
    min_dim: int = 1,
) -> dict[str, Any]:
    """Did the model keep its Matryoshka property? Compare plain truncation with the PCA control.

    For every dimension below full that both arms measured (and ``≥ min_dim``), the shortfall is
    ``(pca[d] − truncated[d]) / full``: how much more of the full-dimension score the PCA control keeps.

    Args:
        truncated: ``{dim: NDCG@10}`` of the model's own first-``dim`` truncation.
        pca: ``{dim: NDCG@10}`` of the PCA control.
        full: NDCG@10 at full dimension (both arms agree there).
        margin: Largest shortfall that still counts as truncating like PCA (default 0.05).
        min_dim: Ignore dimensions below this.

    Returns:
        ``{"verdict": "matryoshka" | "not matryoshka" | "untested", "worst_dim", "worst_gap",
        "margin", "gaps": {dim: gap}}``.

    Example:
        >>> matryoshka_verdict({128: 0.60, 64: 0.55}, {128: 0.61, 64: 0.60}, 0.62)["verdict"]
        'matryoshka'
        >>> matryoshka_verdict({128: 0.40}, {128: 0.60}, 0.62)["verdict"]
        'not matryoshka'
    """
    if not full > 0:
        raise ValueError(f"full={full!r}: the full-dimension score must be positive")
    dims = sorted(d for d in set(truncated) & set(pca) if d >= min_dim)
    gaps = {d: (pca[d] - truncated[d]) / full for d in dims}
    if not gaps:
        return {"verdict": "untested", "worst_dim": None, "worst_gap": float("nan"), "margin": margin, "gaps": {}}
    worst = max(gaps, key=lambda d: (gaps[d], -d))
    verdict = "matryoshka" if gaps[worst] <= margin + 1e-9 else "not matryoshka"  # float slack at the edge
    return {"verdict": verdict, "worst_dim": worst, "worst_gap": gaps[worst], "margin": margin, "gaps": gaps}
