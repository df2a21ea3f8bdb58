import numpy as np
import pytest

from ko_embed_lab.cache import EmbeddingCache, text_key


def _ns(tmp_path, **fields):
    return EmbeddingCache(tmp_path).namespace({"fingerprint": "fake", "prompt": "", **fields})


def test_hit_returns_identical_arrays(tmp_path) -> None:
    ns = _ns(tmp_path)
    vecs = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    ns.put(["가", "나", "다"], vecs)
    found, got = _ns(tmp_path).get(["다", "없음", "가"])  # a fresh object reads from disk
    assert found == [0, 2]
    np.testing.assert_array_equal(got, vecs[[2, 0]])


def test_namespaces_are_separate(tmp_path) -> None:
    _ns(tmp_path, prompt="query: ").put(["가"], np.ones((1, 2), np.float32))
    assert _ns(tmp_path, prompt="").get(["가"])[0] == []


@pytest.mark.parametrize("damage", ["truncate_npy", "garble_npy", "truncate_keys", "garble_keys"])
def test_corrupt_chunk_is_discarded_not_returned(tmp_path, damage, caplog) -> None:
    ns = _ns(tmp_path)
    ns.put(["가", "나"], np.arange(8, dtype=np.float32).reshape(2, 4))
    npy = next(ns.dir.glob("chunk-*.npy"))
    keys = next(ns.dir.glob("chunk-*.keys.json"))
    if damage == "truncate_npy":
        npy.write_bytes(npy.read_bytes()[:-7])
    elif damage == "garble_npy":
        data = bytearray(npy.read_bytes())
        data[-5] ^= 0xFF
        npy.write_bytes(bytes(data))
    elif damage == "truncate_keys":
        keys.write_text(keys.read_text()[:10])
    else:
        keys.write_text('{"keys": ["x"], "sha256": "00"}')
    fresh = _ns(tmp_path)
    found, got = fresh.get(["가", "나"])
    assert found == [] and got.shape[0] == 0
    assert "discarding corrupt chunk" in caplog.text
    assert not list(ns.dir.glob("chunk-*"))


def test_leftover_temp_files_are_ignored(tmp_path) -> None:
    ns = _ns(tmp_path)
    ns.put(["가"], np.ones((1, 2), np.float32))
    (ns.dir / ".chunk-abc.npy.123.tmp").write_bytes(b"partial")
    assert _ns(tmp_path).get(["가"])[0] == [0]


def test_put_checks_shapes(tmp_path) -> None:
    with pytest.raises(ValueError, match="one vector per key"):
        _ns(tmp_path).put(["가", "나"], np.ones((1, 2), np.float32))


def test_text_key_is_stable() -> None:
    assert text_key("가") == text_key("가") != text_key("가 ")
    assert len(text_key("x")) == 32
