"""Write KoProbe's data card (ko_embed_lab/data/probe/README.md): counts and baselines, computed.

    python scripts/probe_card.py            # bundled model with/without prompt, BM25 (morphemes, whitespace)

Every number in the card comes from this script's run; the card says when and with what.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

import pandas as pd

import ko_embed_lab as kel
from ko_embed_lab.retrieval.breakdown import breakdown, metrics_table
from ko_embed_lab.retrieval.lexical import KoreanTokenizer, WhitespaceTokenizer, evaluate_bm25

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "ko_embed_lab" / "data" / "probe" / "README.md"
JUDGING = ROOT / "data_src" / "probe" / "judging"
FORM_ORDER = ("question", "phrase", "keywords", "request", "english")
#: NDCG@10 of the bundled model with its query prompt on the per-need judgments (card of 2026-11-27).
OLD_NDCG = {
    "all queries": 0.862,
    "question": 0.893,
    "phrase": 0.900,
    "keywords": 0.861,
    "request": 0.839,
    "english": 0.727,
}


def md_table(df: pd.DataFrame, digits: int = 3) -> str:
    return df.round(digits).to_markdown()


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def rejudging(probe) -> dict[str, str]:
    """Counts and lists for the card's re-judging section, from ``data_src/probe/judging``."""
    pass1 = pd.DataFrame(read_jsonl(JUDGING / "pass1.jsonl"))
    pass1["form"] = pass1["query_id"].str.rsplit("-", n=1).str[1]
    edits = read_jsonl(JUDGING / "edits.jsonl")
    edited = {e["query_id"] for e in edits}
    regraded = {
        f"{need}-{form}": grades
        for need, row in probe.needs.iterrows()
        for form, grades in row["query_relevant"].items()
    }
    hn = pass1[pass1["role"] == "hard_negative"]
    rel = pass1[pass1["role"] == "relevant"]
    adj_path = JUDGING / "adjudication.jsonl"
    adjudication = read_jsonl(adj_path) if adj_path.exists() else []
    adj_pos = {(r["query_id"], r["passage_id"]): r for r in adjudication if r.get("final_current", r["final"]) > 0}
    adj_forms = pd.Series([q.rsplit("-", 1)[1] for q, _ in adj_pos], dtype=object)
    regraded_pass1 = set(regraded) & set(hn.loc[hn["grade"] > 0, "query_id"])
    regraded_adj = {q for q, _ in adj_pos} - regraded_pass1
    per_form = pd.DataFrame(
        {
            "queries": probe.queries.groupby("form").size(),
            "(query, hard negative) pairs": hn.groupby("form").size(),
            "graded 1": hn[hn["grade"] == 1].groupby("form").size(),
            "graded 2": hn[hn["grade"] == 2].groupby("form").size(),
            "queries affected": hn[hn["grade"] > 0].groupby("form")["query_id"].nunique(),
            "queries edited": pd.Series([q.rsplit("-", 1)[1] for q in edited]).value_counts(),
            "queries re-graded": pd.Series([q.rsplit("-", 1)[1] for q in regraded]).value_counts(),
            "adjudicated to 1": adj_forms.value_counts(),
        }
    )
    per_form = per_form.reindex(FORM_ORDER).fillna(0).astype(int)
    per_form.index.name = "form"
    per_form.loc["total"] = per_form.sum()
    edited_md = "\n".join(
        f"- `{e['query_id']}`: {e['old']} → **{e['new']}** (was answered by "
        + ", ".join(f"`{p}`" for p in e["pass1_positive_hard_negatives"])
        + ")"
        for e in sorted(edits, key=lambda e: e["query_id"])
    )
    notes = {(r.query_id, r.passage_id): r.note for r in hn.itertuples()}
    notes |= {key: f"adjudicated: {r['reason']}" for key, r in adj_pos.items()}
    regraded_md = "\n".join(
        f"- `{q}` ({probe.data.queries[q]}): "
        + "; ".join(f"`{p}` → {g} ({notes.get((q, p), '')})" for p, g in grades.items())
        for q, grades in sorted(regraded.items())
    )
    sys.path.insert(0, str(ROOT / "scripts"))
    import probe_agreement

    g1 = probe_agreement.load_grades(probe_agreement.PASS1)
    g2 = probe_agreement.load_grades(probe_agreement.PASS2) if probe_agreement.PASS2.exists() else {}
    sample = probe_agreement.sample_pairs()
    agree = probe_agreement.agreement(g1, g2)
    vs_adjudicated = probe_agreement.against_adjudication(g1, g2, sample)
    return {
        "n_pairs_judged": f"{len(pass1):,}",
        "n_hn_pairs": f"{len(hn):,}",
        "n_rel_pairs": f"{len(rel):,}",
        "n_rel_confirmed": f"{int((rel['grade'] > 0).sum()):,}",
        "n_hn_positive": str(int((hn["grade"] > 0).sum())),
        "n_queries_affected": str(hn.loc[hn["grade"] > 0, "query_id"].nunique()),
        "pct_queries_affected": f"{100 * hn.loc[hn['grade'] > 0, 'query_id'].nunique() / len(probe.queries):.1f}",
        "n_edited": str(len(edited)),
        "n_regraded": str(len(regraded)),
        "n_regraded_pass1": str(len(regraded_pass1)),
        "n_regraded_adj": str(len(regraded_adj)),
        "n_adj_positive": str(len(adj_pos)),
        "n_query_relevant_pass1": str(sum(len(regraded[q]) for q in regraded_pass1)),
        "n_query_relevant": str(sum(len(g) for g in regraded.values())),
        "per_form": md_table(per_form),
        "edited_list": edited_md,
        "regraded_list": regraded_md,
        "agreement": probe_agreement.markdown(agree, len(sample), vs_adjudicated).rstrip("\n"),
    }


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
    main_label = f"{model.label} + query prompt"
    new_ndcg = {"all queries": overall.loc[main_label, "ndcg@10"]} | {
        f: by_form.loc[f, main_label] for f in FORM_ORDER if f in by_form.index
    }
    change = pd.DataFrame(
        {"per need (2026-11-27)": pd.Series(OLD_NDCG), "per query (this card)": pd.Series(new_ndcg)}
    ).reindex(list(OLD_NDCG))
    change["change"] = (change["per query (this card)"] - change["per need (2026-11-27)"]).round(3).add(0.0)
    change = change.apply(lambda col: col.map("{:+.3f}".format if col.name == "change" else "{:.3f}".format))
    change.index.name = "queries"
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
        n_hard_q=sum(len(probe.hard_negatives(qid)) for qid in q.index),
        n_qrels=sum(len(r) for r in probe.data.qrels.values()),
        **rejudging(probe),
        counts_domain=md_table(counts_domain),
        counts_form=md_table(counts_form),
        overall=md_table(overall),
        by_form=md_table(by_form),
        by_domain=md_table(by_domain),
        by_table=md_table(by_table.rename(index={False: "answer in prose", True: "answer in a table"})),
        change=change.to_markdown(disable_numparse=True, colalign=("left", "right", "right", "right")),
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
- graded relevance **per query** (2 = answers the query as written, 1 = partly; {n_qrels} judged
  (query, passage) pairs in the qrels), and {n_hard} **hard negatives**: for every need, passages on the same
  entity or topic that do not answer it (another year, product, branch, article of a law, a preliminary
  figure, an older edition). The last passage of each need's hard negatives was written adversarially:
  identical in topic and wording to the answer but for the detail the need asks about. Where a query's
  wording leaves that detail open, the sibling it then answers is relevant to that query alone and is
  not one of its hard negatives: {n_hard_q} (query, hard negative) pairs in all (see *Relevance judging*).

