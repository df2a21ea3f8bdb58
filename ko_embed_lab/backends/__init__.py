"""CPU backends: the model's transformer exported once to ONNX Runtime or OpenVINO, fp32 or int8.

``kel.load_model(..., backend="onnx", quantize="int8")`` loads the torch model, exports its
transformer into the cache home at first use (atomic, keyed by the weights' fingerprint, the
exporter versions and the settings; see :mod:`.store`) and gives the model a :class:`~.model.Runtime`:
the same tokenizer, prompts, pooling and batches as torch, with its own identity and cache namespace.
fp32 exports are checked against torch before they are saved (:func:`check_against_torch`).

Importing this package is cheap: onnxruntime, openvino and nncf are imported only when used
(``pip install 'ko-embed-lab[cpu-backends]'``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from .model import Runtime, Source

__all__ = ["BACKENDS", "QUALITY_TOLERANCE", "QUANTIZE", "check_backend", "make_runtime", "pick_backend", "to_backend"]

M = TypeVar("M", bound="Source")

#: The backends ``load_model`` accepts.
BACKENDS = ("torch", "onnx", "openvino")
#: The quantisations (``None``: fp32).
QUANTIZE = (None, "int8")

#: A backend whose NDCG@10 moves by more than this from torch's is never a default.
QUALITY_TOLERANCE = 0.01

_PACKAGES = {"onnx": ("onnxruntime", "onnx"), "openvino": ("openvino", "onnx")}


def check_backend(backend: Any, quantize: Any, *, device: str | None = None, dtype: str | None = None) -> None:
    """Validate a backend choice where it enters (before any slow load).

    Raises:
        ValueError: Unknown backend or quantisation, int8 with torch, or a GPU / half precision
            asked of a CPU backend.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend={backend!r} is not supported; use one of {', '.join(map(repr, BACKENDS))}")
    if quantize not in QUANTIZE:
        raise ValueError(f"quantize={quantize!r} is not supported; use None (fp32) or 'int8'")
    if backend == "torch":
        if quantize is not None:
            raise ValueError("quantize='int8' needs backend='onnx' or backend='openvino'")
        return
    if device is not None and device != "cpu":
        raise ValueError(f"backend={backend!r} runs on the CPU; pass device='cpu' (or use backend='torch' on {device})")
    if dtype is not None and dtype != "float32":
        raise ValueError(
            f"backend={backend!r} exports fp32 weights; use dtype='auto'/'float32' (quantize='int8' for int8)"
        )


def _require(backend: str) -> None:
    import importlib.util

    missing = [p for p in _PACKAGES[backend] if importlib.util.find_spec(p) is None]
    if missing:
        raise ValueError(
            f"backend={backend!r} needs {', '.join(missing)}, which is not installed: "
            "pip install 'ko-embed-lab[cpu-backends]'"
        )


def make_runtime(
    model: Source,
    backend: str,
    quantize: str | None = None,
    *,
    home: Path | None = None,
    threads: int | None = None,
) -> Runtime | None:
    """Export ``model``'s transformer for ``backend`` (at first use) and compile it; ``"torch"`` gives ``None``.

    Args:
        model: A torch model on the CPU in fp32 (as ``load_model(device="cpu")`` gives).
        backend: ``"torch"``, ``"onnx"`` or ``"openvino"``.
        quantize: ``None`` (fp32) or ``"int8"``.
        home: Cache home for the exports (default :func:`ko_embed_lab.config.home`).
        threads: Threads of the runtime (default: torch's).

    Returns:
        The :class:`Runtime` to hold in ``EmbeddingModel.runtime``, or ``None`` for torch.
    """
    from ko_embed_lab import config

    check_backend(backend, quantize, device=model.device, dtype=model.dtype)
    if getattr(model, "runtime", None) is not None:
        raise ValueError("this model already runs on an exported backend; load the torch model again")
    if backend == "torch":
        return None
    _require(backend)
    from .model import Runtime
    from .store import library_versions

    root = Path(home).expanduser() if home is not None else config.home()
    runner: Any
    if backend == "onnx":
        from .onnx import OnnxRunner, export_onnx, onnx_file

        export = export_onnx(model, root, quantize)
        runner = OnnxRunner(onnx_file(export), threads)
        versions = {**library_versions(("onnxruntime",)), "threads": runner.threads}
    else:
        from .openvino import OpenVinoRunner, export_openvino, openvino_file

        export = export_openvino(model, root, quantize)
        runner = OpenVinoRunner(openvino_file(export), threads)
        versions = {**library_versions(("openvino",)), "threads": runner.threads, "precision_hint": "f32"}
    return Runtime(backend, quantize, export, runner, versions)


def to_backend(model: M, backend: str, quantize: str | None = None, **kwargs: Any) -> M:
    """A copy of ``model`` (sharing its torch model) whose transformer runs on ``backend``.

    Example:
        >>> fast = to_backend(model, "onnx", "int8")
        >>> fast.label, fast.identity()["backend"]
        ('bundled/multilingual-e5-small-q4 (onnx int8)', 'onnx')
    """
    runtime = make_runtime(model, backend, quantize, **kwargs)
    return model if runtime is None else dataclasses.replace(model, runtime=runtime, _fingerprint=None)  # type: ignore[type-var]


def pick_backend(
    speed: Mapping[str, float], delta_ndcg: Mapping[str, float], tolerance: float = QUALITY_TOLERANCE
) -> str:
    """The fastest backend whose NDCG@10 stays within ``tolerance`` of torch's.

    Args:
        speed: Speed-up over plain sentence-transformers per backend name (``"torch"``, ``"onnx-int8"``...).
        delta_ndcg: NDCG@10 minus torch's, per backend name.
        tolerance: The largest quality change allowed (either way).

    Example:
        >>> pick_backend({"torch": 1.1, "onnx": 2.0, "onnx-int8": 4.0}, {"torch": 0, "onnx": 0, "onnx-int8": -0.02})
        'onnx'
    """
    ok = [name for name in speed if abs(delta_ndcg[name]) <= tolerance]
    if not ok:
        raise ValueError("no backend keeps NDCG@10 within the tolerance (torch itself should: check the inputs)")
    return max(ok, key=lambda name: (speed[name], name == "torch"))
