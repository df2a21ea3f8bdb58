"""A seeded, randomly initialised model of the target architecture, with a synthetic tokenizer.

Used where real weights cannot travel (the GPU machine has no network and takes at most 64 MiB):
XLM-RoBERTa-large (24 layers, hidden 1024, 16 heads, FFN 4096, vocabulary 250,002, 8,194
positions) with seeded random weights, CLS pooling and normalisation, saved as an ordinary
sentence-transformers folder so that ``kel.load_model(folder)`` runs the package's real code. The
tokenizer is a word-level one over ``w0 … w999``: a text of N words is exactly N tokens, so
lengths are exact without the real vocabulary.
"""

from __future__ import annotations

import json
from pathlib import Path

TARGET = {
    "hidden_size": 1024,
    "num_hidden_layers": 24,
    "num_attention_heads": 16,
    "intermediate_size": 4096,
    "vocab_size": 250002,
    "max_position_embeddings": 8194,
}
TINY = {
    "hidden_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 512,
    "vocab_size": 1010,
    "max_position_embeddings": 8194,
}
N_WORDS = 1000


def build_synthetic_model(
    folder: str | Path, *, size: str = "target", seed: int = 0, max_seq_length: int = 8192
) -> Path:
    """Write the model folder (if absent) and return it."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast, XLMRobertaConfig, XLMRobertaModel

    folder = Path(folder)
    if (folder / "modules.json").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    dims = TARGET if size == "target" else TINY
    cfg = XLMRobertaConfig(
        **dims,
        type_vocab_size=1,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        layer_norm_eps=1e-5,
        hidden_act="gelu",
    )
    torch.manual_seed(seed)
    model = XLMRobertaModel(cfg, add_pooling_layer=True)  # sentence-transformers loads one; CLS pooling ignores it
    model.save_pretrained(folder, safe_serialization=True)

    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3} | {f"w{i}": i + 4 for i in range(N_WORDS)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        cls_token="<s>",
        sep_token="</s>",
        model_max_length=max_seq_length,
    )
    fast.save_pretrained(folder)

    (folder / "modules.json").write_text(
        json.dumps(
            [
                {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
            ]
        )
    )
    (folder / "sentence_bert_config.json").write_text(
        json.dumps({"max_seq_length": max_seq_length, "do_lower_case": False})
    )
    (folder / "1_Pooling").mkdir(exist_ok=True)
    (folder / "1_Pooling" / "config.json").write_text(
        json.dumps(
            {
                "word_embedding_dimension": dims["hidden_size"],
                "pooling_mode_cls_token": True,
                "pooling_mode_mean_tokens": False,
                "include_prompt": True,
            }
        )
    )
    (folder / "2_Normalize").mkdir(exist_ok=True)
    (folder / "config_sentence_transformers.json").write_text(
        json.dumps(
            {
                "prompts": {"query": "w1 w2 ", "document": ""},
                "default_prompt_name": None,
                "similarity_fn_name": "cosine",
            }
        )
    )
    return folder


def synthetic_texts(n: int, length: int, seed: int = 0) -> list[str]:
    """``n`` texts of exactly ``length`` tokens (``length - 2`` words plus <s> and </s>)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    words = rng.integers(0, N_WORDS, size=(n, max(1, length - 2)))
    return [" ".join(f"w{i}" for i in row) for row in words]


def _shape(size: str):
    from ko_embed_lab.scale.estimate import TransformerShape

    d = TARGET if size == "target" else TINY
    return TransformerShape(d["hidden_size"], d["num_hidden_layers"], d["intermediate_size"], d["vocab_size"])


def non_embedding_params(size: str = "target") -> int:
    """Parameters that cost 2 FLOPs per token each in a forward pass (the package's count, :mod:`ko_embed_lab.scale.estimate`)."""
    return _shape(size).non_embedding_params()


def flops_per_token(length: int, size: str = "target") -> float:
    """Forward FLOPs per token at sequence length ``length``: 2·params + attention (4·L·d per layer)."""
    from ko_embed_lab.scale.estimate import forward_flops_per_token

    return forward_flops_per_token(length, _shape(size))
