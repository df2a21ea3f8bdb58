"""``encode_corpus``: embed a Parquet corpus shard by shard, in this process or on a Ray cluster.

Both engines run the same per-shard step (:func:`encode_shard`: read the shard's rows, encode
them with the model's own ``encode`` — token-budget batches, as everywhere in the package — and
write the shard atomically with its done marker), so their outputs agree shard for shard; only
where the step runs differs. See :mod:`.store` for the folder layout and :mod:`.ray_engine`
for the Ray path.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from ..encode import PromptedEncoder, check_dim
from ..types import Kind, encoder_identity
from . import store
from .plan import Shard, ShardPlan, plan_shards
from .worker import ModelRequest, encode_shard

__all__ = ["CorpusRun", "encode_corpus"]

logger = logging.getLogger(__name__)

Engine = Literal["local", "ray"]
#: Identity fields that decide the vectors; the rest (device, folder, thread counts) may differ between machines.
_IDENTITY_KEYS = (
    "model",
    "fingerprint",
    "hub_id",
    "revision",
    "source_sha256",
    "dim",
    "max_seq_length",
    "dtype",
    "backend",
    "query_prompt",
    "document_prompt",
)


@dataclass
class CorpusRun:
    """What one :func:`encode_corpus` call did.

    Attributes:
        output: The output folder.
        engine: ``"local"`` or ``"ray"``.
        rows: Rows in the corpus.
        shards: Shards in the plan.
        shards_done: Shards computed by this call.
        shards_skipped: Shards already done (their markers verified) and skipped.
        rows_encoded: Rows computed by this call.
        seconds: Wall time of the whole call.
        encode_seconds: Wall time of the engine phase: the shards' steps (for Ray also starting the
            actors and loading their models; the local engine's model is loaded before).
        workers: Workers (1 for the local engine).
        empty_texts: Empty or whitespace-only texts among the rows encoded (embedded as the prompt alone).
    """

    output: Path
    engine: str
    rows: int
    shards: int
    shards_done: int
    shards_skipped: int
    rows_encoded: int
    seconds: float
    encode_seconds: float
    workers: int
    empty_texts: int = 0

    @property
    def rows_per_s(self) -> float:
        """Rows encoded per second of the engine phase (0 when nothing was encoded)."""
        return self.rows_encoded / self.encode_seconds if self.rows_encoded and self.encode_seconds > 0 else 0.0

    def summary(self) -> str:
        """One line for a terminal or a log.

        Example:
            >>> CorpusRun(Path("out"), "local", 100, 4, 3, 1, 75, 2.0, 1.5, 1).summary()
            'out: 3 shards encoded, 1 skipped (already done) of 4; 75 of 100 rows in 2.0 s (50.0 rows/s, local engine, 1 worker)'
        """
        return (
            f"{self.output}: {self.shards_done} shards encoded, {self.shards_skipped} skipped (already done) of "
            f"{self.shards}; {self.rows_encoded} of {self.rows} rows in {self.seconds:.1f} s "
            f"({self.rows_per_s:.1f} rows/s, {self.engine} engine, {self.workers} worker{'s' * (self.workers != 1)})"
            + (f"; {self.empty_texts} empty texts (see the shards' markers)" if self.empty_texts else "")
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields plus ``rows_per_s``."""
        return {**asdict(self), "output": str(self.output), "rows_per_s": self.rows_per_s}


