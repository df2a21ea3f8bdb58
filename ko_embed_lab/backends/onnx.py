"""ONNX Runtime: export the transformer with ``torch.onnx.export``, quantise it dynamically to int8.

The graph exported is the transformer alone — ``(input_ids, attention_mask) -> last_hidden_state``
with dynamic batch and sequence axes — so tokenisation, prompts, pooling and normalisation stay in
sentence-transformers and numpy, exactly as with torch. sentence-transformers' own
``backend="onnx"`` needs ``optimum-onnx``, which requires ``transformers<4.58`` and cannot be
installed beside this package's ``transformers>=5``; the plain exporter is used instead.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .store import Export, ensure_export, library_versions

if TYPE_CHECKING:
    from .model import Source

__all__ = ["OnnxRunner", "export_onnx", "onnx_fields", "onnx_file", "op_summary"]

logger = logging.getLogger(__name__)

OPSET = 17
#: The exporter used: the TorchScript-based one (``dynamo=False``); it needs no ``onnxscript``.
EXPORTER = "torch.onnx.export(dynamo=False)"
_FILE = "model.onnx"
_INPUTS = ("input_ids", "attention_mask")
#: Dynamic int8: weights of the matrix products quantised to signed int8 (per output channel),
#: activations to uint8 at run time: u8s8 products, the form AVX-512 VNNI (``vpdpbusd``) computes.
PER_CHANNEL = True
OP_TYPES = ("MatMul",)


def onnx_fields(model: Source, quantize: str | None) -> dict[str, Any]:
    """The key fields of an ONNX export: source weights, exporter and quantiser versions, settings."""
    auto = model.st[0].auto_model
    fields: dict[str, Any] = {
        "what": "onnx",
        "source_fingerprint": model.fingerprint(),
        "architecture": type(auto).__name__,
        "attn_implementation": getattr(auto.config, "_attn_implementation", None),
        "exporter": EXPORTER,
        "opset": OPSET,
        "inputs": list(_INPUTS),
        "quantize": quantize,
        "versions": library_versions(("torch", "transformers", "sentence-transformers", "onnx")),
    }
    if quantize == "int8":
        fields["quantizer"] = {
            "how": "onnxruntime.quantization.quantize_dynamic",
            "weight_type": "QInt8",
            "per_channel": PER_CHANNEL,
            "op_types": list(OP_TYPES),
            "onnxruntime": library_versions(("onnxruntime",))["onnxruntime"],
        }
    return fields


def _wrapped(auto: Any) -> Any:
    """``(input_ids, attention_mask) -> last_hidden_state``: the module that is exported."""
    import torch

    class Transformer(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.auto = auto

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.auto(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    return Transformer().eval()


def _export_torch(model: Source, out: Path) -> None:
    import torch

    # A padded example (one row shorter than the other): nothing about the mask can be specialised.
    ex = model.st.tokenizer(["passage: 대한민국의 수도는 서울이다.", "서울"], padding=True, return_tensors="pt")
    module = _wrapped(model.st[0].auto_model)
    axes = {name: {0: "batch", 1: "sequence"} for name in (*_INPUTS, "last_hidden_state")}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer and deprecation chatter
        torch.onnx.export(
            module,
            (ex["input_ids"], ex["attention_mask"]),
            str(out / _FILE),
            dynamo=False,
            input_names=list(_INPUTS),
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=OPSET,
            do_constant_folding=True,
        )


def _quantize(src: Path, out: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        model_input=str(src),
        model_output=str(out / _FILE),
        weight_type=QuantType.QInt8,
        per_channel=PER_CHANNEL,
        op_types_to_quantize=list(OP_TYPES),
        extra_options={"MatMulConstBOnly": True},
    )


class OnnxRunner:
    """Runs an exported graph in ONNX Runtime on the CPU.

    Args:
        path: The ``.onnx`` file.
        threads: Intra-op threads (default: torch's thread count, so comparisons are fair).
    """

    def __init__(self, path: Path, threads: int | None = None) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = int(threads or _torch_threads())
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.threads = opts.intra_op_num_threads

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        feeds = {"input_ids": input_ids.astype(np.int64), "attention_mask": attention_mask.astype(np.int64)}
        return np.asarray(self.session.run(None, feeds)[0], dtype=np.float32)


def _torch_threads() -> int:
    import torch

    return int(torch.get_num_threads())


def export_onnx(model: Source, home: Path, quantize: str | None) -> Export:
    """Export ``model``'s transformer to ONNX (fp32, or dynamic int8 made from the fp32 export), once.

    The fp32 export is checked against torch before it is published (see
    :func:`ko_embed_lab.backends.model.check_against_torch`); an export that differs is refused.
    """
    from .model import check_against_torch

    if quantize is None:

        def build(tmp: Path) -> dict[str, Any]:
            _export_torch(model, tmp)
            check = check_against_torch(model, OnnxRunner(tmp / _FILE), strict=True)
            return {"check": check, "runtime": library_versions(("onnxruntime",))}

    else:
        fp32 = export_onnx(model, home, None)

        def build(tmp: Path) -> dict[str, Any]:
            _quantize(fp32.file(_FILE), tmp)
            check = check_against_torch(model, OnnxRunner(tmp / _FILE), strict=False)
            return {"check": check, "from_export": fp32.key, "runtime": library_versions(("onnxruntime",))}

    fields = onnx_fields(model, quantize)
    stem = f"{model.label}-onnx-{quantize or 'fp32'}"
    return ensure_export(home, stem, fields, build)


def onnx_file(export: Export) -> Path:
    """The ``.onnx`` file of an export."""
    return export.file(_FILE)


def op_summary(path: Path) -> dict[str, int]:
    """Operator counts of the graph ONNX Runtime actually runs (after its CPU graph optimisations).

    For the dynamic int8 export the matrix products become ``DynamicQuantizeMatMul`` /
    ``MatMulIntegerToFloat`` nodes: u8 activations times s8 weights, which ONNX Runtime's MLAS
    computes with its AVX-512 VNNI kernel where the CPU has it (chosen at run time from CPUID).
    """
    import collections
    import tempfile

    import onnx
    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as tmp:
        opts = ort.SessionOptions()
        opts.optimized_model_filepath = str(Path(tmp) / "optimized.onnx")
        opts.log_severity_level = 3
        ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        graph = onnx.load(opts.optimized_model_filepath, load_external_data=False).graph
        counts = collections.Counter(node.op_type for node in graph.node)
    return dict(counts.most_common())
