"""Integrity of the shipped KoProbe set and of the long Korean texts."""

import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from ko_embed_lab.data import load_long_korean
from ko_embed_lab.data.probe import FORMS, load_probe

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def probe():
    return load_probe()


def test_shipped_files_match_sources() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_probe.py"), "--check"], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr


def test_counts_meet_minimums(probe) -> None:
    assert len(probe.data.corpus) >= 240
    assert probe.passages["domain"].nunique() >= 8
    assert probe.passages["has_table"].mean() >= 0.20
    assert len(probe.needs) >= 120
    per_need_forms = probe.queries.groupby("need_id")["form"].apply(set)
    assert all({"question", "phrase", "keywords", "request"} <= forms for forms in per_need_forms)
    assert (probe.queries["form"] == "english").sum() >= 15
    assert set(probe.queries["form"]) <= set(FORMS)
    assert probe.passages["n_chars"].between(150, 800).all()


def test_ids_unique_and_qrels_consistent(probe) -> None:
    assert probe.queries.index.is_unique and probe.passages.index.is_unique and probe.needs.index.is_unique
    assert set(probe.passages.index) == set(probe.data.corpus)
    assert set(probe.queries.index) == set(probe.data.queries)  # labels cover every query
    for qid, rels in probe.data.qrels.items():
        assert rels and max(rels.values()) >= 1, qid
        assert set(rels) <= set(probe.data.corpus), qid


def test_hard_negatives_exist_and_are_not_relevant(probe) -> None:
    for need_id, row in probe.needs.iterrows():
        assert len(row["hard_negatives"]) >= 1, need_id
        assert set(row["hard_negatives"]) <= set(probe.data.corpus), need_id
        assert not set(row["hard_negatives"]) & set(row["relevant"]), need_id
    qid = probe.queries.index[0]
    assert probe.hard_negatives(qid) == list(probe.needs.loc[probe.queries.loc[qid, "need_id"], "hard_negatives"])


def test_table_labels_agree_with_text(probe) -> None:
    for pid, row in probe.passages.iterrows():
        text = probe.data.corpus[pid]["text"]
        has_table = any(line.strip().startswith("|") and "---" in line for line in text.splitlines())
        assert has_table == row["has_table"], pid
    for need_id, row in probe.needs.iterrows():
        if row["answer_in_table"]:
            assert any(probe.passages.loc[p, "has_table"] for p, g in row["relevant"].items() if g >= 2), need_id


def test_text_is_nfc_and_clean(probe) -> None:
    texts = [d["text"] for d in probe.data.corpus.values()] + list(probe.data.queries.values())
    assert all(unicodedata.is_normalized("NFC", t) for t in texts)
    assert len(set(d["text"] for d in probe.data.corpus.values())) == len(probe.data.corpus)
    english = probe.queries[probe.queries["form"] == "english"]["text"]
    assert not any(any("\uac00" <= ch <= "\ud7a3" for ch in t) for t in english)


def test_subset_by_labels(probe) -> None:
    phrases = probe.subset(form="phrase")
    assert len(phrases.queries) == (probe.queries["form"] == "phrase").sum()
    with pytest.raises(KeyError, match="unknown label"):
        probe.subset(colour="red")


def test_long_korean_texts_from_konlpy() -> None:
    docs = load_long_korean()
    assert docs[0].id == "kolaw-constitution" and len(docs) == 11
    assert docs[0].text.startswith("대한민국헌법") and len(docs[0].text) > 15000
    assert all(len(d.text) > 1000 for d in docs)
    assert len(load_long_korean("bills")) == 10
    with pytest.raises(ValueError, match="which="):
        load_long_korean("novels")


def test_long_texts_have_no_control_characters() -> None:
    import re

    for doc in load_long_korean():
        assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", doc.text), doc.id
