"""OpenVINO: convert the ONNX export, quantise it statically to int8 with NNCF.

fp32 is converted from the checked ONNX fp32 export with ``ov.convert_model`` and saved with
``compress_to_fp16=False`` (``ov.save_model`` stores fp16 weights by default) and run with
``INFERENCE_PRECISION_HINT=f32`` (on CPUs with AVX-512 BF16, like this machine's, OpenVINO otherwise
computes in bf16): either default alone makes "fp32" differ from torch. int8 is NNCF's post-training
quantisation (activations and weights, ``ModelType.TRANSFORMER``), calibrated on windows of the
konlpy Korean law and bill texts — never on KoProbe, on which it is evaluated.
"""

from __future__ import annotations

import collections
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .store import Export, ensure_export, library_versions

if TYPE_CHECKING:
    from .model import Source

__all__ = ["OpenVinoRunner", "export_openvino", "kernel_summary", "openvino_file"]

logger = logging.getLogger(__name__)

_XML = "model.xml"
#: Calibration: this many windows of ``CALIBRATION_TOKENS`` tokens from the konlpy texts.
CALIBRATION_SIZE = 64
CALIBRATION_TOKENS = 128
#: Left in fp32: the two activation-by-activation products of each attention block (Q·Kᵀ and
#: softmax·V). Quantising them too cost 0.010 NDCG@10 on KoProbe; ONNX Runtime's dynamic int8 leaves
#: them alone as well (it quantises only products with a constant weight).
IGNORED = r".*/attention/self/MatMul(_\d+)?$"


def _require_nncf() -> Any:
    try:
        import nncf
    except ImportError:
        raise ValueError(
            "quantize='int8' with backend='openvino' needs NNCF, which is not installed: "
            "pip install 'ko-embed-lab[cpu-backends]' (or nncf), or use backend='onnx' for int8"
        ) from None
    return nncf


class OpenVinoRunner:
    """Runs an OpenVINO model on the CPU in fp32 arithmetic (int8 where the model is quantised).

    Args:
        path: The ``.xml`` file.
        threads: Inference threads (default: torch's thread count, so comparisons are fair).
    """

    def __init__(self, path: Path, threads: int | None = None) -> None:
        import openvino as ov

        if threads is None:
            import torch

            threads = int(torch.get_num_threads())
        self.threads = int(threads)
        core = ov.Core()
        config = {
            "INFERENCE_PRECISION_HINT": "f32",
            "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_NUM_THREADS": self.threads,
        }
        self.compiled = core.compile_model(core.read_model(str(path)), "CPU", config)
        self.request = self.compiled.create_infer_request()

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        feeds = {"input_ids": input_ids.astype(np.int64), "attention_mask": attention_mask.astype(np.int64)}
        result = self.request.infer(feeds)
        return np.array(result[self.compiled.output(0)], dtype=np.float32)


def kernel_summary(runner: OpenVinoRunner) -> dict[str, int]:
    """Which CPU kernels the compiled model's matrix products use, by layer, kernel and precision.

    Read from OpenVINO's runtime (executable) graph, each node's ``primitiveType`` and
    ``runtimePrecision``, after at least one inference (kernels are chosen for the shapes seen).
    Only FullyConnected and MatMul nodes are counted; e.g. int8 on an AVX-512 VNNI CPU gives
    ``{"FullyConnected:brgemm_avx512_I8:u8": 63, ...}`` (oneDNN's int8 brgemm kernels).
    """
    counts: collections.Counter[str] = collections.Counter()
    for op in runner.compiled.get_runtime_model().get_ops():
        info = op.get_rt_info()

        def read(key: str, info: Any = info) -> str:
            return str(info[key].astype(str)) if key in info else "?"

        if read("layerType") in ("FullyConnected", "MatMul"):
            counts[f"{read('layerType')}:{read('primitiveType')}:{read('runtimePrecision')}"] += 1
    return dict(sorted(counts.items()))


def _calibration(model: Source) -> list[dict[str, np.ndarray]]:
    from ko_embed_lab.data import load_long_korean
    from ko_embed_lab.tokens import split_windows

    items = []
    for doc in load_long_korean():
        for w in split_windows(model, doc.text, window=CALIBRATION_TOKENS, overlap=0):
            ids = model.st.tokenizer(model.document_prompt + w.text, return_tensors="np", truncation=True)
            items.append(
                {
                    "input_ids": ids["input_ids"].astype(np.int64),
                    "attention_mask": ids["attention_mask"].astype(np.int64),
                }
            )
    rng = np.random.default_rng(0)
    pick = rng.permutation(len(items))[:CALIBRATION_SIZE]
    return [items[i] for i in sorted(pick)]


def export_openvino(model: Source, home: Path, quantize: str | None) -> Export:
    """Convert ``model``'s transformer to OpenVINO IR (fp32, or NNCF int8), once per model.

    The fp32 IR is checked against torch before it is published; an IR that differs is refused.
    """
    import openvino as ov

    from .model import check_against_torch
    from .onnx import export_onnx, onnx_file

    if quantize == "int8":
        _require_nncf()
    source = export_onnx(model, home, None)
    fields: dict[str, Any] = {
        "what": "openvino",
        "source_fingerprint": model.fingerprint(),
        "from_onnx": source.key,
        "quantize": quantize,
        "versions": library_versions(("openvino", "nncf") if quantize else ("openvino",)),
    }
    if quantize == "int8":
        fields["quantizer"] = {
            "how": "nncf.quantize(model_type=TRANSFORMER)",
            "calibration": f"{CALIBRATION_SIZE} windows of {CALIBRATION_TOKENS} tokens of the konlpy texts, seed 0",
            "ignored": IGNORED,
        }

    def build(tmp: Path) -> dict[str, Any]:
        ov_model = ov.convert_model(str(onnx_file(source)))
        if quantize == "int8":
            nncf = _require_nncf()
            data = _calibration(model)
            ov_model = nncf.quantize(
                ov_model,
                nncf.Dataset(data),
                model_type=nncf.ModelType.TRANSFORMER,
                subset_size=len(data),
                ignored_scope=nncf.IgnoredScope(patterns=[IGNORED], validate=False),
            )
        ov.save_model(ov_model, str(tmp / _XML), compress_to_fp16=False)
        runner = OpenVinoRunner(tmp / _XML)
        check = check_against_torch(model, runner, strict=quantize is None)
        return {"check": check, "kernels": kernel_summary(runner)}

    stem = f"{model.label}-openvino-{quantize or 'fp32'}"
    return ensure_export(home, stem, fields, build)


def openvino_file(export: Export) -> Path:
    """The ``.xml`` file of an export."""
    return export.file(_XML)
