import json

import pytest

from ko_embed_lab.data.beir import RetrievalSet, load_beir, save_beir


def _write(root, corpus, queries, qrels, split="test", header=True):
    (root / "qrels").mkdir(parents=True, exist_ok=True)
    (root / "corpus.jsonl").write_text(
        "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in corpus), encoding="utf-8"
    )
    (root / "queries.jsonl").write_text(
        "".join(json.dumps(q, ensure_ascii=False) + "\n" for q in queries), encoding="utf-8"
    )
    lines = (["query-id\tcorpus-id\tscore"] if header else []) + [f"{q}\t{d}\t{s}" for q, d, s in qrels]
    (root / "qrels" / f"{split}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")


CORPUS = [
    {"_id": "d1", "title": "서울", "text": "대한민국의 수도는 서울이다."},
    {"_id": "d2", "title": "", "text": "한글은 세종대왕이 창제하였다."},
]
QUERIES = [
    {"_id": "q1", "text": "대한민국의 수도는?"},
    {"_id": "q2", "text": "한글을 만든 사람은?"},
    {"_id": "q3", "text": "판단이 없는 질의"},
]


def test_round_trip_and_skipped_counts(tmp_path) -> None:
    _write(tmp_path, CORPUS, QUERIES, [("q1", "d1", 1), ("q2", "d2", 2)])
    ds = load_beir(tmp_path)
    assert list(ds.queries) == ["q1", "q2"]
    assert ds.skipped == {"queries_without_judgments": 1}
    assert ds.doc_texts()[0] == "서울 대한민국의 수도는 서울이다."
    assert ds.qrels["q2"] == {"d2": 2}
    save_beir(ds, tmp_path / "copy")
    again = load_beir(tmp_path / "copy")
    assert again.content_hash() == ds.content_hash()


def test_headerless_qrels_are_read(tmp_path) -> None:
    _write(tmp_path, CORPUS, QUERIES, [("q1", "d1", 1)], header=False)
    assert load_beir(tmp_path).qrels == {"q1": {"d1": 1}}


@pytest.mark.parametrize(
    ("corpus", "queries", "qrels", "message"),
    [
        ([*CORPUS, CORPUS[0]], QUERIES, [("q1", "d1", 1)], "duplicate id 'd1'"),
        (CORPUS, QUERIES, [("q1", "d9", 1)], "unknown corpus ids"),
        (CORPUS, QUERIES, [("q9", "d1", 1)], "unknown query ids"),
        (CORPUS, QUERIES, [("q1", "d1", "high")], "not an integer"),
        (CORPUS, QUERIES, [("q1", "d1", 1), ("q1", "d1", 1)], "judged twice"),
        (CORPUS, QUERIES, [("q1", "d1", 0)], "no query has a relevant document"),
        ([], QUERIES, [("q1", "d1", 1)], "is empty"),
        ([{"title": "x", "text": "y"}], QUERIES, [("q1", "d1", 1)], "missing '_id'"),
    ],
)
def test_bad_sets_raise_clear_errors(tmp_path, corpus, queries, qrels, message) -> None:
    _write(tmp_path, corpus, queries, qrels)
    with pytest.raises(ValueError, match=message):
        load_beir(tmp_path)


def test_lenient_mode_counts_unknown_ids(tmp_path) -> None:
    _write(tmp_path, CORPUS, QUERIES, [("q1", "d1", 1), ("q1", "d9", 1), ("q7", "d1", 1)])
    ds = load_beir(tmp_path, strict=False)
    assert ds.skipped["qrels_unknown_document"] == 1 and ds.skipped["qrels_unknown_query"] == 1


def test_missing_files_and_splits(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="not a folder"):
        load_beir(tmp_path / "nope")
    _write(tmp_path, CORPUS, QUERIES, [("q1", "d1", 1)], split="dev")
    with pytest.raises(FileNotFoundError, match=r"splits present: \['dev'\]"):
        load_beir(tmp_path, split="test")
    (tmp_path / "corpus.jsonl").write_text("{not json\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"corpus.jsonl:1: not valid JSON"):
        load_beir(tmp_path, split="dev")


def test_subset_keeps_corpus() -> None:
    ds = RetrievalSet("t", {"d": {"title": "", "text": "x"}}, {"a": "1", "b": "2"}, {"a": {"d": 1}, "b": {"d": 1}})
    sub = ds.subset(["b"])
    assert list(sub.queries) == ["b"] and sub.corpus is ds.corpus
    with pytest.raises(KeyError):
        ds.subset(["zz"])
