import json

import pytest

from ko_embed_lab import cli
from ko_embed_lab.registry import REGISTRY, get_spec, resolve_name


def test_registry_covers_the_card_models() -> None:
    for hub_id in [
        "dragonkue/snowflake-arctic-embed-l-v2.0-ko",
        "Snowflake/snowflake-arctic-embed-l-v2.0",
        "dragonkue/BGE-m3-ko",
        "nlpai-lab/KURE-v1",
        "BAAI/bge-m3",
        "intfloat/multilingual-e5-large",
        "intfloat/multilingual-e5-base",
        "intfloat/multilingual-e5-small",
        "nlpai-lab/KoE5",
    ]:
        assert hub_id in REGISTRY
    target = get_spec("arctic-ko")
    assert target is not None
    assert (target.dim, target.pooling, target.query_prompt, target.document_prompt) == (1024, "cls", "query: ", "")
    assert target.max_seq_length == 8192 and target.train_max_length == 1300
    assert resolve_name("BUNDLED") == "bundled/multilingual-e5-small-q4"
    assert get_spec("no/such-model") is None


def test_cli_models_table_and_json(capsys) -> None:
    assert cli.main(["models"]) == 0
    out = capsys.readouterr().out
    assert "dragonkue/snowflake-arctic-embed-l-v2.0-ko" in out and "'query: '" in out
    assert cli.main(["models", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["name"] for r in rows} == set(REGISTRY)


def test_cli_reports_bad_input_without_traceback(tmp_path, capsys) -> None:
    assert cli.main(["encode", "--input", str(tmp_path / "none.txt"), "--output", str(tmp_path / "o.npy")]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and "Traceback" not in err
    bad = tmp_path / "in.jsonl"
    bad.write_text('{"text": 3}\n', encoding="utf-8")
    assert cli.main(["encode", "--input", str(bad), "--output", str(tmp_path / "o.npy")]) == 2
    assert "string 'text' field" in capsys.readouterr().err
    assert cli.main(["evaluate", "--data", str(tmp_path / "nope")]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_cli_requires_a_command() -> None:
    with pytest.raises(SystemExit):
        cli.main([])


def test_cli_encode_and_evaluate_with_the_bundled_model(tmp_path, capsys) -> None:
    import numpy as np

    from ko_embed_lab.analysis import CARD_DOCUMENTS, CARD_QUERIES
    from ko_embed_lab.data.beir import RetrievalSet, save_beir

    txt = tmp_path / "q.txt"
    txt.write_text("\n".join(CARD_QUERIES) + "\n\n", encoding="utf-8")
    assert (
        cli.main(["encode", "--input", str(txt), "--output", str(tmp_path / "q.npy"), "--query", "--dim", "128"]) == 0
    )
    emb = np.load(tmp_path / "q.npy")
    assert emb.shape == (2, 128)
    meta = json.loads((tmp_path / "q.npy.json").read_text(encoding="utf-8"))
    assert meta["kind"] == "query" and meta["model"]["model"] == "bundled/multilingual-e5-small-q4"
    jl = tmp_path / "d.jsonl"
    jl.write_text("".join(json.dumps({"text": d}, ensure_ascii=False) + "\n" for d in CARD_DOCUMENTS), encoding="utf-8")
    assert cli.main(["encode", "--input", str(jl), "--output", str(tmp_path / "d.npy")]) == 0
    assert np.load(tmp_path / "d.npy").shape == (2, 384)

    data = RetrievalSet(
        "card",
        {"d1": {"title": "", "text": CARD_DOCUMENTS[0]}, "d2": {"title": "", "text": CARD_DOCUMENTS[1]}},
        {"q1": CARD_QUERIES[0], "q2": CARD_QUERIES[1]},
        {"q1": {"d1": 1}, "q2": {"d2": 1}},
    )
    save_beir(data, tmp_path / "beir")
    capsys.readouterr()
    assert cli.main(["evaluate", "--data", str(tmp_path / "beir"), "--output", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert "ndcg@10" in out and "1.0000" in out
    rec = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert rec["metrics"]["ndcg@10"] == 1.0
    assert rec["provenance"]["dataset"]["n_queries"] == 2
    assert rec["provenance"]["model"]["source_sha256"]
