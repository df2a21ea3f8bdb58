"""Encoding with the bundled model: prompts, batching, Matryoshka, cache, bad input."""

from __future__ import annotations

import importlib
import logging

import numpy as np
import pytest

import ko_embed_lab as kel
from ko_embed_lab.analysis import CARD_DOCUMENTS, CARD_QUERIES
from ko_embed_lab.data.korean_long import load_long_korean

enc_mod = importlib.import_module("ko_embed_lab.encode")  # the module, not kel.encode

MIXED = [
    "짧은 문장.",
    "대한민국의 수도는 서울이다.",
    load_long_korean("constitution")[0].text[:3000],  # > 512 tokens: truncated by the model
    "한글은 세종대왕이 창제하였다. " * 20,
    "Samsung Galaxy 가격 1,200,000원",
]


@pytest.mark.parametrize("prompt", [None, ""])
def test_card_example_ranks_right_document_first(model, prompt) -> None:
    q = model.encode_queries(CARD_QUERIES, prompt=prompt)
    d = model.encode_documents(CARD_DOCUMENTS)
    assert list((q @ d.T).argmax(axis=1)) == [0, 1]


def test_output_is_normalised_float32(model) -> None:
    e = model.encode_documents(MIXED)
    assert e.dtype == np.float32 and e.shape == (len(MIXED), 384)
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)
    empty = model.encode_documents([])
    assert empty.shape == (0, 384) and empty.dtype == np.float32
    assert model.encode_documents([], dim=64).shape == (0, 64)


def test_token_budget_batching_equals_plain_sentence_transformers(model) -> None:
    ours = model.encode_documents(MIXED, batch_tokens=600)  # forces several small batches
    plain = model.st.encode(MIXED, prompt="passage: ", normalize_embeddings=True, batch_size=2)
    assert np.abs(ours - plain).max() < 1e-5


def test_prompts_default_off_and_custom(model) -> None:
    texts = ["서울의 인구는?"]
    default = model.encode_queries(texts)
    assert np.abs(default - model.st.encode(texts, prompt="query: ", normalize_embeddings=True)).max() < 1e-5
    off = model.encode_queries(texts, prompt="")
    assert np.abs(off - model.st.encode(texts, normalize_embeddings=True)).max() < 1e-5
    custom = model.encode_queries(texts, prompt="passage: ")
    assert np.abs(custom - model.encode_documents(texts)).max() < 1e-6
    assert np.abs(default - off).max() > 1e-3
    with pytest.raises(ValueError, match="kind="):
        model.encode(texts, kind="passage")


def test_matryoshka_truncation(model) -> None:
    full = model.encode_documents(MIXED[:2])
    cut = model.encode_documents(MIXED[:2], dim=128)
    expected = full[:, :128] / np.linalg.norm(full[:, :128], axis=1, keepdims=True)
    np.testing.assert_allclose(cut, expected, atol=1e-6)
    for bad in (0, 385, 1.5, True):
        with pytest.raises(ValueError, match="dim="):
            model.encode_documents(MIXED[:1], dim=bad)


def test_duplicates_are_encoded_once(model, monkeypatch) -> None:
    seen: list[int] = []
    real = enc_mod._compute

    def spy(m, texts, *args, **kwargs):
        seen.append(len(texts))
        return real(m, texts, *args, **kwargs)

    monkeypatch.setattr(enc_mod, "_compute", spy)
    out = model.encode_documents(["가", "나", "가", "가"])
    assert seen == [2]
    np.testing.assert_array_equal(out[0], out[2])


def test_cache_hit_is_identical_and_skips_the_model(model, tmp_path, monkeypatch) -> None:
    cache = kel.EmbeddingCache(tmp_path)
    first = model.encode_documents(MIXED, cache=cache)

    def boom(*args, **kwargs):
        raise AssertionError("the model was called on a cache hit")

    monkeypatch.setattr(enc_mod, "_compute", boom)
    second = model.encode_documents(MIXED, cache=cache)
    np.testing.assert_array_equal(first, second)
    # Different prompt → different namespace → a miss.
    with pytest.raises(AssertionError, match="cache hit"):
        model.encode_queries(MIXED[:1], cache=cache)


