"""The ``ko-embed-lab`` command line.

Subcommands: ``models`` (the registry), ``encode`` (texts to a ``.npy`` file), ``encode-corpus``
(a Parquet corpus to resumable shards, locally or on Ray), ``evaluate``
(retrieval metrics on a BEIR folder or the bundled probe set), ``compare`` (several systems with
paired tests), ``info`` (versions, device, cache home). Logs go to stderr; tables to stdout.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from .encoders._base import LocalEncoder
    from .models import EmbeddingModel

__all__ = ["main"]

log = logging.getLogger("ko_embed_lab.cli")


def _table(rows: list[dict[str, object]], columns: Sequence[str]) -> str:
    def fmt(v: object) -> str:
        if isinstance(v, float):
            return f"{v:.4f}"
        return "" if v is None else str(v)

    cells = [[fmt(r.get(c)) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    line = "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))
    sep = "  ".join("-" * w for w in widths)
    body = ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join([line, sep, *body])


def _cmd_models(args: argparse.Namespace) -> int:
    from .registry import list_specs

    rows = []
    for s in list_specs():
        rows.append(
            {
                "name": s.name,
                "aliases": ",".join(s.aliases),
                "dim": s.dim,
                "pooling": s.pooling,
                "query prompt": repr(s.query_prompt),
                "doc prompt": repr(s.document_prompt),
                "max len": s.max_seq_length or "none",
                "params (M)": s.params_millions,
                "remote code": f"yes, pinned {s.revision[:10]}" if s.trust_remote_code and s.revision else "no",
                "offline": s.offline or "no (hub download)",
            }
        )
    if args.json:
        print(json.dumps([s.as_dict() for s in list_specs()], ensure_ascii=False, indent=1))
    else:
        print(_table(rows, list(rows[0])))
    return 0


_SIDECAR_MARK = "ko_embed_lab_sidecar"
_ENCODE_STEP = 2048  # texts encoded (and cached) per step of `encode`


def _read_texts(path: Path, field: str, encoding: str = "utf-8") -> list[str]:
    """Texts from a .txt (one a line), .jsonl (strings or objects) or .json (a list of either) file."""
    if not path.exists():
        raise FileNotFoundError(f"input file {path} does not exist")
    if path.is_dir():
        raise ValueError(f"--input {path} is a folder; pass a .txt, .jsonl or .json file")
    from .data.beir import decode_error, iter_jsonl

    suffix = path.suffix.lower()
    texts: list[str] = []

    def take(obj: object, where: str) -> None:
        if isinstance(obj, str):
            texts.append(obj)
        elif isinstance(obj, dict) and isinstance(obj.get(field), str):
            texts.append(obj[field])
        else:
            raise ValueError(f"{where}: expected a string or an object with a string {field!r} field (--field)")

    try:
        if suffix == ".jsonl":
            for lineno, obj in iter_jsonl(path, objects_only=False, encoding=encoding):
                take(obj, f"{path}:{lineno}")
        elif suffix == ".json":
            try:
                items = json.loads(path.read_text(encoding=encoding))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
            if not isinstance(items, list):
                raise ValueError(f"{path}: expected a JSON list of strings or objects, got {type(items).__name__}")
            for k, obj in enumerate(items):
                take(obj, f"{path}[{k}]")
        else:
            with path.open(encoding=encoding) as fh:
                texts = [line.rstrip("\n") for line in fh]
            while texts and not texts[-1].strip():
                texts.pop()
    except UnicodeDecodeError as exc:
        raise decode_error(path, encoding, exc) from None
    if not texts:
        raise ValueError(f"{path} holds no texts")
    return texts


def _writable_target(path: Path, what: str) -> None:
    """Fail before any work if ``path`` cannot be written (a folder, or a folder we cannot write)."""
    if path.is_dir():
        raise ValueError(f"{what} {path} is a folder; name a file")
    parent = path.parent if str(path.parent) else Path()
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"{what}: cannot create the folder {parent} ({exc.strerror})") from None
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"{what}: the folder {parent} is not writable")
    if path.exists() and not os.access(path, os.W_OK):
        raise ValueError(f"{what} {path} exists and is not writable")


def _sidecar(out: Path) -> Path:
    """Metadata file beside an output: ``emb.npy`` → ``emb.npy.json``; never someone else's file."""
    side = out.with_name(out.name + ".json")
    if side.exists():
        try:
            ours = json.loads(side.read_text(encoding="utf-8")).get(_SIDECAR_MARK) is True
        except (OSError, ValueError, AttributeError):
            ours = False
        if not ours:
            raise ValueError(f"{side} exists and was not written by ko-embed-lab; move it or choose another --output")
    return side


