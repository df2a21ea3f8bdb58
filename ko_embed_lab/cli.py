"""The ``ko-embed-lab`` command line.

Subcommands: ``models`` (the registry), ``encode`` (texts to a ``.npy`` file), ``evaluate``
(retrieval metrics on a BEIR folder or the bundled probe set), ``compare`` (several systems with
paired tests), ``info`` (versions, device, cache home). Logs go to stderr; tables to stdout.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

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
                "offline": s.offline or "no (hub download)",
            }
        )
    if args.json:
        print(json.dumps([s.as_dict() for s in list_specs()], ensure_ascii=False, indent=1))
    else:
        print(_table(rows, list(rows[0])))
    return 0


def _read_texts(path: Path, field: str) -> list[str]:
    if not path.exists():
        raise FileNotFoundError(f"input file {path} does not exist")
    from .data.beir import iter_jsonl

    texts: list[str] = []
    if path.suffix == ".jsonl":
        for lineno, obj in iter_jsonl(path, objects_only=False):
            if isinstance(obj, str):
                texts.append(obj)
            elif isinstance(obj, dict) and isinstance(obj.get(field), str):
                texts.append(obj[field])
            else:
                raise ValueError(f"{path}:{lineno}: expected a string or an object with a string {field!r} field")
    else:
        with path.open(encoding="utf-8") as fh:
            texts = [line.rstrip("\n") for line in fh]
            while texts and not texts[-1].strip():
                texts.pop()
    if not texts:
        raise ValueError(f"{path} holds no texts")
    return texts


def _cmd_encode(args: argparse.Namespace) -> int:
    import numpy as np

    from .models import load_model

    texts = _read_texts(Path(args.input), args.field)
    out = Path(args.output)
    if out.suffix != ".npy":
        raise ValueError(f"--output must end in .npy, got {out.name}")
    model = load_model(args.model, device=args.device, max_seq_length=args.max_seq_length)
    prompt = "" if args.no_prompt else None
    emb = model.encode(
        texts,
        kind="query" if args.query else "document",
        prompt=prompt,
        dim=args.dim,
        cache=not args.no_cache,
        show_progress=not args.quiet,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    with tmp.open("wb") as fh:
        np.save(fh, emb)
    tmp.replace(out)
    meta = {
        "input": str(args.input),
        "n": len(texts),
        "shape": list(emb.shape),
        "kind": "query" if args.query else "document",
        "dim": args.dim,
        **{"model": model.identity()},
    }
    out.with_suffix(".json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"wrote {out} {emb.shape} with {model.label}; metadata in {out.with_suffix('.json').name}")
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from .data.beir import load_beir
    from .models import load_model
    from .retrieval import METRICS, evaluate_retrieval

    if args.data == "probe":
        from .data.probe import load_probe

        data = load_probe().data
    else:
        data = load_beir(args.data, split=args.split, strict=not args.lenient)
    if data.skipped:
        log.warning("skipped while loading: %s", data.skipped)
    model = load_model(args.model, device=args.device, max_seq_length=args.max_seq_length)
    result = evaluate_retrieval(
        model,
        data,
        query_prompt="" if args.no_query_prompt else None,
        cache=not args.no_cache,
        show_progress=not args.quiet,
    )
    rows = [{"metric": m, "value": result.metrics[m]} for m in METRICS]
    print(
        f"{model.label} on {data.name} ({data.split}): {len(data.queries)} queries, {len(data.corpus)} documents, "
        f"query prompt {result.provenance['settings']['query_prompt']!r}"
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
    from .benchmark import cli_benchmark

    return cli_benchmark(args.model, args.tasks, args.batch_size, args.output_folder)


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

    def model_args(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "--model", default=None, help="registry name, hub id or folder (default: bundled / KO_EMBED_LAB_MODEL)"
        )
        sp.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 ...")
        sp.add_argument("--max-seq-length", type=int, default=None, help="override the model's maximum length")
        sp.add_argument("--no-cache", action="store_true", help="do not read or write the embedding cache")
        sp.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    e = sub.add_parser("encode", help="embed texts (txt: one per line; jsonl: strings or objects) into a .npy file")
    e.add_argument("--input", required=True, help="a .txt (one text a line) or .jsonl file")
    e.add_argument("--output", required=True, help="the .npy file to write")
    e.add_argument("--field", default="text", help="jsonl field holding the text (default: text)")
    e.add_argument("--query", action="store_true", help="texts are queries (use the query prompt)")
    e.add_argument("--no-prompt", action="store_true", help="use no prompt at all")
    e.add_argument("--dim", type=int, default=None, help="Matryoshka truncation to this dimension")
    model_args(e)
    e.set_defaults(func=_cmd_encode)

    v = sub.add_parser("evaluate", help="retrieval metrics on a BEIR folder (or 'probe', the bundled Korean set)")
    v.add_argument("--data", required=True, help="BEIR folder, or 'probe' for the project's Korean set")
    v.add_argument("--split", default="test")
    v.add_argument("--no-query-prompt", action="store_true", help="encode queries without the query prompt")
    v.add_argument("--output", default=None, help="write the result record (JSON) here")
    v.add_argument("--save-run", action="store_true", help="include the ranked run in the record")
    v.add_argument("--lenient", action="store_true", help="skip qrels that name unknown ids instead of failing")
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
        help="run the card's Korean retrieval tasks with mteb (needs hub access; 'KoProbe' runs offline)",
    )
    b.add_argument(
        "--model", default=None, help="registry name, hub id or folder (default: bundled / KO_EMBED_LAB_MODEL)"
    )
    b.add_argument("--tasks", nargs="+", default=None, help="mteb task names (default: the card's eight)")
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
    try:
        return int(args.func(args))
    except (FileNotFoundError, ValueError, TypeError) as exc:
        print(f"ko-embed-lab {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        from .models import ModelNotAvailableError

        if isinstance(exc, ModelNotAvailableError):
            print(f"ko-embed-lab {args.command}: error: {exc}", file=sys.stderr)
            return 3
        raise


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