def test_corrupt_cache_is_recomputed(model, tmp_path, caplog) -> None:
    cache = kel.EmbeddingCache(tmp_path)
    first = model.encode_documents(MIXED[:2], cache=cache)
    for npy in tmp_path.rglob("chunk-*.npy"):
        data = bytearray(npy.read_bytes())
        data[-8:] = b"\x00" * 8
        npy.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING):
        again = model.encode_documents(MIXED[:2], cache=kel.EmbeddingCache(tmp_path))
    assert "discarding corrupt chunk" in caplog.text
    np.testing.assert_allclose(again, first, atol=1e-6)


@pytest.mark.parametrize(
    ("texts", "error", "message"),
    [
        (["좋아", None], TypeError, r"texts\[1\] is NoneType"),
        (["좋아", 3], TypeError, r"texts\[1\] is int"),
        ("한 문장", TypeError, "not a single str"),
        (b"bytes", TypeError, "not a single bytes"),
        (None, TypeError, "must be a list of strings"),
        (["\ud800 깨진 문자"], ValueError, "lone surrogate"),
    ],
)
def test_bad_input_gets_a_clear_error(model, texts, error, message) -> None:
    with pytest.raises(error, match=message):
        model.encode_documents(texts)


def test_control_characters_and_blank_texts_have_defined_behaviour(model, caplog) -> None:
    with caplog.at_level(logging.WARNING):
        out = model.encode_documents(["안녕\x00하세요\x07", "안녕 하세요 ", "", "   "])
    assert "control characters" in caplog.text and "empty or whitespace-only" in caplog.text
    np.testing.assert_allclose(out[0], out[1], atol=1e-6)  # control chars became spaces
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out[2], out[3], atol=1e-5)  # blank texts: the prompt-only vector


def test_oom_splits_the_batch_and_completes(model, monkeypatch, caplog) -> None:
    real = enc_mod._forward

    def small_memory(m, texts, prompt):
        if len(texts) > 1:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(m, texts, prompt)

    expected = model.encode_documents(MIXED)
    monkeypatch.setattr(enc_mod, "_forward", small_memory)
    with caplog.at_level(logging.WARNING):
        out = model.encode_documents(MIXED, batch_tokens=100_000)
    assert "splitting it in two" in caplog.text
    np.testing.assert_allclose(out, expected, atol=1e-5)

    def no_memory(m, texts, prompt):
        raise RuntimeError("CUDA out of memory")

    monkeypatch.setattr(enc_mod, "_forward", no_memory)
    with pytest.raises(MemoryError, match="lower max_seq_length"):
        model.encode_documents(MIXED[:1])


def test_pack_batches_respects_budget() -> None:
    lengths = [5, 100, 6, 90, 512, 3]
    batches = enc_mod.pack_batches(lengths, batch_tokens=200)
    assert sorted(i for b in batches for i in b) == list(range(6))
    for b in batches:
        assert len(b) == 1 or max(lengths[i] for i in b) * len(b) <= 200
    assert batches[0] == [4]  # longest first, alone: it exceeds the budget by itself
    assert enc_mod.pack_batches([4] * 10, batch_tokens=1000, max_batch_size=3)[0] == [0, 1, 2]


@pytest.mark.slow
def test_multi_process_pool_matches_single_process(model) -> None:
    single = model.encode_documents(MIXED)
    multi = model.encode_documents(MIXED, devices=["cpu", "cpu"])
    np.testing.assert_allclose(multi, single, atol=1e-5)


def test_encode_to_disk_streams_and_matches(model, tmp_path) -> None:
    texts = [f"{i}번째 문장입니다." for i in range(23)]
    expected = model.encode_documents(texts)
    out = enc_mod.encode_to_disk(model, (t for t in texts), tmp_path / "e.npy", n=len(texts), chunk_size=5)
    assert isinstance(out, np.memmap) and out.shape == (23, 384)
    np.testing.assert_allclose(np.asarray(out), expected, atol=1e-6)
    assert not list(tmp_path.glob(".*partial"))
    with pytest.raises(ValueError, match="pass n="):
        enc_mod.encode_to_disk(model, (t for t in texts), tmp_path / "f.npy")
    with pytest.raises(ValueError, match="yielded 23 items but n=30"):
        enc_mod.encode_to_disk(model, texts, tmp_path / "g.npy", n=30)
    assert not (tmp_path / "g.npy").exists() and not list(tmp_path.glob(".*partial"))
