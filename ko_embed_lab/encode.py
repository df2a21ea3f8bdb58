"""The encoding engine: token-budget batches, out-of-memory splitting, de-duplication and caching.

Compared with a plain ``SentenceTransformer.encode`` call this adds: batching by a *token budget*
(texts sorted by their real token length and packed so that a batch holds at most
``batch_tokens`` tokens, so long documents do not exhaust memory and short texts are not padded
to long ones), automatic splitting of a batch that runs out of GPU memory, input checks with clear
messages, each distinct text encoded once, Matryoshka truncation and an optional on-disk cache.

This module knows no model class: it works on a ``SentenceTransformer`` and on cache namespaces,
and :class:`~ko_embed_lab.models.EmbeddingModel` (which owns prompts and cache keys) calls it.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .cache import CacheNamespace, EmbeddingCache, default_cache, text_key
from .text import clean_text, has_control_chars
from .types import Encoder, Kind

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = [
    "PromptedEncoder",
    "check_dim",
    "check_texts",
    "compute_embeddings",
    "encode_cached",
    "encode_to_disk",
    "pack_batches",
    "token_lengths",
    "truncate_dim",
]

logger = logging.getLogger(__name__)

# Zero-width and byte-order marks: a text made only of them (and spaces) is as empty as "".
_INVISIBLE = str.maketrans(dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), " "))
_cache_write_warned: set[str] = set()


def check_texts(texts: Any, *, what: str = "texts") -> list[str]:
    """Validate a list of texts and return it cleaned.

    Rules (documented behaviour):

    * ``texts`` must be a list/tuple (or other non-string sequence) of ``str``; a ``None`` or
      non-string item raises :class:`TypeError` naming its position.
    * Text that cannot be encoded as UTF-8 (lone surrogates) raises :class:`ValueError`.
    * Control characters other than tab/newline/carriage return are replaced by
      :func:`~ko_embed_lab.text.clean_text` (form feed and vertical tab by a newline, the others by
      a space); a warning says how many texts changed.
    * Empty and whitespace-only strings (zero-width spaces and byte-order marks count as white space)
      are allowed: they are embedded as the prompt plus the special tokens alone — a fixed,
      meaningless vector — and a warning counts them.
    * A dict (whose keys would be embedded) or a set (arbitrary order) raises :class:`TypeError`.

    Example:
        >>> check_texts(["안녕\\x00하세요", " "])
        ['안녕 하세요', ' ']
    """
    if isinstance(texts, (str, bytes)):
        raise TypeError(f"{what} must be a list of strings, not a single {type(texts).__name__}; wrap it: [text]")
    if isinstance(texts, Mapping):
        raise TypeError(
            f"{what} is a {type(texts).__name__}: encoding it would embed its keys. Pass the texts in a list, "
            "e.g. model.encode_queries(list(data.queries.values())) with ids = list(data.queries)"
        )
    if isinstance(texts, (set, frozenset)):
        raise TypeError(f"{what} is a set, whose order is arbitrary: pass a list, e.g. sorted(texts)")
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
        if has_control_chars(t):
            out[i] = clean_text(t)
            changed += 1
        if not out[i].translate(_INVISIBLE).strip():
            empty += 1
    if changed:
        logger.warning("%d of %d %s held control characters; they were replaced by spaces", changed, len(out), what)
    if empty:
        logger.warning(
            "%d of %d %s are empty or whitespace-only; they get a fixed, meaningless vector", empty, len(out), what
        )
    return out


def check_dim(dim: Any, full_dim: int) -> int | None:
    """Validate a Matryoshka dimension: ``None`` or an int in ``[1, full_dim]``."""
    if dim is None:
        return None
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, (bool, np.bool_)) or not 1 <= int(dim) <= full_dim:
        raise ValueError(f"dim={dim!r} must be an int between 1 and the model's dimension {full_dim}")
    return int(dim)


def truncate_dim(embeddings: np.ndarray, dim: int | None) -> np.ndarray:
    """Matryoshka truncation: keep the first ``dim`` coordinates, then L2-normalise again.

    Example:
        >>> truncate_dim(np.array([[3.0, 4.0, 12.0]], dtype=np.float32), 2)
        array([[0.6, 0.8]], dtype=float32)
    """
    dim = check_dim(dim, embeddings.shape[1])
    if dim is None or dim == embeddings.shape[1]:
        return embeddings
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
    return 65536 if device.startswith("cuda") else 4096


def _default_max_batch(device: str) -> int:
    # On 2 CPU cores, smaller batches run faster: against plain sentence-transformers (batch 32),
    # 8,192 tokens / 64 texts ran 0.84x on short sentences, 1.00x on 400-token passages and 1.10x on
    # mixed lengths; 4,096 / 32 ran 1.04x, 1.08x and 1.29x (interleaved, best of 3, 2026-11-30).
    return 512 if device.startswith("cuda") else 32


def token_lengths(tokenizer: Any, texts: Sequence[str], prompt: str = "", *, max_length: int) -> list[int]:
    """Token count of ``prompt + text`` for each text, special tokens included, capped at ``max_length``."""
    if not texts:
        return []
    enc = tokenizer(
        [prompt + t for t in texts],
        add_special_tokens=True,
        truncation=True,
        max_length=max_length,
        return_attention_mask=False,
        return_token_type_ids=False,
    )
    return [len(ids) for ids in enc["input_ids"]]


def _forward(st: SentenceTransformer, texts: list[str], prompt: str) -> np.ndarray:
    import torch
    from sentence_transformers.util import batch_to_device

    features = st.preprocess(texts, prompt=prompt or None)
    features = batch_to_device(features, st.device)
    out = st(features)["sentence_embedding"]
    return out.float().cpu().numpy() if out.dtype != torch.float32 else out.cpu().numpy()


def _is_oom(exc: BaseException) -> bool:
    import torch

    return isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc).lower()


def _forward_split_on_oom(st: SentenceTransformer, texts: list[str], prompt: str) -> Iterator[np.ndarray]:
    """Forward a batch; on CUDA out-of-memory, split it in halves and retry each."""
    import torch

    try:
        yield _forward(st, texts, prompt)
        return
    except (RuntimeError, torch.cuda.OutOfMemoryError) as exc:
        if not _is_oom(exc):
            raise
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        if len(texts) == 1:
            raise MemoryError(
                f"one text of up to {st.max_seq_length} tokens does not fit in memory on {st.device}; "
                "lower max_seq_length or use a device with more memory"
            ) from None
        logger.warning("out of memory on a batch of %d texts; splitting it in two", len(texts))
    half = len(texts) // 2
    yield from _forward_split_on_oom(st, texts[:half], prompt)
    yield from _forward_split_on_oom(st, texts[half:], prompt)


def _compute(
    st: SentenceTransformer,
    texts: list[str],
    prompt: str,
    batch_tokens: int | None,
    max_batch_size: int | None,
    show_progress: bool | None,
    devices: Sequence[str] | None,
    label: str = "model",
) -> np.ndarray:
    import torch

    if devices:
        out = st.encode(
            texts,
            prompt=prompt or None,
            device=list(devices),
            batch_size=min(max_batch_size or 64, 64),
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=bool(show_progress),
        )
        return np.asarray(out, dtype=np.float32)
    device = str(st.device)
    budget = batch_tokens or _default_batch_tokens(device)
    lengths = token_lengths(st.tokenizer, texts, prompt, max_length=int(st.max_seq_length or 512))
    batches = pack_batches(lengths, budget, max_batch_size or _default_max_batch(device))
    if show_progress is None and len(batches) < 2:
        show_progress = False  # one forward pass: nothing to follow
    out = np.empty((len(texts), int(st.get_embedding_dimension() or 0)), dtype=np.float32)
    from .progress import progress

    st.eval()
    with (
        torch.inference_mode(),
        progress(total=sum(lengths), unit="tok", show=show_progress, desc=f"encode {label}") as bar,
    ):
        for batch in batches:
            parts = list(_forward_split_on_oom(st, [texts[i] for i in batch], prompt))
            out[batch] = np.concatenate(parts, axis=0)
            bar.update(sum(lengths[i] for i in batch))
    return out


def compute_embeddings(
    st: SentenceTransformer,
    texts: list[str],
    prompt: str,
    *,
    batch_tokens: int | None = None,
    max_batch_size: int | None = None,
    show_progress: bool | None = None,
    devices: Sequence[str] | None = None,
    label: str = "model",
) -> np.ndarray:
    """Embed ``texts`` with a ``SentenceTransformer`` in token-budget batches (no cache, no dedup).

    Args:
        st: The model.
        texts: Clean texts (see :func:`check_texts`).
        prompt: Put before every text (``""`` for none).
        batch_tokens: Token budget of one batch (default 4,096 on CPU, 65,536 on CUDA).
        max_batch_size: Upper bound on texts per batch (default 32 on CPU, 512 on CUDA).
        show_progress: Show a tqdm bar (default: ``KO_EMBED_LAB_PROGRESS``, see :mod:`~ko_embed_lab.progress`;
            never for a single batch).
        devices: Several devices: use sentence-transformers' multi-process pool instead.
        label: Name shown on the progress bar.

    Returns:
        ``(len(texts), dim)`` float32 rows as the model's pooling and normalisation produce them.
    """
    for name, value in (("batch_tokens", batch_tokens), ("max_batch_size", max_batch_size)):
        if value is not None and (
            not isinstance(value, (int, np.integer)) or isinstance(value, bool) or int(value) < 1
        ):
            raise ValueError(f"{name}={value!r} must be a positive int (or None for the default)")
    return _compute(st, texts, prompt, batch_tokens, max_batch_size, show_progress, devices, label)


def encode_cached(
    compute: Callable[[list[str]], np.ndarray],
    texts: Sequence[str],
    *,
    full_dim: int,
    dim: int | None = None,
    namespace: CacheNamespace | None = None,
    label: str = "model",
) -> np.ndarray:
    """Embed texts as L2-normalised float32 rows: check, look up the cache, compute each distinct text once.

    Args:
        compute: Embeds a list of distinct, clean texts (e.g. :func:`compute_embeddings` bound to a model).
        texts: The texts (see :func:`check_texts` for what is accepted).
        full_dim: The encoder's dimension.
        dim: Matryoshka truncation: keep the first ``dim`` coordinates and renormalise.
        namespace: Cache namespace (its key names the model, prompt and settings), or ``None``.
        label: The encoder's name, for messages.

    Returns:
        ``(len(texts), dim or full_dim)`` float32 array; ``(0, dim)`` for an empty list.

    Example:
        >>> fake = lambda batch: np.array([[len(t), 1.0] for t in batch], dtype=np.float32)
        >>> encode_cached(fake, ["가", "가나다", "가"], full_dim=2).round(3)
        array([[0.707, 0.707],
               [0.949, 0.316],
               [0.707, 0.707]], dtype=float32)
    """
    items = check_texts(texts)
    dim = check_dim(dim, full_dim)
    if not items:
        return np.zeros((0, dim or full_dim), dtype=np.float32)
    out = np.empty((len(items), full_dim), dtype=np.float32)
    todo = list(range(len(items)))
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
        computed = np.asarray(compute(uniq_texts), dtype=np.float32)
        if computed.shape != (len(uniq_texts), full_dim):
            raise ValueError(f"{label} returned shape {computed.shape} for {len(uniq_texts)} texts of dim {full_dim}")
        norms = np.linalg.norm(computed, axis=1, keepdims=True)
        computed = computed / np.maximum(norms, 1e-12)
        if not np.isfinite(computed).all():
            raise FloatingPointError(f"{label} produced non-finite embeddings; try dtype='float32'")
        for i in todo:
            out[i] = computed[unique[items[i]]]
        if namespace is not None:
            _store(namespace, [text_key(t) for t in uniq_texts], computed)
    return truncate_dim(out, dim)


def _store(namespace: CacheNamespace, keys: list[str], vectors: np.ndarray) -> None:
    """Write to the cache; a cache that cannot be written costs a warning, never the embeddings."""
    try:
        namespace.put_keys(keys, vectors)
    except OSError as exc:
        root = str(namespace.dir.parent)
        if root not in _cache_write_warned:
            _cache_write_warned.add(root)
            logger.warning(
                "embedding cache at %s cannot be written (%s: %s); embeddings are returned but not cached. "
                "Free space, fix its permissions, or set KO_EMBED_LAB_HOME to a writable folder",
                root,
                type(exc).__name__,
                exc.strerror or exc,
            )


def encode_to_disk(
    model: Encoder,
    texts: Iterable[str],
    path: str | os.PathLike[str],
    *,
    n: int | None = None,
    kind: Kind = "document",
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
        model: A loaded model or any :class:`~ko_embed_lab.types.Encoder`.
        texts: A sequence or any iterable of texts (a generator reading a file, say).
        path: Output ``.npy`` file.
        n: Number of texts; required when ``texts`` has no ``len``.
        kind, prompt, dim, cache, show_progress, **kwargs: As for ``EmbeddingModel.encode``.
        chunk_size: Texts encoded per step.

    Returns:
        The finished file, opened read-only as a ``numpy.memmap`` of shape ``(n, dim)``.

    Example:
        >>> emb = encode_to_disk(model, (line for line in open("corpus.txt")), "corpus.npy", n=1_000_000)  # doctest: +SKIP
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
    out.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_partials(out)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.partial")
    arr: np.memmap | None = None
    done = 0
    try:
        it = iter(texts)
        while True:
            chunk = list(itertools.islice(it, chunk_size))
            if not chunk:
                break
            if done + len(chunk) > n:
                raise ValueError(f"texts yielded more than n={n} items")
            vecs = np.asarray(
                model.encode(
                    chunk, kind=kind, prompt=prompt, dim=dim, cache=cache, show_progress=show_progress, **kwargs
                ),
                dtype=np.float32,
            )
            if arr is None:  # the width is the encoder's, known from its first output
                arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(n, vecs.shape[1]))
            arr[done : done + len(chunk)] = vecs
            done += len(chunk)
        if done != n or arr is None:
            raise ValueError(f"texts yielded {done} items but n={n}")
        arr.flush()
        del arr
        tmp.replace(out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return np.load(out, mmap_mode="r")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def _remove_stale_partials(out: Path) -> None:
    """Delete ``.NAME.PID.partial`` files left by a killed run (their process is gone)."""
    for part in out.parent.glob(f".{out.name}.*.partial"):
        pid = part.name[len(out.name) + 2 : -len(".partial")]
        if pid.isdigit() and not _pid_alive(int(pid)):
            logger.info("removing %s, left by a run that was killed", part)
            part.unlink(missing_ok=True)


class PromptedEncoder:
    """What every encoder of the package shares: its prompts and its cache keys.

    Subclasses (:class:`~ko_embed_lab.models.EmbeddingModel` and the local encoders of
    :mod:`ko_embed_lab.encoders`) have ``query_prompt``, ``document_prompt``, ``fingerprint()``
    (changes whenever the weights could differ), ``_cache_fields()`` (the settings besides the
    fingerprint and the prompt that change the vectors) and ``encode(texts, *, kind, prompt, ...)``.
    """

    query_prompt: str
    document_prompt: str

    def fingerprint(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def _cache_fields(self) -> dict[str, Any]:
        return {}

    def encode(self, texts: Sequence[str], *, kind: Kind = "document", **kwargs: Any) -> np.ndarray:
        raise NotImplementedError  # pragma: no cover - abstract

    def prompt_for(self, kind: Kind, prompt: str | None = None) -> str:
        """The prompt used for ``kind``: ``prompt`` when given (``""`` for none), else the encoder's own."""
        if kind not in ("query", "document"):
            raise ValueError(f"kind={kind!r}: use 'query' or 'document'")
        if prompt is None:
            return self.query_prompt if kind == "query" else self.document_prompt
        if not isinstance(prompt, str):
            raise TypeError(f"prompt must be a str or None, got {type(prompt).__name__}")
        return prompt

    def cache_namespace(
        self, prompt: str, cache: EmbeddingCache | bool | None, *, extra: Mapping[str, Any] | None = None
    ) -> CacheNamespace | None:
        """The cache namespace of embeddings made with ``prompt``: keyed by everything that changes them.

        ``extra`` adds fields for vectors that are not plain text embeddings (late-chunk vectors
        record their chunking settings there); without it the namespace is that of ``encode``.
        """
        if cache is None or cache is False:
            return None
        if cache is not True and not isinstance(cache, EmbeddingCache):
            raise TypeError(f"cache={cache!r}: use True (the default cache), False/None, or an EmbeddingCache")
        store = default_cache() if cache is True else cache
        fields = {"fingerprint": self.fingerprint(), "prompt": prompt, **self._cache_fields()}
        if extra:
            fields["extra"] = dict(extra)
        return store.namespace(fields)

    def encode_queries(self, texts: Sequence[str], **kwargs: Any) -> np.ndarray:
        """Encode queries with the encoder's query prompt (``prompt=""`` switches it off)."""
        return self.encode(texts, kind="query", **kwargs)

    def encode_documents(self, texts: Sequence[str], **kwargs: Any) -> np.ndarray:
        """Encode documents with the encoder's document prompt."""
        return self.encode(texts, kind="document", **kwargs)
