"""Extract the model card's benchmark tables into the package's data files (run once, kept for the record).

Input: the model card text of ``dragonkue/snowflake-arctic-embed-l-v2.0-ko``, shipped as package data in
``ko_embed_lab/data/reported/model_card.txt`` (its source is noted in that folder's README), or ``--card PATH``.
Output: ``ko_embed_lab/data/reported/``

* ``card_retrieval.csv`` — the card's table "Information Retrieval": NDCG@10 of 22 models on 7
  Korean retrieval tasks of MTEB and the card's own average; the card's one ``nan`` stays empty.
* ``card_mldr.csv`` — the card's MultiLongDocRetrieval table (20 models); names like
  ``BAAI/bge-m3/BAAI_bge-m3`` are normalised to hub ids, the card's label is kept beside.
* ``models.csv`` — parameters, output dimension and maximum input length of every model named,
  from ``ko_embed_lab.registry`` where the model is registered, else from the model registry that
  ships with the installed ``mteb`` (its version is written in the header); missing stays empty.

Every file starts with ``#`` comment lines naming the card, its URL, that the figures are reported
(not measured here), and the sha256 of the card text read. Run from the repository root:
``python scripts/extract_reported.py`` (``--check`` fails if the files are stale).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "ko_embed_lab" / "data" / "reported"
CARD_MODEL = "dragonkue/snowflake-arctic-embed-l-v2.0-ko"
CARD_URL = f"https://huggingface.co/{CARD_MODEL}"
SHORT_COLUMNS = (
    "MrTidyRetrieval",
    "MIRACLRetrieval",
    "XPQARetrieval",
    "BelebeleRetrieval",
    "PublicHealthQA",
    "AutoRAGRetrieval",
    "Ko-StrategyQA",
)


CARD_TEXT = OUT / "model_card.txt"


def _default_card() -> Path:
    if not CARD_TEXT.exists():
        raise SystemExit(f"no card text at {CARD_TEXT}; pass --card PATH")
    return CARD_TEXT


def _cell(text: str) -> str:
    # Bold (**x**) and italic (_x_) mark the card's best and second best; tabs slipped into some rows.
    return text.strip().strip("*").strip("_").strip()


def _table_after(lines: list[str], heading: str) -> list[list[str]]:
    """Rows (header first, separator dropped) of the first Markdown table after ``heading``."""
    start = next((i for i, line in enumerate(lines) if line.strip().startswith(heading)), None)
    if start is None:
        raise SystemExit(f"card has no section starting with {heading!r}")
    rows: list[list[str]] = []
    for line in lines[start + 1 :]:
        if line.lstrip().startswith("|"):
            cells = [_cell(c) for c in line.strip().strip("|").split("|")]
            if all(set(c) <= set(":-") for c in cells if c):
                continue
            rows.append(cells)
        elif rows:
            break
    return rows


def _number(text: str) -> str:
    if text.lower() == "nan":
        return ""
    float(text)  # fails loudly on anything that is not a number
    return text


def _hub_id(card_label: str) -> str:
    """``BAAI/bge-m3/BAAI_bge-m3`` → ``BAAI/bge-m3`` (the card's MLDR rows append mteb's folder name)."""
    parts = card_label.split("/")
    return "/".join(parts[:2])


def _header(what: str, card_sha: str, extra: str = "", *, reported: bool = True) -> str:
    lines = [f"# {what}"]
    if reported:
        lines += [
            "# REPORTED figures, copied from the model card; they were not measured by ko-embed-lab.",
            f"# Source: model card of {CARD_MODEL}, {CARD_URL}",
            f"# Card text sha256 {card_sha}; extracted by scripts/extract_reported.py. Metric: NDCG@10 (0-1).",
        ]
    else:
        lines += [
            f"# Models named in the model card of {CARD_MODEL}, {CARD_URL}",
            f"# Card text sha256 {card_sha}; extracted by scripts/extract_reported.py.",
        ]
    if extra:
        lines.append(f"# {extra}")
    return "\n".join(lines) + "\n"


def build(card: Path) -> dict[str, str]:
    text = card.read_text(encoding="utf-8")
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    lines = text.splitlines()

    short = _table_after(lines, "### Information Retrieval")
    header = short[0]
    if header[:2] != ["Model", "Average"] or tuple(header[2:]) != SHORT_COLUMNS:
        raise SystemExit(f"unexpected header of the retrieval table: {header}")
    body = [row[: len(header)] for row in short[1:]]
    out = io.StringIO()
    out.write(
        _header(
            "Korean retrieval tasks of MTEB, NDCG@10, as reported in the card's table 'Information Retrieval'.",
            sha,
            "Column 'average' is the card's own; an empty cell is the card's 'nan' (missing).",
        )
    )
    out.write("model,average," + ",".join(SHORT_COLUMNS) + "\n")
    models = []
    n_missing = 0
    for row in body:
        name = row[0].strip()
        models.append(name)
        cells = [_number(c) for c in row[1:]]
        n_missing += sum(1 for c in cells if not c)
        out.write(",".join([name, *cells]) + "\n")
    if len(models) != 22 or len(set(models)) != 22:
        raise SystemExit(f"expected 22 distinct models in the retrieval table, got {len(models)}")
    if n_missing != 1:
        raise SystemExit(f"expected exactly one missing value ('nan') in the card, found {n_missing}")
    files = {"card_retrieval.csv": out.getvalue()}

    mldr = _table_after(lines, "In the case of **snowflake-arctic-embed-l-v2.0-ko**")
    if [c for c in mldr[0] if c] != ["Model", "MultiLongDocRetrieval"]:
        raise SystemExit(f"unexpected header of the MLDR table: {mldr[0]}")
    out = io.StringIO()
    out.write(
        _header(
            "MultiLongDocRetrieval (Korean), NDCG@10, as reported in the card's section 'Bias, Risks and Limitations'.",
            sha,
            "'card_label' is the name as printed in the card; 'model' is its hub id.",
        )
    )
    out.write("model,card_label,MultiLongDocRetrieval\n")
    mldr_models = []
    for row in mldr[1:]:
        label = row[0].strip()
        hub = _hub_id(label)
        if hub not in models:
            raise SystemExit(f"MLDR row {label!r} → {hub!r} is not a model of the retrieval table")
        mldr_models.append(hub)
        out.write(f"{hub},{label},{_number(row[1])}\n")
    if len(mldr_models) != 20 or len(set(mldr_models)) != 20:
        raise SystemExit(f"expected 20 distinct models in the MLDR table, got {len(mldr_models)}")
    files["card_mldr.csv"] = out.getvalue()
    files["models.csv"] = _models_csv(models, sha)
    return files


def _models_csv(models: list[str], card_sha: str) -> str:
    from importlib import metadata

    from mteb.models.get_model_meta import MODEL_REGISTRY

    from ko_embed_lab.registry import get_spec

    mteb_version = metadata.version("mteb")
    out = io.StringIO()
    out.write(
        _header(
            "Facts about the models the card compares: parameters (millions), output dimension, max input tokens.",
            card_sha,
            f"Not from the card: from ko_embed_lab.registry where registered, else mteb {mteb_version}'s model "
            "registry (ModelMeta.n_parameters / embed_dim / max_tokens); empty = unknown.",
            reported=False,
        )
    )
    out.write("model,params_millions,dim,max_tokens,facts_source\n")
    for name in models:
        spec = get_spec(name)
        if spec is not None and spec.name == name:
            row = [name, str(spec.params_millions), str(spec.dim), str(spec.max_seq_length), "ko_embed_lab.registry"]
        else:
            meta = MODEL_REGISTRY.get(name)
            if meta is None:
                row = [name, "", "", "", ""]
            else:
                params = "" if meta.n_parameters is None else str(round(meta.n_parameters / 1e6))
                dim = "" if meta.embed_dim is None else str(int(meta.embed_dim))
                tokens = "" if meta.max_tokens is None else str(int(meta.max_tokens))
                row = [name, params, dim, tokens, f"mteb {mteb_version} model registry"]
        out.write(",".join(row) + "\n")
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--card",
        type=Path,
        default=None,
        help="the model card text (default: ko_embed_lab/data/reported/model_card.txt)",
    )
    p.add_argument("--check", action="store_true", help="fail if the files on disk differ from a fresh extraction")
    args = p.parse_args(argv)
    files = build(args.card or _default_card())
    if args.check:
        stale = [n for n, t in files.items() if not (OUT / n).exists() or (OUT / n).read_text(encoding="utf-8") != t]
        if stale:
            print(f"stale: {stale}; run python scripts/extract_reported.py", file=sys.stderr)
            return 1
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (OUT / name).write_text(text, encoding="utf-8")
        print(f"wrote {OUT / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
