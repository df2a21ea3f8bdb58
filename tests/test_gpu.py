"""The GPU path, tested (not only benchmarked): a seeded random model of the target's architecture,
bf16 + SDPA on CUDA against fp32 on the CPU. Runs only where CUDA is (``make test-gpu``); the GPU
check script (benchmarks/gpu_check.py) runs this test first.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def folder() -> Path:
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    from synthetic import build_synthetic_model

    return build_synthetic_model(Path(tempfile.gettempdir()) / "kel-synthetic-tiny", size="tiny")


def test_bf16_on_cuda_matches_fp32_on_cpu(folder: Path) -> None:
    from synthetic import synthetic_texts

    import ko_embed_lab as kel

    texts = synthetic_texts(16, 128, seed=1)
    cpu = kel.load_model(str(folder), device="cpu", dtype="float32")
    gpu = kel.load_model(str(folder), device="cuda", dtype="bfloat16")
    assert gpu.device.startswith("cuda") and gpu.dtype == "bfloat16"
    a, b = cpu.encode_documents(texts), gpu.encode_documents(texts)
    assert b.dtype == np.float32 and np.isfinite(b).all()
    cos = (a * b).sum(axis=1)
    assert cos.min() > 0.99, f"bf16 on CUDA drifted from fp32 on CPU: min cosine {cos.min():.4f}"
    exact = kel.load_model(str(folder), device="cuda", dtype="float32").encode_documents(texts)
    assert np.abs(exact - a).max() < 1e-3
