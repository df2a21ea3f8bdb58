"""Write KoProbe's data card (ko_embed_lab/data/probe/README.md): counts and baselines, computed.

    python scripts/probe_card.py            # bundled model with/without prompt, BM25 (morphemes, whitespace)

Every number in the card comes from this script's run; the card says when and with what.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import pandas as pd

import ko_embed_lab as kel
from ko_embed_lab.analysis import breakdown, metrics_table
from ko_embed_lab.retrieval.lexical import KoreanTokenizer, WhitespaceTokenizer, evaluate_bm25

OUT = Path(__file__).resolve().parent.parent / "ko_embed_lab" / "data" / "probe" / "README.md"


def md_table(df: pd.DataFrame, digits: int = 3) -> str:
    return df.round(digits).to_markdown()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default=None, help="model to evaluate (default: the bundled model)")
    args = ap.parse_args()
    probe = kel.data.load_probe()
    model = kel.load_model(args.model)
    results = {
        f"{model.label} + query prompt": kel.evaluate_retrieval(model, probe.data, cache=True),
        f"{model.label}, no prompt": kel.evaluate_retrieval(model, probe.data, query_prompt="", cache=True),
        "BM25 (kiwi morphemes)": evaluate_bm25(probe.data, tokenizer=KoreanTokenizer()),
        "BM25 (whitespace)": evaluate_bm25(probe.data, tokenizer=WhitespaceTokenizer()),
    }
    q, p, n = probe.queries, probe.passages, probe.needs
    counts_domain = (
        pd.DataFrame(
            {
                "passages": p.groupby("domain").size(),
                "with table": p.groupby("domain")["has_table"].sum(),
                "needs": n.groupby("domain").size(),
                "queries": q.groupby("domain").size(),
                "English queries": q[q["form"] == "english"].groupby("domain").size(),
                "answer in table (queries)": q.groupby("domain")["answer_in_table"].sum(),
            }
        )
        .fillna(0)
        .astype(int)
    )
    counts_domain.loc["total"] = counts_domain.sum()
    counts_form = q.groupby("form").size().rename("queries").to_frame()
    overall = metrics_table(results)[["ndcg@10", "mrr@10", "recall@1", "recall@10", "map@100"]]

    def ndcg_by(label: str) -> pd.DataFrame:
        return breakdown(results, q, label, metrics=("ndcg@10",)).droplevel(1, axis=1).rename(columns={"": "n"})

    by_form, by_domain, by_table = ndcg_by("form"), ndcg_by("domain"), ndcg_by("answer_in_table")
    versions = kel.provenance()["versions"]
    text = TEMPLATE.format(
        n_passages=len(p),
        n_domains=p["domain"].nunique(),
        n_tables=int(p["has_table"].sum()),
        pct_tables=100 * p["has_table"].mean(),
        n_needs=len(n),
        n_queries=len(q),
        n_english=int((q["form"] == "english").sum()),
        n_hard=int(n["hard_negatives"].map(len).sum()),
        counts_domain=md_table(counts_domain),
        counts_form=md_table(counts_form),
        overall=md_table(overall),
        by_form=md_table(by_form),
        by_domain=md_table(by_domain),
        by_table=md_table(by_table.rename(index={False: "answer in prose", True: "answer in a table"})),
        date=dt.date.today().isoformat(),
        model=model.label,
        sha=probe.data.content_hash()[:16],
        versions=", ".join(
            f"{k} {v}"
            for k, v in versions.items()
            if v
            and k in ("ko-embed-lab", "torch", "sentence-transformers", "pytrec-eval-terrier", "kiwipiepy", "bm25s")
        ),
        model_sha=(model.source_sha256 or model.revision or "")[:12],
    )
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


TEMPLATE = """# KoProbe — data card

**KoProbe** is a Korean retrieval evaluation set written for ko-embed-lab to test the claims of the
`dragonkue/snowflake-arctic-embed-l-v2.0-ko` model card that public benchmarks do not measure:
phrase and keyword queries as well as full questions, diverse phrasings of one need, answers inside
Markdown tables, breadth across domains, and English queries against Korean passages.

## Contents

- {n_passages} passages in {n_domains} domains (150–800 characters; {n_tables} — {pct_tables:.0f}% — hold a Markdown table);
- {n_needs} information needs, each asked as a full **question**, a short **phrase**, bare **keywords** and a
  **request** ("~ 알려줘", "~ 궁금해"), and {n_english} of them also in **English**: {n_queries} queries in all;
- graded relevance (2 = answers the need, 1 = partly), and {n_hard} **hard negatives**: for every need,
  passages on the same entity or topic that do not answer it (another year, product, branch, article of a law,
  a preliminary figure, an older edition). The last passage of each need's hard negatives was written
  adversarially: identical in topic and wording to the answer but for the detail the need asks about.

Files (BEIR layout, read by `kel.load_beir` like any other set; `kel.data.load_probe()` adds the labels):

| file | content |
| --- | --- |
| `corpus.jsonl` | `_id`, `title`, `text` |
| `queries.jsonl` | `_id` (`<need>-<form>`), `text` |
| `qrels/test.tsv` | `query-id`, `corpus-id`, `score` (graded) |
| `query_labels.tsv` | `need-id`, `form`, `domain`, `answer_in_table`, `cross_lingual` |
| `passage_labels.tsv` | `domain`, `has_table`, `n_chars` |
| `needs.jsonl` | need id, domain, description, relevant passages, hard negatives, answer-in-table |

Content hash (sha256 of corpus, queries and qrels): `{sha}…`.

### Counts by domain

{counts_domain}

### Queries by form

{counts_form}

## Construction

Written for this project in November 2026, domain by domain (행정 admin, 법률 law, 금융 finance,
상거래 commerce, 의료·보건 health, 뉴스 news, 도서 books, 기술 technology), in natural modern
Korean, as groups of confusable passages (the same programme in two years, the same bank's two
products, neighbouring articles of one ordinance) so that every need has hard negatives. Organisations,
products and people are fictional; some passages restate real Korean public rules (fees, tax credits,
statutory deadlines) from general knowledge, which may be out of date — the set tests retrieval,
not facts. Sources live in `data_src/probe/<domain>.json`; `python scripts/build_probe.py` builds these
files (NFC-normalised) and the tests check that they match.

## Baselines

Produced by `python scripts/probe_card.py` on {date} (model `{model}`, `{model_sha}…`; {versions}), with the
package's own evaluation (exact cosine search, metrics by `pytrec_eval`). BM25 is `bm25s` (k1 1.5, b 0.75)
over content morphemes from `kiwipiepy`, or over whitespace tokens.

### Overall

{overall}

### NDCG@10 by query form

{by_form}

### NDCG@10 by domain

{by_domain}

### NDCG@10: answer in a table or in prose

{by_table}

## Known limitations

- Small: one judged passage (rarely two) per need, so per-domain numbers have wide intervals;
  chapter 1 of the book shows paired bootstrap intervals.
- Queries were written by the same authors as the passages, so they share vocabulary more than real
  user queries do; the keyword and English forms are the least affected by this.
- Relevance was judged by the authors, once; a few hard negatives are deliberately close calls
  (an older edition of a table, a preview written before an event).
- Facts about real Korean rules are not guaranteed current.

## Licence

MIT, as the rest of ko-embed-lab.
"""

if __name__ == "__main__":
    sys.exit(main())
