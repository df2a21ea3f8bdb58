"""Build the shipped KoProbe set (BEIR layout + labels) from the hand-written sources.

Sources: ``data_src/probe/<domain>.json`` (one file per domain, written for this project).
Output: ``ko_embed_lab/data/probe/`` — ``corpus.jsonl``, ``queries.jsonl``, ``qrels/test.tsv``,
``query_labels.tsv``, ``passage_labels.tsv``, ``needs.jsonl``. Text is NFC-normalised. Run from the
repository root: ``python scripts/build_probe.py`` (``--check`` fails if the output is stale).

Relevance is judged per query: a need's ``relevant`` grades hold for all its queries, and its optional
``query_relevant`` (``{form: {passage: grade}}``) adds passages relevant to that form's query only
(a sibling that answers a query whose wording leaves the need's qualifier open). Such a passage stays
in the need's ``hard_negatives`` for the other queries and is dropped from that query's.
"""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "data_src" / "probe"
OUT = ROOT / "ko_embed_lab" / "data" / "probe"
FORMS = ("question", "phrase", "keywords", "request", "english")
DOMAIN_ORDER = ("admin", "law", "finance", "commerce", "health", "news", "books", "tech")


def nfc(s: str) -> str:
    return unicodedata.normalize("NFC", s).strip()


def query_grades(need: dict, form: str) -> dict[str, int]:
    """Graded relevant passages of one query: the need's, plus that form's own."""
    extra = need.get("query_relevant", {}).get(form, {})
    clash = set(extra) & set(need["relevant"])
    if clash:
        raise ValueError(f"{need['id']}-{form}: {sorted(clash)} already relevant to the need")
    return {**need["relevant"], **extra}


def build() -> dict[str, str]:
    files: dict[str, str] = {}
    corpus, queries, qrels, qlabels, plabels, needs = [], [], [], [], [], []
    sources = sorted(SRC.glob("*.json"), key=lambda p: DOMAIN_ORDER.index(p.stem) if p.stem in DOMAIN_ORDER else 99)
    for path in sources:
        src = json.loads(path.read_text(encoding="utf-8"))
        dom = src["domain"]
        for p in src["passages"]:
            text = nfc(p["text"])
            corpus.append({"_id": p["id"], "title": nfc(p["title"]), "text": text})
            plabels.append(f"{p['id']}\t{dom}\t{int(bool(p['has_table']))}\t{len(text)}")
        for n in src["needs"]:
            unknown = set(n.get("query_relevant", {})) - set(n["queries"])
            if unknown:
                raise ValueError(f"{n['id']}: query_relevant names forms without a query: {sorted(unknown)}")
            needs.append(
                {
                    "need_id": n["id"],
                    "domain": dom,
                    "description": nfc(n["description"]),
                    "relevant": n["relevant"],
                    "query_relevant": n.get("query_relevant", {}),
                    "hard_negatives": n["hard_negatives"],
                    "answer_in_table": bool(n["answer_in_table"]),
                }
            )
            for form in FORMS:
                text = n["queries"].get(form)
                if not text:
                    continue
                qid = f"{n['id']}-{form}"
                queries.append({"_id": qid, "text": nfc(text)})
                qlabels.append(
                    f"{qid}\t{n['id']}\t{form}\t{dom}\t{int(bool(n['answer_in_table']))}\t{int(form == 'english')}"
                )
                qrels.extend(f"{qid}\t{did}\t{grade}" for did, grade in query_grades(n, form).items())

    def jsonl(rows: list[dict]) -> str:
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)

    files["corpus.jsonl"] = jsonl(corpus)
    files["queries.jsonl"] = jsonl(queries)
    files["qrels/test.tsv"] = "query-id\tcorpus-id\tscore\n" + "".join(r + "\n" for r in qrels)
    files["query_labels.tsv"] = "query-id\tneed-id\tform\tdomain\tanswer_in_table\tcross_lingual\n" + "".join(
        r + "\n" for r in qlabels
    )
    files["passage_labels.tsv"] = "corpus-id\tdomain\thas_table\tn_chars\n" + "".join(r + "\n" for r in plabels)
    files["needs.jsonl"] = jsonl(needs)
    return files


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--check", action="store_true", help="exit 1 if the shipped files differ from a fresh build")
    args = ap.parse_args()
    files = build()
    stale = [
        name
        for name, text in files.items()
        if not (OUT / name).exists() or (OUT / name).read_text(encoding="utf-8") != text
    ]
    if args.check:
        if stale:
            print(f"stale: {stale}; run python scripts/build_probe.py", file=sys.stderr)
            return 1
        return 0
    for name, text in files.items():
        (OUT / name).parent.mkdir(parents=True, exist_ok=True)
        (OUT / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(files)} files to {OUT} ({len(stale)} changed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