def _load(args: argparse.Namespace) -> EmbeddingModel | LocalEncoder:
    """The model named by the common model options (--model, --device, --max-seq-length, --backend, --quantize)."""
    from .models import load_model

    return load_model(
        args.model,
        device=args.device,
        max_seq_length=args.max_seq_length,
        backend=args.backend,
        quantize=args.quantize,
    )


def _cmd_encode(args: argparse.Namespace) -> int:
    import numpy as np

    out = Path(args.output)
    if out.suffix.lower() != ".npy":
        raise ValueError(f"--output must end in .npy, got {out.name}")
    texts = _read_texts(Path(args.input), args.field, args.encoding)
    _writable_target(out, "--output")
    side = _sidecar(out)
    model = _load(args)
    prompt = "" if args.no_prompt else None
    kind: Literal["query", "document"] = "query" if args.query else "document"
    # Encode in steps, each written to the embedding cache as it completes: a killed run resumes.
    step = _ENCODE_STEP
    parts = []
    from tqdm.auto import tqdm

    with tqdm(total=len(texts), unit="text", disable=args.quiet or len(texts) <= step, desc="encode") as bar:
        for start in range(0, len(texts), step):
            chunk = texts[start : start + step]
            parts.append(
                model.encode(
                    chunk, kind=kind, prompt=prompt, dim=args.dim, cache=not args.no_cache, show_progress=not args.quiet
                )
            )
            bar.update(len(chunk))
    emb = np.concatenate(parts, axis=0)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("wb") as fh:
            np.save(fh, emb)
        tmp.replace(out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    meta = {
        _SIDECAR_MARK: True,
        "input": str(args.input),
        "output": out.name,
        "n": len(texts),
        "shape": list(emb.shape),
        "kind": kind,
        "dim": args.dim,
        "model": model.identity(),
    }
    from ._files import atomic_write_bytes as _atomic_write_bytes

    _atomic_write_bytes(side, json.dumps(meta, ensure_ascii=False, indent=1).encode("utf-8"))
    print(f"wrote {out} {emb.shape} with {model.label}; metadata in {side.name}")
    return 0


def _cmd_encode_corpus(args: argparse.Namespace) -> int:
    from .scale import encode_corpus

    run = encode_corpus(
        args.source,
        args.output,
        model=args.model,
        engine=args.engine,
        kind="query" if args.query else "document",
        prompt="" if args.no_prompt else None,
        dim=args.dim,
        text_field=args.text_field,
        id_field=None if args.id_field == "" else args.id_field,
        shard_size=args.shard_size,
        device=None if args.device == "auto" else args.device,
        backend=args.backend,
        quantize=args.quantize,
        max_seq_length=args.max_seq_length,
        num_workers=args.workers,
        num_gpus_per_worker=args.gpus_per_worker,
        num_cpus_per_worker=args.cpus_per_worker,
        address=args.address,
        num_cpus=args.num_cpus,
        resume=not args.no_resume,
        overwrite=args.overwrite,
        show_progress=not args.quiet,
    )
    print(run.summary())
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from .data.beir import load_beir
    from .retrieval import METRICS, evaluate_retrieval

    if args.output:
        _writable_target(Path(args.output), "--output")
    if args.data == "probe":
        from .data.probe import load_probe

        data = load_probe().data
    else:
        data = load_beir(args.data, split=args.split, strict=not args.lenient, encoding=args.encoding)
    if data.skipped:
        log.warning("skipped while loading: %s", data.skipped)
    model = _load(args)
    compressed = args.dim is not None or args.precision != "float32" or args.rescore or args.index != "exact"
    if compressed and args.long_docs != "truncate":
        raise ValueError("--long-docs chunk strategies and --dim/--precision/--rescore/--index cannot be combined yet")
    if compressed:
        from .compress import evaluate_compressed

        result = evaluate_compressed(
            model,
            data,
            dim=args.dim,
            precision=args.precision,
            rescore=args.rescore or None,
            index=args.index,
            query_prompt="" if args.no_query_prompt else None,
            cache=not args.no_cache,
            show_progress=not args.quiet,
        )
    else:
        result = evaluate_retrieval(
            model,
            data,
            query_prompt="" if args.no_query_prompt else None,
            cache=not args.no_cache,
            show_progress=not args.quiet,
            long_docs=args.long_docs,
            chunk_tokens=args.chunk_tokens,
            overlap=args.overlap,
        )
    rows = [{"metric": m, "value": result.metrics[m]} for m in METRICS]
    long = result.provenance["settings"].get("long_docs") or {"strategy": "truncate"}
    how = (
        ""
        if long["strategy"] == "truncate"
        else f", long documents: {long['strategy']} ({long['chunk_tokens']} tokens, overlap {long['overlap']}, "
        f"{long['vectors_per_document']} vectors per document)"
    )
    print(
        f"{model.label} on {data.name} ({data.split}): {len(data.queries)} queries, {len(data.corpus)} documents, "
        f"query prompt {result.provenance['settings']['query_prompt']!r}{how}"
    )
    print(_table(rows, ["metric", "value"]))
    if args.output:
        path = result.save(args.output, include_run=args.save_run)
        print(f"wrote {path}")
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from .retrieval.compare import compare

    if args.data == "probe":
        from .data.probe import load_probe

        data: object = load_probe()
        if args.sample:
            data = load_probe().sample(args.sample, seed=args.seed)
    else:
        if args.sample:
            raise ValueError("--sample applies to --data probe only")
        data = args.data
    result = compare(
        args.systems,
        data,  # type: ignore[arg-type]
        device=args.device,
        cache=not args.no_cache,
        n_resamples=args.resamples,
        seed=args.seed,
        show_progress=not args.quiet,
    )
    ds = result.dataset
    print(f"{ds.get('name')} ({ds.get('split')}): {ds.get('n_queries')} queries, {ds.get('n_documents')} documents")
    print(result.table())
    if args.output:
        print(f"wrote {result.save(args.output)}")
    return 0


def _cmd_benchmark(args: argparse.Namespace) -> int:
    from .benchmark import CARD_MODEL, DatasetUnavailableError, benchmark_scores, reproduce_card, run_benchmark

    if args.benchmark is not None and args.tasks is not None:
        raise ValueError("give either --benchmark (a whole mteb benchmark) or --tasks, not both")
    try:
        if args.benchmark is not None:
            run = run_benchmark(
                args.model, args.benchmark, batch_size=args.batch_size, results_folder=args.output_folder
            )
        else:
            result = reproduce_card(
                args.model, args.tasks, batch_size=args.batch_size, results_folder=args.output_folder
            )
    except DatasetUnavailableError as exc:
        print(f"ko-embed-lab benchmark: error: {exc}", file=sys.stderr)
        return 4
    if args.benchmark is not None:
        scores = benchmark_scores(run)
        name = str(run.table["model"].iloc[0]) if len(run.table) else str(args.model)
        print(f"{name}: {args.benchmark}, main score per task (mteb's mean over splits and subsets), measured here")
        print(scores.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
        if len(scores):
            print(f"mean over {len(scores)} tasks: {scores['main_score'].mean():.4f}")
        print(f"results cache: {run.provenance.get('results_folder')}")
        return 0
    print(
        f"{result.model}: NDCG@10 reproduced here with mteb, against the figures reported in the card of {CARD_MODEL}"
    )
    print(result.comparison.to_string(index=False, float_format=lambda v: f"{v:.4f}", na_rep="—"))
    print(f"results cache: {result.run.provenance.get('results_folder')}")
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    from . import config
    from .provenance import provenance

    rec = provenance(
        home=str(config.home()), default_model=config.default_model_name(), default_device=config.default_device()
    )
    print(json.dumps(rec, ensure_ascii=False, indent=1))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs)."""
    p = argparse.ArgumentParser(prog="ko-embed-lab", description="Korean text-embedding workbench")
    p.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = p.add_subparsers(dest="command", required=True)

    m = sub.add_parser("models", help="list the model registry")
    m.add_argument("--json", action="store_true", help="print JSON instead of a table")
    m.set_defaults(func=_cmd_models)

    def model_args(sp: argparse.ArgumentParser, *, cache: bool = True) -> None:
        sp.add_argument(
            "--model", default=None, help="registry name, hub id or folder (default: bundled / KO_EMBED_LAB_MODEL)"
        )
        sp.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 ...")
        sp.add_argument("--max-seq-length", type=int, default=None, help="override the model's maximum length")
        sp.add_argument(
            "--backend",
            choices=("torch", "onnx", "openvino"),
            default=None,
            help="run the transformer in torch, or exported to ONNX Runtime / OpenVINO on the CPU "
            "(default: KO_EMBED_LAB_BACKEND or torch)",
        )
        sp.add_argument("--quantize", choices=("int8",), default=None, help="int8 weights (onnx/openvino only)")
        if cache:
            sp.add_argument("--no-cache", action="store_true", help="do not read or write the embedding cache")
        sp.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    e = sub.add_parser(
        "encode", help="embed texts (txt: one per line; jsonl/json: strings or objects) into a .npy file"
    )
    e.add_argument("--input", required=True, help="a .txt (one text a line), .jsonl or .json (a list) file")
    e.add_argument("--encoding", default="utf-8", help="text encoding of the input (e.g. cp949); default utf-8")
    e.add_argument("--output", required=True, help="the .npy file to write")
    e.add_argument("--field", default="text", help="jsonl field holding the text (default: text)")
    e.add_argument("--query", action="store_true", help="texts are queries (use the query prompt)")
    e.add_argument("--no-prompt", action="store_true", help="use no prompt at all")
    e.add_argument("--dim", type=int, default=None, help="Matryoshka truncation to this dimension")
    model_args(e)
    e.set_defaults(func=_cmd_encode)

    ec = sub.add_parser(
        "encode-corpus",
        help="embed a Parquet corpus into a folder of resumable shards (local, or on Ray: pip install .[scale])",
    )
    ec.add_argument("source", help="a Parquet file, a folder of .parquet files or a glob")
    ec.add_argument("output", help="the output folder (a rerun with the same settings resumes it)")
    ec.add_argument("--engine", choices=("local", "ray"), default="local", help="local (default) or ray")
    ec.add_argument("--text-field", default="text", help="column holding the texts (default: text)")
    ec.add_argument("--id-field", default="id", help="column holding the ids (default: id; '' for row numbers)")
    ec.add_argument("--shard-size", type=int, default=10_000, help="rows per shard (default 10000)")
    ec.add_argument("--query", action="store_true", help="texts are queries (use the query prompt)")
    ec.add_argument("--no-prompt", action="store_true", help="use no prompt at all")
    ec.add_argument("--dim", type=int, default=None, help="Matryoshka truncation to this dimension")
    ec.add_argument("--workers", type=int, default=1, help="ray: actors, one model each (default 1)")
    ec.add_argument("--gpus-per-worker", type=float, default=0.0, help="ray: GPUs per actor (1: a model per GPU)")
    ec.add_argument("--cpus-per-worker", type=float, default=1.0, help="ray: CPUs per actor (default 1)")
    ec.add_argument("--address", default=None, help="ray: cluster address (default: start a local one)")
    ec.add_argument("--num-cpus", type=int, default=None, help="ray: CPUs of a new local cluster")
    ec.add_argument("--no-resume", action="store_true", help="recompute shards that are already done")
    ec.add_argument("--overwrite", action="store_true", help="delete shards made with other settings")
    model_args(ec, cache=False)  # a corpus pass never uses the embedding cache
    ec.set_defaults(func=_cmd_encode_corpus)

    v = sub.add_parser("evaluate", help="retrieval metrics on a BEIR folder (or 'probe', the bundled Korean set)")
    v.add_argument("--data", required=True, help="BEIR folder, or 'probe' for the project's Korean set")
    v.add_argument("--split", default="test")
    v.add_argument("--encoding", default="utf-8", help="text encoding of the BEIR files (e.g. cp949); default utf-8")
    v.add_argument("--no-query-prompt", action="store_true", help="encode queries without the query prompt")
    v.add_argument("--output", default=None, help="write the result record (JSON) here")
    v.add_argument("--save-run", action="store_true", help="include the ranked run in the record")
    v.add_argument("--lenient", action="store_true", help="skip qrels that name unknown ids instead of failing")
    v.add_argument("--dim", type=int, default=None, help="keep the first D dimensions (Matryoshka truncation)")
    v.add_argument(
        "--precision",
        default="float32",
        choices=["float32", "float16", "int8", "uint8", "binary", "ubinary"],
        help="precision of the stored corpus vectors (calibrated on the corpus)",
    )
    v.add_argument("--rescore", type=int, default=0, help="rescore N×10 candidates at full precision (0: none)")
    v.add_argument("--index", default="exact", choices=["exact", "hnsw", "ivfpq"], help="search: exact or faiss ANN")
    v.add_argument(
        "--long-docs",
        default="truncate",
        choices=["truncate", "max-chunk", "mean-chunk", "late-chunk", "context-chunk"],
        help="how documents longer than the model's window are scored: truncate (default: what mteb does, and "
        "results on short-document sets stay comparable), max-chunk (best of chunks embedded alone), mean-chunk "
        "(mean of the chunk vectors), late-chunk (late chunking: chunks pooled from the whole document's token "
        "embeddings), context-chunk (chunks with the title or first sentence in front). Measured with the "
        "bundled model on KoLongQ cut into <=1,000-token documents: NDCG@10 truncate 0.744, max-chunk 0.867, "
        "late-chunk 0.841, context-chunk 0.890 (chunks of 256)",
    )
    v.add_argument(
        "--chunk-tokens",
        type=int,
        default=None,
        help="chunk size in tokens for the chunk strategies (default 256, capped at the model's window). "
        "max-chunk, bundled model: KoLongQ NDCG@10 0.988 / 0.997 / 0.961 at 128 / 256 / 508 tokens; needle "
        "haystacks (smoke size) 1.00 / 1.00 / 0.92; 256 stores half the vectors of 128",
    )
    v.add_argument(
        "--overlap",
        type=int,
        default=None,
        help="tokens shared by consecutive chunks (default 0: overlap was not measured here, and 0 stores the fewest vectors)",
    )
    model_args(v)
    v.set_defaults(func=_cmd_evaluate)

    c = sub.add_parser(
        "compare",
        help="several systems on one set, each tested against the first (e.g. --systems offline)",
    )
    c.add_argument("--data", required=True, help="BEIR folder, or 'probe' for the project's Korean set")
    c.add_argument(
        "--systems",
        nargs="+",
        required=True,
        help="model[@dim=N][@no-prompt], bm25, rrf:A+B, or offline (every offline model, BM25 and their best fusion)",
    )
    c.add_argument("--output", default=None, help="write the comparison record (JSON) here")
    c.add_argument("--sample", type=int, default=None, help="KoProbe only: a seeded sample of N needs")
    c.add_argument("--resamples", type=int, default=10000, help="bootstrap resamples (default 10000)")
    c.add_argument("--seed", type=int, default=0, help="seed of the bootstrap and of --sample")
    c.add_argument("--device", default="auto", help="where transformer models run: auto, cpu, cuda ...")
    c.add_argument("--no-cache", action="store_true", help="do not read or write the embedding cache")
    c.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    c.set_defaults(func=_cmd_compare)

    b = sub.add_parser(
        "benchmark",
        help="run the card's Korean retrieval tasks, or a whole mteb benchmark, with mteb (needs hub access; "
        "'KoProbe' runs offline)",
    )
    b.add_argument(
        "--model", default=None, help="registry name, hub id or folder (default: bundled / KO_EMBED_LAB_MODEL)"
    )
    b.add_argument("--tasks", nargs="+", default=None, help="mteb task names (default: the card's eight)")
    b.add_argument(
        "--benchmark",
        default=None,
        help="run a whole mteb benchmark by name instead, e.g. 'MTEB(kor, v2)' (resumable like --tasks)",
    )
    b.add_argument("--batch-size", type=int, default=32)
    b.add_argument("--output-folder", default=None, help="mteb results cache folder (an interrupted run resumes)")
    b.set_defaults(func=_cmd_benchmark)

    i = sub.add_parser("info", help="versions, device, cache home, default model")
    i.set_defaults(func=_cmd_info)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parse ``argv`` and run the subcommand. Returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    from .models import ModelNotAvailableError

    try:
        return int(args.func(args))
    except (OSError, ValueError, TypeError, OverflowError, ImportError, ModelNotAvailableError) as exc:
        # A user's mistake (bad input, unwritable output, unknown or unreachable model): one line, rc 2.
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"ko-embed-lab {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"ko-embed-lab {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