def model_settings(identity: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a model identity that decides the vectors (no device, folder or thread counts)."""
    keys = [k for k in _IDENTITY_KEYS if k in identity]
    if not keys or keys == ["model"]:  # a bare encoder: all it tells us, less the machine
        return {k: v for k, v in identity.items() if k not in ("device", "path")}
    return {k: identity[k] for k in keys}


def resolve_prompt(identity: Mapping[str, Any], model: Any, kind: Kind, prompt: str | None) -> str:
    """The prompt text used for ``kind`` (``prompt`` when given, else the model's own)."""
    if kind not in ("query", "document"):
        raise ValueError(f"kind={kind!r}: use 'query' or 'document'")
    if prompt is not None:
        if not isinstance(prompt, str):
            raise TypeError(f"prompt must be a str or None, got {type(prompt).__name__}")
        return prompt
    if isinstance(model, PromptedEncoder):
        return model.prompt_for(kind)
    return str(identity.get(f"{kind}_prompt") or "")


@contextlib.contextmanager
def _exclusive(folder: Path) -> Iterator[None]:
    """Hold ``folder/.lock`` so that two runs never write the same folder at once."""
    with open(folder / ".lock", "a+b") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RuntimeError(
                f"another encode_corpus run is writing {folder}; wait for it or choose another output"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _prepare_folder(folder: Path, settings: dict[str, Any], plan: ShardPlan, overwrite: bool) -> dict[str, Any]:
    """Check ``folder`` against ``settings`` (or clear it with ``overwrite``); return its manifest."""
    man = store.read_manifest(folder)
    if man is not None and man.get("settings_sha256") != store.settings_sha256(settings):
        diff = store.settings_diff(man.get("settings", {}), settings)
        if not any(folder.glob("shard-*.done.json")):  # no finished shard: nothing to protect
            logger.info("%s: no shard was finished with the old settings; starting it with the new ones", folder)
            overwrite = True
        if not overwrite:
            raise store.SettingsMismatchError(
                f"{folder} holds embeddings made with other settings (differs in: {', '.join(diff)}); choose another "
                "output folder, or pass overwrite=True (--overwrite) to delete its shards and start again"
            )
        logger.warning("overwriting %s (settings differ in: %s)", folder, ", ".join(diff))
        for f in folder.glob("shard-*"):
            f.unlink()
        man = None
    if man is None:
        ours = {".lock", store.MANIFEST}
        if any(p.name not in ours and not p.name.startswith(".shard-") for p in folder.iterdir()):
            raise ValueError(
                f"{folder} is not empty and holds no {store.MANIFEST}: it is not an encode_corpus output; "
                "choose an empty or new folder"
            )
        man = store.new_manifest(settings, rows=plan.rows, shards=len(plan.shards))
        store.write_json(folder / store.MANIFEST, man)
    return man


def encode_corpus(
    source: str | os.PathLike[str] | list[str | os.PathLike[str]],
    output: str | os.PathLike[str],
    *,
    model: Any = None,
    engine: Engine = "local",
    kind: Kind = "document",
    prompt: str | None = None,
    dim: int | None = None,
    text_field: str = "text",
    id_field: str | None = "id",
    shard_size: int = 10_000,
    batch_tokens: int | None = None,
    max_batch_size: int | None = None,
    device: str | None = None,
    backend: str | None = None,
    quantize: str | None = None,
    max_seq_length: int | None = None,
    num_workers: int = 1,
    num_gpus_per_worker: float = 0.0,
    num_cpus_per_worker: float = 1.0,
    address: str | None = None,
    num_cpus: int | None = None,
    resume: bool = True,
    overwrite: bool = False,
    show_progress: bool | None = None,
) -> CorpusRun:
    """Embed a Parquet corpus into a folder of shards, resumably, in this process or on a Ray cluster.

    The corpus's rows are cut into fixed shards of ``shard_size`` rows (:func:`.plan_shards`); each
    shard is encoded and written atomically with a done marker, and a manifest records the model
    identity, prompt, dimension, shard size and a fingerprint of the source. A rerun with the same
    settings skips every shard whose marker verifies, so a killed run resumes where it stopped; a
    rerun with other settings into the same folder fails (or, with ``overwrite``, starts again).

    Args:
        source: A Parquet file, a folder of ``.parquet`` files, a glob, or a list of these.
        output: The output folder (created; see :mod:`ko_embed_lab.scale.store` for its layout).
        model: ``None`` (the default model), a registry name, hub id or folder, or a loaded model.
            The Ray engine loads one copy per worker, so it takes a name (a loaded
            ``EmbeddingModel`` is turned back into its name and settings).
        engine: ``"local"`` (this process) or ``"ray"`` (Ray Data: an actor pool, one model per worker;
            needs ``pip install "ko-embed-lab[scale]"``).
        kind: ``"document"`` or ``"query"``: picks the model's prompt.
        prompt: Override the prompt (``""`` for none).
        dim: Matryoshka truncation to ``dim`` coordinates.
        text_field: Column holding the passages.
        id_field: Column holding the ids; ``None`` uses the global row numbers as ids.
        shard_size: Rows per shard: the unit of work, of resumption and of output files.
        batch_tokens, max_batch_size: Token-budget batching inside a shard (as in ``EmbeddingModel.encode``).
        device, backend, quantize, max_seq_length: Passed to ``load_model`` when ``model`` is a name.
            The Ray engine's workers use ``device="auto"`` unless ``device`` is given.
        num_workers: Ray actors (one model each).
        num_gpus_per_worker: GPUs per Ray actor (1 for one model per GPU; 0 on CPUs).
        num_cpus_per_worker: CPUs per Ray actor (its torch threads).
        address: A Ray cluster to connect to (``"auto"``, ``"ray://host:10001"``); default: the running one,
            else a new local cluster.
        num_cpus: CPUs of a new local Ray cluster (default: this machine's).
        resume: Skip shards already done with the same settings, after checking each one's files against
            the sha256 in its marker (reads the finished output once); ``False`` recomputes them.
        overwrite: Delete shards made with other settings instead of failing.
        show_progress: A progress bar over rows (default: ``KO_EMBED_LAB_PROGRESS``).

    Returns:
        A :class:`CorpusRun`; read the result with :func:`~ko_embed_lab.scale.open_corpus_embeddings`.

    Example:
        >>> run = kel.scale.encode_corpus("passages.parquet", "passages-emb", shard_size=10_000)  # doctest: +SKIP
        >>> print(run.summary())  # doctest: +SKIP
        passages-emb: 12 shards encoded, 0 skipped (already done) of 12; ...
        >>> corpus = kel.scale.open_corpus_embeddings("passages-emb")  # doctest: +SKIP
    """
    t_start = time.perf_counter()
    if engine not in ("local", "ray"):
        raise ValueError(f"engine={engine!r}: use 'local' or 'ray'")
    for name, value in (("num_workers", num_workers),):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name}={value!r} must be a positive int")
    if num_gpus_per_worker < 0 or num_cpus_per_worker <= 0:
        raise ValueError("num_gpus_per_worker must be >= 0 and num_cpus_per_worker > 0")
    plan = plan_shards(source, shard_size=shard_size, text_field=text_field, id_field=id_field)
    folder = Path(output)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"output {folder} is a file; name a folder")
    folder.mkdir(parents=True, exist_ok=True)
    load_kwargs = {"device": device, "backend": backend, "quantize": quantize, "max_seq_length": max_seq_length}
    with contextlib.ExitStack() as stack:
        if engine == "local":
            if model is None or isinstance(model, (str, os.PathLike)):
                model = ModelRequest.of(model, **load_kwargs).load()
            elif any(v is not None for v in load_kwargs.values()):
                raise ValueError(
                    "device/backend/quantize/max_seq_length apply when model is a name, not a loaded model"
                )
            identity = encoder_identity(model)
            request = None
        else:
            from .ray_engine import probe_identity, start_ray, stop_ray

            request = ModelRequest.of(model, **load_kwargs)
            if num_gpus_per_worker == 0 and "device" not in request.kwargs:
                # CPU actors see no GPU (Ray hides them): say so, so that the driver loads what they load
                request = ModelRequest(request.name, {**request.kwargs, "device": "cpu"})
            if start_ray(address=address, num_cpus=num_cpus):
                stack.callback(stop_ray)
            if num_gpus_per_worker == 0:
                identity = encoder_identity(request.load())  # the same CPU model the actors load
            else:
                identity = probe_identity(request, num_gpus=num_gpus_per_worker, num_cpus=num_cpus_per_worker)
        if dim is not None:  # before the manifest names it: a bad dim must not claim the folder
            check_dim(dim, int(identity.get("dim") or dim))
        prompt_text = resolve_prompt(identity, model if engine == "local" else None, kind, prompt)
        settings = {
            "model": model_settings(identity),
            "kind": kind,
            "prompt": prompt_text,
            "dim": dim,
            "shard_size": shard_size,
            "text_field": text_field,
            "id_field": id_field,
            "source": plan.source_fingerprint(),
            "dtype": "float32",
        }
        shash = store.settings_sha256(settings)
        stack.enter_context(_exclusive(folder))
        store.remove_partials(folder)
        man = _prepare_folder(folder, settings, plan, overwrite)
        shards = plan.shards
        pending = [s for s in shards if not (resume and store.verify_shard(folder, s, shash))]
        logger.info("%s: %d of %d shards to encode", folder, len(pending), len(shards))
        t0 = time.perf_counter()
        common = {"kind": kind, "prompt": prompt_text, "dim": dim, "settings_hash": shash}
        batching = {"batch_tokens": batch_tokens, "max_batch_size": max_batch_size}
        if engine == "local":
            markers = _run_local(plan, pending, model, folder, common, batching, show_progress)
        else:
            from .ray_engine import run_ray

            assert request is not None
            markers = run_ray(
                plan,
                pending,
                request,
                folder,
                common=common,
                batching=batching,
                num_workers=num_workers,
                num_gpus=num_gpus_per_worker,
                num_cpus=num_cpus_per_worker,
                show_progress=show_progress,
            )
        encode_s = time.perf_counter() - t0
        missing = [s.name for s in shards if not store.verify_shard(folder, s, shash, hashes=False)]
        if missing:
            raise RuntimeError(f"{len(missing)} shards of {folder} were not written: {', '.join(missing[:5])}")
        # the markers on disk, whichever engine wrote them (Ray's status rows carry only part of them)
        markers = [store.read_json(folder / f"{s.name}.done.json") or {} for s in pending]
        run = CorpusRun(
            folder,
            engine,
            plan.rows,
            len(shards),
            len(pending),
            len(shards) - len(pending),
            sum(s.rows for s in pending),
            time.perf_counter() - t_start,
            encode_s,
            1 if engine == "local" else num_workers,
            sum(int(m.get("empty_texts", 0)) for m in markers),
        )
        _finish_manifest(folder, man, run, markers, identity, num_gpus_per_worker)
    logger.info(run.summary())
    return run


def _run_local(
    plan: ShardPlan,
    pending: list[Shard],
    model: Any,
    folder: Path,
    common: dict[str, Any],
    batching: dict[str, Any],
    show_progress: bool | None,
) -> list[dict[str, Any]]:
    from ..progress import progress

    markers = []
    with progress(total=sum(s.rows for s in pending), unit="row", show=show_progress, desc="encode corpus") as bar:
        for shard in pending:
            markers.append(encode_shard(plan, shard, model, folder, engine="local", **common, **batching))
            bar.update(shard.rows)
    return markers


def _finish_manifest(
    folder: Path,
    man: dict[str, Any],
    run: CorpusRun,
    markers: list[dict[str, Any]],
    identity: Mapping[str, Any],
    gpus: float,
) -> None:
    from ..provenance import provenance

    first = store.read_json(folder / f"{Shard(0, 0, 0).name}.done.json") or {}
    man["dim"] = first.get("dim")
    man["complete"] = True
    man["model_identity"] = dict(identity)
    rec = run.as_dict()
    rec.pop("output")
    rec["gpus_per_worker"] = gpus
    rec["hosts"] = sorted({str(m.get("host")) for m in markers})
    rec["shard_seconds"] = round(sum(float(m.get("seconds", 0.0)) for m in markers), 3)
    man["runs"] = [*man.get("runs", []), {**rec, "provenance": provenance()}]
    store.write_json(folder / store.MANIFEST, man)
