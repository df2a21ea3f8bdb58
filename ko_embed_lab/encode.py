"""Encoding texts into L2-normalised float32 embeddings.

Compared with a plain ``SentenceTransformer.encode`` call this adds: batching by a *token budget*
(texts sorted by their real token length and packed so that a batch holds at most
``batch_tokens`` tokens, so long documents do not exhaust memory and short texts are not padded
to long ones), automatic splitting of a batch that runs out of GPU memory, input checks with clear
messages, query/document prompts, Matryoshka truncation and an optional on-disk cache.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

import numpy as np

from .cache import CacheNamespace, EmbeddingCache, text_key

if TYPE_CHECKING:
    from .models import EmbeddingModel

__all__ = [
    "Encoder",
    "check_texts",
    "encode",
    "encode_documents",
    "encode_queries",
    "encode_to_disk",
    "pack_batches",
    "truncate_dim",
]

logger = logging.getLogger(__name__)

# C0 and C1 control characters other than tab, newline and carriage return.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


@runtime_checkable
class Encoder(Protocol):
    """Anything that embeds texts: an :class:`~ko_embed_lab.models.EmbeddingModel` or a test fake.

    ``encode`` must return an ``(n, dim)`` float array of L2-normalised rows.
    """

    def encode(
        self,
        texts: Sequence[str],
        *,
        kind: Literal["query", "document"] = "document",
        prompt: str | None = None,
        **kwargs: Any,
    ) -> np.ndarray: ...


def check_texts(texts: Any, *, what: str = "texts") -> list[str]:
    """Validate a list of texts and return it cleaned.

    Rules (documented behaviour):

    * ``texts`` must be a list/tuple (or other non-string sequence) of ``str``; a ``None`` or
      non-string item raises :class:`TypeError` naming its position.
    * Text that cannot be encoded as UTF-8 (lone surrogates) raises :class:`ValueError`.
    * Control characters other than tab/newline/carriage return are replaced by a space (they
      carry no meaning for the tokenizer and some break it); a warning says how many texts changed.
    * Empty and whitespace-only strings are allowed: they are embedded as the prompt plus the
      special tokens alone — a fixed, meaningless vector — and a warning counts them.

    Example:
        >>> check_texts(["안녕\\x00하세요", " "])
        ['안녕 하세요', ' ']
    """
    if isinstance(texts, (str, bytes)):
        raise TypeError(f"{what} must be a list of strings, not a single {type(texts).__name__}; wrap it: [text]")
    if texts is None or (not isinstance(texts, Sequence) and not hasattr(texts, "__iter__")):
        raise TypeError(f"{what} must be a list of strings, got {type(texts).__name__}")
    out = list(texts)
    changed = empty = 0
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise TypeError(f"{what}[{i}] is {type(t).__name__} ({t!r:.40}); every item must be a str")
        try:
            t.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(
                f"{what}[{i}] is not valid Unicode text (it holds a lone surrogate); clean the input"
            ) from None
        if _CONTROL.search(t):
            out[i] = _CONTROL.sub(" ", t)
            changed += 1
        if not out[i].strip():
            empty += 1
    if changed:
        logger.warning("%d of %d %s held control characters; they were replaced by spaces", changed, len(out), what)
    if empty:
        logger.warning(
            "%d of %d %s are empty or whitespace-only; they get a fixed, meaningless vector", empty, len(out), what
        )
    return out


def truncate_dim(embeddings: np.ndarray, dim: int | None) -> np.ndarray:
    """Matryoshka truncation: keep the first ``dim`` coordinates, then L2-normalise again."""
    if dim is None or dim == embeddings.shape[1]:
        return embeddings
    if not isinstance(dim, int) or isinstance(dim, bool) or not 1 <= dim <= embeddings.shape[1]:
        raise ValueError(f"dim={dim!r} must be an int between 1 and the model's dimension {embeddings.shape[1]}")
    out = np.ascontiguousarray(embeddings[:, :dim])
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return (out / np.maximum(norms, 1e-12)).astype(np.float32)


def pack_batches(lengths: Sequence[int], batch_tokens: int, max_batch_size: int = 512) -> list[list[int]]:
    """Group indices into batches of at most ``batch_tokens`` padded tokens.

    Texts are sorted longest first; a batch grows while ``size × longest`` stays within the
    budget (a single text longer than the budget gets a batch of its own).

    Example:
        >>> pack_batches([5, 100, 6, 90], batch_tokens=200)
        [[1, 3], [2, 0]]
    """
    if batch_tokens < 1 or max_batch_size < 1:
        raise ValueError("batch_tokens and max_batch_size must be positive")
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    batches: list[list[int]] = []
    current: list[int] = []
    longest = 0
    for i in order:
        n = max(1, int(lengths[i]))
        if current and (max(longest, n) * (len(current) + 1) > batch_tokens or len(current) >= max_batch_size):
            batches.append(current)
            current, longest = [], 0
        current.append(i)
        longest = max(longest, n)
    if current:
        batches.append(current)
    return batches


def _default_batch_tokens(device: str) -> int:
    return 65536 if device.startswith("cuda") else 8192


def _default_max_batch(device: str) -> int:
    # On 2 CPU cores, batches of 64 short texts ran ~15% faster than 512 (benchmarks/bench_encode.py).
    return 512 if device.startswith("cuda") else 64


def _resolve_prompt(model: EmbeddingModel, kind: str, prompt: str | None) -> str:
    if kind not in ("query", "document"):
        raise ValueError(f"kind={kind!r}: use 'query' or 'document'")
    if prompt is None:
        return model.query_prompt if kind == "query" else model.document_prompt
    if not isinstance(prompt, str):
        raise TypeError(f"prompt must be a str or None, got {type(prompt).__name__}")
    return prompt


def _cache_namespace(model: EmbeddingModel, prompt: str, cache: EmbeddingCache | bool | None) -> CacheNamespace | None:
    if cache is None or cache is False:
        return None
    store = EmbeddingCache() if cache is True else cache
    fields = {
        "fingerprint": model.fingerprint(),
        "prompt": prompt,
        "max_seq_length": model.max_seq_length,
        "dtype": model.dtype,
        "dim": model.dim,
        "pooling": type(model.st[1]).__name__ if len(model.st) > 1 else "",
    }
    return store.namespace(fields)


def token_lengths(model: EmbeddingModel, texts: Sequence[str], prompt: str = "") -> list[int]:
    """Token count of ``prompt + text`` for each text, special tokens included, capped at max length."""
    if not texts:
        return []
    enc = model.tokenizer(
        [prompt + t for t in texts],
        add_special_tokens=True,
        truncation=True,
        max_length=model.max_seq_length,
        return_attention_mask=False,
        return_token_type_ids=False,
    )
    return [len(ids) for ids in enc["input_ids"]]


def _forward(model: EmbeddingModel, texts: list[str], prompt: str) -> np.ndarray:
    import torch
    from sentence_transformers.util import batch_to_device

    st = model.st
    features = st.preprocess(texts, prompt=prompt or None)
    features = batch_to_device(features, st.device)
    out = st(features)["sentence_embedding"]
    return out.float().cpu().numpy() if out.dtype != torch.float32 else out.cpu().numpy()


def _is_oom(exc: BaseException) -> bool:
    import torch

    return isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc).lower()


def _forward_split_on_oom(model: EmbeddingModel, texts: list[str], prompt: str) -> Iterator[np.ndarray]:
    """Forward a batch; on CUDA out-of-memory, split it in halves and retry each."""
    import torch

    try:
        yield _forward(model, texts, prompt)
        return
    except (RuntimeError, torch.cuda.OutOfMemoryError) as exc:
        if not _is_oom(exc):
            raise
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        if len(texts) == 1:
            raise MemoryError(
                f"one text of up to {model.max_seq_length} tokens does not fit in memory on {model.device}; "
                "lower max_seq_length or use a device with more memory"
            ) from None
        logger.warning("out of memory on a batch of %d texts; splitting it in two", len(texts))
    half = len(texts) // 2
    yield from _forward_split_on_oom(model, texts[:half], prompt)
    yield from _forward_split_on_oom(model, texts[half:], prompt)


def _compute(
    model: EmbeddingModel,
    texts: list[str],
    prompt: str,
    batch_tokens: int | None,
    max_batch_size: int | None,
    show_progress: bool | None,
    devices: Sequence[str] | None,
) -> np.ndarray:
    import torch

    if devices:
        out = model.st.encode(
            texts,
            prompt=prompt or None,
            device=list(devices),
            batch_size=min(max_batch_size or 64, 64),
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=bool(show_progress),
        )
        return np.asarray(out, dtype=np.float32)
    budget = batch_tokens or _default_batch_tokens(model.device)
    lengths = token_lengths(model, texts, prompt)
    batches = pack_batches(lengths, budget, max_batch_size or _default_max_batch(model.device))
    if show_progress is None:
        show_progress = len(batches) >= 20
    out = np.empty((len(texts), model.dim), dtype=np.float32)
    from tqdm.auto import tqdm

    model.st.eval()
    with (
        torch.inference_mode(),
        tqdm(total=sum(lengths), unit="tok", disable=not show_progress, desc=f"encode {model.label}") as bar,
    ):
        for batch in batches:
            parts = list(_forward_split_on_oom(model, [texts[i] for i in batch], prompt))
            out[batch] = np.concatenate(parts, axis=0)
            bar.update(sum(lengths[i] for i in batch))
    return out


def encode(
    model: EmbeddingModel,
    texts: Sequence[str],
    *,
    kind: Literal["query", "document"] = "document",
    prompt: str | None = None,
    dim: int | None = None,
    batch_tokens: int | None = None,
    max_batch_size: int | None = None,
    cache: EmbeddingCache | bool | None = None,
    show_progress: bool | None = None,
    devices: Sequence[str] | None = None,
) -> np.ndarray:
    """Embed texts as L2-normalised float32 rows.

    Args:
        model: A loaded :class:`~ko_embed_lab.models.EmbeddingModel`.
        texts: The texts (see :func:`check_texts` for what is accepted).
        kind: ``"query"`` or ``"document"``: picks the model's default prompt.
        prompt: Override the prompt (``""`` for none); ``None`` uses the model's for ``kind``.
        dim: Matryoshka truncation: keep the first ``dim`` coordinates and renormalise.
        batch_tokens: Token budget of one batch (default 8,192 on CPU, 65,536 on CUDA).
        max_batch_size: Upper bound on texts per batch (default 64 on CPU, 512 on CUDA).
        cache: ``True`` for the default on-disk cache, an :class:`EmbeddingCache`, or ``None``.
        show_progress: Show a tqdm bar (default: only for 20 batches or more).
        devices: Several devices (e.g. ``["cuda:0", "cuda:1"]``): use sentence-transformers'
            multi-process pool instead of the token-budget loop.

    Returns:
        ``(len(texts), dim)`` float32 array; ``(0, dim)`` for an empty list.

    Example:
        >>> q = encode(model, ["대한민국의 수도는 어디인가?"], kind="query")
        >>> d = encode(model, ["대한민국의 수도는 서울이다."])
        >>> float(q @ d.T) > 0.8
        True
    """
    items = check_texts(texts)
    prompt_text = _resolve_prompt(model, kind, prompt)
    full_dim = model.dim
    if dim is not None and (not isinstance(dim, int) or isinstance(dim, bool) or not 1 <= dim <= full_dim):
        raise ValueError(f"dim={dim!r} must be an int between 1 and the model's dimension {full_dim}")
    if not items:
        return np.zeros((0, dim or full_dim), dtype=np.float32)

    namespace = _cache_namespace(model, prompt_text, cache)
    out = np.empty((len(items), full_dim), dtype=np.float32)
    todo = list(range(len(items)))
    keys: list[str] = []
    if namespace is not None:
        keys = [text_key(t) for t in items]
        found, vectors = namespace.get_keys(keys)
        if found:
            out[found] = vectors
            found_set = set(found)
            todo = [i for i in todo if i not in found_set]
    if todo:
        # Encode each distinct text once.
        unique: dict[str, int] = {}
        for i in todo:
            unique.setdefault(items[i], len(unique))
        uniq_texts = list(unique)
        computed = _compute(model, uniq_texts, prompt_text, batch_tokens, max_batch_size, show_progress, devices)
        norms = np.linalg.norm(computed, axis=1, keepdims=True)
        computed = computed / np.maximum(norms, 1e-12)
        if not np.isfinite(computed).all():
            raise FloatingPointError(
                f"{model.label} produced non-finite embeddings on {model.device} ({model.dtype}); try dtype='float32'"
            )
        for i in todo:
            out[i] = computed[unique[items[i]]]
        if namespace is not None:
            namespace.put_keys([text_key(t) for t in uniq_texts], computed)
    return truncate_dim(out, dim)


def encode_queries(model: EmbeddingModel, texts: Sequence[str], **kwargs: Any) -> np.ndarray:
    """:func:`encode` with ``kind="query"`` (the model's query prompt unless ``prompt`` is given)."""
    return encode(model, texts, kind="query", **kwargs)


def encode_documents(model: EmbeddingModel, texts: Sequence[str], **kwargs: Any) -> np.ndarray:
    """:func:`encode` with ``kind="document"``."""
    return encode(model, texts, kind="document", **kwargs)


def encode_to_disk(
    model: EmbeddingModel,
    texts: Iterable[str],
    path: str | os.PathLike[str],
    *,
    n: int | None = None,
    kind: Literal["query", "document"] = "document",
    prompt: str | None = None,
    dim: int | None = None,
    chunk_size: int = 4096,
    cache: EmbeddingCache | bool | None = None,
    show_progress: bool | None = None,
    **kwargs: Any,
) -> np.memmap:
    """Encode a corpus too large to hold in memory into a memory-mapped ``.npy`` file.

    Texts are consumed lazily, ``chunk_size`` at a time, so memory stays bounded by one chunk
    whatever the corpus size. The file is written under a temporary name and renamed into place
    when complete, so an interrupted run never leaves a file that looks finished.

    Args:
        model: A loaded model.
        texts: A sequence or any iterable of texts (a generator reading a file, say).
        path: Output ``.npy`` file.
        n: Number of texts; required when ``texts`` has no ``len``.
        kind, prompt, dim, cache, show_progress, **kwargs: As for :func:`encode`.
        chunk_size: Texts encoded per step.

    Returns:
        The finished file, opened read-only as a ``numpy.memmap`` of shape ``(n, dim)``.

    Example:
        >>> emb = encode_to_disk(model, (line for line in open("corpus.txt")), "corpus.npy", n=1_000_000)
    """
    out = Path(path)
    if out.suffix != ".npy":
        raise ValueError(f"path must end in .npy, got {out.name}")
    if n is None:
        if not hasattr(texts, "__len__"):
            raise ValueError("texts has no length: pass n=<number of texts> so the file can be sized")
        n = len(texts)  # type: ignore[arg-type]
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    width = dim or model.dim
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.partial")
    arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(n, width))
    done = 0
    try:
        it = iter(texts)
        while True:
            chunk = list(itertools.islice(it, chunk_size))
            if not chunk:
                break
            if done + len(chunk) > n:
                raise ValueError(f"texts yielded more than n={n} items")
            arr[done : done + len(chunk)] = encode(
                model, chunk, kind=kind, prompt=prompt, dim=dim, cache=cache, show_progress=show_progress, **kwargs
            )
            done += len(chunk)
        if done != n:
            raise ValueError(f"texts yielded {done} items but n={n}")
        arr.flush()
        del arr
        tmp.replace(out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return np.load(out, mmap_mode="r")