Files (BEIR layout, read by `kel.load_beir` like any other set; `kel.data.load_probe()` adds the labels):

| file | content |
| --- | --- |
| `corpus.jsonl` | `_id`, `title`, `text` |
| `queries.jsonl` | `_id` (`<need>-<form>`), `text` |
| `qrels/test.tsv` | `query-id`, `corpus-id`, `score` (graded, per query) |
| `query_labels.tsv` | `need-id`, `form`, `domain`, `answer_in_table`, `cross_lingual` |
| `passage_labels.tsv` | `domain`, `has_table`, `n_chars` |
| `needs.jsonl` | need id, domain, description, relevant passages (all its queries), `query_relevant` (`{{form: {{passage: grade}}}}`, one query's only), hard negatives, answer-in-table |

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

## Relevance judging

**Rule.** Relevance is judged per *query*, not per need: the query as written is what counts, not the
need's description.

- **2** — the passage fully answers the query as written: a reader who typed this query would be satisfied.
- **1** — it answers part of the query, or answers it under an assumption the query leaves open (which
  pool, which year, which variant of a product, which reading of an ambiguous phrase).
- **0** — otherwise.

How the rule was applied: a query that names what separates the siblings (the year, the branch, the
product by its name) makes the others 0; one that drops it (keywords without the year, a request
without the pool's name, a product named only by brand and category) makes a sibling that answers under
the open reading 1. A passage that says it is superseded or over (an old fee table, a law before its
amendment, an ended event) stays 0 for an undated query, whose default reading is "now"; one of a series
of dated facts that does not (quarterly results, a past year's holiday schedule) is 1 for a query
without a date. The default sense of a term (전입신고 for a citizen, 인세 for the author) is not an open
assumption.

**Clarifications (adjudication, 2026-11-30).** The two passes disagreed on the sample because they read
the rule differently in four ways. The adjudication (below) decided each reading as follows, and these
decisions are now part of the rule:

- *A passage is superseded or over only if it says so.* A table titled 종전 or 개편 전, a rate table
  that "applied until 31 December 2024" and has been replaced, an event that "has ended": 0 for an
  undated query, even though its figure was right once. An older dated passage that does not say it has
  been replaced (a quarterly result, a past price rise, a past year's holiday schedule) is one of a
  series: 1 for an undated query, including one in the present or conditional tense ("값 오르면 얼마",
  "오른다던데"). A month, or a relative date that pins the time (올해, 요즘), counts as a date.
- *A product named by its name is that product.* A query that names the model or product (누비폰 X5,
  누리 트래블 신용카드, 늘봄 든든 암보험, Hanbit Bike) rules out a sibling whose own name adds a word
  (울트라, 프리미엄, 어린이, 한빛e바이크): 0. A variant is left open only by a query that gives the brand
  and category without the name, or by a description that fits both products (오디오북 무제한 요금제).
- *"Partly" means part of what the query asks for, not something next to it.* These are 0: a preview or
  a postponement that says the figure or date asked for is not decided yet; a neighbouring case (what
  to do with a passport found after it was reported lost, for someone who has just lost one); a
  finished book, for "what is she writing now"; a price table that does not mention the rise the query
  asks about. An interim figure (turnout at 6 pm, a share from a partial count, rainfall so far) is 1
  for a query that does not ask for the final figure, and 0 for one that does (최종, 총, the winner's
  share).
- *The default sense of a term is not an open reading* (unchanged): 인세 on its own is the author's
  royalty, not a translator's.

**Two passes.** Pass 1 (`data_src/probe/judging/pass1.jsonl`) judged every query against every
relevant passage and hard negative of its need: {n_pairs_judged} pairs, {n_hn_pairs} of them (query, hard
negative) and {n_rel_pairs} (query, relevant passage; {n_rel_confirmed} confirmed relevant), each with a
short reason where a hard negative was graded above 0. Before anything was changed, the (query, hard
negative) pairs of the original per-need data were frozen in `pairs.jsonl`; a second, independent pass
(`pass2.jsonl`) judges a sample of them drawn by `scripts/probe_agreement.py` (the sorted pairs,
`random.Random(19).sample(pairs, 150)`), and that script reports Cohen's kappa between the passes on the
pairs both judged, on relevant-or-not and on the three grades.

{agreement}

**Disagreement and adjudication.** Before adjudication the passes agreed on 134 of the 150 sampled
pairs (raw agreement 0.893), but Cohen's kappa was only 0.18. Pass 1 graded 2 pairs above 0 and pass 2
graded 18, and in all 16 disagreements pass 1 gave 0 and pass 2 gave 1. They fall into the four
readings above:

- four passages that say they are superseded or over (`law-p34`, `commerce-p40`, `commerce-p47`,
  `finance-p45`), which pass 2 graded 1 for undated queries;
- four products that the query names, where pass 2 took a separately named variant as an open reading
  (`commerce-p33`, `finance-p35`, `finance-p47`, `admin-p45`);
- six partial grades for passages next to the answer (`news-p40`, `news-p42`, `admin-p36`, `books-p23`,
  `tech-p07`, and `news-p39` for a request that asks for the total);
- a translator's-royalty table for 인세 (`books-p42`), and a dated price rise for an undated request
  (`news-p47` for `news-n15-request`).

An adjudicator read each pair against the written rule, on the original query text and, for the one
query edited since (`tech-n07-phrase`), on the current text too. The final grade and a reason for each
pair are in `judging/adjudication.jsonl`. Fifteen pairs are 0, as pass 1 had them. One is 1:
`news-n15-request` / `news-p47`, a dated series, which pass 1 itself had graded 1 for that need's
undated phrase and keywords forms. The adjudicator then read all of pass 1's 0-graded pairs for the same
patterns. Only the interim-figure reading changed any: the mid-season rainfall article `news-p39` answers
the `news-n07` question, phrase, keywords and English forms in part, because unlike the request they do
not ask for the total (pass 1 had graded interim counts 1 in the same way for `news-n02` and
`news-n03`). These 4 pairs are in `adjudication.jsonl` with `"source": "rule clarification"`. The
other readings confirmed pass 1's grades. All {n_adj_positive} pairs adjudicated to 1 are now per-query
grades (`query_relevant`), listed with the others below.

### Re-judging (2026-11-30)

A review found that relevance and hard negatives had been judged per need while the keyword, request and
English forms often drop the qualifier that separates sibling passages. Pass 1 graded {n_hn_positive} of
the {n_hn_pairs} (query, hard negative) pairs above 0, touching {n_queries_affected} queries
({pct_queries_affected}% of the set). Each was fixed in the more natural of two ways: {n_edited} queries
name the qualifier again, in their form's style (`judging/edits.jsonl` keeps the old text and the
re-check of the new one against its need's passages), and in {n_regraded_pass1} queries that are naturally
open the sibling is now relevant to that query alone ({n_query_relevant_pass1} passages, need-level
`query_relevant` in the sources) and is no longer one of its hard negatives. The adjudication added
{n_adj_positive} such per-query grades in {n_regraded_adj} more queries. In all, {n_edited} queries are edited
and {n_regraded} are re-graded ({n_query_relevant} per-query passages). The column "adjudicated to 1" counts
the pairs that the adjudication graded 1 where pass 1 had graded them 0.

{per_form}

Queries edited:

{edited_list}

Queries re-graded (passage → grade for that query, and why):

{regraded_list}

Judged not to need a fix, although the review suspected them: `finance-n13-english` (the summer
exchange event it might match had ended: 0) and `books-n15-request` ("요즘" asks about now, which the
2022 interview does not answer: 0).

NDCG@10 of `{model}` with its query prompt before and after (edited queries and per-query grades
together; the old numbers are from the card of 2026-11-27, on the per-need judgments):

{change}

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
- Relevance was judged by the authors, per query, in one full pass. A second, independent pass
  covers only a sample of 150 (query, hard negative) pairs, few of them positive, so its kappa is a
  rough check. The 16 pairs on which the passes disagreed were adjudicated, and the rule was clarified
  (see *Relevance judging*). A few hard negatives are deliberately close calls (an older edition of a
  table, a preview written before an event).
- Facts about real Korean rules are not guaranteed current.

## Licence

MIT, as the rest of ko-embed-lab.
"""

if __name__ == "__main__":
    sys.exit(main())
